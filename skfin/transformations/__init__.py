"""Transformations for price series: ratios, log-ratios, scaling, technical indicators,
volatility (range estimators, HAR features, realized-variance targets).

Every transformer here is both a scikit-learn transformer (``fit``/``transform``,
``get_feature_names_out``, ``set_output``) and an sktime transformer (usable in
``TransformedTargetForecaster`` and ``ForecastingPipeline``), with the same parameters.
See ``docs/transformations.md`` for the policies (first row, warm-up, missing data).
"""

from skfin.transformations.indicators import TechnicalIndicators
from skfin.transformations.ratio import LogRatio, Ratio
from skfin.transformations.scaling import series_scaler
from skfin.transformations.volatility import (
    HARFeatures,
    garman_klass_variance,
    parkinson_variance,
    realized_variance,
    rogers_satchell_variance,
    squared_returns,
    variance_from_log,
    yang_zhang_variance,
)

__all__ = [
    "Ratio",
    "LogRatio",
    "TechnicalIndicators",
    "series_scaler",
    "HARFeatures",
    "squared_returns",
    "parkinson_variance",
    "garman_klass_variance",
    "rogers_satchell_variance",
    "yang_zhang_variance",
    "realized_variance",
    "variance_from_log",
]
