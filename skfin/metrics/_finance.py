"""Point metrics for finance: direction, scaled error, a sign strategy's record, QLIKE."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from skfin._checks import check_finite
from skfin._warnings import warn
from skfin.metrics._docs import fill_doc
from skfin.metrics._validation import _as_2d, _point_pair, _row_weights, _values


# ==================================================================================
# direction
# ==================================================================================
@fill_doc
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
    {sample_weight}

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


@fill_doc
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
    {sample_weight}

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
        check_finite(np.atleast_1d(ref), f"{func}: y_ref")
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
_RETURNS_KINDS = ("log", "simple")
_NOT_ANNUALISED = object()  # the periods_per_year of a metric that does not annualise


def _check_trading_params(func, cost_bps, periods_per_year, returns) -> None:
    if not isinstance(cost_bps, Real) or not np.isfinite(cost_bps) or cost_bps < 0:
        raise ValueError(
            f"{func}: cost_bps must be a finite number >= 0 (basis points per unit of "
            f"position change); got cost_bps={cost_bps!r}."
        )
    if periods_per_year is not _NOT_ANNUALISED and (
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


def _series_pair(y_true, y_pred, func: str) -> tuple[np.ndarray, np.ndarray]:
    """One series of returns and one of forecasts (1D, or 2D with one column)."""
    yt, yp = _point_pair(y_true, y_pred, func)
    if yt.shape[1] != 1:
        raise ValueError(
            f"{func}: trades one series, but y_true has {yt.shape[1]} columns. Pass one "
            "column, e.g. the one-step-ahead column y[:, 0]."
        )
    return yt[:, 0], yp[:, 0]


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
    _check_trading_params(func, cost_bps, _NOT_ANNUALISED, returns)
    yt, yp = _series_pair(y_true, y_pred, func)
    if returns == "simple" and (yt < -1).any():
        raise ValueError(
            f"{func}: y_true holds simple returns below -1 (first at row "
            f"{int(np.argmax(yt < -1))}), i.e. losses of more than 100%. Pass simple "
            'returns P[t] / P[t-1] - 1, or log returns with returns="log".'
        )
    big = np.abs(yt) >= 1
    if big.any():
        warn(
            f"{func}: y_true holds per-period returns of 100% or more (max |y_true| = "
            f"{np.abs(yt).max():.4g}, first at row {int(np.argmax(big))}). Trading metrics "
            "read returns as fractions (0.01 = 1%): if these are prices or percentages, "
            "pass returns, or divide percentages by 100.",
            UserWarning,
        )
    simple = np.expm1(yt) if returns == "log" else yt
    position = np.sign(yp)
    turnover = np.abs(np.diff(position, prepend=0.0))
    return position * simple - cost_bps * 1e-4 * turnover


@fill_doc
def strategy_return(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                    returns="log") -> float:
    """Annualised mean net return of trading the sign of the forecast.

    ``mean(strategy_returns(...)) * periods_per_year``: the arithmetic annual return,
    the numerator of the Sharpe ratio. Comparable across test periods of different
    lengths, unlike a cumulative return.

    Parameters
    ----------
    {trading_data}
    {cost_bps}
    periods_per_year : float, default=252
        Annualisation factor (252 trading days, 52 weeks, 12 months).
    {returns}

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
    warn(f"{func} is undefined: {why}; returning nan.", UndefinedMetricWarning)
    return float("nan")


@fill_doc
def sharpe_ratio(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                 returns="log") -> float:
    """Annualised Sharpe ratio of trading the sign of the forecast, after costs.

    ``mean(s) / std(s, ddof=1) * sqrt(periods_per_year)`` of the net returns ``s`` of
    :func:`strategy_returns`, with a zero risk-free rate (pass excess returns to include
    one).

    Parameters
    ----------
    {trading_data}
    {cost_bps}
    {periods_per_year}
    {returns}

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


@fill_doc
def sortino_ratio(y_true, y_pred, *, cost_bps=0.0, periods_per_year=252,
                  returns="log") -> float:
    """Annualised Sortino ratio of trading the sign of the forecast, after costs.

    ``mean(s) / sqrt(mean(min(s, 0) ** 2)) * sqrt(periods_per_year)``: like the Sharpe
    ratio, but only losses count as risk (downside deviation below a zero target, averaged
    over all periods, as in Sortino & Price, 1994).

    Parameters
    ----------
    {trading_data}
    {cost_bps}
    {periods_per_year}
    {returns}

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


@fill_doc
def max_drawdown(y_true, y_pred, *, cost_bps=0.0, returns="log") -> float:
    """Largest peak-to-trough fall of the sign strategy's wealth, as a fraction.

    Wealth starts at 1 and compounds the net returns of :func:`strategy_returns`;
    the drawdown at ``t`` is ``1 - wealth[t] / max(wealth[:t + 1])``, the peak including
    the starting 1.

    Parameters
    ----------
    {trading_data}
    {cost_bps}
    {returns}

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
    _check_trading_params(func, cost_bps, _NOT_ANNUALISED, returns)
    s = _strategy_returns(y_true, y_pred, cost_bps, returns, func)
    wealth = np.cumprod(1.0 + s)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return float(max(np.max(1.0 - wealth / peak), 0.0))


# ==================================================================================
# volatility
# ==================================================================================
@fill_doc
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
    {sample_weight}

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
