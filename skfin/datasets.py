"""Real market data bundled inside PyPI packages.

Every loader returns a pandas object with a sorted, unique time index named ``date``
(a ``DatetimeIndex`` for daily data, a monthly ``PeriodIndex`` for monthly data) and float64
columns. Nothing is downloaded at run time: the data ship inside ``arch`` and ``pmdarima``
(the ``data`` extra, ``pip install "skfin[data]"``) and ``sktime``.

The loaders only adapt the stored files (index name, dtype, sorting); they never fill,
drop or otherwise invent values. Known gaps are listed in each docstring.

Daily data come with their **trading-day frequency** attached (``index.freq``, see
:mod:`skfin.calendars`): the weekdays missing from the data are its holidays, and for the
US equity series the NYSE's holidays after the last date are added when
``exchange_calendars`` is installed (the data extra). So skfin's and sktime's forecasters
take them as loaded and place forecasts on real future trading days.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

from skfin.calendars import trading_calendar

__all__ = [
    "load_sp500",
    "load_nasdaq",
    "load_wti",
    "load_crude",
    "load_vix",
    "load_msft",
    "load_fama_french",
    "load_core_cpi",
    "load_default_spread",
    "load_airline",
    "LOADERS",
]


def _import(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in tests
        raise ImportError(
            f"This data set ships inside the '{package}' package, which is not installed. "
            f'Install the data extra with: pip install "skfin[data]"'
        ) from exc


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the index ``date``, sort it, check uniqueness and cast columns to float64."""
    frame = frame.sort_index()
    frame.index.name = "date"
    if not frame.index.is_unique:  # pragma: no cover - guards against a changed upstream file
        raise ValueError("The bundled data has duplicated dates; please report this.")
    return frame.astype(np.float64)


def _daily(frame: pd.DataFrame, exchange: str | None = None) -> pd.DataFrame:
    """Tidy a daily frame and attach its trading-day frequency (see :mod:`skfin.calendars`).

    With ``exchange``, the exchange's holidays after the last date come from
    ``exchange_calendars`` when it is installed (the data extra); without it, future dates
    skip weekends only.
    """
    frame = frame.copy()
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame = _tidy(frame)
    try:
        freq = trading_calendar(frame.index, exchange=exchange)
    except ImportError:
        freq = trading_calendar(frame.index)
    frame.index = pd.DatetimeIndex(frame.index, freq=freq, name="date")
    return frame


def _monthly(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.index = pd.DatetimeIndex(frame.index).to_period("M")
    return _tidy(frame)


def load_sp500() -> pd.DataFrame:
    """Load daily S&P 500 index prices (OHLCV and adjusted close).

    Source: ``arch.data.sp500`` (Yahoo! Finance, ^GSPC), bundled in the ``arch`` package.
    Span 1999-01-04 to 2018-12-31, 5,031 trading days, no missing values. The calendar has
    the usual gaps for weekends and exchange holidays (and the 2001-09-11 closure).

    Returns
    -------
    pandas.DataFrame
        Columns ``Open``, ``High``, ``Low``, ``Close``, ``Adj Close``, ``Volume`` (float64),
        indexed by a ``DatetimeIndex`` named ``date``.

    See Also
    --------
    load_nasdaq : the NASDAQ Composite on the same calendar.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> ohlcv = load_sp500()
    >>> ohlcv.shape
    (5031, 6)
    >>> str(ohlcv.index[0].date()), str(ohlcv.index[-1].date())
    ('1999-01-04', '2018-12-31')
    """
    return _daily(_import("arch.data.sp500", "arch").load(), exchange="XNYS")


def load_nasdaq() -> pd.DataFrame:
    """Load daily NASDAQ Composite prices (OHLCV and adjusted close).

    Source: ``arch.data.nasdaq`` (Yahoo! Finance, ^IXIC), bundled in the ``arch`` package.
    Span 1999-01-04 to 2018-12-31, 5,031 trading days, no missing values; the same calendar
    as :func:`load_sp500`, which makes the two a natural two-asset panel.

    Returns
    -------
    pandas.DataFrame
        Columns ``Open``, ``High``, ``Low``, ``Close``, ``Adj Close``, ``Volume`` (float64),
        indexed by a ``DatetimeIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_nasdaq, load_sp500
    >>> load_nasdaq().index.equals(load_sp500().index)
    True
    """
    return _daily(_import("arch.data.nasdaq", "arch").load(), exchange="XNYS")


def load_wti() -> pd.Series:
    """Load the daily WTI crude oil spot price (FRED series ``DCOILWTICO``).

    Source: ``arch.data.wti``, bundled in the ``arch`` package. Span 1986-01-02 to
    2019-01-03, 8,611 business days. **290 values are missing** (US holidays on which no
    price was published): this is the real missing-data case, kept as NaN on purpose.

    Returns
    -------
    pandas.Series
        Float64 series named ``WTI``, indexed by a ``DatetimeIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_wti
    >>> wti = load_wti()
    >>> len(wti), int(wti.isna().sum())
    (8611, 290)
    """
    frame = _daily(_import("arch.data.wti", "arch").load())
    return frame["DCOILWTICO"].rename("WTI")


def load_crude() -> pd.DataFrame:
    """Load monthly Brent and WTI crude oil prices.

    Source: ``arch.data.crude``, bundled in the ``arch`` package. Span 1987-05 to 2020,
    393 months (observations are mid-month), no missing values.

    Returns
    -------
    pandas.DataFrame
        Columns ``Brent`` and ``WTI`` (float64), indexed by a monthly ``PeriodIndex`` named
        ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_crude
    >>> crude = load_crude()
    >>> list(crude.columns), crude.index.freqstr
    (['Brent', 'WTI'], 'M')
    """
    return _monthly(_import("arch.data.crude", "arch").load())


def load_vix() -> pd.Series:
    """Load the daily CBOE Volatility Index (VIX) close.

    Source: ``arch.data.vix``, bundled in the ``arch`` package. 1,305 business days from
    2014-01-03; 46 values are missing (exchange holidays), kept as NaN.

    Returns
    -------
    pandas.Series
        Float64 series named ``VIX``, indexed by a ``DatetimeIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_vix
    >>> vix = load_vix()
    >>> len(vix), int(vix.isna().sum())
    (1305, 46)
    """
    frame = _daily(_import("arch.data.vix", "arch").load())
    return frame["vix"].rename("VIX")


def load_msft() -> pd.DataFrame:
    """Load daily Microsoft (MSFT) prices, split-adjusted OHLCV.

    Source: ``pmdarima.datasets.load_msft``, bundled in the ``pmdarima`` package.
    Span 1986-03-13 to 2017-11-10, 7,983 trading days, no missing values. The upstream
    file stores the date as a column and carries an all-zero ``OpenInt`` column; the date
    becomes the index and ``OpenInt`` is dropped.

    Returns
    -------
    pandas.DataFrame
        Columns ``Open``, ``High``, ``Low``, ``Close``, ``Volume`` (float64), indexed by a
        ``DatetimeIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_msft
    >>> msft = load_msft()
    >>> msft.shape
    (7983, 5)
    """
    raw = _import("pmdarima.datasets", "pmdarima").load_msft()
    frame = raw.set_index(pd.to_datetime(raw["Date"])).drop(columns=["Date", "OpenInt"])
    return _daily(frame, exchange="XNYS")


def load_fama_french() -> pd.DataFrame:
    """Load the monthly Fama-French three factors and the risk-free rate (percent).

    Source: ``arch.data.frenchdata`` (Kenneth French's data library), bundled in the
    ``arch`` package. Span 1926-07 to 2018-11, 1,109 months, no missing values. The upstream
    index holds ``yyyymm`` integers stored as nanosecond timestamps; it is converted to a
    proper monthly ``PeriodIndex``.

    Returns
    -------
    pandas.DataFrame
        Columns ``Mkt-RF``, ``SMB``, ``HML``, ``RF`` (float64, percent per month), indexed by
        a monthly ``PeriodIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_fama_french
    >>> ff = load_fama_french()
    >>> str(ff.index[0]), str(ff.index[-1])
    ('1926-07', '2018-11')
    """
    frame = _import("arch.data.frenchdata", "arch").load().copy()
    yyyymm = np.asarray(frame.index.asi8, dtype=np.int64)
    frame.index = pd.PeriodIndex.from_fields(year=yyyymm // 100, month=yyyymm % 100, freq="M")
    return _tidy(frame)


def load_core_cpi() -> pd.Series:
    """Load monthly US core CPI (all items less food and energy, FRED ``CPILFESL``).

    Source: ``arch.data.core_cpi``, bundled in the ``arch`` package. Span 1957-01 to 2018,
    743 months, no missing values. Useful as a macro exogenous series.

    Returns
    -------
    pandas.Series
        Float64 series named ``CoreCPI``, indexed by a monthly ``PeriodIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_core_cpi
    >>> len(load_core_cpi())
    743
    """
    frame = _monthly(_import("arch.data.core_cpi", "arch").load())
    return frame["CPILFESL"].rename("CoreCPI")


def load_default_spread() -> pd.DataFrame:
    """Load monthly Moody's AAA and BAA corporate bond yields (percent).

    Source: ``arch.data.default``, bundled in the ``arch`` package. Span 1919-01 to 2018,
    1,200 months, no missing values. ``BAA - AAA`` is the classic default spread.

    Returns
    -------
    pandas.DataFrame
        Columns ``AAA`` and ``BAA`` (float64), indexed by a monthly ``PeriodIndex`` named
        ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_default_spread
    >>> yields = load_default_spread()
    >>> bool((yields["BAA"] >= yields["AAA"]).all())
    True
    """
    return _monthly(_import("arch.data.default", "arch").load())


def load_airline() -> pd.Series:
    """Load the classic monthly airline passengers series (Box & Jenkins).

    Source: ``sktime.datasets.load_airline``. Span 1949-01 to 1960-12, 144 months. Not
    financial: it is the sanity check for which published ARIMA and ETS results exist.

    Returns
    -------
    pandas.Series
        Float64 series named ``Passengers`` (thousands), indexed by a monthly
        ``PeriodIndex`` named ``date``.

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> len(load_airline())
    144
    """
    from sktime.datasets import load_airline as _load

    series = _load().astype(np.float64).rename("Passengers")
    series.index.name = "date"
    return series


#: Every loader by its short name, for command-line options and parametrized tests.
LOADERS = {
    "sp500": load_sp500,
    "nasdaq": load_nasdaq,
    "wti": load_wti,
    "crude": load_crude,
    "vix": load_vix,
    "msft": load_msft,
    "fama_french": load_fama_french,
    "core_cpi": load_core_cpi,
    "default_spread": load_default_spread,
    "airline": load_airline,
}
