"""TechnicalIndicators at its edges, on real S&P 500 rows: the shortest history that yields a
Wilder average, a market that stops moving, and the feature-name contract.

Each case pins a value that a plausible bug changes (found by ``tasks.py mutate``): the first
Wilder average is the mean of exactly ``window`` values, a zero range is undefined (NaN, not
infinite), and ``get_feature_names_out`` checks what it is given.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500
from skfin.transformations import TechnicalIndicators

NONE = dict(return_windows=(), sma_windows=(), ema_windows=(), rsi_windows=(), macd=None,
            bollinger=None, volatility_windows=(), zscore_windows=(), roc_windows=(),
            atr_windows=(), stochastic=None, obv=False, volume_change=False)


def _wilder_only(rows):
    d = load_sp500().iloc[:rows]
    ti = TechnicalIndicators(**{**NONE, "rsi_windows": (14,), "atr_windows": (14,)})
    return d, ti.fit_transform(d)


def _true_range(d):
    previous = d.Close.shift(1)
    ranges = pd.concat([d.High - d.Low, (d.High - previous).abs(), (d.Low - previous).abs()],
                       axis=1)
    return ranges.max(axis=1)                        # the first row: high - low


@pytest.mark.parametrize("rows", [13, 14, 15, 16])
def test_the_first_wilder_average_needs_exactly_window_values(rows):
    """ATR(14) first appears on the 14th row (14 true ranges), RSI(14) on the 15th (14
    changes); each first value is the plain mean of those 14, and a shorter history is
    all NaN, as floats."""
    d, X = _wilder_only(rows)
    assert X.dtypes.eq(np.float64).all()
    tr = _true_range(d)
    if rows < 14:
        assert X["atr_14"].isna().all()
    else:
        assert X["atr_14"].iloc[:13].isna().all()
        assert X["atr_14"].iloc[13] == pytest.approx(tr.iloc[:14].mean(), rel=1e-12)
    if rows >= 16:                                   # then Wilder's recursion, step 1
        assert X["atr_14"].iloc[14] == pytest.approx(
            tr.iloc[:14].mean() + (tr.iloc[14] - tr.iloc[:14].mean()) / 14, rel=1e-12)
    if rows < 15:
        assert X["rsi_14"].isna().all()
    else:
        change = d.Close.diff().iloc[1:15]
        up, down = change.clip(lower=0).mean(), (-change).clip(lower=0).mean()
        assert X["rsi_14"].iloc[:14].isna().all()
        assert X["rsi_14"].iloc[14] == pytest.approx(100 * up / (up + down), rel=1e-12)


def test_a_halted_market_gives_undefined_ratios_not_infinite_ones():
    """Twenty sessions with no trade (open = high = low = close, volume 0, as a halted
    exchange reports them) put zeros under every ratio: %K, %b and the z-score are
    undefined there (NaN, no warning), the volume change after a zero-volume day too, and
    the rows before the halt are untouched."""
    d = load_sp500().iloc[-300:].copy()
    halt = slice(200, 220)
    price = d.Close.iloc[199]
    for column in ("Open", "High", "Low", "Close"):
        d.iloc[halt, d.columns.get_loc(column)] = price
    d.iloc[halt, d.columns.get_loc("Volume")] = 0.0
    ti = TechnicalIndicators(**{**NONE, "stochastic": (5, 3), "bollinger": (10, 2.0),
                                "zscore_windows": (10,), "volume_change": True})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no 0 / 0 reached numpy
        X = ti.fit_transform(d)
    assert not np.isinf(X.to_numpy()).any()
    # rows 204..219: the 5-day range is 0; rows 209..219: the 10-day deviation is 0
    assert X["stoch_k_5"].iloc[204:220].isna().all()
    assert X["stoch_k_5"].iloc[20:200].notna().all()
    for column in ("bb_pctb_10", "zscore_10"):
        assert X[column].iloc[209:220].isna().all()
        assert X[column].iloc[20:200].notna().all()
    # volume change: day 200 is -100% (a real drop), the next days divide by 0
    assert X["volume_change"].iloc[200] == -1.0
    assert X["volume_change"].iloc[201:221].isna().all()
    clean = TechnicalIndicators(**ti.get_params()).fit_transform(load_sp500().iloc[-300:])
    pd.testing.assert_frame_equal(X.iloc[:200], clean.iloc[:200])


def test_feature_names_out_checks_its_input_and_follows_sklearn():
    d = load_sp500().iloc[-100:]
    ti = TechnicalIndicators(**{**NONE, "sma_windows": (5,)}).fit(d)
    names = ti.get_feature_names_out()
    assert names.dtype == object and list(names) == ["sma_5"]     # sklearn: object dtype
    assert list(ti.get_feature_names_out(list(d.columns))) == ["sma_5"]
    with pytest.raises(ValueError, match="input_features"):
        ti.get_feature_names_out(["Open", "High", "Low", "Price", "Volume"])


def test_rsi_of_a_market_that_has_not_fallen_is_100_as_in_ta():
    """A listing that opens with 20 halted sessions (one price) and then trades: RSI is 100
    while no close has fallen (no down move: ta's convention, also for a flat start,
    whose 0 / 0 would otherwise be undefined), then follows its Wilder recursion."""
    import ta

    d = load_sp500().iloc[-200:].copy()
    for column in ("Open", "High", "Low", "Close"):
        d.iloc[:20, d.columns.get_loc(column)] = d.Close.iloc[20]
    X = TechnicalIndicators(**{**NONE, "rsi_windows": (5,)}).fit_transform(d)
    theirs = ta.momentum.RSIIndicator(d.Close, 5).rsi()
    assert X["rsi_5"].iloc[5:21].eq(100.0).all() and theirs.iloc[5:21].eq(100.0).all()
    first_fall = int(np.argmax(d.Close.diff().to_numpy()[21:] < 0)) + 21
    assert X["rsi_5"].iloc[first_fall] < 100.0


# ------------------------------------------------------------------ input checks
def test_columns_by_position_equal_columns_by_name_and_a_bad_position_is_named():
    d = load_sp500().iloc[-120:]                      # Open High Low Close Adj Close Volume
    by_name = TechnicalIndicators(sma_windows=(5,)).fit_transform(d)
    by_position = TechnicalIndicators(sma_windows=(5,), high=1, low=2, close=3,
                                      volume=5).fit_transform(d)
    pd.testing.assert_frame_equal(by_position, by_name)
    with pytest.raises(ValueError, match=r"TechnicalIndicators\(volume=6\) selects column "
                                         r"position 6, but X has 6 columns\. Set volume= to a "
                                         r"valid position or column name\."):
        TechnicalIndicators(volume=6).fit(d)
    # True is an int to Python, not a position to a user: it is looked up as a name
    with pytest.raises(ValueError, match=r"Column True not found in X \(parameter close=True\)"
                                         r".*or close=None if there is none \(and switch "
                                         r"off the indicators that need it\)\.$"):
        TechnicalIndicators(close=True).fit(d)


def test_values_too_large_for_the_rolling_variances_are_named_by_column():
    """Magnitudes above 1e150 overflow the rolling variances (their squares): the check
    names the column and its largest value; 1e150 itself is accepted."""
    d = load_sp500().iloc[-120:].copy()
    d["Volume"] = d["Volume"].astype(float)
    d.iloc[40, d.columns.get_loc("Volume")] = 3e151
    with pytest.raises(ValueError, match=r"^TechnicalIndicators: column 'Volume' \(volume=\) has values up to 3e\+151, too "
                                         r"large for the rolling variances.*above 1e\+150\). "
                                         r"Rescale it first"):
        TechnicalIndicators().fit_transform(d)
    d.iloc[40, d.columns.get_loc("Volume")] = 1e150           # the bound itself
    TechnicalIndicators().fit_transform(d)


@pytest.mark.parametrize("fill", ["ffill", "drop"])
def test_an_empty_column_is_refused_not_turned_into_nan_features(fill):
    """An index's volume column with no data at all: no fill can help, and OBV and the
    volume change would be NaN on every row. The error names the column; with the volume
    indicators switched off, the column is not read and the rest is computed."""
    d = load_sp500().iloc[-120:].copy()
    d["Volume"] = np.nan
    with pytest.raises(ValueError, match=r"Column 'volume' of X has no value at all \(120 "
                                         r"rows, all missing\).*switch off what reads it"):
        TechnicalIndicators(fill=fill).fit_transform(d)
    X = TechnicalIndicators(fill=fill, volume_change=False, obv=False).fit_transform(d)
    assert X.iloc[60:].notna().all().all()


def test_only_indicators_of_ratios_need_a_positive_close():
    """Returns, log returns, volatility and ROC divide by the close or take its log;
    averages, MACD and Bollinger bands are defined on any price (a spread, a negative
    futures settlement). Only the close is checked: a zero-volume day is fine."""
    d = load_sp500().iloc[-120:].copy()
    d.iloc[60, d.columns.get_loc("Volume")] = 0
    TechnicalIndicators(**{**NONE, "return_windows": (1,), "volume_change": True}).fit_transform(d)
    d.iloc[70, d.columns.get_loc("Close")] = -5.0
    for ratio in ({"return_windows": (1,)}, {"volatility_windows": (5,)},
                  {"roc_windows": (5,)}):
        with pytest.raises(ValueError, match=r"Negative values in data.*'Close' \(close=\)"):
            TechnicalIndicators(**{**NONE, **ratio}).fit(d)
    X = TechnicalIndicators(**{**NONE, "sma_windows": (5,), "macd": (3, 6, 2),
                               "bollinger": (5, 2.0)}).fit_transform(d)
    assert X["sma_5"].iloc[70:75].notna().all()


# ------------------------------------------------------------------ warm-up lengths
@pytest.mark.parametrize("indicator", [
    {"ema_windows": (12,)}, {"ema_windows": (3, 7)}, {"macd": (5, 9, 4)},
    {"macd": (12, 26, 9)}, {"macd": (5, 9, 2)}, {"bollinger": (10, 2.0)}, {"atr_windows": (6,)},
    {"zscore_windows": (15,)}, {"stochastic": (9, 3)}, {"stochastic": (9, 2)},
    {"stochastic": (4, 5)},
    {"obv": True}, {"volume_change": True}, {"rsi_windows": (6,)},
    {"return_windows": (3,)}, {"sma_windows": (8,)}, {"roc_windows": (4,)},
    {"volatility_windows": (7,)},
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
def test_warmup_is_the_first_row_where_every_indicator_is_defined(indicator):
    """``n_warmup_`` counts the rows before every column has a value, each indicator's
    own rule (EMA: span - 1; MACD signal: slow - 1 + signal - 1; ...) read off the
    computed S&P 500 columns; warmup='drop' returns exactly the rows from there on."""
    d = load_sp500().iloc[-300:]
    ti = TechnicalIndicators(**{**NONE, **indicator})
    X = ti.fit_transform(d)
    first = [int(np.argmax(X[c].notna().to_numpy())) for c in X]
    assert ti.n_warmup_ == max(first)
    assert X.iloc[ti.n_warmup_:].notna().all().all()
    dropped = TechnicalIndicators(**{**NONE, **indicator}, warmup="drop").fit_transform(d)
    pd.testing.assert_frame_equal(dropped, X.iloc[ti.n_warmup_:])


def test_a_plan_with_nothing_or_twice_the_same_column_is_refused():
    with pytest.raises(ValueError, match=r"^TechnicalIndicators has every indicator switched "
                                         r"off; enable at least one \(e\.g\. "
                                         r"sma_windows=\(20,\)\)\.$"):
        TechnicalIndicators(**NONE).fit(load_sp500().iloc[-50:])
    with pytest.raises(ValueError, match=r"would produce the columns \['sma_5'\] twice; list "
                                         r"each window once\.$"):
        TechnicalIndicators(**{**NONE, "sma_windows": (5, 5)}).fit(load_sp500().iloc[-50:])


def test_sklearn_is_told_a_positive_close_is_needed_only_by_ratio_indicators():
    def positive_only(**params):
        return TechnicalIndicators(**{**NONE, **params}).__sklearn_tags__(
        ).input_tags.positive_only

    assert positive_only(return_windows=(1,)) and positive_only(roc_windows=(3,))
    assert not positive_only(sma_windows=(5,), macd=(3, 6, 2), stochastic=(5, 3))
    assert not positive_only(sma_windows="five")     # invalid: fit will say why, not tags
