"""Calibrated intervals: conformal wrappers (split, adaptive) and MC-dropout sampling.

Head-based intervals (quantile, Gaussian, Student-t) and MC dropout
(``uncertainty="mc_dropout"``) are options of every skfin estimator; their mechanics live
in :mod:`skfin.engine.sampling`, because the estimators (a layer above this one) use them.
The conformal wrappers here take any skfin or sktime forecaster, or any sklearn regressor;
the deep ensembles any skfin estimator (any estimator with ``random_state`` and quantiles).
"""

from skfin.engine.sampling import mc_dropout, mixture_quantiles
from skfin.uncertainty.conformal import (
    ConformalForecaster,
    ConformalRegressor,
    causal_scale,
    conformal_radius,
)
from skfin.uncertainty.ensemble import DeepEnsembleForecaster, DeepEnsembleRegressor, member_seeds

__all__ = ["ConformalForecaster", "ConformalRegressor", "causal_scale", "conformal_radius",
           "mc_dropout", "mixture_quantiles", "DeepEnsembleRegressor",
           "DeepEnsembleForecaster", "member_seeds"]
