"""TechnicalIndicators on real S&P 500 OHLCV, against the independent ``ta`` package.

Every indicator is compared with ``ta`` (or, where ``ta`` has none, with a direct numpy
computation) to 1e-8 after its warm-up. Where skfin and ``ta`` follow different
conventions, the test says which one skfin follows and checks the exact relation.
"""

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import ta
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sktime.forecasting.compose import ForecastingPipeline, YfromX

from skfin.datasets import load_nasdaq, load_sp500, load_wti
from skfin.transformations import LogRatio, TechnicalIndicators

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

TOL = {"rtol": 1e-8, "atol": 1e-8}


@lru_cache
def _ohlcv():
    return load_sp500()


def _features():
    # computed afresh for each test (20 ms): mutation testing maps every test to the
    # functions it calls, and a cached result would hide the indicators from all but one
    ti = TechnicalIndicators(return_windows=(1, 5), sma_windows=(10, 20, 50))
    return ti.fit_transform(_ohlcv()), ti


def ohlcv():
    return _ohlcv().copy()


def features():
    return _features()[0]


def assert_after_warmup(ours, theirs, start):
    """Equal to 1e-8 from row ``start``; and ours is NaN exactly before its first value."""
    ours, theirs = pd.Series(ours), pd.Series(theirs, index=ours.index)
    np.testing.assert_allclose(ours.iloc[start:], theirs.iloc[start:], **TOL)


def first_valid(series):
    return int(np.argmax(series.notna().to_numpy()))


# ------------------------------------------------------------------ same as ta
@pytest.mark.parametrize(
    ("column", "reference", "warmup"),
    [
        ("sma_20", lambda d: ta.trend.SMAIndicator(d.Close, 20).sma_indicator(), 19),
        ("sma_50", lambda d: ta.trend.SMAIndicator(d.Close, 50).sma_indicator(), 49),
        ("ema_12", lambda d: ta.trend.EMAIndicator(d.Close, 12).ema_indicator(), 11),
        ("ema_26", lambda d: ta.trend.EMAIndicator(d.Close, 26).ema_indicator(), 25),
        ("macd_12_26", lambda d: ta.trend.MACD(d.Close, 26, 12, 9).macd(), 25),
        ("macd_signal_12_26_9", lambda d: ta.trend.MACD(d.Close, 26, 12, 9).macd_signal(), 33),
        ("macd_hist_12_26_9", lambda d: ta.trend.MACD(d.Close, 26, 12, 9).macd_diff(), 33),
        (
            "bb_pctb_20",
            lambda d: ta.volatility.BollingerBands(d.Close, 20, 2).bollinger_pband(),
            19,
        ),
        (
            "bb_width_20",
            lambda d: ta.volatility.BollingerBands(d.Close, 20, 2).bollinger_wband(),
            19,
        ),
        (
            "atr_14",
            lambda d: ta.volatility.AverageTrueRange(
                d.High, d.Low, d.Close, 14
            ).average_true_range(),
            13,
        ),
        ("roc_10", lambda d: ta.momentum.ROCIndicator(d.Close, 10).roc(), 10),
        (
            "stoch_k_14",
            lambda d: ta.momentum.StochasticOscillator(d.High, d.Low, d.Close, 14, 3).stoch(),
            13,
        ),
        (
            "stoch_d_14_3",
            lambda d: ta.momentum.StochasticOscillator(
                d.High, d.Low, d.Close, 14, 3
            ).stoch_signal(),
            15,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_matches_ta(column, reference, warmup):
    """Same formula and units as ta. Conventions shared with ta: EMAs are recursive from
    the first value (``ewm(adjust=False)``) and first shown after ``span`` values;
    Bollinger bands use the population standard deviation (``ddof=0``, as Bollinger
    did); the ATR is Wilder's, seeded with the mean of the first 14 true ranges, the
    first true range being high - low; %b, ROC, %K and %D as in ta."""
    ours = features()[column]
    assert first_valid(ours) == warmup
    assert_after_warmup(ours, reference(ohlcv()), warmup)


def test_returns_are_fractions_not_percent():
    """Convention: ta reports returns in percent; skfin in fractions, so that
    ``log_return_1`` is exactly LogRatio's output (the usual target)."""
    d, X = ohlcv(), features()
    assert_after_warmup(
        X["return_1"], ta.others.DailyReturnIndicator(d.Close).daily_return() / 100, 1
    )
    assert_after_warmup(
        X["log_return_1"], ta.others.DailyLogReturnIndicator(d.Close).daily_log_return() / 100, 1
    )
    np.testing.assert_allclose(X["log_return_1"], LogRatio().fit_transform(d.Close), rtol=1e-14)
    close = d.Close.to_numpy()
    assert_after_warmup(X["return_5"], np.r_[[np.nan] * 5, close[5:] / close[:-5] - 1], 5)


def test_rsi_is_wilder_seeded_and_converges_to_ta():
    """Convention: Wilder's RSI seeds both averages with the simple mean of the first 14
    price changes (Wilder 1978; ta does the same for the ATR). ta's RSI instead counts the
    first row's missing change as 0 and starts the recursion there, so its first values
    differ; the difference decays as (13/14)^k and is below 1e-8 after 400 rows."""
    d, X = ohlcv(), features()
    ours, theirs = X["rsi_14"], ta.momentum.RSIIndicator(d.Close, 14).rsi()
    assert first_valid(ours) == 14
    assert np.abs(ours - theirs).iloc[14:50].max() > 1e-3  # the seeds really differ
    assert_after_warmup(ours, theirs, 400)
    # the seed, by hand
    change = d.Close.diff().iloc[1:15]
    up, down = change.clip(lower=0).mean(), (-change).clip(lower=0).mean()
    assert ours.iloc[14] == pytest.approx(100 * up / (up + down), rel=1e-12)


def test_obv_follows_granville():
    """Convention: Granville's OBV adds +volume on an up close, -volume on a down close
    and nothing on an unchanged close, starting on the second row (the first has no
    direction, NaN). ta adds +volume on unchanged closes too (the S&P 500 has three such
    days here) and starts at the first day's volume. OBV's level is arbitrary; its
    changes carry the information."""
    d, X = ohlcv(), features()
    ours, theirs = (
        X["obv"],
        ta.volume.OnBalanceVolumeIndicator(d.Close, d.Volume).on_balance_volume(),
    )
    assert np.isnan(ours.iloc[0])
    unchanged = (d.Close.diff() == 0).to_numpy()
    assert unchanged.sum() == 3
    correction = d.Volume.iloc[0] + np.cumsum(np.where(unchanged, d.Volume, 0.0))
    np.testing.assert_allclose(ours.iloc[1:], (theirs - correction).iloc[1:], rtol=1e-12)


# ------------------------------------------------------- not in ta: direct numpy
def test_realized_volatility_against_numpy():
    """Rolling sample standard deviation (ddof=1) of daily log returns, not annualised."""
    d, X = ohlcv(), features()
    log_returns = np.diff(np.log(d.Close.to_numpy()))
    expected = np.r_[[np.nan] * 20, sliding_window_view(log_returns, 20).std(axis=1, ddof=1)]
    assert first_valid(X["volatility_20"]) == 20
    assert_after_warmup(X["volatility_20"], expected, 20)


def test_zscore_against_numpy():
    d, X = ohlcv(), features()
    windows = sliding_window_view(d.Close.to_numpy(), 20)
    expected = (windows[:, -1] - windows.mean(axis=1)) / windows.std(axis=1, ddof=1)
    assert_after_warmup(X["zscore_20"], np.r_[[np.nan] * 19, expected], 19)


def test_volume_change_against_numpy():
    d, X = ohlcv(), features()
    volume = d.Volume.to_numpy()
    assert_after_warmup(X["volume_change"], np.r_[np.nan, volume[1:] / volume[:-1] - 1], 1)


# ------------------------------------------------------------- names and warm-up
def test_deterministic_names_follow_the_parameters():
    ti = TechnicalIndicators(
        return_windows=2,
        sma_windows=(5, 60),
        ema_windows=(),
        rsi_windows=(7, 21),
        macd=(5, 35, 5),
        bollinger=(10, 1.5),
        atr_windows=(),
        volatility_windows=(5, 60),
        zscore_windows=(),
        roc_windows=(),
        stochastic=(5, 2),
        obv=False,
        volume_change=False,
    ).fit(ohlcv())
    assert list(ti.get_feature_names_out()) == [
        "return_2",
        "log_return_2",
        "sma_5",
        "sma_60",
        "rsi_7",
        "rsi_21",
        "macd_5_35",
        "macd_signal_5_35_5",
        "macd_hist_5_35_5",
        "bb_pctb_10",
        "bb_width_10",
        "volatility_5",
        "volatility_60",
        "stoch_k_5",
        "stoch_d_5_2",
    ]
    X = ti.transform(ohlcv())
    assert list(X.columns) == list(ti.get_feature_names_out())
    assert ti.n_warmup_ == 60
    # and each parameter reaches its computation: the values are those of ta (or numpy)
    # with the same non-default windows, after the warm-up
    d = ohlcv()
    close = d.Close.to_numpy()
    log_returns = np.diff(np.log(close))
    assert_after_warmup(X["return_2"], np.r_[[np.nan] * 2, close[2:] / close[:-2] - 1], 2)
    assert_after_warmup(X["log_return_2"], np.r_[[np.nan] * 2, np.log(close[2:] / close[:-2])],
                        2)
    assert_after_warmup(X["sma_60"], ta.trend.SMAIndicator(d.Close, 60).sma_indicator(), 59)
    macd = ta.trend.MACD(d.Close, 35, 5, 5)
    assert_after_warmup(X["macd_5_35"], macd.macd(), 34)
    assert_after_warmup(X["macd_signal_5_35_5"], macd.macd_signal(), 38)
    bands = ta.volatility.BollingerBands(d.Close, 10, 1.5)
    assert_after_warmup(X["bb_pctb_10"], bands.bollinger_pband(), 9)
    assert_after_warmup(X["bb_width_10"], bands.bollinger_wband(), 9)
    assert_after_warmup(X["volatility_5"], np.r_[[np.nan] * 5, sliding_window_view(
        log_returns, 5).std(axis=1, ddof=1)], 5)
    stoch = ta.momentum.StochasticOscillator(d.High, d.Low, d.Close, 5, 2)
    assert_after_warmup(X["stoch_k_5"], stoch.stoch(), 4)
    assert_after_warmup(X["stoch_d_5_2"], stoch.stoch_signal(), 5)
    # RSI: Wilder-seeded, so equal to ta's once the seed is forgotten
    for n in (7, 21):
        assert_after_warmup(X[f"rsi_{n}"].iloc[500:],
                            ta.momentum.RSIIndicator(d.Close, n).rsi().iloc[500:], 0)


def test_warmup_policy():
    X, ti = _features()
    # n_warmup_ is where the last indicator starts; nothing is NaN afterwards
    assert ti.n_warmup_ == max(first_valid(X[c]) for c in X.columns) == 49
    assert not X.iloc[ti.n_warmup_ :].isna().any().any()
    dropped = TechnicalIndicators(
        return_windows=(1, 5), sma_windows=(10, 20, 50), warmup="drop"
    ).fit_transform(ohlcv())
    pd.testing.assert_frame_equal(dropped, X.iloc[ti.n_warmup_ :])


def test_transform_of_later_rows_continues_without_new_warmup():
    d = ohlcv()
    full = features()
    ti = TechnicalIndicators(return_windows=(1, 5), sma_windows=(10, 20, 50)).fit(d.iloc[:3000])
    later = ti.transform(d.iloc[3000:])
    assert not later.isna().any().any()
    pd.testing.assert_frame_equal(later, full.iloc[3000:], rtol=1e-12)
    ti.update(d.iloc[3000:4000])
    pd.testing.assert_frame_equal(ti.transform(d.iloc[4000:]), full.iloc[4000:], rtol=1e-12)


def test_set_output_and_arrays():
    d = ohlcv()[["High", "Low", "Close", "Volume"]]
    ti = TechnicalIndicators(high=0, low=1, close=2, volume=3).set_output(transform="pandas")
    out = ti.fit_transform(d.to_numpy())
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(ti.get_feature_names_out())
    np.testing.assert_allclose(
        out.to_numpy(), TechnicalIndicators().fit_transform(d).to_numpy(), rtol=1e-12
    )


def test_close_only_series():
    nasdaq = load_nasdaq()["Close"]
    ti = TechnicalIndicators(
        close="Close",
        high=None,
        low=None,
        volume=None,
        atr_windows=(),
        stochastic=None,
        obv=False,
        volume_change=False,
    )
    out = ti.fit_transform(nasdaq)
    assert out.index.equals(nasdaq.index) and "rsi_14" in out and "atr_14" not in out


# -------------------------------------------------------------------- missing data
WTI_PARAMS = {
    "close": "WTI",
    "high": None,
    "low": None,
    "volume": None,
    "atr_windows": (),
    "stochastic": None,
    "obv": False,
    "volume_change": False,
}


def test_fill_raise_names_the_first_missing_date():
    with pytest.raises(ValueError, match=r"NaN \(first missing value at 1986-02-17.*fill='ffill'"):
        TechnicalIndicators(**WTI_PARAMS).fit(load_wti())


def test_fill_ffill_equals_indicators_of_the_forward_filled_series():
    wti = load_wti()
    out = TechnicalIndicators(**WTI_PARAMS, fill="ffill").fit_transform(wti)
    expected = TechnicalIndicators(**WTI_PARAMS).fit_transform(wti.ffill())
    pd.testing.assert_frame_equal(out, expected)


def test_fill_drop_removes_missing_days():
    wti = load_wti()
    out = TechnicalIndicators(**WTI_PARAMS, fill="drop").fit_transform(wti)
    expected = TechnicalIndicators(**WTI_PARAMS).fit_transform(wti.dropna())
    pd.testing.assert_frame_equal(out, expected)


# --------------------------------------------------------------------------- errors
def test_missing_column_names_the_column_and_the_parameter():
    with pytest.raises(ValueError, match=r"Column 'High' not found in X \(parameter high='High'\)"):
        TechnicalIndicators().fit(ohlcv().drop(columns="High"))


def test_switched_off_column_needed_by_an_indicator():
    with pytest.raises(ValueError, match=r"atr_windows=\(14,\)\) needs the high column.*high=None"):
        TechnicalIndicators(high=None).fit(ohlcv())


def test_non_positive_close_names_the_date():
    d = ohlcv()
    d.iloc[250, d.columns.get_loc("Close")] = -1.0
    with pytest.raises(
        ValueError, match=r"Negative values in data.*column 'Close' \(close=\).*1999-12-30"
    ):
        TechnicalIndicators().fit(d)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sma_windows": (0,)}, "'sma_windows' parameter of TechnicalIndicators must be"),
        ({"rsi_windows": 2.5}, "'rsi_windows' parameter"),
        ({"macd": (26, 12, 9)}, "fast < slow"),
        ({"bollinger": (20,)}, "'bollinger' parameter"),
        ({"sma_windows": (20, 20)}, r"\['sma_20'\] twice"),
        ({"fill": "bfill"}, "'fill' parameter of TechnicalIndicators must be"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        TechnicalIndicators(**params).fit(ohlcv())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"volatility_windows": 1}, r"'volatility_windows' parameter of TechnicalIndicators must "
         r"be an int >= 2, a tuple of ints >= 2, or None/\(\) .* one return is NaN\)\. Got 1"),
        ({"volatility_windows": (1, 20)}, r"'volatility_windows' parameter.*>= 2"),
        ({"zscore_windows": (20, 1)}, r"'zscore_windows' parameter.*>= 2.*one close is NaN"),
        ({"bollinger": (1, 2.0)}, r"'bollinger' parameter.*window >= 2.*%b is 0/0"),
        ({"bollinger": (20, 0.0)}, r"'bollinger' parameter.*n_std > 0"),
        ({"macd": (12, 26, 0)}, r"'macd' parameter.*signal >= 1"),
        ({"stochastic": (14, 0)}, r"'stochastic' parameter.*ints >= 1"),
        ({"roc_windows": 0}, r"'roc_windows' parameter.*int >= 1"),
    ],
)
def test_windows_shorter_than_their_minimum_are_refused_at_fit(params, match):
    """A window that can only give NaN (or none at all) is refused, naming the parameter."""
    with pytest.raises(ValueError, match=match):
        TechnicalIndicators(**params).fit(ohlcv())


@pytest.mark.parametrize(
    ("params", "column"),
    [
        ({"volatility_windows": 2}, "volatility_2"),
        ({"zscore_windows": 2}, "zscore_2"),
        ({"bollinger": (2, 2.0)}, "bb_pctb_2"),
        ({"sma_windows": 1}, "sma_1"),
        ({"rsi_windows": 1}, "rsi_1"),
        ({"atr_windows": 1}, "atr_1"),
        ({"macd": (1, 2, 1)}, "macd_signal_1_2_1"),
        ({"stochastic": (1, 1)}, "stoch_d_1_1"),
    ],
)
def test_the_minimum_windows_give_numbers(params, column):
    """Each window's minimum is its true one: at the minimum the indicator is defined,
    and it is the value the formula gives at that window, worked out here directly."""
    d = ohlcv().iloc[-300:]
    out = TechnicalIndicators(**params).fit_transform(d)
    assert out[column].iloc[60:].notna().all()
    close, high, low = d.Close, d.High, d.Low
    change = close.diff()
    true_range = pd.concat([high - low, (high - close.shift()).abs(),
                            (low - close.shift()).abs()], axis=1).max(axis=1)
    expected = {
        # two log returns: sample std = |r_t - r_{t-1}| / sqrt(2)
        "volatility_2": np.log(close).diff().diff().abs() / np.sqrt(2),
        # two closes: (c_t - mean) / std(ddof=1) = +-1/sqrt(2), the sign of the change
        "zscore_2": np.sign(change) / np.sqrt(2),
        # two closes, population std |change| / 2, k=2: lower = mean - |change|,
        # %b = (c_t - lower) / (2 * |change|) = 0.5 + sign(change) / 4
        "bb_pctb_2": 0.5 + np.sign(change) / 4,
        "sma_1": close,
        # one-day Wilder mean is the day's move: 100 on an up (or flat) day, 0 on a down day
        "rsi_1": pd.Series(np.where(change < 0, 0.0, 100.0), index=d.index),
        "atr_1": true_range,
        # spans of 1: each EMA is its input, so the signal line is the MACD line itself
        "macd_signal_1_2_1": close - close.ewm(span=2, adjust=False).mean(),
        "stoch_d_1_1": 100 * (close - low) / (high - low),
    }[column]
    np.testing.assert_allclose(out[column].iloc[60:], expected.iloc[60:], **TOL)


def test_every_parameter_has_a_constraint():
    params = set(TechnicalIndicators().get_params())
    assert params == set(TechnicalIndicators._parameter_constraints)


# ------------------------------------------------------------------- pipelines
def test_sklearn_pipeline_and_grid_search():
    d = ohlcv().iloc[-1200:]
    y = LogRatio().fit_transform(d["Close"]).shift(-1).iloc[:-1]
    X = d.iloc[:-1]
    pipe = make_pipeline(
        TechnicalIndicators(), StandardScaler(), HistGradientBoostingRegressor(max_iter=10)
    ).set_output(transform="pandas")
    search = GridSearchCV(
        pipe, {"technicalindicators__rsi_windows": [(7,), (14,)]}, cv=TimeSeriesSplit(3)
    ).fit(X, y)
    # each candidate's score recomputed independently: the window reaches the features
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    expected = {w: cross_val_score(clone(pipe).set_params(technicalindicators__rsi_windows=w),
                                   X, y, cv=TimeSeriesSplit(3)).mean() for w in [(7,), (14,)]}
    assert expected[(7,)] != expected[(14,)]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               [expected[(7,)], expected[(14,)]], rtol=1e-12)
    assert search.best_params_["technicalindicators__rsi_windows"] == max(expected,
                                                                          key=expected.get)
    scaled = search.best_estimator_[:-1].transform(X.iloc[-5:])
    assert list(scaled.columns) == list(search.best_estimator_[0].get_feature_names_out())


def test_exogenous_features_in_sktime_forecasting_pipeline():
    """Features of the forecast horizon continue from the rows seen in fit: no warm-up
    NaN, and the forecaster sees exactly what the transformer computes."""
    d = ohlcv().reset_index(drop=True).iloc[-800:]
    y, X = d["Close"], d.drop(columns="Close").assign(Close=d["Close"].shift(1).bfill())
    X_train, X_future, y_train = X.iloc[:-3], X.iloc[-3:], y.iloc[:-3]
    params = {"warmup": "nan"}
    pipe = ForecastingPipeline(
        [
            ("ti", TechnicalIndicators(**params)),
            ("f", YfromX(HistGradientBoostingRegressor(max_iter=20, random_state=0))),
        ]
    ).fit(y_train, X=X_train, fh=[1, 2, 3])
    pred = pipe.predict(X=X_future)
    ti = TechnicalIndicators(**params).fit(X_train)
    future_features = ti.transform(X_future)
    assert not future_features.isna().any().any()
    manual = YfromX(HistGradientBoostingRegressor(max_iter=20, random_state=0)).fit(
        y_train, X=ti.transform(X_train), fh=[1, 2, 3]
    )
    pd.testing.assert_series_equal(pred, manual.predict(X=future_features))
