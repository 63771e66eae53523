"""Volatility features and targets: range estimators, HAR features, realized variance.

* Per-day variance estimators from daily prices: squared close-to-close log returns and
  the range estimators of Parkinson (1980), Garman and Klass (1980), Rogers and Satchell
  (1991) and Yang and Zhang (2000), as functions on an OHLC frame.
* :class:`HARFeatures`, Corsi's (2009) heterogeneous autoregressive features: the daily,
  weekly and monthly averages of one of those per-day variances, as a causal sklearn and
  sktime transformer built like :class:`~skfin.transformations.TechnicalIndicators`.
* Targets: :func:`realized_variance` (the h-day realized variance, forward-looking for a
  row-aligned scikit-learn target) and :func:`variance_from_log`, the log-normal bias
  correction ``exp(mu + sigma2 / 2)`` that brings a forecast of the *log* variance back
  to variance units.

All variances are per day, in squared log-return units (fractions: ``1e-4`` is a daily
volatility of 1%); multiply by ``1e4`` for percent squared and by 252 to annualise.
Row ``t`` of every per-day estimator and of every HAR feature only uses rows ``<= t``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from skfin._checks import Described
from skfin.transformations._base import (
    _as_windows,
    _column_name,
    _is_int,
    _SeriesTransformer,
    _where,
)

__all__ = [
    "HARFeatures",
    "garman_klass_variance",
    "parkinson_variance",
    "realized_variance",
    "rogers_satchell_variance",
    "squared_returns",
    "variance_from_log",
    "yang_zhang_variance",
]

_LN2 = np.log(2.0)
_OPEN, _HIGH, _LOW, _CLOSE = "open", "high", "low", "close"
_FIELDS = (_OPEN, _HIGH, _LOW, _CLOSE)
ESTIMATORS = ("close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang")
#: Price fields each per-day estimator reads.
_NEEDS = {
    "close": (_CLOSE,),
    "parkinson": (_HIGH, _LOW),
    "garman_klass": _FIELDS,
    "rogers_satchell": _FIELDS,
    "yang_zhang": _FIELDS,
}


# ----------------------------------------------------------------------------- maths
# Every function takes float64 arrays of strictly positive, consistent prices (checked
# by the callers) and returns a float64 array aligned with them.


def _previous(values):
    out = np.full(len(values), np.nan)
    out[1:] = values[:-1]
    return out


def _squared_returns(close):
    """``log(C_t / C_{t-1})**2``; NaN on the first row."""
    return np.log(close / _previous(close)) ** 2


def _parkinson(high, low):
    """``log(H/L)**2 / (4 log 2)``."""
    return np.log(high / low) ** 2 / (4.0 * _LN2)


def _garman_klass(open_, high, low, close):
    """``0.5 log(H/L)**2 - (2 log 2 - 1) log(C/O)**2``."""
    return 0.5 * np.log(high / low) ** 2 - (2.0 * _LN2 - 1.0) * np.log(close / open_) ** 2


def _rogers_satchell(open_, high, low, close):
    """``log(H/C) log(H/O) + log(L/C) log(L/O)``, written with ``u, d, c`` relative to
    the open: ``u (u - c) + d (d - c)``, a sum of two products of same-sign factors."""
    u, d, c = np.log(high / open_), np.log(low / open_), np.log(close / open_)
    return u * (u - c) + d * (d - c)


def _yang_zhang_k(window):
    return 0.34 / (1.34 + (window + 1) / (window - 1))


def _yang_zhang(open_, high, low, close, window):
    """Yang and Zhang's variance over the ``window`` days ending at each row.

    ``V_O + k V_C + (1 - k) V_RS`` with ``V_O`` the sample variance (ddof=1) of the
    overnight returns ``log(O_t / C_{t-1})``, ``V_C`` that of the open-to-close returns
    ``log(C_t / O_t)``, ``V_RS`` the mean Rogers-Satchell variance over the window and
    ``k = 0.34 / (1.34 + (n + 1) / (n - 1))``.
    """
    overnight = pd.Series(np.log(open_ / _previous(close)))
    intraday = pd.Series(np.log(close / open_))
    rs = pd.Series(_rogers_satchell(open_, high, low, close))
    k = _yang_zhang_k(window)
    v_o = overnight.rolling(window, min_periods=window).var(ddof=1).to_numpy()
    v_c = intraday.rolling(window, min_periods=window).var(ddof=1).to_numpy()
    v_rs = rs.rolling(window, min_periods=window).mean().to_numpy()
    return np.maximum(v_o + k * v_c + (1.0 - k) * v_rs, 0.0)  # rounding of rolling sums


def _daily_variance(data, estimator, yang_zhang_window):
    """The per-day variance series of ``estimator`` from the fields in ``data``."""
    fields = {f: data[f].to_numpy(np.float64) for f in _NEEDS[estimator]}
    if estimator == "close":
        return _squared_returns(fields[_CLOSE])
    if estimator == "parkinson":
        return _parkinson(fields[_HIGH], fields[_LOW])
    args = (fields[_OPEN], fields[_HIGH], fields[_LOW], fields[_CLOSE])
    if estimator == "garman_klass":
        return np.maximum(_garman_klass(*args), 0.0)  # >= 0.114 log(H/L)**2 exactly
    if estimator == "rogers_satchell":
        return _rogers_satchell(*args)
    return _yang_zhang(*args, yang_zhang_window)


def _daily_warmup(estimator, yang_zhang_window):
    """Leading rows on which the per-day variance is NaN by construction."""
    if estimator == "close":
        return 1
    if estimator == "yang_zhang":
        return yang_zhang_window  # the first overnight return needs the previous close
    return 0


# ------------------------------------------------------------------ input checking
def _check_prices(data, what, describe=_column_name):
    """Raise a ValueError if a price is <= 0 or the OHLC prices are inconsistent.

    ``data`` has the fields as columns (a subset of open/high/low/close); ``describe``
    turns a field into the text naming the user's column.
    """
    values = data.to_numpy(np.float64)
    bad = values <= 0
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{what} needs strictly positive prices, but column {describe(data.columns[col])} "
            f"is {values[row, col]:g} at {_where(data.index, row)} ({int(bad.sum())} "
            "non-positive values in all); the variance estimators take logarithms of "
            "prices. Fix or remove these rows."
        )
    if _HIGH not in data or _LOW not in data:
        return
    high, low = data[_HIGH].to_numpy(), data[_LOW].to_numpy()
    for field in (_OPEN, _CLOSE, _LOW):
        if field not in data:
            continue
        price = data[field].to_numpy()
        for side, wrong in (("above", price > high), ("below", price < low)):
            if field == _LOW and side == "below":
                continue
            if wrong.any():
                row = int(np.argmax(wrong))
                bound = _HIGH if side == "above" else _LOW
                raise ValueError(
                    f"{what} needs consistent OHLC prices (low <= open, close <= high), "
                    f"but at {_where(data.index, row)} {describe(field)} = {price[row]:g} "
                    f"is {side} {describe(bound)} = {data[bound].iloc[row]:g} "
                    f"({int(wrong.sum())} such rows). Check the column mapping or fix the "
                    "data."
                )


def _ohlc_fields(ohlc, estimator, columns, what):
    """The fields ``estimator`` needs, from a DataFrame (or a close Series), checked."""
    needed = _NEEDS[estimator]
    if isinstance(ohlc, pd.Series):
        if needed != (_CLOSE,):
            raise TypeError(
                f"{what} needs the {', '.join(needed)} prices, but got one Series; pass a "
                f"DataFrame with the columns {[columns[f] for f in needed]}."
            )
        ohlc = ohlc.to_frame()
        columns = {**columns, _CLOSE: ohlc.columns[0]}
    if not isinstance(ohlc, pd.DataFrame):
        raise TypeError(
            f"{what} needs a pandas DataFrame (or a close Series for squared_returns), got "
            f"{type(ohlc).__name__}."
        )
    missing = [columns[f] for f in needed if columns[f] not in ohlc.columns]
    if missing:
        required = ", ".join(f"{f}={columns[f]!r}" for f in needed)
        raise ValueError(
            f"{what} needs the columns {required}, but the data lack {missing}; they have "
            f"columns {list(ohlc.columns)}. Pass the column names as keyword arguments."
        )
    index = ohlc.index
    if not index.is_unique or not index.is_monotonic_increasing:
        raise ValueError(
            f"{what} needs rows in time order with a unique index (returns and windows "
            "read the previous rows); sort and deduplicate first, e.g. "
            "ohlc[~ohlc.index.duplicated(keep='last')].sort_index()."
        )
    data = ohlc[[columns[f] for f in needed]].set_axis(list(needed), axis=1)
    try:
        data = data.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{what} needs numeric prices, but the columns {[columns[f] for f in needed]} "
            f"could not be read as numbers ({error}). Convert them first, e.g. "
            "ohlc.apply(pd.to_numeric)."
        ) from error
    values = data.to_numpy()
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise ValueError(
            f"{what}: column {_column_name(columns[needed[col]])} contains NaN or inf "
            f"(first at {_where(data.index, row)}; {int((~np.isfinite(values)).sum())} in "
            "all). Drop or fill the missing rows first, e.g. ohlc.ffill()."
        )
    _check_prices(data, what, describe=lambda f: _column_name(columns.get(f, f)))
    return data


def _estimator_function(estimator, name, ohlc, columns, yang_zhang_window=5):
    data = _ohlc_fields(ohlc, estimator, columns, name)
    values = _daily_variance(data, estimator, yang_zhang_window)
    return pd.Series(values, index=data.index, name=estimator)


# ----------------------------------------------------------- public estimator functions
def squared_returns(close):
    """Squared close-to-close log returns, ``log(C_t / C_{t-1})**2``: the raw daily variance.

    Parameters
    ----------
    close : pandas.Series or pandas.DataFrame
        Close prices, rows in time order (a DataFrame needs a ``"Close"`` column).

    Returns
    -------
    pandas.Series
        One value per row, named ``"close"``; NaN on the first row (no previous close).

    See Also
    --------
    parkinson_variance, garman_klass_variance, rogers_satchell_variance,
    yang_zhang_variance : less noisy estimators from the day's range.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import squared_returns
    >>> v = squared_returns(load_sp500()["Close"])
    >>> round(float(v.loc["2008-10-15"]) ** 0.5, 4)   # the S&P 500 fell 9.5% that day
    0.0947
    """
    return _estimator_function("close", "squared_returns", close, {_CLOSE: "Close"})


def parkinson_variance(ohlc, *, high="High", low="Low"):
    """Parkinson's (1980) daily variance from the high and low, ``log(H/L)**2 / (4 log 2)``.

    Unbiased for a driftless Brownian motion observed continuously during the day, about
    five times as efficient as the squared return. It ignores the overnight move and
    overstates the variance of a trending day (the drift widens the range).

    Parameters
    ----------
    ohlc : pandas.DataFrame
        Daily prices, rows in time order.
    high, low : str, default="High", "Low"
        Column labels of the high and low prices.

    Returns
    -------
    pandas.Series
        One non-negative value per row, named ``"parkinson"``.

    References
    ----------
    .. [1] M. Parkinson, "The extreme value method for estimating the variance of the
       rate of return", *Journal of Business* 53(1), 1980.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import parkinson_variance
    >>> v = parkinson_variance(load_sp500())
    >>> bool((v >= 0).all()), round(float(v.mean()) * 252, 4)   # annualised
    (True, 0.0253)
    """
    return _estimator_function("parkinson", "parkinson_variance", ohlc,
                               {_HIGH: high, _LOW: low})


def garman_klass_variance(ohlc, *, open="Open", high="High", low="Low", close="Close"):
    """Garman and Klass's (1980) daily variance,
    ``0.5 log(H/L)**2 - (2 log 2 - 1) log(C/O)**2``.

    The minimum-variance quadratic estimator from open, high, low and close for a driftless
    Brownian motion (about 7.4 times as efficient as the squared return). Always
    ``>= 0.114 log(H/L)**2``, because ``|log(C/O)| <= log(H/L)``. Like Parkinson's, it
    ignores the overnight move and is biased by a drift.

    Parameters
    ----------
    ohlc : pandas.DataFrame
        Daily prices, rows in time order.
    open, high, low, close : str, default="Open", "High", "Low", "Close"
        Column labels.

    Returns
    -------
    pandas.Series
        One non-negative value per row, named ``"garman_klass"``.

    References
    ----------
    .. [1] M. B. Garman and M. J. Klass, "On the estimation of security price
       volatilities from historical data", *Journal of Business* 53(1), 1980.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import garman_klass_variance
    >>> v = garman_klass_variance(load_sp500())
    >>> bool((v >= 0).all()), round(float(v.mean()) * 252, 4)
    (True, 0.022)
    """
    return _estimator_function("garman_klass", "garman_klass_variance", ohlc,
                               {_OPEN: open, _HIGH: high, _LOW: low, _CLOSE: close})


def rogers_satchell_variance(ohlc, *, open="Open", high="High", low="Low",
                             close="Close"):
    """Rogers and Satchell's (1991) daily variance,
    ``log(H/C) log(H/O) + log(L/C) log(L/O)``.

    Unbiased whatever the drift: a day that moves straight from the open (its low) to the
    close (its high) has variance 0, where Parkinson and Garman-Klass see a range. Each
    term is a product of two factors of the same sign, so the estimate is never negative.
    It ignores the overnight move.

    Parameters
    ----------
    ohlc : pandas.DataFrame
        Daily prices, rows in time order.
    open, high, low, close : str, default="Open", "High", "Low", "Close"
        Column labels.

    Returns
    -------
    pandas.Series
        One non-negative value per row, named ``"rogers_satchell"``.

    References
    ----------
    .. [1] L. C. G. Rogers and S. E. Satchell, "Estimating variance from high, low and
       closing prices", *Annals of Applied Probability* 1(4), 1991.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import rogers_satchell_variance
    >>> v = rogers_satchell_variance(load_sp500())
    >>> bool((v >= 0).all()), round(float(v.mean()) * 252, 4)
    (True, 0.0214)
    """
    return _estimator_function("rogers_satchell", "rogers_satchell_variance", ohlc,
                               {_OPEN: open, _HIGH: high, _LOW: low, _CLOSE: close})


def yang_zhang_variance(ohlc, *, window=5, open="Open", high="High", low="Low",
                        close="Close"):
    """Yang and Zhang's (2000) daily variance over the ``window`` days ending at each row.

    ``V_O + k V_C + (1 - k) V_RS``, where ``V_O`` is the sample variance (ddof=1) of
    the ``window`` overnight returns ``log(O_t / C_{t-1})``, ``V_C`` that of the
    open-to-close returns ``log(C_t / O_t)``, ``V_RS`` the mean Rogers-Satchell variance
    and ``k = 0.34 / (1.34 + (n + 1) / (n - 1))`` with ``n = window``, the weight that
    minimises the estimator's variance. Unlike the one-day estimators it is a multi-day
    estimator: it needs ``window >= 2`` days (two returns for a sample variance), it
    includes the overnight jump, and it is unbiased whatever the drift (the sample
    variances remove the mean).

    Parameters
    ----------
    ohlc : pandas.DataFrame
        Daily prices, rows in time order.
    window : int, default=5
        Days per estimate (``n``), at least 2. Row ``t`` uses rows ``t - n .. t`` (the
        close before the window for the first overnight return).
    open, high, low, close : str, default="Open", "High", "Low", "Close"
        Column labels.

    Returns
    -------
    pandas.Series
        Non-negative values named ``"yang_zhang"``, NaN on the first ``window`` rows.

    References
    ----------
    .. [1] D. Yang and Q. Zhang, "Drift-independent volatility estimation based on high,
       low, open, and close prices", *Journal of Business* 73(3), 2000.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import yang_zhang_variance
    >>> v = yang_zhang_variance(load_sp500(), window=22)
    >>> int(v.isna().sum()), round(float(v.mean()) * 252, 4)
    (22, 0.0237)
    """
    if not _is_int(window, 2):
        raise ValueError(
            f"yang_zhang_variance needs window to be an int >= 2 (two returns for a "
            f"sample variance); got {window!r}."
        )
    return _estimator_function("yang_zhang", "yang_zhang_variance", ohlc,
                               {_OPEN: open, _HIGH: high, _LOW: low, _CLOSE: close},
                               yang_zhang_window=int(window))


# --------------------------------------------------------------------------- targets
def realized_variance(returns, horizon=5, *, forward=True):
    """The ``horizon``-day realized variance: a sum of squared returns.

    ``forward=True`` (a row-aligned target for the scikit-learn face): row ``t`` holds
    ``r[t+1]**2 + ... + r[t+horizon]**2``, the variance of the next ``horizon`` days,
    known at ``t + horizon`` only (NaN on the last ``horizon`` rows: drop them before
    fitting). ``forward=False``: row ``t`` holds ``r[t-horizon+1]**2 + ... + r[t]**2``,
    the trailing realized variance, the square of the realized volatility that ``skfin
    backtest --target realized_vol`` and the GARCH and HAR baselines forecast.

    The result is in squared units of ``returns`` (percent returns give percent
    squared). A model fitted to ``log(realized_variance(...))`` forecasts the log
    variance; bring its forecasts back with :func:`variance_from_log`, not ``np.exp``.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Returns, rows in time order (one column per asset). Leading missing values (the
        first row of a return series) are allowed and give NaN where a window holds one;
        any later NaN or inf raises.
    horizon : int, default=5
        Days summed.
    forward : bool, default=True
        Future (``True``) or trailing (``False``) window, as above.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Same shape, index and names as ``returns``.

    See Also
    --------
    HARFeatures : the trailing averages of the daily variance, the features that go
        with this target.

    Examples
    --------
    Next week's variance of the S&P 500 (percent squared), aligned with today's row:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import realized_variance
    >>> r = 100 * np.log(load_sp500()["Close"]).diff()
    >>> target = realized_variance(r, horizon=5)
    >>> round(float(target.loc["2008-10-08"]), 2), int(target.isna().sum())
    (274.18, 5)
    """
    if not _is_int(horizon, 1):
        raise ValueError(f"realized_variance needs horizon to be an int >= 1; got {horizon!r}.")
    if not isinstance(forward, (bool, np.bool_)):
        raise TypeError(f"realized_variance needs forward=True or False; got {forward!r}.")
    if isinstance(returns, (pd.Series, pd.DataFrame)):
        frame = returns.to_frame() if isinstance(returns, pd.Series) else returns
    else:
        raise TypeError(
            "realized_variance needs a pandas Series or DataFrame of returns (rows in "
            f"time order); got {type(returns).__name__}. Wrap an array with pd.Series."
        )
    values = frame.to_numpy(np.float64)
    finite = np.isfinite(values)
    started = np.maximum.accumulate(finite, axis=0)  # after each column's first value
    late = started & ~finite
    if late.any():
        row, col = np.argwhere(late)[0]
        raise ValueError(
            f"realized_variance: returns column {_column_name(frame.columns[col])} has a "
            f"missing or infinite value at {_where(frame.index, row)} after its first "
            f"value ({int(late.sum())} in all); a sum of squares would be NaN there. Fill "
            "or drop these rows first (only leading NaN, e.g. a return's first row, are "
            "allowed)."
        )
    squares = pd.DataFrame(values ** 2, index=frame.index, columns=frame.columns)
    summed = squares.rolling(horizon, min_periods=horizon).sum()
    if forward:
        summed = summed.shift(-horizon)
    if isinstance(returns, pd.Series):
        return summed.iloc[:, 0].rename(returns.name)
    return summed


def variance_from_log(log_forecast, residual_variance):
    """Variance-unit forecast from a forecast of the log variance: ``exp(mu + s2 / 2)``.

    If ``log RV = mu + e`` with ``e ~ N(0, s2)``, then ``E[RV] = exp(mu + s2 / 2)``;
    ``exp(mu)`` is only the median, which underestimates the mean variance by the factor
    ``exp(-s2 / 2)`` (by about 25-30% for a log-HAR of the S&P 500's 5-day realized
    variance, whose residual variance is about 0.56; see the tests). ``s2`` is the variance of the log model's residuals, estimated on
    data the model was fitted on (or, better, on a validation period).

    Parameters
    ----------
    log_forecast : float, array-like, pandas.Series or pandas.DataFrame
        Forecasts ``mu`` of the log variance.
    residual_variance : float or array-like
        ``s2 >= 0``, broadcast against ``log_forecast`` (e.g. one per horizon).

    Returns
    -------
    Same type as ``log_forecast``
        The mean-unbiased variance forecast (under log-normal errors).

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.transformations import variance_from_log
    >>> float(variance_from_log(np.log(2.0), 0.0))
    2.0
    >>> round(float(variance_from_log(np.log(2.0), 0.5)), 4)   # 2 * exp(0.25)
    2.5681
    """
    s2 = np.asarray(residual_variance, dtype=np.float64)
    if not np.isfinite(s2).all() or (s2 < 0).any():
        raise ValueError(
            "variance_from_log needs a finite residual_variance >= 0 (the variance of the "
            f"log model's residuals); got {residual_variance!r}."
        )
    mu = log_forecast
    if isinstance(mu, (pd.Series, pd.DataFrame)):
        if not np.isfinite(mu.to_numpy(np.float64)).all():
            raise ValueError("variance_from_log: log_forecast contains NaN or inf.")
        return np.exp(mu + s2 / 2.0)
    mu = np.asarray(mu, dtype=np.float64)
    if not np.isfinite(mu).all():
        raise ValueError("variance_from_log: log_forecast contains NaN or inf.")
    return np.exp(mu + s2 / 2.0)


# ----------------------------------------------------------------------------- class
def _har_windows_constraint():
    return Described(
        lambda v: _is_int(v, 1)
        or (isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_int(k, 1) for k in v)),
        "an int >= 1 or a non-empty tuple of ints >= 1",
    )


class HARFeatures(_SeriesTransformer):
    """Corsi's (2009) HAR features: daily, weekly and monthly averages of a daily variance.

    Row ``t`` holds, for each window ``n``, ``rv_n[t] = mean(v[t-n+1], ..., v[t])`` of
    a per-day variance ``v`` (``log_rv_n``, its logarithm, with ``log=True``). With the
    default windows ``(1, 5, 22)`` these are Corsi's daily, weekly and monthly
    components; an ordinary least-squares regression of the next days' realized
    variance on them is the HAR-RV model
    (:class:`~skfin.baselines.HARVolatilityForecaster`). Row ``t`` only uses rows
    ``<= t``.

    Parameters
    ----------
    estimator : {"close", "parkinson", "garman_klass", "rogers_satchell", \
"yang_zhang"}, default="close"
        The per-day variance ``v``: the squared close-to-close log return
        (:func:`squared_returns`, needs only ``close``) or a range estimator from the
        day's prices (:func:`parkinson_variance` needs ``high`` and ``low``; the others
        all four prices). ``"yang_zhang"`` is a multi-day estimator: ``v[t]`` is the
        Yang-Zhang variance of the ``yang_zhang_window`` days ending at ``t``.
    windows : int or tuple of int, default=(1, 5, 22)
        Days averaged, one column each (``rv_1``, ``rv_5``, ``rv_22``).
    log : bool, default=False
        Return ``log(rv_n)`` (``log_rv_n``), the usual features of a log-HAR. A zero
        average (e.g. an unchanged close with ``windows=(1,)``) then raises, naming it.
    yang_zhang_window : int, default=5
        Days in each Yang-Zhang estimate (at least 2); used by
        ``estimator="yang_zhang"`` only.
    open, high, low, close : str, int or None, default="Open", "High", "Low", "Close"
        Where each price is in ``X``: a column label, an int for a column position
        (arrays), or None if ``X`` has no such column (the estimator must not need it).
        A Series is read as a one-column DataFrame.
    warmup : {"nan", "drop"}, default="nan"
        The first ``n_warmup_`` rows lack a full window. ``"nan"`` keeps them (NaN), so
        the output has the input's index (use this in scikit-learn pipelines);
        ``"drop"`` removes them.
    fill : {"raise", "ffill", "drop"}, default="raise"
        Missing prices: ``"raise"`` raises a ``ValueError`` naming the column and the
        date; ``"ffill"`` carries the last observation forward (causal); ``"drop"``
        removes the rows.

    Attributes
    ----------
    n_warmup_ : int
        Leading rows with a NaN by construction: ``max(windows)`` for ``"close"`` (the
        first return needs a previous close), ``max(windows) - 1`` for the one-day range
        estimators, ``yang_zhang_window + max(windows) - 1`` for ``"yang_zhang"``.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit`` (only for a DataFrame with string column names).

    See Also
    --------
    realized_variance : the h-day realized variance target.
    TechnicalIndicators : built the same way; its ``volatility_n`` is a rolling std.

    Notes
    -----
    Variances are in squared log-return units (fractions). Which estimator: the squared
    return is the noisiest but needs only closes and includes the overnight move; with
    OHLC data, Parkinson (high-low) is about 5 times as efficient for a driftless
    random walk, Garman-Klass about 7, and both are biased upward by a trend;
    Rogers-Satchell is unbiased under any drift; Yang-Zhang adds the overnight jump and
    has the smallest variance among drift-independent estimators (the paper's result),
    at the price of averaging over several days. All range estimators see only the
    traded session: they understate the close-to-close variance when overnight moves
    matter. In the bundled S&P 500 data the open equals the previous close on 73% of
    the days before 2009 (no overnight move recorded) but on 6% since.

    Like :class:`TechnicalIndicators`, the transformer keeps the rows seen in
    ``fit``/``update``, and ``transform`` of later rows continues from them.

    References
    ----------
    .. [1] F. Corsi, "A simple approximate long-memory model of realized volatility",
       *Journal of Financial Econometrics* 7(2), 2009.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import HARFeatures
    >>> ohlcv = load_sp500()
    >>> har = HARFeatures()
    >>> X = har.fit_transform(ohlcv)
    >>> list(X.columns), har.n_warmup_
    (['rv_1', 'rv_5', 'rv_22'], 22)
    >>> (1e4 * X.loc["2018-12-31"]).round(3).tolist()       # percent squared
    [0.715, 6.488, 3.346]

    From a range estimator, as logs, without the warm-up rows:

    >>> har = HARFeatures(estimator="garman_klass", log=True, warmup="drop")
    >>> har.fit_transform(ohlcv).shape
    (5010, 3)

    A price the estimator needs must be there:

    >>> try:
    ...     HARFeatures(estimator="parkinson").fit(ohlcv.drop(columns="Low"))
    ... except ValueError as error:
    ...     print(error)
    HARFeatures(estimator='parkinson') needs the columns high='High', low='Low', but X lacks ['Low']; ...
    """

    _parameter_constraints: dict = {
        **_SeriesTransformer._parameter_constraints,
        "estimator": [StrOptions(set(ESTIMATORS))],
        "windows": [_har_windows_constraint()],
        "log": ["boolean"],
        "yang_zhang_window": [Interval(Integral, 2, None, closed="left")],
        "open": [str, Interval(Integral, 0, None, closed="left"), None],
        "high": [str, Interval(Integral, 0, None, closed="left"), None],
        "low": [str, Interval(Integral, 0, None, closed="left"), None],
        "close": [str, Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        estimator="close",
        windows=(1, 5, 22),
        log=False,
        yang_zhang_window=5,
        open="Open",
        high="High",
        low="Low",
        close="Close",
        warmup="nan",
        fill="raise",
    ):
        self.estimator = estimator
        self.windows = windows
        self.log = log
        self.yang_zhang_window = yang_zhang_window
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.warmup = warmup
        self.fill = fill
        super().__init__()

    # ------------------------------------------------------------ parameter handling
    def _spec(self):
        """Plan ``[(name, window, warm-up rows)]`` from the (validated) parameters."""
        windows = _as_windows(self.windows)
        prefix = "log_rv" if self.log else "rv"
        base = _daily_warmup(self.estimator, int(self.yang_zhang_window))
        plan = [(f"{prefix}_{n}", n, base + n - 1) for n in windows]
        names = [name for name, *_ in plan]
        if len(set(names)) != len(names):
            duplicated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(
                f"HARFeatures would produce the columns {duplicated} twice; list each "
                "window once."
            )
        return plan

    def _requires_positive(self):
        return True  # every estimator takes logarithms of prices

    def _columns(self):
        return {f: getattr(self, f) for f in _FIELDS}

    def _select_fields(self, X):
        """``X``'s columns needed by the estimator, renamed to the field names."""
        needed = _NEEDS[self.estimator]
        what = f"HARFeatures(estimator={self.estimator!r})"
        switched_off = [f for f in needed if getattr(self, f) is None]
        if switched_off:
            raise ValueError(
                f"{what} needs the {', '.join(needed)} prices, but "
                f"{', '.join(f'{f}=None' for f in switched_off)}. Name the column(s), or "
                "choose an estimator that does not need them (estimator='close' needs only "
                "close)."
            )
        positions, missing = [], []
        for field in needed:
            key = getattr(self, field)
            if isinstance(key, Integral) and not isinstance(key, bool):
                if key >= X.shape[1]:
                    raise ValueError(
                        f"{what}: {field}={key} selects column position {key}, but X has "
                        f"{X.shape[1]} columns. Set {field}= to a valid position or name."
                    )
                positions.append(int(key))
            elif key in X.columns:
                positions.append(X.columns.get_loc(key))
            else:
                missing.append(key)
        if missing:
            required = ", ".join(f"{f}={getattr(self, f)!r}" for f in needed)
            raise ValueError(
                f"{what} needs the columns {required}, but X lacks {missing}; X has "
                f"columns {list(X.columns)}. Pass the column names (open=, high=, low=, "
                "close=), or choose an estimator that needs fewer prices."
            )
        return X.iloc[:, positions]  # the user's labels, for the messages of _prepare

    def _describe(self, field):
        return f"{_column_name(getattr(self, field))} ({field}=)"

    def _checked(self, X, history=None):
        """``X``'s needed columns after ``history``, with ``fill`` applied and checked.

        Returns the merged rows under the user's column labels (kept as history) and
        the same rows under the field names (for the maths).
        """
        merged = self._prepare(self._select_fields(X), history)
        data = merged.set_axis(list(_NEEDS[self.estimator]), axis=1)
        _check_prices(data.dropna(), type(self).__name__, describe=self._describe)
        return merged, data

    # ------------------------------------------------------------ sktime internals
    def _fit(self, X, y=None):
        plan = self._spec()
        self._history, _ = self._checked(X)
        self.n_warmup_ = max(lag for *_, lag in plan)
        return self

    def _transform(self, X, y=None):
        plan = self._spec()
        _, data = self._checked(X, self._history)
        daily = pd.Series(_daily_variance(data, self.estimator, int(self.yang_zhang_window)))
        out = {}
        for name, n, _ in plan:
            average = daily.rolling(n, min_periods=n).mean().to_numpy()
            out[name] = np.maximum(average, 0.0)  # rounding of rolling sums of squares
        result = pd.DataFrame(out, index=data.index, dtype=np.float64)
        result = self._select_rows(result, data, X.index, n_warmup=self.n_warmup_)
        if self.log:
            zero = result.to_numpy() == 0
            if zero.any():
                row, col = np.argwhere(zero)[0]
                raise ValueError(
                    f"HARFeatures(log=True): the average variance "
                    f"{result.columns[col].removeprefix('log_')} is 0 at "
                    f"{_where(result.index, row)} (e.g. an unchanged close, or high = "
                    "low), so its logarithm is -inf. Use log=False, longer windows, or a "
                    "range estimator."
                )
            with np.errstate(invalid="ignore"):
                result = np.log(result)
        return result

    def _update(self, X, y=None):
        self._history, _ = self._checked(X, self._history)
        return self

    # ------------------------------------------------------------------ sklearn API
    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the columns seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``rv_n`` (or ``log_rv_n``) for each window, in order.
        """
        self._check_input_features(input_features)
        return np.asarray([name for name, *_ in self._spec()], dtype=object)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters to return.

        Returns
        -------
        params : list of dict
            Parameters to create testing instances of the class. sktime's test data
            have no OHLC columns: the prices are read by position.
        """
        return [
            {"estimator": "close", "close": 0, "open": None, "high": None, "low": None,
             "windows": (1, 2, 3)},
            {"estimator": "yang_zhang", "open": 0, "high": 0, "low": 0, "close": 0,
             "windows": (1, 3), "yang_zhang_window": 2, "fill": "ffill", "warmup": "drop"},
            {"estimator": "close", "close": 0, "open": None, "high": None, "low": None,
             "windows": (2, 4), "log": True},
        ]

