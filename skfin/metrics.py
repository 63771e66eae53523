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

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer
from sktime.performance_metrics.forecasting._base import BaseForecastingErrorMetric
from sktime.performance_metrics.forecasting.probabilistic import (
    _BaseProbaForecastingErrorMetric,
)

__all__ = [
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

_RETURNS_KINDS = ("log", "simple")


# ==================================================================================
# input checks
# ==================================================================================
def _values(y, name: str, func: str) -> np.ndarray:
    """``y`` as a float array (pandas unwrapped), with a clear error for non-numbers."""
    raw = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{func}: {name} must hold numbers; got {type(y).__name__} that does not "
            f"convert to float ({exc})."
        ) from exc


def _check_finite(a: np.ndarray, name: str, func: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{func}: {name} contains NaN or inf: {int(bad.sum())} value(s), first at row "
            f"{row}. Drop those rows from y_true and y_pred (or fill them) before scoring."
        )


def _as_2d(y, name: str, func: str) -> np.ndarray:
    a = _values(y, name, func)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(
            f"{func}: {name} must be 1D (n_samples,) or 2D (n_samples, n_outputs); got "
            f"shape {a.shape}."
        )
    if a.shape[0] == 0:
        raise ValueError(f"{func}: {name} is empty; it needs at least one row.")
    _check_finite(a, name, func)
    return a


def _point_pair(y_true, y_pred, func: str) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as 2D float arrays of the same shape."""
    yt = _as_2d(y_true, "y_true", func)
    yp = _as_2d(y_pred, "y_pred", func)
    if yt.shape != yp.shape:
        raise ValueError(
            f"{func}: y_true has shape {np.shape(y_true)} but y_pred has shape "
            f"{np.shape(y_pred)}. Pass forecasts and outcomes for the same rows and outputs."
        )
    return yt, yp


def _row_weights(sample_weight, n_rows: int, func: str):
    """``sample_weight`` as a checked 1D array of ``n_rows`` non-negative weights, or None."""
    if sample_weight is None:
        return None
    w = _values(sample_weight, "sample_weight", func)
    if w.shape != (n_rows,):
        raise ValueError(
            f"{func}: sample_weight must have one weight per row ({n_rows}); got shape "
            f"{w.shape}."
        )
    _check_finite(w, "sample_weight", func)
    if (w < 0).any() or w.sum() == 0:
        raise ValueError(f"{func}: sample_weight must be >= 0 and not all 0.")
    return w


def _series_pair(y_true, y_pred, func: str) -> tuple[np.ndarray, np.ndarray]:
    """One series of returns and one of forecasts (1D, or 2D with one column)."""
    yt, yp = _point_pair(y_true, y_pred, func)
    if yt.shape[1] != 1:
        raise ValueError(
            f"{func}: trades one series, but y_true has {yt.shape[1]} columns. Pass one "
            "column, e.g. the one-step-ahead column y[:, 0]."
        )
    return yt[:, 0], yp[:, 0]


# ==================================================================================
# direction
# ==================================================================================
def hit_rate(y_true, y_pred, *, sample_weight=None) -> float:
    """Fraction of forecasts whose sign matches the sign of the outcome.

    For forecasts of returns (or of changes): a hit is ``sign(y_pred) == sign(y_true)``.
    A zero forecast calls no direction and hits only a zero outcome.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Realised returns.
    y_pred : array-like of the same shape
        Forecast returns.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.

    Returns
    -------
    float
        In ``[0, 1]``; higher is better. A coin scores about 0.5.

    See Also
    --------
    directional_accuracy : the same idea for forecasts of levels (prices).
    HitRate : the sktime metric.

    Examples
    --------
    Yesterday's S&P 500 return as the forecast of today's (momentum at one day):

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import hit_rate
    >>> r = np.log(load_sp500()["Close"]).diff().dropna().to_numpy()
    >>> round(hit_rate(r[1:], r[:-1]), 4)
    0.4711
    """
    yt, yp = _point_pair(y_true, y_pred, "hit_rate")
    w = _row_weights(sample_weight, len(yt), "hit_rate")
    return float(np.average(np.mean(np.sign(yt) == np.sign(yp), axis=1), weights=w))


def directional_accuracy(y_true, y_pred, *, y_ref=None, sample_weight=None) -> float:
    """Fraction of forecasts that move from a reference level the way the outcome does.

    A forecast of a level (a price) is right in direction when
    ``sign(y_pred - y_ref) == sign(y_true - y_ref)``. This is the mean directional
    accuracy of the forecasting literature.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Realised levels, in time order.
    y_pred : array-like of the same shape
        Forecast levels.
    y_ref : float or array-like, default=None
        The level each forecast is compared from: a scalar (e.g. the last price before a
        multi-step forecast) or one value per row (the last price known when each forecast
        was made). ``None`` uses the previous realised level ``y_true[t-1]``, so the first
        row, which has none, is not scored.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.

    Returns
    -------
    float
        In ``[0, 1]``; higher is better.

    See Also
    --------
    hit_rate : the same idea for forecasts of returns.
    DirectionalAccuracy : the sktime metric (reference: the last training value).

    Examples
    --------
    Forecast tomorrow's S&P 500 close by the mean of the last 20 closes (a bet on
    mean reversion), and score the direction from today's close:

    >>> import pandas as pd
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import directional_accuracy
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> forecast = close.rolling(20).mean().shift(1)      # known at t - 1, for t
    >>> ok = forecast.notna()
    >>> round(directional_accuracy(close[ok], forecast[ok], y_ref=close.shift(1)[ok]), 4)
    0.5051
    """
    func = "directional_accuracy"
    yt, yp = _point_pair(y_true, y_pred, func)
    w = _row_weights(sample_weight, len(yt), func)
    if y_ref is None:
        if len(yt) < 2:
            raise ValueError(
                f"{func}: with y_ref=None the previous outcome is the reference, so at "
                f"least 2 rows are needed; got {len(yt)}. Pass y_ref."
            )
        ref, yt, yp = yt[:-1], yt[1:], yp[1:]
        w = None if w is None else w[1:]
    else:
        ref = _values(y_ref, "y_ref", func)
        _check_finite(np.atleast_1d(ref), "y_ref", func)
        if ref.ndim == 1 and ref.size not in (1, len(yt)):
            raise ValueError(
                f"{func}: y_ref must be a scalar or have one value per row ({len(yt)}); "
                f"got {ref.size} values."
            )
        if ref.ndim == 1 and ref.size == len(yt):
            ref = ref[:, None]
        try:
            ref = np.broadcast_to(ref, yt.shape)
        except ValueError as exc:
            raise ValueError(
                f"{func}: y_ref of shape {np.shape(y_ref)} does not match y_true of shape "
                f"{yt.shape}."
            ) from exc
    hits = np.mean(np.sign(yt - ref) == np.sign(yp - ref), axis=1)
    return float(np.average(hits, weights=w))


# ==================================================================================
# scaled error
# ==================================================================================
def mase(y_true, y_pred, *, y_train=None, sp=1) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample MAE of a naive forecast.

    ``MAE(y_true, y_pred) / mean(|y_train[t] - y_train[t - sp]|)`` per output
    (Hyndman & Koehler, 2006), then the mean over outputs, as the M4 competition averages
    MASE over series. For one output it is sktime's ``mean_absolute_scaled_error``; for
    several, sktime's ``multioutput="raw_values"`` averaged (its ``"uniform_average"``
    divides the averaged MAEs instead, which lets the largest-scale output dominate).
    Below 1 beats the (seasonal) random walk on the scale of the training data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
    y_train : array-like of shape (n_train,) or (n_train, n_outputs), default=None
        The training series. ``None`` (what an sklearn scorer has) scales by the naive
        forecast's MAE on ``y_true`` itself, i.e. the MAE relative to a random walk on
        the test period.
    sp : int, default=1
        Seasonal period of the naive forecast ``y[t - sp]``.

    Returns
    -------
    float
        Non-negative; lower is better.

    Raises
    ------
    ValueError
        If the series used for the scale has no more than ``sp`` rows, or if the naive
        forecast is perfect on it (scale 0).

    See Also
    --------
    sktime.performance_metrics.forecasting.MeanAbsoluteScaledError : the sktime metric.

    References
    ----------
    .. [1] R. J. Hyndman and A. B. Koehler, "Another look at measures of forecast
       accuracy", *International Journal of Forecasting* 22(4), 2006.

    Examples
    --------
    The random walk forecasting S&P 500 closes, scaled on the previous ten years:

    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import mase
    >>> close = load_sp500()["Close"].to_numpy()
    >>> train, test = close[:2520], close[2520:]
    >>> round(mase(test[1:], test[:-1], y_train=train), 4)
    1.0587
    """
    func = "mase"
    yt, yp = _point_pair(y_true, y_pred, func)
    if not isinstance(sp, (int, np.integer)) or isinstance(sp, bool) or sp < 1:
        raise ValueError(f"{func}: sp must be an int >= 1; got sp={sp!r}.")
    base = yt if y_train is None else _as_2d(y_train, "y_train", func)
    where = "y_true (no y_train given)" if y_train is None else "y_train"
    if base.shape[1] != yt.shape[1]:
        raise ValueError(
            f"{func}: y_train has {base.shape[1]} columns but y_true has {yt.shape[1]}."
        )
    if len(base) <= sp:
        raise ValueError(
            f"{func}: the naive scale needs more than sp={sp} rows of {where}; got "
            f"{len(base)}."
        )
    scale = np.mean(np.abs(base[sp:] - base[:-sp]), axis=0)
    if (scale == 0).any():
        raise ValueError(
            f"{func}: the naive forecast is perfect on {where} (scale 0), so MASE is "
            "undefined. Use a longer or non-constant series for the scale."
        )
    return float(np.mean(np.mean(np.abs(yt - yp), axis=0) / scale))


# ==================================================================================
# trading a sign strategy
# ==================================================================================
def _check_trading_params(func, cost_bps, periods_per_year, returns) -> None:
    if not isinstance(cost_bps, Real) or not np.isfinite(cost_bps) or cost_bps < 0:
        raise ValueError(
            f"{func}: cost_bps must be a finite number >= 0 (basis points per unit of "
            f"position change); got cost_bps={cost_bps!r}."
        )
    if periods_per_year is not None and (
        not isinstance(periods_per_year, Real) or not periods_per_year > 0
    ):
        raise ValueError(
            f"{func}: periods_per_year must be a positive number (252 for trading days, "
            f"52 for weeks, 12 for months); got periods_per_year={periods_per_year!r}."
        )
    if returns not in _RETURNS_KINDS:
        raise ValueError(
            f"{func}: returns must be one of {_RETURNS_KINDS}; got returns={returns!r}."
        )


def strategy_returns(y_true, y_pred, *, cost_bps=0.0, returns="log") -> np.ndarray:
    """Per-period net returns of trading the sign of the forecast.

    The position over period ``t`` is ``sign(y_pred[t])`` (long 1, short -1, flat 0),
    earning ``position * R[t]``, where ``R`` is the simple return of the asset over
    ``t`` (``expm1(y_true)`` for log returns). Each change of position costs
    ``cost_bps / 10_000`` per unit traded: entering costs 1 unit, flipping from long to
    short 2. The book starts flat, so the first position pays its entry; the last one is
    left open.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Realised returns of each period, in time order, as fractions (``0.01`` is 1%).
    y_pred : array-like of shape (n_samples,)
        Forecasts of those returns; only their signs are used.
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points of the position's value.
    returns : {"log", "simple"}, default="log"
        Whether ``y_true`` holds log returns (skfin's ``LogRatio``) or simple returns.

    Returns
    -------
    ndarray of shape (n_samples,)
        Simple net returns of the strategy, period by period.

    Raises
    ------
    ValueError
        If ``returns="simple"`` and a return is below -1 (a loss of more than 100%).

    Warns
    -----
    UserWarning
        If any ``|y_true| >= 1``: returns of 100% or more per period are almost always
        percentages or prices passed by mistake, and then the result is meaningless.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import strategy_returns
    >>> r = np.log(load_sp500()["Close"]).diff().dropna().to_numpy()
    >>> strategy_returns(r[1:6], r[:5], cost_bps=10).round(5)
    array([ 0.02114, -0.00205, -0.00622, -0.01079,  0.01728])
    """
    return _strategy_returns(y_true, y_pred, cost_bps, returns, "strategy_returns")


def _strategy_returns(y_true, y_pred, cost_bps, returns, func) -> np.ndarray:
    _check_trading_params(func, cost_bps, None, returns)
    yt, yp = _series_pair(y_true, y_pred, func)
    if returns == "simple" and (yt < -1).any():
        raise ValueError(
            f"{func}: y_true holds simple returns below -1 (first at row "
            f"{int(np.argmax(yt < -1))}), i.e. losses of more than 100%. Pass simple "
            'returns P[t] / P[t-1] - 1, or log returns with returns="log".'
        )
    big = np.abs(yt) >= 1
    if big.any():
        warnings.warn(
            f"{func}: y_true holds per-period returns of 100% or more (max |y_true| = "
            f"{np.abs(yt).max():.4g}, first at row {int(np.argmax(big))}). Trading metrics "
            "read returns as fractions (0.01 = 1%): if these are prices or percentages, "
            "pass returns, or divide percentages by 100.",
            UserWarning, stacklevel=3,
        )
    simple = np.expm1(yt) if returns == "log" else yt
    position = np.sign(yp)
    turnover = np.abs(np.diff(position, prepend=0.0))
    return position * simple - cost_bps * 1e-4 * turnover


def strategy_return(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                    returns="log") -> float:
    """Annualised mean net return of trading the sign of the forecast.

    ``mean(strategy_returns(...)) * periods_per_year``: the arithmetic annual return,
    the numerator of the Sharpe ratio. Comparable across test periods of different
    lengths, unlike a cumulative return.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Realised per-period returns, as fractions.
    y_pred : array-like of shape (n_samples,)
        Forecast returns; only their signs are used.
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points.
    periods_per_year : float, default=252
        Annualisation factor (252 trading days, 52 weeks, 12 months).
    returns : {"log", "simple"}, default="log"
        Kind of returns in ``y_true``.

    Returns
    -------
    float
        Higher is better.

    See Also
    --------
    strategy_returns : the period-by-period returns and the trading rule.

    Examples
    --------
    Buy-and-hold (always forecast "up") against one-day momentum on S&P 500, 2009-2018,
    with 5 bp per trade:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import strategy_return
    >>> r = np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-2516:]
    >>> round(strategy_return(r, np.ones_like(r), cost_bps=5), 4)
    0.1161
    >>> round(strategy_return(r[1:], r[:-1], cost_bps=5), 4)
    -0.176
    """
    func = "strategy_return"
    _check_trading_params(func, cost_bps, periods_per_year, returns)
    s = _strategy_returns(y_true, y_pred, cost_bps, returns, func)
    return float(np.mean(s) * periods_per_year)


def _undefined(func: str, why: str) -> float:
    warnings.warn(f"{func} is undefined: {why}; returning nan.", UndefinedMetricWarning,
                  stacklevel=3)
    return float("nan")


def sharpe_ratio(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                 returns="log") -> float:
    """Annualised Sharpe ratio of trading the sign of the forecast, after costs.

    ``mean(s) / std(s, ddof=1) * sqrt(periods_per_year)`` of the net returns ``s`` of
    :func:`strategy_returns`, with a zero risk-free rate (pass excess returns to include
    one).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Realised per-period returns, as fractions.
    y_pred : array-like of shape (n_samples,)
        Forecast returns; only their signs are used.
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points.
    periods_per_year : float, default=252
        Annualisation factor.
    returns : {"log", "simple"}, default="log"
        Kind of returns in ``y_true``.

    Returns
    -------
    float
        Higher is better. ``nan`` (with an ``UndefinedMetricWarning``) for fewer than 2
        periods or net returns without variation (e.g. always flat).

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import sharpe_ratio
    >>> r = np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-2516:]
    >>> round(sharpe_ratio(r, np.ones_like(r)), 3)         # buy and hold, 2009-2018
    0.698
    """
    func = "sharpe_ratio"
    _check_trading_params(func, cost_bps, periods_per_year, returns)
    s = _strategy_returns(y_true, y_pred, cost_bps, returns, func)
    if len(s) < 2:
        return _undefined(func, f"{len(s)} period(s), at least 2 are needed")
    sd = np.std(s, ddof=1)
    if sd == 0:
        return _undefined(func, "the strategy's net returns do not vary")
    return float(np.mean(s) / sd * np.sqrt(periods_per_year))


def sortino_ratio(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                  returns="log") -> float:
    """Annualised Sortino ratio of trading the sign of the forecast, after costs.

    ``mean(s) / sqrt(mean(min(s, 0) ** 2)) * sqrt(periods_per_year)``: like the Sharpe
    ratio, but only losses count as risk (downside deviation below a zero target, averaged
    over all periods, as in Sortino & Price, 1994).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Realised per-period returns, as fractions.
    y_pred : array-like of shape (n_samples,)
        Forecast returns; only their signs are used.
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points.
    periods_per_year : float, default=252
        Annualisation factor.
    returns : {"log", "simple"}, default="log"
        Kind of returns in ``y_true``.

    Returns
    -------
    float
        Higher is better. ``nan`` (with an ``UndefinedMetricWarning``) when no period
        loses money.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import sortino_ratio
    >>> r = np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-2516:]
    >>> round(sortino_ratio(r, np.ones_like(r)), 3)        # buy and hold, 2009-2018
    0.985
    """
    func = "sortino_ratio"
    _check_trading_params(func, cost_bps, periods_per_year, returns)
    s = _strategy_returns(y_true, y_pred, cost_bps, returns, func)
    downside = np.sqrt(np.mean(np.minimum(s, 0.0) ** 2))
    if downside == 0:
        return _undefined(func, "no period loses money (downside deviation 0)")
    return float(np.mean(s) / downside * np.sqrt(periods_per_year))


def max_drawdown(y_true, y_pred, *, cost_bps=0.0, returns="log") -> float:
    """Largest peak-to-trough fall of the sign strategy's wealth, as a fraction.

    Wealth starts at 1 and compounds the net returns of :func:`strategy_returns`;
    the drawdown at ``t`` is ``1 - wealth[t] / max(wealth[:t + 1])``, the peak including
    the starting 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Realised per-period returns, as fractions.
    y_pred : array-like of shape (n_samples,)
        Forecast returns; only their signs are used.
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points.
    returns : {"log", "simple"}, default="log"
        Kind of returns in ``y_true``.

    Returns
    -------
    float
        In ``[0, 1]`` (0.5 = half the peak wealth lost); lower is better.

    Examples
    --------
    Buy and hold through 2008: the S&P 500 fell 56.8% from its October 2007 peak.

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import max_drawdown
    >>> r = np.log(load_sp500()["Close"]).diff().dropna()
    >>> r = r["2007-01-01":"2009-12-31"].to_numpy()
    >>> round(max_drawdown(r, np.ones_like(r)), 4)
    0.5678
    """
    func = "max_drawdown"
    _check_trading_params(func, cost_bps, None, returns)
    s = _strategy_returns(y_true, y_pred, cost_bps, returns, func)
    wealth = np.cumprod(1.0 + s)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return float(max(np.max(1.0 - wealth / peak), 0.0))


# ==================================================================================
# quantiles and intervals: parsing sktime's column format or plain arrays
# ==================================================================================
def _levels_checked(levels, name: str, func: str) -> np.ndarray:
    a = np.atleast_1d(_values(levels, name, func))
    if a.ndim != 1 or a.size == 0 or not ((a > 0) & (a < 1)).all():
        raise ValueError(f"{func}: {name} must be values in the open interval (0, 1); "
                         f"got {levels!r}.")
    if len(np.unique(a)) != a.size:
        raise ValueError(f"{func}: {name} has repeated values: {levels!r}.")
    return a


def _targets(y_true, names: list, n_rows: int, func: str) -> np.ndarray:
    """``y_true`` as (n, n_targets), columns ordered as ``names`` (by name if possible)."""
    if isinstance(y_true, pd.DataFrame) and set(y_true.columns) == set(names):
        y_true = y_true[names]
    yt = _as_2d(y_true, "y_true", func)
    if yt.shape[1] != len(names):
        raise ValueError(
            f"{func}: y_pred forecasts {len(names)} target(s) {names!r} but y_true has "
            f"{yt.shape[1]} column(s)."
        )
    if yt.shape[0] != n_rows:
        raise ValueError(
            f"{func}: y_true has {yt.shape[0]} rows but y_pred has {n_rows}. Pass "
            "forecasts and outcomes for the same rows."
        )
    return yt


def _quantile_input(y_true, y_pred, alpha, func: str):
    """Return ``y (n, T)``, quantiles ``q (n, T, L)`` and sorted ``levels (L,)``."""
    if isinstance(y_pred, pd.DataFrame):
        if y_pred.columns.nlevels != 2:
            raise ValueError(
                f"{func}: a quantile DataFrame needs 2-level columns (target, alpha), as "
                f"predict_quantiles returns; got {y_pred.columns.nlevels} level(s)."
            )
        names = list(pd.unique(y_pred.columns.get_level_values(0)))
        levels = None
        blocks = []
        for name in names:
            sub = y_pred[name]
            have = _levels_checked(np.asarray(sub.columns, dtype=float), "alpha", func)
            want = have if alpha is None else _levels_checked(alpha, "alpha", func)
            missing = [float(a) for a in want if not np.isclose(have, a).any()]
            if missing:
                raise ValueError(
                    f"{func}: y_pred has no quantile(s) {missing} for target {name!r}; it "
                    f"has {sorted(have.tolist())}. Predict them or drop them from alpha."
                )
            want = np.sort(want)
            if levels is not None and not np.allclose(levels, want):
                raise ValueError(
                    f"{func}: targets have different quantile levels ({levels.tolist()} vs "
                    f"{want.tolist()}); pass alpha to choose common ones."
                )
            levels = want
            cols = [int(np.argmin(np.abs(have - a))) for a in want]
            blocks.append(_values(sub, "y_pred", func)[:, cols])
        q = np.stack(blocks, axis=1)                              # [n, T, L]
    else:
        if alpha is None:
            raise ValueError(
                f"{func}: y_pred is an array, so alpha (its quantile levels) is required; "
                "or pass the DataFrame that predict_quantiles returns."
            )
        levels = _levels_checked(alpha, "alpha", func)
        q = _values(y_pred, "y_pred", func)
        if q.ndim == 1 and levels.size == 1:
            q = q[:, None]
        if q.ndim != 2 or q.shape[1] != levels.size:
            raise ValueError(
                f"{func}: an array y_pred must have shape (n_samples, len(alpha)) = "
                f"(n_samples, {levels.size}); got {q.shape}."
            )
        order = np.argsort(levels)
        levels, q = levels[order], q[:, None, order]
        names = ["y"]
    if q.shape[0] == 0:
        raise ValueError(f"{func}: y_pred is empty; it needs at least one row.")
    _check_finite(q.reshape(len(q), -1), "y_pred", func)
    yt = _targets(y_true, names, q.shape[0], func)
    return yt, q, levels


def _interval_input(y_true, y_pred, coverage, func: str, need_coverage: bool):
    """Return ``y (n, T)``, ``lower``/``upper (n, T, C)`` and ``coverage (C,)``."""
    if isinstance(y_pred, pd.DataFrame):
        if y_pred.columns.nlevels != 3:
            raise ValueError(
                f"{func}: an interval DataFrame needs 3-level columns (target, coverage, "
                f"'lower'|'upper'), as predict_interval returns; got "
                f"{y_pred.columns.nlevels} level(s)."
            )
        names = list(pd.unique(y_pred.columns.get_level_values(0)))
        covs = None
        lows, highs = [], []
        for name in names:
            sub = y_pred[name]
            have = _levels_checked(
                np.asarray(pd.unique(sub.columns.get_level_values(0)), dtype=float),
                "coverage", func)
            want = have if coverage is None else _levels_checked(coverage, "coverage", func)
            missing = [float(c) for c in want if not np.isclose(have, c).any()]
            if missing:
                raise ValueError(
                    f"{func}: y_pred has no interval(s) of coverage {missing} for target "
                    f"{name!r}; it has {sorted(have.tolist())}."
                )
            want = np.sort(want)
            if covs is not None and not np.allclose(covs, want):
                raise ValueError(
                    f"{func}: targets have different coverages ({covs.tolist()} vs "
                    f"{want.tolist()}); pass coverage to choose common ones."
                )
            covs = want
            keys = [have[int(np.argmin(np.abs(have - c)))] for c in want]
            try:
                lows.append(np.stack([_values(sub[(k, "lower")], "y_pred", func)
                                      for k in keys], axis=1))
                highs.append(np.stack([_values(sub[(k, "upper")], "y_pred", func)
                                       for k in keys], axis=1))
            except KeyError as exc:
                raise ValueError(
                    f"{func}: y_pred lacks a 'lower' or 'upper' column for target "
                    f"{name!r} ({exc})."
                ) from exc
        lower, upper = np.stack(lows, axis=1), np.stack(highs, axis=1)   # [n, T, C]
    else:
        bounds = _values(y_pred, "y_pred", func)
        if bounds.ndim != 2 or bounds.shape[1] != 2:
            raise ValueError(
                f"{func}: an array y_pred must have shape (n_samples, 2), columns lower "
                f"and upper; got {bounds.shape}. For several targets or coverages pass "
                "the DataFrame that predict_interval returns."
            )
        if coverage is None and need_coverage:
            raise ValueError(
                f"{func}: y_pred is an array, so coverage (the intervals' nominal "
                "coverage) is required; or pass the DataFrame that predict_interval returns."
            )
        covs = (np.array([np.nan]) if coverage is None
                else _levels_checked(coverage, "coverage", func))
        if covs.size != 1:
            raise ValueError(f"{func}: an array y_pred holds one interval per row, so "
                             f"coverage must be one value; got {coverage!r}.")
        lower, upper = bounds[:, None, None, 0], bounds[:, None, None, 1]
        names = ["y"]
    if lower.shape[0] == 0:
        raise ValueError(f"{func}: y_pred is empty; it needs at least one row.")
    _check_finite(lower.reshape(len(lower), -1), "y_pred (lower)", func)
    _check_finite(upper.reshape(len(upper), -1), "y_pred (upper)", func)
    crossed = lower > upper
    if crossed.any():
        raise ValueError(
            f"{func}: {int(crossed.sum())} interval(s) have lower > upper, first at row "
            f"{int(np.argwhere(crossed)[0][0])}. Check the column order (lower, upper)."
        )
    yt = _targets(y_true, names, lower.shape[0], func)
    return yt, lower, upper, covs


def _pinball(y, q, levels):
    """Pinball loss per point and level: ``y (n, T)``, ``q (n, T, L)`` -> ``(n, T, L)``."""
    diff = y[..., None] - q
    return np.where(diff >= 0, levels * diff, (levels - 1) * diff)


def _crps_weights(levels: np.ndarray) -> np.ndarray:
    """Midpoint-rule weights: the part of (0, 1) closest to each (sorted) level."""
    edges = np.concatenate([[0.0], (levels[1:] + levels[:-1]) / 2, [1.0]])
    return np.diff(edges)


def _winkler(y, lower, upper, coverage):
    """Winkler score per point and coverage: ``y (n, T)``, bounds ``(n, T, C)``."""
    a = 1.0 - coverage
    y = y[..., None]
    below = np.clip(lower - y, 0, None)
    above = np.clip(y - upper, 0, None)
    return (upper - lower) + 2.0 / a * (below + above)


# ==================================================================================
# quantile and interval metrics
# ==================================================================================
_PROBA_EXAMPLE_SETUP = """
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skfin.datasets import load_sp500
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().rename("r")
    >>> past = r.rolling(250)                     # last year's returns, known at t - 1"""


def pinball_loss(y_true, y_pred, *, alpha=None) -> float:
    """Mean pinball (quantile) loss over rows, targets and quantile levels.

    ``rho_a(y - q) = max(a * (y - q), (a - 1) * (y - q))`` for the forecast ``q`` of the
    ``a``-quantile; the same value as sklearn's ``mean_pinball_loss`` averaged over levels
    and as sktime's ``PinballLoss``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Quantile forecasts: the DataFrame of ``predict_quantiles`` (columns
        ``(target, alpha)``), or an array of shape ``(n_samples, len(alpha))``.
    alpha : float or list of float, default=None
        Levels to score. Required for an array; for a DataFrame ``None`` scores all.

    Returns
    -------
    float
        Non-negative; lower is better.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.PinballLoss : the sktime metric.

    Examples
    --------{setup}
    >>> from skfin.metrics import pinball_loss
    >>> q = pd.concat({{("r", a): past.quantile(a).shift(1) for a in (0.05, 0.5, 0.95)}},
    ...               axis=1).dropna()
    >>> round(pinball_loss(r[q.index], q), 4)
    0.2222
    """
    yt, q, levels = _quantile_input(y_true, y_pred, alpha, "pinball_loss")
    return float(np.mean(_pinball(yt, q, levels)))


def crps_quantiles(y_true, y_pred, *, alpha=None) -> float:
    """Continuous ranked probability score approximated from forecast quantiles.

    The CRPS is twice the pinball loss integrated over all levels,
    ``CRPS(F, y) = 2 * integral_0^1 rho_a(y - F^-1(a)) da`` (Gneiting & Ranjan, 2011).
    Here the integral is a midpoint rule: each level ``a_k`` stands for the part of
    ``(0, 1)`` closer to it than to its neighbours, ``(0, (a_1 + a_2) / 2]`` for the
    first and up to 1 for the last. With levels ``(k - 0.5) / K`` this equals the CRPS of
    the ``K``-member ensemble made of the quantiles, exactly; with the median alone it is
    the absolute error of the median. Use at least ~20 levels: the tails beyond the
    outermost levels are held flat.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Quantile forecasts: the DataFrame of ``predict_quantiles`` (columns
        ``(target, alpha)``), or an array of shape ``(n_samples, len(alpha))``.
    alpha : float or list of float, default=None
        Levels to use. Required for an array; for a DataFrame ``None`` uses all.

    Returns
    -------
    float
        Mean CRPS over rows and targets, in the units of ``y``; lower is better.

    See Also
    --------
    QuantileCRPS : the sktime metric.

    References
    ----------
    .. [1] T. Gneiting and R. Ranjan, "Comparing density forecasts using threshold- and
       quantile-weighted scoring rules", *Journal of Business & Economic Statistics*
       29(3), 2011.

    Examples
    --------{setup}
    >>> from skfin.metrics import crps_quantiles
    >>> levels = (np.arange(20) + 0.5) / 20
    >>> q = pd.concat({{("r", a): past.quantile(a).shift(1) for a in levels}},
    ...               axis=1).dropna()
    >>> round(crps_quantiles(r[q.index], q), 4)
    0.6025
    """
    yt, q, levels = _quantile_input(y_true, y_pred, alpha, "crps_quantiles")
    per_point = 2.0 * np.sum(_crps_weights(levels) * _pinball(yt, q, levels), axis=-1)
    return float(np.mean(per_point))


def empirical_coverage(y_true, y_pred, *, coverage=None) -> float:
    """Fraction of outcomes inside their prediction interval (bounds included).

    Compare it with the nominal coverage: above it the intervals are too wide, below too
    narrow. The same value as sktime's ``EmpiricalCoverage``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Intervals: the DataFrame of ``predict_interval`` (columns
        ``(target, coverage, "lower" | "upper")``), or an array of shape
        ``(n_samples, 2)`` holding lower and upper bounds.
    coverage : float or list of float, default=None
        Nominal coverages to score, for a DataFrame; ``None`` scores all.

    Returns
    -------
    float
        In ``[0, 1]``, averaged over rows, targets and coverages. Neither higher nor lower
        is better: the target is the nominal coverage.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.EmpiricalCoverage

    Examples
    --------{setup}
    >>> from skfin.metrics import empirical_coverage
    >>> band = pd.DataFrame({{("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}}).dropna()
    >>> round(empirical_coverage(r[band.index], band), 4)
    0.8862
    """
    yt, lo, hi, _ = _interval_input(y_true, y_pred, coverage, "empirical_coverage", False)
    y = yt[..., None]
    return float(np.mean((y >= lo) & (y <= hi)))


def mean_interval_width(y_true, y_pred, *, coverage=None) -> float:
    """Mean width ``upper - lower`` of the prediction intervals (their sharpness).

    ``y_true`` is used only to check the shapes. The same value as sktime's
    ``IntervalWidth``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Intervals: the DataFrame of ``predict_interval``, or an array of shape
        ``(n_samples, 2)`` holding lower and upper bounds.
    coverage : float or list of float, default=None
        Nominal coverages to score, for a DataFrame; ``None`` scores all.

    Returns
    -------
    float
        Non-negative, in the units of ``y``; lower is better at equal coverage.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.IntervalWidth

    Examples
    --------{setup}
    >>> from skfin.metrics import mean_interval_width
    >>> band = pd.DataFrame({{("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}}).dropna()
    >>> round(mean_interval_width(r[band.index], band), 4)
    3.5318
    """
    _, lo, hi, _ = _interval_input(y_true, y_pred, coverage, "mean_interval_width", False)
    return float(np.mean(hi - lo))


def winkler_score(y_true, y_pred, *, coverage=None) -> float:
    """Mean Winkler (interval) score of central prediction intervals.

    For an interval ``[l, u]`` of nominal coverage ``1 - a``:
    ``(u - l) + 2 / a * (l - y)`` if ``y < l``, ``(u - l) + 2 / a * (y - u)`` if
    ``y > u``, else ``u - l`` (Winkler, 1972; Gneiting & Raftery, 2007, eq. 43). Width is
    paid always, misses in proportion to their distance: a proper score for the interval,
    which coverage and width alone are not. It equals ``2 / a`` times the pinball losses
    of ``l`` and ``u`` as the ``a/2`` and ``1 - a/2`` quantiles.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Intervals: the DataFrame of ``predict_interval`` (columns
        ``(target, coverage, "lower" | "upper")``), or an array of shape
        ``(n_samples, 2)`` holding lower and upper bounds.
    coverage : float or list of float, default=None
        Nominal coverage(s). Required for an array; for a DataFrame ``None`` scores all
        the coverages it holds.

    Returns
    -------
    float
        Non-negative, in the units of ``y``; lower is better.

    See Also
    --------
    WinklerScore : the sktime metric.

    References
    ----------
    .. [1] R. L. Winkler, "A decision-theoretic approach to interval estimation",
       *Journal of the American Statistical Association* 67(337), 1972.
    .. [2] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction,
       and estimation", *Journal of the American Statistical Association* 102(477), 2007.

    Examples
    --------{setup}
    >>> from skfin.metrics import winkler_score
    >>> band = pd.DataFrame({{("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}}).dropna()
    >>> round(winkler_score(r[band.index], band), 4)
    5.309
    """
    yt, lo, hi, cov = _interval_input(y_true, y_pred, coverage, "winkler_score", True)
    return float(np.mean(_winkler(yt, lo, hi, cov)))


for _f in (pinball_loss, crps_quantiles, empirical_coverage, mean_interval_width,
           winkler_score):
    _f.__doc__ = _f.__doc__.format(setup=_PROBA_EXAMPLE_SETUP)
del _f


# ==================================================================================
# volatility
# ==================================================================================
def qlike(y_true, y_pred, *, volatility=False, sample_weight=None) -> float:
    """QLIKE loss of variance forecasts: ``mean(y / f - log(y / f) - 1)``.

    For a realised variance ``y`` (or any unbiased proxy of the true variance) and a
    variance forecast ``f``, QLIKE is one of the two losses that rank forecasts as the
    true variance would (Patton, 2011): noise in the proxy does not change the ranking,
    unlike the MAE or the MSE of volatilities. It is 0 for a perfect forecast and
    punishes under-prediction (``f`` too small: a risk understated) more than
    over-prediction.

    QLIKE is defined on **variances**. For forecasts of a volatility ``sigma`` (a
    standard deviation, e.g. a realized volatility ``sqrt(sum of r**2)``) pass
    ``volatility=True``, which squares both ``y_true`` and ``y_pred`` first.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Realised variances (or volatilities with ``volatility=True``), all > 0.
    y_pred : array-like of the same shape
        Forecast variances (or volatilities), all > 0.
    volatility : bool, default=False
        Whether the inputs are volatilities ``sigma``, scored as ``sigma**2``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.

    Returns
    -------
    float
        Non-negative; lower is better.

    Raises
    ------
    ValueError
        If a value is not > 0 (the loss is undefined there); the message names the
        first such row.

    See Also
    --------
    QLIKE : the sktime metric.

    References
    ----------
    .. [1] A. J. Patton, "Volatility forecast comparison using imperfect volatility
       proxies", *Journal of Econometrics* 160(1), 2011.

    Examples
    --------
    Forecast the S&P 500's 5-day realized variance (percent squared) five days ahead,
    by last week's value or by the mean of the last year:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import qlike
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> rv2 = (r ** 2).rolling(5).sum()                  # 5-day realized variance
    >>> last_week = rv2.shift(5)
    >>> last_year = rv2.rolling(250).mean().shift(5)
    >>> ok = last_year.notna()
    >>> round(qlike(rv2[ok], last_week[ok]), 4), round(qlike(rv2[ok], last_year[ok]), 4)
    (0.923, 0.6108)
    >>> round(qlike(np.sqrt(rv2[ok]), np.sqrt(last_year[ok]), volatility=True), 4)
    0.6108
    """
    func = "qlike"
    yt, yp = _point_pair(y_true, y_pred, func)
    w = _row_weights(sample_weight, len(yt), func)
    for name, a in (("y_true", yt), ("y_pred", yp)):
        bad = a <= 0
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(
                f"{func}: {name} must be > 0 (variances or volatilities); {int(bad.sum())} "
                f"value(s) are not, first at row {row}. QLIKE is undefined there: a "
                "forecast must predict a positive variance."
            )
    if volatility:
        yt, yp = yt ** 2, yp ** 2
    ratio = yt / yp
    per_row = np.mean(ratio - np.log(ratio) - 1.0, axis=1)
    return float(np.average(per_row, weights=w))


# ==================================================================================
# sklearn scorers
# ==================================================================================
hit_rate_scorer = make_scorer(hit_rate, greater_is_better=True)
directional_accuracy_scorer = make_scorer(directional_accuracy, greater_is_better=True)
mase_scorer = make_scorer(mase, greater_is_better=False)
strategy_return_scorer = make_scorer(strategy_return, greater_is_better=True)
sharpe_ratio_scorer = make_scorer(sharpe_ratio, greater_is_better=True)
sortino_ratio_scorer = make_scorer(sortino_ratio, greater_is_better=True)
max_drawdown_scorer = make_scorer(max_drawdown, greater_is_better=False)
qlike_scorer = make_scorer(qlike, greater_is_better=False)


class _LevelsScorer:
    """Call ``predict_quantiles``/``predict_interval`` with given levels, then score."""

    def __init__(self, score_func, method, levels_name, levels, sign, kwargs):
        self._score_func = score_func
        self._method = method
        self._levels_name = levels_name
        self._levels = levels
        self._sign = sign
        self._kwargs = kwargs

    def __call__(self, estimator, X, y_true):
        predict = getattr(estimator, self._method, None)
        if predict is None and hasattr(estimator, "steps"):
            # sklearn's Pipeline forwards only the standard predict* methods.
            X = estimator[:-1].transform(X)
            predict = getattr(estimator[-1], self._method, None)
        if predict is None:
            raise TypeError(
                f"{self!r} needs an estimator with {self._method}(X, "
                f"{self._levels_name}=...); {type(estimator).__name__} has none."
            )
        y_pred = predict(X, **{self._levels_name: self._levels})
        return self._sign * self._score_func(y_true, y_pred, **self._kwargs)

    def __repr__(self):
        factory = ("make_quantile_scorer" if self._method == "predict_quantiles"
                   else "make_interval_scorer")
        extra = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return (f"{factory}({self._score_func.__name__}, {self._levels_name}="
                f"{self._levels!r}, greater_is_better={self._sign > 0}{extra})")


def make_quantile_scorer(score_func, *, alpha, greater_is_better=False, **kwargs):
    """Make an sklearn scorer that predicts quantiles at ``alpha`` and scores them.

    The scorer calls ``estimator.predict_quantiles(X, alpha=alpha)`` (through a
    ``Pipeline``'s transformers if needed) and returns
    ``score_func(y_true, quantiles, **kwargs)``, negated when lower is better, as sklearn
    scorers do. :func:`sklearn.metrics.make_scorer` cannot pass ``alpha``.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, e.g. :func:`pinball_loss` or
        :func:`crps_quantiles`.
    alpha : float or list of float
        Quantile levels to predict.
    greater_is_better : bool, default=False
        False for losses (pinball, CRPS): the scorer returns their negative.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    callable
        ``scorer(estimator, X, y_true) -> float``, usable as ``scoring=`` in
        ``cross_val_score`` and ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import crps_quantiles, make_quantile_scorer
    >>> from skfin.model_selection import PurgedWalkForward
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-1200:]
    >>> X, y = r[:-1, None], r[1:]
    >>> scorer = make_quantile_scorer(crps_quantiles, alpha=(np.arange(10) + 0.5) / 10)
    >>> model = MLPRegressor(window=5, output="gaussian", max_epochs=2, device="cpu",
    ...                      random_state=0)
    >>> scores = cross_val_score(model, X, y, cv=PurgedWalkForward(2), scoring=scorer)
    >>> bool((scores < 0).all())       # negated CRPS, in percent
    True
    """
    return _LevelsScorer(score_func, "predict_quantiles", "alpha",
                         _levels_checked(alpha, "alpha", "make_quantile_scorer").tolist(),
                         1 if greater_is_better else -1, kwargs)


def make_interval_scorer(score_func, *, coverage, greater_is_better=False, **kwargs):
    """Make an sklearn scorer that predicts intervals at ``coverage`` and scores them.

    The scorer calls ``estimator.predict_interval(X, coverage=coverage)`` (through a
    ``Pipeline``'s transformers if needed) and returns
    ``score_func(y_true, intervals, **kwargs)``, negated when lower is better.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, e.g. :func:`winkler_score` (select on
        this one), :func:`mean_interval_width` or :func:`empirical_coverage`.
    coverage : float or list of float
        Nominal coverage(s) to predict.
    greater_is_better : bool, default=False
        False for :func:`winkler_score` and :func:`mean_interval_width`. For
        :func:`empirical_coverage` neither is right (the target is the nominal coverage):
        report it, do not select on it.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    callable
        ``scorer(estimator, X, y_true) -> float``.

    Examples
    --------
    >>> from skfin.metrics import make_interval_scorer, winkler_score
    >>> make_interval_scorer(winkler_score, coverage=0.9)
    make_interval_scorer(winkler_score, coverage=[0.9], greater_is_better=False)
    """
    return _LevelsScorer(score_func, "predict_interval", "coverage",
                         _levels_checked(coverage, "coverage", "make_interval_scorer").tolist(),
                         1 if greater_is_better else -1, kwargs)


# ==================================================================================
# sktime metrics
# ==================================================================================
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


class HitRate(_ColumnwiseMetric):
    """Hit rate of return forecasts, for sktime: the fraction of correct signs.

    See :func:`hit_rate`. Higher is better.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, \
default="uniform_average"
        How to combine the instances of panel or hierarchical data.
    by_index : bool, default=False
        Whether calling the metric returns one value per time point (jackknife
        pseudo-values, sktime's default) instead of one overall value.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
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


class DirectionalAccuracy(_ColumnwiseMetric):
    """Directional accuracy of level forecasts, for sktime.

    See :func:`directional_accuracy`. The reference level is the last training value
    (the level at the cutoff) when ``y_train`` is passed, as ``evaluate`` does: "did the
    forecast get the direction of the move from today right, at each step ahead?".
    Without ``y_train`` it is the previous realised value. Higher is better.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, \
default="uniform_average"
        How to combine the instances of panel or hierarchical data.
    by_index : bool, default=False
        Whether calling the metric returns one value per time point (jackknife
        pseudo-values, sktime's default) instead of one overall value.

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


_COST_DOC = """
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points."""

_TRADING_PARAMS_DOC = """
    returns : {"log", "simple"}, default="log"
        Kind of returns forecast.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables (each traded on its own).
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, \
default="uniform_average"
        How to combine the instances of panel or hierarchical data.
    by_index : bool, default=False
        Whether calling the metric returns one value per time point (jackknife
        pseudo-values, sktime's default) instead of one overall value."""

_PPY_DOC = """
    periods_per_year : float, default=252
        Annualisation factor."""

_TRADING_EXAMPLE = """
    Examples
    --------
    Sign of a 250-day mean return forecast for the next 20 days of S&P 500 returns,
    re-forecast every 250 days:

    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import {name}
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = np.log(close).diff().dropna()
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, r,
    ...                scoring={name}(cost_bps=5))
    >>> res["test_{name}"].round(2).tolist()
    {values}"""


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
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings: no costs, and monthly with costs."""
        return [{}, {"cost_bps": 5.0, "periods_per_year": 12}]


class StrategyReturn(_AnnualisedTradingMetric):
    __doc__ = f"""Annualised mean net return of trading the forecast's sign, for sktime.

    See :func:`strategy_return`; each evaluation window is traded on its own, starting
    flat. Higher is better.

    Parameters
    ----------{_COST_DOC}{_PPY_DOC}{_TRADING_PARAMS_DOC}
    {_TRADING_EXAMPLE.format(name="StrategyReturn", values="[0.1, -0.28, 0.45, 0.43, -0.47]")}
    """

    _func = staticmethod(strategy_return)


class SharpeRatio(_AnnualisedTradingMetric):
    __doc__ = f"""Annualised Sharpe ratio of trading the forecast's sign, for sktime.

    See :func:`sharpe_ratio`; each evaluation window is traded on its own, so it needs
    ``len(fh) >= 2`` (with ``fh=1`` score the concatenated forecasts of
    ``evaluate(..., return_data=True)`` with :func:`sharpe_ratio` instead). Higher is
    better.

    Parameters
    ----------{_COST_DOC}{_PPY_DOC}{_TRADING_PARAMS_DOC}
    {_TRADING_EXAMPLE.format(name="SharpeRatio", values="[0.61, -1.57, 5.92, 6.43, -2.11]")}
    """

    _func = staticmethod(sharpe_ratio)


class SortinoRatio(_AnnualisedTradingMetric):
    __doc__ = f"""Annualised Sortino ratio of trading the forecast's sign, for sktime.

    See :func:`sortino_ratio`; each evaluation window is traded on its own. Higher is
    better.

    Parameters
    ----------{_COST_DOC}{_PPY_DOC}{_TRADING_PARAMS_DOC}
    {_TRADING_EXAMPLE.format(name="SortinoRatio", values="[0.98, -2.11, 11.82, 17.66, -2.57]")}
    """

    _func = staticmethod(sortino_ratio)


class MaxDrawdown(_ColumnwiseMetric):
    __doc__ = f"""Maximum drawdown of trading the forecast's sign, for sktime.

    See :func:`max_drawdown`; each evaluation window is traded on its own, starting
    flat. Lower is better.

    Parameters
    ----------{_COST_DOC}{_TRADING_PARAMS_DOC}
    {_TRADING_EXAMPLE.format(name="MaxDrawdown", values="[0.05, 0.05, 0.01, 0.01, 0.07]")}
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
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings: no costs, and with costs."""
        return [{}, {"cost_bps": 5.0}]


class _NamedTargetsMixin:
    """Keep ``y_true``'s columns in the order of ``y_pred``'s (sorted) variables.

    sktime's probabilistic base turns ``y_true`` into an array and sorts ``y_pred``'s
    columns by variable name; for several variables not already sorted by name the
    columns would no longer match.
    """

    def _check_ys(self, y_true, y_pred, multioutput):
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


class WinklerScore(_NamedTargetsMixin, _BaseProbaForecastingErrorMetric):
    """Winkler interval score of prediction intervals, for sktime.

    See :func:`winkler_score`. Lower is better. In ``evaluate``, ``coverage`` sets the
    intervals that the forecaster is asked for.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.
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
            if not keep.any() or len(np.unique(keys.get_level_values(1)[keep])) < len(
                    self._coverage):
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
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings: defaults, and one fixed coverage."""
        return [{}, {"coverage": 0.9}]


class QuantileCRPS(_NamedTargetsMixin, _BaseProbaForecastingErrorMetric):
    """CRPS approximated from quantile forecasts, for sktime.

    See :func:`crps_quantiles`. sktime's own ``CRPS`` needs a distribution
    (``predict_proba``); this one scores ``predict_quantiles``. Lower is better. In
    ``evaluate``, ``alpha`` sets the quantiles the forecaster is asked for: pass many
    (e.g. ``(np.arange(20) + 0.5) / 20``), since the default two are a poor integral.

    Parameters
    ----------
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.
    alpha : float or list of float, default=None
        Quantile levels to use; ``None`` uses all those in ``y_pred``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
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
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings: defaults, and three fixed levels."""
        return [{}, {"alpha": [0.1, 0.5, 0.9]}]


class QLIKE(_ColumnwiseMetric):
    """QLIKE loss of variance (or volatility) forecasts, for sktime.

    See :func:`qlike`. Lower is better.

    Parameters
    ----------
    volatility : bool, default=False
        Whether ``y`` holds volatilities ``sigma`` (scored as ``sigma**2``) rather than
        variances.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, \
default="uniform_average"
        How to combine the instances of panel or hierarchical data.
    by_index : bool, default=False
        Whether calling the metric returns one value per time point (jackknife
        pseudo-values, sktime's default) instead of one overall value.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
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

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings: variances, and volatilities."""
        return [{}, {"volatility": True}]
