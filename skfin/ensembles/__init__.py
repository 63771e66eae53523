"""Ensembles of forecasters: regime-weighted and quantile (Vincentised) combinations.

Meta-estimators on both faces over any list of skfin, scikit-learn or sktime estimators:

* :class:`RegimeEnsembleRegressor` / :class:`RegimeEnsembleForecaster`: one weight vector
  per volatility regime, learned on the members' out-of-sample forecasts; the regime
  probabilities come from a causal filter (:class:`MarkovSwitchingRegimes` by default).
* :class:`QuantileEnsembleRegressor` / :class:`QuantileEnsembleForecaster`: the members'
  quantile functions averaged (:func:`vincentise`), never crossing.

Deep ensembles (members of one architecture from different seeds, mixed) are in
:mod:`skfin.uncertainty`.
"""

from skfin.ensembles._quantile import (
    QuantileEnsembleForecaster,
    QuantileEnsembleRegressor,
    vincentise,
)
from skfin.ensembles._regime import (
    MarkovSwitchingRegimes,
    RegimeEnsembleForecaster,
    RegimeEnsembleRegressor,
    fit_regime_weights,
)

__all__ = ["MarkovSwitchingRegimes", "QuantileEnsembleForecaster",
           "QuantileEnsembleRegressor", "RegimeEnsembleForecaster", "RegimeEnsembleRegressor",
           "fit_regime_weights", "vincentise"]
