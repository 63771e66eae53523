"""Causal technical indicators on OHLCV data, as one sklearn and sktime transformer.

Every indicator is a few lines: windowed statistics are pandas ``rolling``/``ewm``, the
element-wise arithmetic numpy; what is hand-written is the estimator around them: column mapping,
deterministic output names, the warm-up and missing-data policies, and a memory of the
rows seen in ``fit``/``update`` so that transforming the next rows (e.g. exogenous
features for the forecast horizon in sktime's ``ForecastingPipeline``) continues the
indicators instead of starting a new warm-up. The independent ``ta`` package is the
reference in the tests; the conventions (where sources differ) are listed on
:class:`TechnicalIndicators`.

Row ``t`` of every output only uses rows ``<= t``: rolling windows are trailing, EWMs
run forward, and ``fill="ffill"`` only carries earlier values forward.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval

from skfin.transformations._base import (
    _as_windows,
    _column_name,
    _SeriesTransformer,
    _tuple_constraint,
    _windows_constraint,
)

__all__ = ["TechnicalIndicators"]

# --------------------------------------------------------------------- indicator maths
# Windowed statistics are pandas ``rolling``/``ewm`` on Series; element-wise arithmetic
# is done on the resulting float arrays (pandas' per-operation overhead dominates on
# short series otherwise). Every function returns a float64 ndarray aligned with input.


def _rolling(values, window):
    return pd.Series(values).rolling(window, min_periods=window)


def _ema(values, window):
    """EMA with ``span=window``, recursive from the first value, first shown at ``window``."""
    return pd.Series(values).ewm(span=window, min_periods=window, adjust=False).mean().to_numpy()


def _wilder_mean(values, window):
    """Wilder's smoothing: mean of the first ``window`` values, then
    ``m_t = m_{t-1} + (v_t - m_{t-1}) / window`` (an EWM with ``alpha = 1 / window``).
    """
    valid = ~np.isnan(values)
    seeded = np.full(len(values), np.nan)
    if valid.sum() < window:
        return seeded
    first = int(np.argmax(valid))
    seed = first + window - 1
    seeded[seed] = np.mean(values[first : seed + 1])
    seeded[seed + 1 :] = values[seed + 1 :]
    return pd.Series(seeded).ewm(alpha=1.0 / window, adjust=False).mean().to_numpy()


def _shift(values, periods):
    out = np.full(len(values), np.nan)
    if periods < len(values):
        out[periods:] = values[: len(values) - periods]
    return out


def _divide(numerator, denominator):
    """``numerator / denominator``, NaN where the denominator is 0 (undefined)."""
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _rsi(close, window):
    change = close - _shift(close, 1)
    up = _wilder_mean(np.where(change > 0, change, np.where(np.isnan(change), np.nan, 0.0)), window)
    down = _wilder_mean(
        np.where(change < 0, -change, np.where(np.isnan(change), np.nan, 0.0)), window
    )
    rsi = 100 * _divide(up, up + down)
    return np.where(down == 0, 100.0, rsi)  # only rises: RSI is 100 (as in ta)


def _true_range(high, low, close):
    previous = _shift(close, 1)  # missing on the first row: the range is high - low
    return np.fmax(high - low, np.fmax(np.abs(high - previous), np.abs(low - previous)))


# ----------------------------------------------------------------------------- class
_CLOSE, _HIGH, _LOW, _VOLUME = "close", "high", "low", "volume"

#: Parameters holding one or several windows.
_WINDOW_PARAMETERS = (
    "return_windows",
    "sma_windows",
    "ema_windows",
    "rsi_windows",
    "atr_windows",
    "volatility_windows",
    "zscore_windows",
    "roc_windows",
)


class TechnicalIndicators(_SeriesTransformer):
    """Causal technical indicators from OHLCV prices, with deterministic names.

    One row per input row; row ``t`` only uses data up to ``t``. Every window is a
    parameter; a window parameter accepts an int, a tuple of ints (one column per
    window) or ``()``/``None`` to switch the indicator off. ``fit`` refuses windows
    shorter than the indicator's true minimum (1, or 2 where one row can only give NaN:
    ``volatility_windows``, ``zscore_windows`` and the ``bollinger`` window).

    Parameters
    ----------
    high, low, close, volume : str, int or None, default="High", "Low", "Close", "Volume"
        Where each field is in ``X``: a column label, an int for a column position
        (arrays), or None if ``X`` has no such column (the indicators needing it must
        then be switched off). A Series is read as a one-column DataFrame.
    return_windows : int or tuple of int, default=(1,)
        Simple returns ``close_t / close_{t-k} - 1`` (``return_k``) and log returns
        ``log(close_t / close_{t-k})`` (``log_return_k``), as fractions.
    sma_windows : int or tuple of int, default=(10, 20, 50)
        Simple moving averages of close (``sma_n``).
    ema_windows : int or tuple of int, default=(12, 26)
        Exponential moving averages, ``span=n``, recursive from the first value, first
        reported after ``n`` values (``ema_n``).
    rsi_windows : int or tuple of int, default=(14,)
        Wilder's relative strength index, 0-100 (``rsi_n``).
    macd : tuple of (int, int, int) or None, default=(12, 26, 9)
        ``(fast, slow, signal)``: MACD line ``ema_fast - ema_slow`` (``macd_f_s``), its
        signal EMA (``macd_signal_f_s_g``) and the histogram (``macd_hist_f_s_g``).
    bollinger : tuple of (int, float) or None, default=(20, 2.0)
        ``(window, n_std)``: %b ``(close - lower) / (upper - lower)`` (``bb_pctb_n``)
        and bandwidth ``100 * (upper - lower) / middle`` (``bb_width_n``); the bands are
        ``middle +- n_std`` standard deviations (``ddof=0``), so ``window >= 2`` and
        ``n_std > 0``.
    atr_windows : int or tuple of int, default=(14,)
        Wilder's average true range (``atr_n``).
    volatility_windows : int or tuple of int, default=(20,)
        Realized volatility: rolling standard deviation (``ddof=1``) of daily log
        returns, not annualised (``volatility_n``); windows >= 2.
    zscore_windows : int or tuple of int, default=(20,)
        Rolling z-score of close, ``(close - mean) / std`` with ``ddof=1``
        (``zscore_n``); windows >= 2.
    roc_windows : int or tuple of int, default=(10,)
        Rate of change in percent, ``100 * (close_t / close_{t-n} - 1)`` (``roc_n``).
    stochastic : tuple of (int, int) or None, default=(14, 3)
        ``(window, smooth)``: %K ``100 * (close - min(low)) / (max(high) - min(low))``
        over ``window`` rows (``stoch_k_n``) and %D, its ``smooth``-row mean
        (``stoch_d_n_s``).
    obv : bool, default=True
        On-balance volume (``obv``): cumulative volume signed by the close's direction.
    volume_change : bool, default=True
        ``volume_t / volume_{t-1} - 1`` (``volume_change``).
    warmup : {"nan", "drop"}, default="nan"
        Rows before every indicator has enough history (``n_warmup_`` rows from the
        start of the data). ``"nan"`` keeps them, with NaN where an indicator is not
        defined yet, so the output has the input's index (use this in scikit-learn
        pipelines, where rows must stay aligned with ``y``); ``"drop"`` removes them.
    fill : {"raise", "ffill", "drop"}, default="raise"
        Missing values in the columns used. ``"raise"`` raises a ``ValueError`` naming
        the first missing date; ``"ffill"`` carries the last observation forward
        (causal; volume too); ``"drop"`` removes the rows with a missing value.

    Attributes
    ----------
    n_warmup_ : int
        Number of leading rows in which at least one indicator is NaN by construction.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit`` (only for a DataFrame with string column names).

    See Also
    --------
    LogRatio : the log return as an invertible target transformation.

    Notes
    -----
    Formulas and units follow the ``ta`` package (tested to 1e-8 on S&P 500 data),
    except in three places, which the tests spell out:

    * returns are fractions, not percent, so that ``log_return_1`` equals
      :class:`LogRatio`'s output;
    * RSI seeds Wilder's smoothing with the mean of the first ``n`` price changes, as
      Wilder did and as ``ta`` does for the ATR; ``ta``'s RSI instead starts the
      recursion at the first row with a change of 0. The two agree once the seed has
      decayed (``(1 - 1/n)^k``, below 1e-8 after a few hundred rows);
    * OBV adds nothing on a day the close is unchanged and is NaN on the first row
      (no direction yet), as Granville defined it; ``ta`` adds the volume on unchanged
      days and starts at the first day's volume.

    Prices used in a ratio or a logarithm (returns, volatility, ROC) must be strictly
    positive. Where an indicator is undefined (a flat window for %b, %K or the z-score,
    a zero volume before a volume change) it is NaN.

    The transformer keeps the rows seen in ``fit``/``update``; ``transform`` of later
    rows continues from them (no new warm-up), which is what sktime's
    ``ForecastingPipeline`` needs to build exogenous features for the forecast horizon.
    An array has no time index: each call counts its rows from 0.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import TechnicalIndicators
    >>> ohlcv = load_sp500()
    >>> ti = TechnicalIndicators()
    >>> X = ti.fit_transform(ohlcv)
    >>> X.shape, ti.n_warmup_
    ((5031, 21), 49)
    >>> list(X.columns[:6])
    ['return_1', 'log_return_1', 'sma_10', 'sma_20', 'sma_50', 'ema_12']
    >>> round(float(X.loc["2018-12-31", "rsi_14"]), 2)
    41.71

    Close-only data (WTI crude oil, with missing days carried forward):

    >>> from skfin.datasets import load_wti
    >>> ti = TechnicalIndicators(close="WTI", high=None, low=None, volume=None,
    ...                          atr_windows=(), stochastic=None, obv=False,
    ...                          volume_change=False, fill="ffill", warmup="drop")
    >>> ti.fit_transform(load_wti()).shape
    (8562, 16)

    A window that can only give NaN is refused at ``fit``:

    >>> try:
    ...     TechnicalIndicators(volatility_windows=1).fit(ohlcv)
    ... except ValueError as error:
    ...     print(error)
    The 'volatility_windows' parameter ... must be an int >= 2, ... is NaN). Got 1 instead.
    """

    _parameter_constraints: dict = {
        **_SeriesTransformer._parameter_constraints,
        "high": [str, Interval(Integral, 0, None, closed="left"), None],
        "low": [str, Interval(Integral, 0, None, closed="left"), None],
        "close": [str, Interval(Integral, 0, None, closed="left"), None],
        "volume": [str, Interval(Integral, 0, None, closed="left"), None],
        "obv": ["boolean"],
        "volume_change": ["boolean"],
        # Each window's true minimum: the shortest window that can give a number.
        "return_windows": [_windows_constraint(1)],
        "sma_windows": [_windows_constraint(1)],
        "ema_windows": [_windows_constraint(1)],
        "rsi_windows": [_windows_constraint(1)],
        "atr_windows": [_windows_constraint(1)],
        "volatility_windows": [
            _windows_constraint(2, "the standard deviation, ddof=1, of one return is NaN")
        ],
        "zscore_windows": [
            _windows_constraint(2, "the standard deviation, ddof=1, of one close is NaN")
        ],
        "roc_windows": [_windows_constraint(1)],
        "macd": [
            _tuple_constraint(
                [(Integral, 1)] * 3,
                "None or a tuple (fast, slow, signal) of ints with 1 <= fast < slow and "
                "signal >= 1",
                check=lambda fast, slow, signal: fast < slow,
            )
        ],
        "bollinger": [
            _tuple_constraint(
                [(Integral, 2), (Real, 0)],
                "None or a tuple (window, n_std) of an int window >= 2 and a number "
                "n_std > 0; a window of 1 only gives NaN (the bands of one close collapse "
                "onto it, so %b is 0/0)",
            )
        ],
        "stochastic": [
            _tuple_constraint(
                [(Integral, 1), (Integral, 1)], "None or a tuple (window, smooth) of ints >= 1"
            )
        ],
    }

    def __init__(
        self,
        *,
        high="High",
        low="Low",
        close="Close",
        volume="Volume",
        return_windows=(1,),
        sma_windows=(10, 20, 50),
        ema_windows=(12, 26),
        rsi_windows=(14,),
        macd=(12, 26, 9),
        bollinger=(20, 2.0),
        atr_windows=(14,),
        volatility_windows=(20,),
        zscore_windows=(20,),
        roc_windows=(10,),
        stochastic=(14, 3),
        obv=True,
        volume_change=True,
        warmup="nan",
        fill="raise",
    ):
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.return_windows = return_windows
        self.sma_windows = sma_windows
        self.ema_windows = ema_windows
        self.rsi_windows = rsi_windows
        self.macd = macd
        self.bollinger = bollinger
        self.atr_windows = atr_windows
        self.volatility_windows = volatility_windows
        self.zscore_windows = zscore_windows
        self.roc_windows = roc_windows
        self.stochastic = stochastic
        self.obv = obv
        self.volume_change = volume_change
        self.warmup = warmup
        self.fill = fill
        super().__init__()

    # ------------------------------------------------------------ parameter handling
    def _spec(self):
        """Plan ``[(name, kind, args, warm-up rows)]`` from the parameters.

        The parameters are validated by ``_parameter_constraints`` in ``fit``.
        """
        windows = {key: _as_windows(getattr(self, key)) for key in _WINDOW_PARAMETERS}
        plan = []
        for k in windows["return_windows"]:
            plan += [(f"return_{k}", "return", (k,), k), (f"log_return_{k}", "log_return", (k,), k)]
        plan += [(f"sma_{n}", "sma", (n,), n - 1) for n in windows["sma_windows"]]
        plan += [(f"ema_{n}", "ema", (n,), n - 1) for n in windows["ema_windows"]]
        plan += [(f"rsi_{n}", "rsi", (n,), n) for n in windows["rsi_windows"]]
        if self.macd is not None:
            fast, slow, signal = (int(v) for v in self.macd)
            lag = slow - 1 + signal - 1
            plan += [
                (f"macd_{fast}_{slow}", "macd", (fast, slow), slow - 1),
                (f"macd_signal_{fast}_{slow}_{signal}", "macd_signal", (fast, slow, signal), lag),
                (f"macd_hist_{fast}_{slow}_{signal}", "macd_hist", (fast, slow, signal), lag),
            ]
        if self.bollinger is not None:
            n, n_std = int(self.bollinger[0]), self.bollinger[1]
            plan += [
                (f"bb_pctb_{n}", "bb_pctb", (n, n_std), n - 1),
                (f"bb_width_{n}", "bb_width", (n, n_std), n - 1),
            ]
        plan += [(f"atr_{n}", "atr", (n,), n - 1) for n in windows["atr_windows"]]
        plan += [(f"volatility_{n}", "volatility", (n,), n) for n in windows["volatility_windows"]]
        plan += [(f"zscore_{n}", "zscore", (n,), n - 1) for n in windows["zscore_windows"]]
        plan += [(f"roc_{n}", "roc", (n,), n) for n in windows["roc_windows"]]
        if self.stochastic is not None:
            n, smooth = (int(v) for v in self.stochastic)
            plan += [
                (f"stoch_k_{n}", "stoch_k", (n,), n - 1),
                (f"stoch_d_{n}_{smooth}", "stoch_d", (n, smooth), n - 1 + smooth - 1),
            ]
        if self.obv:
            plan.append(("obv", "obv", (), 1))
        if self.volume_change:
            plan.append(("volume_change", "volume_change", (), 1))
        if not plan:
            raise ValueError(
                "TechnicalIndicators has every indicator switched off; enable at least one "
                "(e.g. sma_windows=(20,))."
            )
        names = [name for name, *_ in plan]
        if len(set(names)) != len(names):
            duplicated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(
                f"TechnicalIndicators would produce the columns {duplicated} twice; list "
                "each window once."
            )
        return plan

    _NEEDS = {
        "return": (_CLOSE,),
        "log_return": (_CLOSE,),
        "sma": (_CLOSE,),
        "ema": (_CLOSE,),
        "rsi": (_CLOSE,),
        "macd": (_CLOSE,),
        "macd_signal": (_CLOSE,),
        "macd_hist": (_CLOSE,),
        "bb_pctb": (_CLOSE,),
        "bb_width": (_CLOSE,),
        "atr": (_HIGH, _LOW, _CLOSE),
        "volatility": (_CLOSE,),
        "zscore": (_CLOSE,),
        "roc": (_CLOSE,),
        "stoch_k": (_HIGH, _LOW, _CLOSE),
        "stoch_d": (_HIGH, _LOW, _CLOSE),
        "obv": (_CLOSE, _VOLUME),
        "volume_change": (_VOLUME,),
    }
    _POSITIVE_CLOSE = ("return", "log_return", "volatility", "roc")
    _PARAMETER_OF = {
        "return": "return_windows",
        "log_return": "return_windows",
        "sma": "sma_windows",
        "ema": "ema_windows",
        "rsi": "rsi_windows",
        "macd": "macd",
        "macd_signal": "macd",
        "macd_hist": "macd",
        "bb_pctb": "bollinger",
        "bb_width": "bollinger",
        "atr": "atr_windows",
        "volatility": "volatility_windows",
        "zscore": "zscore_windows",
        "roc": "roc_windows",
        "stoch_k": "stochastic",
        "stoch_d": "stochastic",
        "obv": "obv",
        "volume_change": "volume_change",
    }

    def _fields(self, plan):
        """Fields needed by ``plan``, checking that none of them is switched off."""
        needed = []
        for _, kind, _, _ in plan:
            for field in self._NEEDS[kind]:
                if getattr(self, field) is None:
                    parameter = self._PARAMETER_OF[kind]
                    raise ValueError(
                        f"TechnicalIndicators({parameter}={getattr(self, parameter)!r}) needs "
                        f"the {field} column, but {field}=None. Name the column with "
                        f"{field}='...' or switch the indicator off (e.g. {parameter}=None)."
                    )
                if field not in needed:
                    needed.append(field)
        return [f for f in (_CLOSE, _HIGH, _LOW, _VOLUME) if f in needed]

    def _requires_positive(self):
        try:
            return any(kind in self._POSITIVE_CLOSE for _, kind, _, _ in self._spec())
        except (TypeError, ValueError):  # invalid parameters: fit will say why
            return False

    def _select_fields(self, X, fields):
        """``X``'s needed columns, renamed to the field names."""
        positions = []
        for field in fields:
            key = getattr(self, field)
            if isinstance(key, Integral) and not isinstance(key, bool):
                if key >= X.shape[1]:
                    raise ValueError(
                        f"TechnicalIndicators({field}={key}) selects column position {key}, "
                        f"but X has {X.shape[1]} columns. Set {field}= to a valid position "
                        "or column name."
                    )
                positions.append(int(key))
            elif key in X.columns:
                positions.append(X.columns.get_loc(key))
            else:
                raise ValueError(
                    f"Column {_column_name(key)} not found in X (parameter {field}={key!r}); "
                    f"X has columns {list(X.columns)}. Pass {field}= the name (or position) "
                    f"of the {field} column, or {field}=None if there is none (and switch off "
                    "the indicators that need it)."
                )
        return X.iloc[:, positions].set_axis(fields, axis=1)

    # ------------------------------------------------------------------- the maths
    def _compute(self, data, plan):
        close, high, low, volume = (
            data[field].to_numpy() if field in data else None
            for field in (_CLOSE, _HIGH, _LOW, _VOLUME)
        )
        cache = {}

        def cached(key, compute):
            if key not in cache:
                cache[key] = compute()
            return cache[key]

        def log_return(k):
            return cached(("log_return", k), lambda: np.log(close / _shift(close, k)))

        def ema(n):
            return cached(("ema", n), lambda: _ema(close, n))

        def macd_line(fast, slow):
            return ema(fast) - ema(slow)

        def macd_signal(fast, slow, signal):
            return cached(
                ("signal", fast, slow, signal), lambda: _ema(macd_line(fast, slow), signal)
            )

        def bollinger(n, n_std):
            def compute():
                rolling = _rolling(close, n)
                middle = rolling.mean().to_numpy()
                width = n_std * rolling.std(ddof=0).to_numpy()
                return middle, middle + width, middle - width

            return cached(("bollinger", n, n_std), compute)

        def stoch_k(n):
            def compute():
                lowest = _rolling(low, n).min().to_numpy()
                highest = _rolling(high, n).max().to_numpy()
                return 100 * _divide(close - lowest, highest - lowest)

            return cached(("stoch_k", n), compute)

        out = {}
        for name, kind, args, _ in plan:
            if kind == "return":
                out[name] = close / _shift(close, args[0]) - 1
            elif kind == "log_return":
                out[name] = log_return(args[0])
            elif kind == "sma":
                out[name] = _rolling(close, args[0]).mean().to_numpy()
            elif kind == "ema":
                out[name] = ema(args[0])
            elif kind == "rsi":
                out[name] = _rsi(close, args[0])
            elif kind == "macd":
                out[name] = macd_line(*args)
            elif kind == "macd_signal":
                out[name] = macd_signal(*args)
            elif kind == "macd_hist":
                out[name] = macd_line(*args[:2]) - macd_signal(*args)
            elif kind == "bb_pctb":
                _, upper, lower = bollinger(*args)
                out[name] = _divide(close - lower, upper - lower)
            elif kind == "bb_width":
                middle, upper, lower = bollinger(*args)
                out[name] = 100 * _divide(upper - lower, middle)
            elif kind == "atr":
                out[name] = _wilder_mean(_true_range(high, low, close), args[0])
            elif kind == "volatility":
                out[name] = _rolling(log_return(1), args[0]).std(ddof=1).to_numpy()
            elif kind == "zscore":
                rolling = _rolling(close, args[0])
                out[name] = _divide(
                    close - rolling.mean().to_numpy(), rolling.std(ddof=1).to_numpy()
                )
            elif kind == "roc":
                past = _shift(close, args[0])
                out[name] = 100 * (close - past) / past
            elif kind == "stoch_k":
                out[name] = stoch_k(args[0])
            elif kind == "stoch_d":
                out[name] = _rolling(stoch_k(args[0]), args[1]).mean().to_numpy()
            elif kind == "obv":
                direction = np.sign(close - _shift(close, 1))  # NaN on the first row
                signed = direction * volume
                obv = np.cumsum(np.nan_to_num(signed))  # pandas' cumsum(skipna=True)
                out[name] = np.where(np.isnan(signed), np.nan, obv)
            elif kind == "volume_change":
                out[name] = _divide(volume, _shift(volume, 1)) - 1
        return pd.DataFrame(out, index=data.index, dtype=np.float64)

    # ------------------------------------------------------------ sktime internals
    def _fit(self, X, y=None):
        plan = self._spec()
        self._fields_used = self._fields(plan)
        data = self._prepare(self._select_fields(X, self._fields_used))
        self._check_positive_close(data, plan)
        self._history = data
        self.n_warmup_ = max(lag for *_, lag in plan)
        return self

    def _transform(self, X, y=None):
        plan = self._spec()
        data = self._prepare(self._select_fields(X, self._fields_used), self._history)
        self._check_positive_close(data, plan)
        self._check_magnitude(data)
        result = self._compute(data, plan)
        return self._select_rows(result, data, X.index, n_warmup=self.n_warmup_)

    def _update(self, X, y=None):
        data = self._prepare(self._select_fields(X, self._fields_used), self._history)
        self._check_positive_close(data, self._spec())
        self._history = data
        return self

    #: Above this magnitude, squares (rolling variances, z-scores, Bollinger bands)
    #: overflow float64 and would come out inf or NaN.
    _MAX_MAGNITUDE = 1e150

    def _check_magnitude(self, data):
        values = np.abs(data.to_numpy(np.float64))
        too_large = np.nanmax(values, axis=0, initial=0.0) > self._MAX_MAGNITUDE
        if too_large.any():
            field = data.columns[int(np.argmax(too_large))]
            column = f"{_column_name(getattr(self, field))} ({field}=)"
            raise ValueError(
                f"{type(self).__name__}: column {column} has values up to "
                f"{np.nanmax(values[:, int(np.argmax(too_large))]):.3g}, too large for the "
                f"rolling variances (their squares overflow float64 above "
                f"{self._MAX_MAGNITUDE:.0e}). Rescale it first, e.g. divide by a power of ten."
            )

    def _check_positive_close(self, data, plan):
        if any(kind in self._POSITIVE_CLOSE for _, kind, _, _ in plan):
            self._check_positive(
                data, [_CLOSE], describe=lambda f: f"{_column_name(getattr(self, f))} ({f}=)"
            )

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
            Indicator names such as ``sma_20`` and ``rsi_14``, in output order.
        """
        self._check_input_features(input_features)
        return np.asarray([name for name, *_ in self._spec()], dtype=object)

    @classmethod
    def get_test_params(cls, parameter_set="default"):  # pragma: no mutate
        """Return testing parameter settings for the estimator.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters to return.

        Returns
        -------
        params : list of dict
            Parameters to create testing instances of the class. sktime's test data
            have no OHLCV columns: the fields are read by position.
        """
        # pragma: no mutate block (the conformance suites' configurations, not arithmetic)
        small = {
            "return_windows": (1, 2),
            "sma_windows": (3,),
            "ema_windows": (3,),
            "rsi_windows": (3,),
            "macd": (2, 4, 2),
            "bollinger": (3, 2.0),
            "volatility_windows": (3,),
            "zscore_windows": (3,),
            "roc_windows": (2,),
        }
        close_only = {
            "close": 0,
            "high": None,
            "low": None,
            "volume": None,
            "atr_windows": (),
            "stochastic": None,
            "obv": False,
            "volume_change": False,
        }
        all_from_first_column = {
            "close": 0,
            "high": 0,
            "low": 0,
            "volume": 0,
            "atr_windows": (3,),
            "stochastic": (3, 2),
        }
        return [
            {**small, **close_only},
            {**small, **all_from_first_column, "fill": "ffill", "warmup": "drop"},
        ]
