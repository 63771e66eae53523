"""sktime metric classes, for ``evaluate(scoring=...)``: thin subclasses of sktime's bases.

Their parameters (``cost_bps``, ...) clone and show in ``evaluate``'s columns; each one
scores with the plain function of the same metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.performance_metrics.forecasting._base import BaseForecastingErrorMetric
from sktime.performance_metrics.forecasting.probabilistic import (
    _BaseProbaForecastingErrorMetric,
)

from skfin.metrics._docs import fill_doc
from skfin.metrics._finance import (directional_accuracy, hit_rate, max_drawdown, qlike,
                                    sharpe_ratio, sortino_ratio, strategy_return)
from skfin.metrics._probabilistic import _crps_weights, _pinball, _quantile_input, _winkler


class _ColumnwiseMetric(BaseForecastingErrorMetric):
    """A point metric computed column by column by a plain function, then averaged.

    Trading subclasses set ``_func`` (a function above) and ``_params`` (names of their
    own parameters passed on to it); others override ``_score``.
    """

    _params: tuple = ()

    def _score(self, y_true, y_pred, y_train, sample_weight) -> float:
        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} does not take sample_weight: a trading record "
                "depends on the order of the periods, it is not a weighted mean."
            )
        kwargs = {name: getattr(self, name) for name in self._params}
        return type(self)._func(y_true, y_pred, **kwargs)

    def _evaluate(self, y_true, y_pred, **kwargs):
        sample_weight = self._set_sample_weight_on_kwargs(**kwargs)
        y_train = kwargs.get("y_train")
        values = []
        for col in y_true.columns:
            train_col = None
            if y_train is not None and col in y_train.columns and len(y_train) > 0:
                train_col = y_train[col].to_numpy(dtype=float)
            values.append(self._score(y_true[col].to_numpy(dtype=float),
                                      y_pred[col].to_numpy(dtype=float), train_col,
                                      sample_weight))
        return self._handle_multioutput(pd.Series(values, index=y_true.columns),
                                        self.multioutput)


@fill_doc
class HitRate(_ColumnwiseMetric):
    """Hit rate of return forecasts, for sktime: the fraction of correct signs.

    See :func:`hit_rate`. Higher is better.

    Parameters
    ----------
    {multioutput}
    {multilevel_by_index}

    Examples
    --------
    {sktime_example_imports}
    >>> from skfin.metrics import HitRate
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = np.log(close).diff().dropna()
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, r, scoring=HitRate())
    >>> res["test_HitRate"].round(2).tolist()
    [0.5, 0.5, 0.7, 0.5, 0.5]
    """

    _tags = {"lower_is_better": False}

    def __init__(self, multioutput="uniform_average", multilevel="uniform_average",
                 by_index=False):
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _score(self, y_true, y_pred, y_train, sample_weight):
        return hit_rate(y_true, y_pred, sample_weight=sample_weight)


@fill_doc
class DirectionalAccuracy(_ColumnwiseMetric):
    """Directional accuracy of level forecasts, for sktime.

    See :func:`directional_accuracy`. The reference level is the last training value
    (the level at the cutoff) when ``y_train`` is passed, as ``evaluate`` does: "did the
    forecast get the direction of the move from today right, at each step ahead?".
    Without ``y_train`` it is the previous realised value. Higher is better.

    Parameters
    ----------
    {multioutput}
    {multilevel_by_index}

    Examples
    --------
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import DirectionalAccuracy
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> drift = NaiveForecaster("drift", window_length=250)
    >>> res = evaluate(drift, cv, close, scoring=DirectionalAccuracy())
    >>> res["test_DirectionalAccuracy"].round(2).tolist()
    [0.35, 0.15, 0.95, 1.0, 0.3]
    """

    _tags = {"lower_is_better": False}

    def __init__(self, multioutput="uniform_average", multilevel="uniform_average",
                 by_index=False):
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _score(self, y_true, y_pred, y_train, sample_weight):
        y_ref = None if y_train is None else y_train[-1]
        return directional_accuracy(y_true, y_pred, y_ref=y_ref, sample_weight=sample_weight)


class _AnnualisedTradingMetric(_ColumnwiseMetric):
    """Shared parameters of the annualised sign-strategy metrics (return, Sharpe, Sortino)."""

    _tags = {"lower_is_better": False}
    _params = ("cost_bps", "periods_per_year", "returns")

    def __init__(self, cost_bps=0.0, periods_per_year=252, returns="log",
                 multioutput="uniform_average", multilevel="uniform_average", by_index=False):
        self.cost_bps = cost_bps
        self.periods_per_year = periods_per_year
        self.returns = returns
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings: no costs, and monthly with costs."""
        # pragma: no mutate block (the conformance suites' configurations)
        return [{}, {"cost_bps": 5.0, "periods_per_year": 12}]


@fill_doc(metric="StrategyReturn", values="[0.1, -0.28, 0.45, 0.43, -0.47]")
class StrategyReturn(_AnnualisedTradingMetric):
    """Annualised mean net return of trading the forecast's sign, for sktime.

    See :func:`strategy_return`; each evaluation window is traded on its own, starting
    flat. Higher is better.

    Parameters
    ----------
    {cost_bps}
    {periods_per_year}
    {trading_metric_params}

    {trading_metric_example}
    """

    _func = staticmethod(strategy_return)


@fill_doc(metric="SharpeRatio", values="[0.61, -1.57, 5.92, 6.43, -2.11]")
class SharpeRatio(_AnnualisedTradingMetric):
    """Annualised Sharpe ratio of trading the forecast's sign, for sktime.

    See :func:`sharpe_ratio`; each evaluation window is traded on its own, so it needs
    ``len(fh) >= 2`` (with ``fh=1`` score the concatenated forecasts of
    ``evaluate(..., return_data=True)`` with :func:`sharpe_ratio` instead). Higher is
    better.

    Parameters
    ----------
    {cost_bps}
    {periods_per_year}
    {trading_metric_params}

    {trading_metric_example}
    """

    _func = staticmethod(sharpe_ratio)


@fill_doc(metric="SortinoRatio", values="[0.98, -2.11, 11.82, 17.66, -2.57]")
class SortinoRatio(_AnnualisedTradingMetric):
    """Annualised Sortino ratio of trading the forecast's sign, for sktime.

    See :func:`sortino_ratio`; each evaluation window is traded on its own. Higher is
    better.

    Parameters
    ----------
    {cost_bps}
    {periods_per_year}
    {trading_metric_params}

    {trading_metric_example}
    """

    _func = staticmethod(sortino_ratio)


@fill_doc(metric="MaxDrawdown", values="[0.05, 0.05, 0.01, 0.01, 0.07]")
class MaxDrawdown(_ColumnwiseMetric):
    """Maximum drawdown of trading the forecast's sign, for sktime.

    See :func:`max_drawdown`; each evaluation window is traded on its own, starting
    flat. Lower is better.

    Parameters
    ----------
    {cost_bps}
    {trading_metric_params}

    {trading_metric_example}
    """

    _tags = {"lower_is_better": True}
    _func = staticmethod(max_drawdown)
    _params = ("cost_bps", "returns")

    def __init__(self, cost_bps=0.0, returns="log", multioutput="uniform_average",
                 multilevel="uniform_average", by_index=False):
        self.cost_bps = cost_bps
        self.returns = returns
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings: no costs, and with costs."""
        # pragma: no mutate block (the conformance suites' configurations)
        return [{}, {"cost_bps": 5.0}]


class _NamedTargetsMixin:
    """Keep ``y_true``'s columns in the order of ``y_pred``'s (sorted) variables.

    sktime's probabilistic base turns ``y_true`` into an array and sorts ``y_pred``'s
    columns by variable name; for several variables not already sorted by name the
    columns would no longer match. It sorts in place, so it is handed a copy: scoring
    never reorders the caller's ``y_pred``.
    """

    def _check_ys(self, y_true, y_pred, multioutput):
        if isinstance(y_pred, pd.DataFrame):
            y_pred = y_pred.copy()
        y_true_inner, y_pred_inner, multioutput = super()._check_ys(
            y_true, y_pred, multioutput
        )
        if isinstance(y_true, pd.DataFrame) and y_true.shape[1] > 1:
            names = list(y_true.columns)
            order = [names.index(v) for v in pd.unique(
                y_pred_inner.columns.get_level_values(0)) if v in names]
            if len(order) == len(names):
                y_true_inner = y_true_inner[:, order]
        return y_true_inner, y_pred_inner, multioutput


@fill_doc
class WinklerScore(_NamedTargetsMixin, _BaseProbaForecastingErrorMetric):
    """Winkler interval score of prediction intervals, for sktime.

    See :func:`winkler_score`. Lower is better. In ``evaluate``, ``coverage`` sets the
    intervals that the forecaster is asked for.

    Parameters
    ----------
    {multioutput}
    score_average : bool, default=True
        Average over coverages (True) or report one score per coverage (False).
    coverage : float or list of float, default=None
        Nominal coverage(s) to score; ``None`` scores all those in ``y_pred``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.performance_metrics.forecasting.probabilistic import EmpiricalCoverage
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import WinklerScore
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = 100 * np.log(close).diff().dropna()
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, r,
    ...                scoring=[WinklerScore(coverage=0.9), EmpiricalCoverage(coverage=0.9)])
    >>> res[["test_WinklerScore", "test_EmpiricalCoverage"]].round(2).values.tolist()
    [[4.43, 0.95], [4.17, 1.0], [4.11, 1.0], [4.0, 1.0], [5.96, 0.85]]
    """

    _tags = {
        "scitype:y_pred": "pred_interval",
        "lower_is_better": True,
    }

    def __init__(self, multioutput="uniform_average", score_average=True, coverage=None):
        self.score_average = score_average
        self.multioutput = multioutput
        self.coverage = coverage
        self._coverage = self._check_coverage(coverage)
        self.metric_args = {"coverage": self._coverage}
        super().__init__(multioutput=multioutput, score_average=score_average)

    def _evaluate_by_index(self, y_true, y_pred, multioutput, **kwargs):
        lower = y_pred.loc[:, y_pred.columns.get_level_values(2) == "lower"]
        upper = y_pred.loc[:, y_pred.columns.get_level_values(2) == "upper"]
        keys = lower.columns.droplevel(2)
        if self._coverage is not None:
            keep = np.isin(np.round(keys.get_level_values(1), 7),
                           np.round(self._coverage, 7))
            wanted = np.unique(np.round(self._coverage, 7))       # [0.9, 0.9] is 0.9
            if not keep.any() or len(np.unique(keys.get_level_values(1)[keep])) < len(wanted):
                raise ValueError(
                    f"WinklerScore: y_pred has coverages "
                    f"{sorted(set(keys.get_level_values(1)))}, not all of coverage="
                    f"{self.coverage!r}."
                )
            lower, upper, keys = lower.loc[:, keep], upper.loc[:, keep], keys[keep]
        names = list(pd.unique(keys.get_level_values(0)))
        y = np.asarray(y_true, dtype=float).reshape(len(y_pred), -1)
        var_pos = np.array([names.index(v) for v in keys.get_level_values(0)])
        cov = keys.get_level_values(1).to_numpy(dtype=float)
        lo, hi = lower.to_numpy(dtype=float), upper.to_numpy(dtype=float)
        # each (variable, coverage) column is scored against its own variable
        scores = _winkler(y[:, var_pos], lo[:, :, None], hi[:, :, None], cov[:, None])[..., 0]
        return pd.DataFrame(scores, columns=keys)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings: defaults, and one fixed coverage."""
        # pragma: no mutate block (the conformance suites' configurations)
        return [{}, {"coverage": 0.9}]


@fill_doc
class QuantileCRPS(_NamedTargetsMixin, _BaseProbaForecastingErrorMetric):
    """CRPS approximated from quantile forecasts, for sktime.

    See :func:`crps_quantiles`. sktime's own ``CRPS`` needs a distribution
    (``predict_proba``); this one scores ``predict_quantiles``. Lower is better. In
    ``evaluate``, ``alpha`` sets the quantiles the forecaster is asked for: pass many
    (e.g. ``(np.arange(20) + 0.5) / 20``), since the default two are a poor integral.

    Parameters
    ----------
    {multioutput}
    alpha : float or list of float, default=None
        Quantile levels to use; ``None`` uses all those in ``y_pred``.

    Examples
    --------
    {sktime_example_imports}
    >>> from skfin.metrics import QuantileCRPS
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = 100 * np.log(close).diff().dropna()
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> crps = QuantileCRPS(alpha=list((np.arange(20) + 0.5) / 20))
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, r, scoring=crps)
    >>> res["test_QuantileCRPS"].round(2).tolist()
    [0.55, 0.64, 0.37, 0.34, 0.78]
    """

    _tags = {
        "scitype:y_pred": "pred_quantiles",
        "lower_is_better": True,
    }

    def __init__(self, multioutput="uniform_average", alpha=None):
        self.alpha = alpha
        self._alpha = self._check_alpha(alpha)
        self.metric_args = {"alpha": self._alpha}
        super().__init__(multioutput=multioutput, score_average=True)

    def _evaluate_by_index(self, y_true, y_pred, multioutput, **kwargs):
        names = list(pd.unique(y_pred.columns.get_level_values(0)))
        y = np.asarray(y_true, dtype=float).reshape(len(y_pred), -1)
        out = {}
        for j, name in enumerate(names):
            sub = y_pred[name]
            frame = pd.DataFrame(sub.to_numpy(),
                                 columns=pd.MultiIndex.from_product([[name], sub.columns]))
            _, q, levels = _quantile_input(y[:, j], frame, self._alpha, "QuantileCRPS")
            per_point = 2.0 * np.sum(_crps_weights(levels) * _pinball(y[:, [j]], q, levels),
                                     axis=-1)
            out[(name, "crps")] = per_point[:, 0]
        return pd.DataFrame(out)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings: defaults, and three fixed levels."""
        # pragma: no mutate block (the conformance suites' configurations)
        return [{}, {"alpha": [0.1, 0.5, 0.9]}]


@fill_doc
class QLIKE(_ColumnwiseMetric):
    """QLIKE loss of variance (or volatility) forecasts, for sktime.

    See :func:`qlike`. Lower is better.

    Parameters
    ----------
    volatility : bool, default=False
        Whether ``y`` holds volatilities ``sigma`` (scored as ``sigma**2``) rather than
        variances.
    {multioutput}
    {multilevel_by_index}

    Examples
    --------
    {sktime_example_imports}
    >>> from skfin.metrics import QLIKE
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = 100 * np.log(close).diff().dropna()
    >>> rv = np.sqrt((r ** 2).rolling(5).sum()).dropna()      # 5-day realized volatility
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, rv,
    ...                scoring=QLIKE(volatility=True))
    >>> res["test_QLIKE"].round(2).tolist()
    [1.14, 0.33, 0.54, 0.15, 1.24]
    """

    _tags = {"lower_is_better": True}
    _params = ("volatility",)
    _func = staticmethod(qlike)

    def __init__(self, volatility=False, multioutput="uniform_average",
                 multilevel="uniform_average", by_index=False):
        self.volatility = volatility
        super().__init__(multioutput=multioutput, multilevel=multilevel, by_index=by_index)

    def _score(self, y_true, y_pred, y_train, sample_weight):
        # a weighted mean of per-period losses, unlike a trading record: weights pass on
        return qlike(y_true, y_pred, volatility=self.volatility, sample_weight=sample_weight)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings: variances, and volatilities."""
        # pragma: no mutate block (the conformance suites' configurations)
        return [{}, {"volatility": True}]
