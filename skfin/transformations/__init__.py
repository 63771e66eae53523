"""Transformations for price series: ratios, log-ratios, scaling, technical indicators.

Every transformer here is both a scikit-learn transformer (``fit``/``transform``,
``get_feature_names_out``, ``set_output``) and an sktime transformer (usable in
``TransformedTargetForecaster`` and ``ForecastingPipeline``), with the same parameters.
See ``docs/transformations.md`` for the policies (first row, warm-up, missing data).
"""

from skfin.transformations.indicators import TechnicalIndicators
from skfin.transformations.ratio import LogRatio, Ratio
from skfin.transformations.scaling import series_scaler

__all__ = ["Ratio", "LogRatio", "TechnicalIndicators", "series_scaler"]
