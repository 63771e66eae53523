"""Finance and probabilistic forecast metrics for both faces of skfin.

Every metric is a plain function ``f(y_true, y_pred, ...)``; the sklearn face scores with
scorers built on it, the sktime face with metric objects usable in
``sktime.forecasting.model_evaluation.evaluate(scoring=...)``.

===========================  ===============================  ================================
function                     sklearn scorer                   sktime metric
===========================  ===============================  ================================
``hit_rate``                 ``hit_rate_scorer``              :class:`HitRate`
``directional_accuracy``     ``directional_accuracy_scorer``  :class:`DirectionalAccuracy`
``mase``                     ``mase_scorer``                  sktime's ``MeanAbsoluteScaledError``
``strategy_return``          ``strategy_return_scorer``       :class:`StrategyReturn`
``sharpe_ratio``             ``sharpe_ratio_scorer``          :class:`SharpeRatio`
``sortino_ratio``            ``sortino_ratio_scorer``         :class:`SortinoRatio`
``max_drawdown``             ``max_drawdown_scorer``          :class:`MaxDrawdown`
``pinball_loss``             ``make_quantile_scorer(...)``    sktime's ``PinballLoss``
``crps_quantiles``           ``make_quantile_scorer(...)``    :class:`QuantileCRPS`
``empirical_coverage``       ``make_interval_scorer(...)``    sktime's ``EmpiricalCoverage``
``mean_interval_width``      ``make_interval_scorer(...)``    sktime's ``IntervalWidth``
``winkler_score``            ``make_interval_scorer(...)``    :class:`WinklerScore`
``qlike``                    ``qlike_scorer``                 :class:`QLIKE`
===========================  ===============================  ================================

Significance tests: :func:`diebold_mariano` (is one forecast's loss really lower?),
:func:`kupiec_test` and :func:`christoffersen_test` (do intervals miss at the nominal rate,
independently?); see :mod:`skfin.metrics._significance`.

What is hand-written here, and why (only what scikit-learn and sktime lack):

* **Directional and trading metrics** (hit rate, directional accuracy, the returns of a
  sign strategy after costs, its Sharpe and Sortino ratios and maximum drawdown): neither
  library has them. The sktime classes are thin
  :class:`~sktime.performance_metrics.forecasting.BaseForecastingErrorMetric` subclasses
  so that their parameters (``cost_bps``, ...) clone and show in ``evaluate``'s columns.
* **QLIKE** (Patton, 2011), the loss that ranks volatility forecasts consistently when
  they are scored against a noisy proxy such as realized variance: neither library has
  it.
* **Winkler interval score** and **CRPS from quantiles**: sktime's ``CRPS`` needs a
  distribution object, and neither library scores intervals with the Winkler score.
  These subclass sktime's probabilistic metric base, as ``PinballLoss`` does.
* **Plain functions for MASE, pinball loss, coverage and interval width**, although sklearn
  (``mean_pinball_loss``, one level at a time) and sktime (their metric classes) have them:
  sklearn scorers receive neither sktime's frames nor ``y_train``, so the sklearn face
  needs functions that read skfin's regressors' output (sktime's column format, several
  levels at once). The tests check them against the library versions.
* **Scorers for quantile and interval metrics** (:func:`make_quantile_scorer`,
  :func:`make_interval_scorer`): :func:`sklearn.metrics.make_scorer` can call
  ``predict_quantiles`` but cannot pass it the levels to predict.

Conventions: ``y_true`` and ``y_pred`` are aligned row by row (no index alignment); NaN or
inf raise a ``ValueError`` naming the first bad row; trading metrics read per-period
returns as fractions (``0.01`` is 1%) and warn if they look like percentages or prices.
"""

from skfin.metrics._finance import (directional_accuracy, hit_rate, mase, max_drawdown,
                                    qlike, sharpe_ratio, sortino_ratio, strategy_return,
                                    strategy_returns)
from skfin.metrics._probabilistic import (crps_quantiles, empirical_coverage,
                                          mean_interval_width, pinball_loss, winkler_score)
from skfin.metrics._significance import (TestResult, christoffersen_test, diebold_mariano,
                                         kupiec_test)
from skfin.metrics._scorers import (directional_accuracy_scorer, hit_rate_scorer,
                                    make_interval_scorer, make_quantile_scorer, mase_scorer,
                                    max_drawdown_scorer, qlike_scorer, sharpe_ratio_scorer,
                                    sortino_ratio_scorer, strategy_return_scorer)
from skfin.metrics._sktime import (QLIKE, DirectionalAccuracy, HitRate, MaxDrawdown,
                                   QuantileCRPS, SharpeRatio, SortinoRatio, StrategyReturn,
                                   WinklerScore)

__all__ = [
    # significance tests
    "diebold_mariano",
    "kupiec_test",
    "christoffersen_test",
    "TestResult",
    # functions
    "hit_rate",
    "directional_accuracy",
    "mase",
    "strategy_returns",
    "strategy_return",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "pinball_loss",
    "crps_quantiles",
    "empirical_coverage",
    "mean_interval_width",
    "winkler_score",
    "qlike",
    # sklearn scorers
    "hit_rate_scorer",
    "directional_accuracy_scorer",
    "mase_scorer",
    "strategy_return_scorer",
    "sharpe_ratio_scorer",
    "sortino_ratio_scorer",
    "max_drawdown_scorer",
    "qlike_scorer",
    "make_quantile_scorer",
    "make_interval_scorer",
    # sktime metrics
    "HitRate",
    "DirectionalAccuracy",
    "StrategyReturn",
    "SharpeRatio",
    "SortinoRatio",
    "MaxDrawdown",
    "WinklerScore",
    "QuantileCRPS",
    "QLIKE",
]
