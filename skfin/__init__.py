"""skfin: deep-learning forecasters for financial time series, as scikit-learn and sktime estimators."""

__version__ = "0.1.0.dev0"
