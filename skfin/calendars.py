"""Trading-day frequencies for a ``DatetimeIndex``, so forecasts land on real trading days,
and calendar features (:func:`calendar_features`) that forecasters read as known ahead.

Market data is indexed by trading days: weekends and exchange holidays are missing, so
pandas infers no frequency and sktime cannot place a forecast in time. The fix is a pandas
:class:`~pandas.tseries.offsets.CustomBusinessDay` whose holidays are the weekdays on which
the market was closed:

* **inferred** from the observed dates (every weekday between the first and the last date
  that is not in the index is a holiday) — no dependency, exact inside the sample;
* plus, with ``exchange="XNYS"`` (or any code that ``exchange_calendars`` knows), the
  exchange's own holidays **after** the last observation, so that a forecast made on
  2018-12-31 lands on 2019-01-02 and not on New Year's Day. This needs the optional
  ``exchange_calendars`` package (``pip install "skfin[data]"``).

The calendar arithmetic is pandas'; what is written here is only the inference of the
holiday list and one compatibility shim: sktime 1.2's ``ForecastingHorizon.to_absolute_int``
(used by its statsmodels and pmdarima adapters: ETS, AutoARIMA, ...) converts dates to
pandas periods, which do not exist for a custom business day. :func:`_patch_sktime` wraps
that one method so that, for a ``CustomBusinessDay`` horizon only, it counts trading days
with :func:`numpy.busday_count` instead; every other frequency goes to sktime unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.abc
import importlib.util
import sys

import numpy as np
import pandas as pd

__all__ = ["trading_calendar", "with_trading_days", "exchange_holidays", "calendar_features",
           "CALENDAR_FEATURES"]

#: The position of a date in its week, month, year..., each scaled to [-0.5, 0.5] as GluonTS'
#: ``time_feature`` module does (and Lag-Llama, which is built on it, reads): the value
#: minus its first, divided by its range. ``day_of_week`` spans Monday (-0.5) to Sunday
#: (0.5), so trading days use -0.5 .. 0.17; ``week_of_year`` is the ISO week.
CALENDAR_FEATURES = {
    "day_of_week": lambda d: d.dayofweek / 6.0,
    "day_of_month": lambda d: (d.day - 1) / 30.0,
    "day_of_year": lambda d: (d.dayofyear - 1) / 365.0,
    "month_of_year": lambda d: (d.month - 1) / 11.0,
    "week_of_year": lambda d: (d.isocalendar().week.to_numpy(np.float64) - 1) / 52.0,
}


def calendar_features(index, features=None) -> pd.DataFrame:
    """Calendar features of each date of ``index``, each in [-0.5, 0.5].

    Known for any date ahead, so a forecaster can read them as known-future covariates:
    ``LagLlamaForecaster(calendar=True)`` builds them from ``y``'s index and from the
    forecast's dates itself. The encodings are GluonTS' (see ``CALENDAR_FEATURES``);
    they are a few lines of pandas, written here to spare a dependency on GluonTS.

    Parameters
    ----------
    index : pandas.DatetimeIndex or pandas.PeriodIndex
        The dates (a ``PeriodIndex`` is read at each period's start).
    features : sequence of str, default=None
        Names from ``CALENDAR_FEATURES``, in the order of the columns; None: all of
        them.

    Returns
    -------
    pandas.DataFrame
        One row per date (on ``index``), one float64 column per feature, named
        ``"calendar_<feature>"``.

    Raises
    ------
    TypeError
        ``index`` holds no dates (an integer index, say).
    ValueError
        A feature name is unknown.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.calendars import calendar_features
    >>> days = load_sp500().index[-3:]                   # Thu 27, Fri 28, Mon 31 Dec 2018
    >>> calendar_features(days, ["day_of_week", "month_of_year"]).round(3).to_numpy().tolist()
    [[0.0, 0.5], [0.167, 0.5], [-0.5, 0.5]]
    """
    if isinstance(index, pd.PeriodIndex):
        dates = index.to_timestamp()
    elif isinstance(index, pd.DatetimeIndex):
        dates = index
    else:
        raise TypeError(
            f"Calendar features are read from dates; got a {type(index).__name__}. Index "
            "the series by its dates (a DatetimeIndex, e.g. as skfin.datasets loads it) or "
            "turn the calendar features off."
        )
    names = list(CALENDAR_FEATURES) if features is None else [str(f) for f in features]
    unknown = [n for n in names if n not in CALENDAR_FEATURES]
    if unknown or not names:
        raise ValueError(
            f"Unknown calendar feature(s) {unknown}; choose from {list(CALENDAR_FEATURES)}."
        )
    columns = {f"calendar_{n}": np.asarray(CALENDAR_FEATURES[n](dates), np.float64) - 0.5
               for n in names}
    return pd.DataFrame(columns, index=index)


def exchange_holidays(exchange: str, start, end) -> pd.DatetimeIndex:
    """Weekdays in ``[start, end]`` on which ``exchange`` is closed, per ``exchange_calendars``.

    Parameters
    ----------
    exchange : str
        An ``exchange_calendars`` code, e.g. ``"XNYS"`` (New York Stock Exchange).
    start, end : date-like
        The span to list.

    Returns
    -------
    pandas.DatetimeIndex

    Examples
    --------
    >>> from skfin.calendars import exchange_holidays
    >>> [str(d.date()) for d in exchange_holidays("XNYS", "2019-01-01", "2019-01-31")]
    ['2019-01-01', '2019-01-21']
    """
    try:
        xcals = importlib.import_module("exchange_calendars")
    except ImportError as exc:
        raise ImportError(
            f"exchange={exchange!r} needs the 'exchange_calendars' package, which is not "
            'installed. Install it with: pip install "skfin[data]" (or pass exchange=None '
            "to infer the holidays from the observed dates only)."
        ) from exc
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    try:
        calendar = xcals.get_calendar(exchange, start=start, end=end)
    except xcals.errors.InvalidCalendarName as exc:
        raise ValueError(
            f"Unknown exchange {exchange!r}; exchange_calendars knows e.g. 'XNYS', 'XNAS', "
            "'XLON', 'XTKS' (see exchange_calendars.get_calendar_names())."
        ) from exc
    weekdays = pd.bdate_range(start, end)
    return weekdays.difference(pd.DatetimeIndex(calendar.sessions).tz_localize(None))


def trading_calendar(index: pd.DatetimeIndex, exchange: str | None = None,
                     years_ahead: int = 5) -> pd.offsets.BaseOffset:
    """The trading-day frequency of a daily ``DatetimeIndex``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Sorted, unique dates at midnight, weekdays only.
    exchange : str or None, default=None
        None infers the holidays from ``index`` alone (future dates then skip weekends
        only). An ``exchange_calendars`` code such as ``"XNYS"`` adds that exchange's
        holidays for ``years_ahead`` years after the last date.
    years_ahead : int, default=5
        How far past the last date the exchange's holidays are listed.

    Returns
    -------
    pandas.offsets.BusinessDay or pandas.offsets.CustomBusinessDay
        ``BusinessDay`` when no weekday is missing, else a ``CustomBusinessDay`` whose
        holidays are the missing weekdays (and the exchange's future holidays).

    Raises
    ------
    ValueError
        If the index is not a sorted, unique, weekday-only daily index.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.calendars import trading_calendar
    >>> days = trading_calendar(load_sp500().index, exchange="XNYS")
    >>> str((pd.Timestamp("2018-12-31") + days).date())      # New Year's Day is skipped
    '2019-01-02'
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"A trading calendar needs a DatetimeIndex; got {type(index).__name__}.")
    if len(index) < 2:
        raise ValueError("A trading calendar needs at least 2 dates to infer from.")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise ValueError(
            "A trading calendar needs sorted, unique dates: sort with .sort_index() and drop "
            "duplicates with obj[~obj.index.duplicated()] first."
        )
    if index.tz is not None:
        index = index.tz_localize(None)
    if not (index == index.normalize()).all():
        raise ValueError(
            "A trading calendar is for daily data, but the index has intraday time stamps "
            f"(e.g. {index[index != index.normalize()][0]}). Normalise or resample it first."
        )
    weekend = index.dayofweek >= 5
    if weekend.any():
        raise ValueError(
            f"The index has {int(weekend.sum())} weekend date(s) (first: "
            f"{index[weekend][0].date()}), so it is not a trading-day calendar. Drop them or "
            "use a calendar-day frequency, e.g. obj.asfreq('D')."
        )
    holidays = pd.bdate_range(index[0], index[-1]).difference(index)
    if exchange is not None:
        after = index[-1] + pd.Timedelta(days=1)
        holidays = holidays.union(exchange_holidays(
            exchange, after, after + pd.DateOffset(years=years_ahead)))
    if len(holidays) == 0:
        return pd.offsets.BDay()
    return pd.offsets.CustomBusinessDay(holidays=holidays.to_numpy("datetime64[D]"))


def with_trading_days(obj, exchange: str | None = None, years_ahead: int = 5):
    """A copy of ``obj`` whose ``DatetimeIndex`` carries its trading-day frequency.

    Forecasters (skfin's and sktime's own) then place forecasts on the next trading days.

    Parameters
    ----------
    obj : pandas.Series or pandas.DataFrame
        Indexed by trading days.
    exchange, years_ahead
        See :func:`trading_calendar`.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        The same values; ``obj.index.freq`` is the trading calendar.

    Examples
    --------
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_msft
    >>> from skfin.calendars import with_trading_days
    >>> close = load_msft()["Close"]
    >>> close.index = pd.DatetimeIndex(close.index.to_numpy())  # as read from a CSV: no freq
    >>> close = with_trading_days(close)
    >>> NaiveForecaster().fit(close, fh=[1, 2]).predict().index.strftime("%a %d %b").tolist()
    ['Mon 13 Nov', 'Tue 14 Nov']
    """
    freq = trading_calendar(obj.index, exchange=exchange, years_ahead=years_ahead)
    out = obj.copy()
    dates = pd.DatetimeIndex(obj.index.to_numpy(), name=obj.index.name).tz_localize(obj.index.tz)
    out.index = pd.DatetimeIndex(dates, freq=freq)
    return out


def _busday_positions(start: pd.Timestamp, dates, freq: pd.offsets.CustomBusinessDay):
    """Trading days from ``start`` to each of ``dates`` (negative before it)."""
    days = np.asarray(pd.DatetimeIndex(dates).to_numpy("datetime64[D]"))
    begin = np.datetime64(pd.Timestamp(start).date(), "D")
    return np.busday_count(begin, days, weekmask=freq.weekmask, holidays=list(freq.holidays))


def _custom_freq(fh):
    """The fh's frequency if it is a ``CustomBusinessDay`` (the offset, with its holidays)."""
    freq = getattr(fh, "_freq", None)
    return freq if isinstance(freq, pd.offsets.CustomBusinessDay) else None


#: The sktime module whose horizon arithmetic :func:`_patch_sktime` adapts.
_SKTIME_FH = "sktime.forecasting.base._fh"


def _patch_sktime(_fh) -> None:
    """Let sktime place and count trading days of a ``CustomBusinessDay`` frequency.

    Two places in sktime 1.2 lose the holidays: ``_to_absolute`` rebuilds the offset from
    its string alias (``"C"``, a weekday calendar without holidays), and
    ``to_absolute_int`` converts dates to periods, which a custom business day has not.
    ``_fh`` is the executed ``sktime.forecasting.base._fh`` module.
    """
    ForecastingHorizon = _fh.ForecastingHorizon
    original = ForecastingHorizon.to_absolute_int
    if getattr(original, "_skfin_trading_days", False):
        return
    original_absolute = _fh._to_absolute

    @functools.lru_cache(typed=True)
    def _to_absolute(fh, cutoff):
        freq = _custom_freq(fh)
        index = cutoff.index
        if freq is None or not fh.is_relative or not isinstance(index, pd.DatetimeIndex):
            return original_absolute(fh, cutoff)
        absolute = [index[0] + int(r) * freq for r in fh.to_pandas()]
        absolute = pd.DatetimeIndex(absolute).as_unit(index.unit)
        if index.tz is not None:
            absolute = absolute.tz_convert(index.tz)
        try:
            absolute = pd.DatetimeIndex(absolute, freq=freq)
        except ValueError:                       # steps not consecutive: no freq to attach
            pass
        return fh._new(absolute, is_relative=False, freq=freq)

    _fh._to_absolute = _to_absolute

    @functools.wraps(original)
    def to_absolute_int(self, start, cutoff=None):
        freq = _custom_freq(self)
        absolute = self.to_absolute_index(cutoff) if freq is not None else None
        if isinstance(absolute, pd.DatetimeIndex) and isinstance(start, pd.Timestamp):
            return self._new(pd.Index(_busday_positions(start, absolute, freq)), is_relative=False)
        return original(self, start, cutoff)

    to_absolute_int._skfin_trading_days = True
    ForecastingHorizon.to_absolute_int = to_absolute_int


class _PatchSktimeOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Apply :func:`_patch_sktime` right after sktime's horizon module is executed.

    Importing sktime costs about as much as importing torch, and the sklearn face never
    needs it: so skfin does not import it. Whoever does (skfin's forecasters, sktime's own)
    finds its horizon module already patched, because this finder, first on
    ``sys.meta_path`` until then, wraps that module's loader once and then steps aside.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != _SKTIME_FH:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)           # once: later look-ups are sktime's own
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        self.loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        _patch_sktime(module)


def _patch_sktime_when_imported() -> None:
    """Patch sktime's horizon now if it is loaded, else as soon as anything imports it."""
    module = sys.modules.get(_SKTIME_FH)
    if module is not None:
        _patch_sktime(module)
    elif not any(isinstance(f, _PatchSktimeOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchSktimeOnImport())


_patch_sktime_when_imported()
