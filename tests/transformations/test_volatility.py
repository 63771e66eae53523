"""Range estimators, HAR features and realized-variance targets on real S&P 500 OHLC data.

Each per-day estimator is checked against a hand computation (``math.log`` on the prices of
a few real days, written from the papers' formulas) and against the properties the papers
prove: non-negativity, Rogers-Satchell's zero variance for a pure-drift day, invariance to
the price unit. HAR features are checked against numpy's sliding windows; the log-normal
bias correction against the realized mean of S&P 500 variance out of sample.
"""

import math
import statistics
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sktime.forecasting.compose import ForecastingPipeline, YfromX

from skfin.datasets import load_sp500, load_wti
from skfin.transformations import (
    HARFeatures,
    garman_klass_variance,
    parkinson_variance,
    realized_variance,
    rogers_satchell_variance,
    squared_returns,
    variance_from_log,
    yang_zhang_variance,
)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

ESTIMATORS = {
    "parkinson": parkinson_variance,
    "garman_klass": garman_klass_variance,
    "rogers_satchell": rogers_satchell_variance,
}


@lru_cache
def _ohlc():
    return load_sp500()[["Open", "High", "Low", "Close"]]


def ohlc():
    return _ohlc().copy()


# The crash of October 2008: 10-13 opened at its low (a near-pure up-drift day), 10-15
# opened at its high and fell 9%.
SLICE = slice("2008-10-10", "2008-10-16")


def _hand(day):
    """The papers' formulas, one day at a time, with math.log on the real prices."""
    o, h, low, c = (float(_ohlc().loc[day, k]) for k in ("Open", "High", "Low", "Close"))
    return {
        "parkinson": math.log(h / low) ** 2 / (4 * math.log(2)),
        "garman_klass": 0.5 * math.log(h / low) ** 2
        - (2 * math.log(2) - 1) * math.log(c / o) ** 2,
        "rogers_satchell": math.log(h / c) * math.log(h / o) + math.log(low / c) * math.log(low / o),
    }


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_one_day_estimators_match_hand_computation(name):
    v = ESTIMATORS[name](ohlc().loc[SLICE])
    assert v.name == name
    for day in v.index:
        assert v.loc[day] == pytest.approx(_hand(day)[name], rel=1e-12)


def test_squared_returns_match_hand_computation():
    close = _ohlc()["Close"].loc[SLICE]
    v = squared_returns(close)
    assert np.isnan(v.iloc[0])
    for i in range(1, len(close)):
        assert v.iloc[i] == pytest.approx(math.log(close.iloc[i] / close.iloc[i - 1]) ** 2,
                                          rel=1e-12)
    pd.testing.assert_series_equal(squared_returns(ohlc()), squared_returns(_ohlc()["Close"]))


def test_yang_zhang_matches_hand_computation():
    n = 3
    data = _ohlc().loc["2008-10-07":"2008-10-16"]
    v = yang_zhang_variance(data, window=n)
    assert v.iloc[:n].isna().all() and v.iloc[n:].notna().all()
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    for t in range(n, len(data)):
        days = range(t - n + 1, t + 1)
        overnight = [math.log(data["Open"].iloc[i] / data["Close"].iloc[i - 1]) for i in days]
        intraday = [math.log(data["Close"].iloc[i] / data["Open"].iloc[i]) for i in days]
        rs = [_hand(data.index[i])["rogers_satchell"] for i in days]
        expected = (statistics.variance(overnight) + k * statistics.variance(intraday)
                    + (1 - k) * sum(rs) / n)
        assert v.iloc[t] == pytest.approx(expected, rel=1e-9)


def test_estimators_are_non_negative_on_twenty_years():
    data = ohlc()
    for f in (*ESTIMATORS.values(), yang_zhang_variance, squared_returns):
        v = f(data).dropna()
        assert len(v) >= len(data) - 6 and (v >= 0).all(), f.__name__
    # Garman-Klass is at least (0.5 - (2 ln 2 - 1)) log(H/L)^2 since |log(C/O)| <= log(H/L)
    hl2 = np.log(data["High"] / data["Low"]) ** 2
    assert (garman_klass_variance(data) >= (0.5 - (2 * np.log(2) - 1)) * hl2 * (1 - 1e-12)).all()


def test_rogers_satchell_is_zero_for_a_pure_drift_day():
    """A day that goes straight from its open (= low) to its close (= high): RS sees no
    variance (it is drift-independent); Parkinson and Garman-Klass read the drift as
    variance. Built from real days' highs and lows."""
    data = ohlc().loc["2008"]
    drift = data.assign(Open=data["Low"], Close=data["High"])
    assert (rogers_satchell_variance(drift) == 0).all()
    hl2 = np.log(data["High"] / data["Low"]) ** 2
    np.testing.assert_allclose(parkinson_variance(drift), hl2 / (4 * np.log(2)), rtol=1e-12)
    np.testing.assert_allclose(garman_klass_variance(drift), (1.5 - 2 * np.log(2)) * hl2,
                               rtol=1e-9)
    # the real 2008-10-13 opened at its low (+11% by the close): RS keeps only the
    # log(H/C) log(H/O) term, a tenth of Parkinson's variance for that day
    day = ohlc().loc[["2008-10-13"]]
    o, h, low, c = day.iloc[0]
    assert o == low
    real = rogers_satchell_variance(day).iloc[0]
    assert real == pytest.approx(math.log(h / c) * math.log(h / o), rel=1e-12)
    assert real < 0.15 * parkinson_variance(day).iloc[0]


def test_estimators_ignore_the_price_unit():
    data = ohlc().loc["2007":"2009"]
    for f in (*ESTIMATORS.values(), yang_zhang_variance, squared_returns):
        np.testing.assert_allclose(f(data * 1000.0), f(data), rtol=1e-8, atol=1e-16)


def test_estimator_functions_say_what_is_wrong():
    data = ohlc()
    with pytest.raises(ValueError, match=r"needs the columns .*open='Open'.* lack \['Open'\]"):
        garman_klass_variance(data.drop(columns="Open"))
    gap = data.copy()
    gap.iloc[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"column 'Low' contains NaN .*1999-01-13"):
        parkinson_variance(gap)
    wrong = data.copy()
    wrong.iloc[3, 1] = wrong.iloc[3, 3] * 0.99          # high below close
    with pytest.raises(ValueError, match=r"consistent OHLC .* is above 'High' = "):
        rogers_satchell_variance(wrong)
    with pytest.raises(ValueError, match="window to be an int >= 2"):
        yang_zhang_variance(data, window=1)
    with pytest.raises(TypeError, match="got one Series"):
        parkinson_variance(data["High"])
    with pytest.raises(ValueError, match="rows in time order"):
        squared_returns(data["Close"].sample(frac=1.0, random_state=0))
    with pytest.raises(TypeError, match="needs numeric prices"):
        parkinson_variance(data.astype(str).replace({data.iloc[0, 1].astype(str): "n/a"}))


# ------------------------------------------------------------------------ HARFeatures
def _mean_windows(values, n):
    out = np.full(len(values), np.nan)
    out[n - 1:] = sliding_window_view(values, n).mean(axis=1)
    return out


@pytest.mark.parametrize("estimator", ["close", "parkinson", "garman_klass",
                                       "rogers_satchell", "yang_zhang"])
def test_har_features_are_trailing_means_of_the_daily_variance(estimator):
    data = ohlc()
    har = HARFeatures(estimator=estimator, windows=(1, 5, 22), yang_zhang_window=4)
    X = har.fit_transform(data)
    assert list(X.columns) == ["rv_1", "rv_5", "rv_22"] == list(har.get_feature_names_out())
    daily = {"close": squared_returns(data), "yang_zhang": yang_zhang_variance(data, window=4),
             **{k: f(data) for k, f in ESTIMATORS.items()}}[estimator].to_numpy()
    for n in (1, 5, 22):
        np.testing.assert_allclose(X[f"rv_{n}"], _mean_windows(daily, n), rtol=1e-9,
                                   atol=1e-15, equal_nan=True)
    expected_warmup = {"close": 22, "yang_zhang": 4 + 21}.get(estimator, 21)
    assert har.n_warmup_ == expected_warmup
    assert X.iloc[:expected_warmup].isna().any(axis=1).all()
    assert X.iloc[expected_warmup:].notna().all().all()
    dropped = HARFeatures(estimator=estimator, yang_zhang_window=4, warmup="drop")
    pd.testing.assert_frame_equal(dropped.fit_transform(data), X.iloc[expected_warmup:])


def test_log_features_and_continuation_from_fit():
    data = ohlc()
    plain = HARFeatures(estimator="garman_klass").fit_transform(data)
    logs = HARFeatures(estimator="garman_klass", log=True).fit_transform(data)
    assert list(logs.columns) == ["log_rv_1", "log_rv_5", "log_rv_22"]
    np.testing.assert_allclose(logs.to_numpy(), np.log(plain.to_numpy()), equal_nan=True)
    har = HARFeatures(estimator="yang_zhang").fit(data.loc[:"2014"])
    later = har.transform(data.loc["2015":])
    assert later.notna().all().all()                          # no second warm-up
    pd.testing.assert_frame_equal(later, HARFeatures(estimator="yang_zhang")
                                  .fit_transform(data).loc["2015":])


def test_har_in_sklearn_pipeline_on_realized_variance():
    data = ohlc()
    r = np.log(data["Close"]).diff()
    y = realized_variance(r, horizon=5)                         # next week's variance
    keep = y.notna()
    # warm-up rows are NaN, which HistGradientBoosting accepts; grid-searchable by name
    pipe = make_pipeline(HARFeatures(), HistGradientBoostingRegressor(max_iter=20))
    search = GridSearchCV(pipe, {"harfeatures__estimator": ["close", "parkinson"]},
                          cv=TimeSeriesSplit(3)).fit(data[keep], y[keep])
    assert search.best_estimator_.predict(data.tail(5)).shape == (5,)
    # HAR-RV in-sample: the Garman-Klass features (less noisy than squared returns) give
    # Corsi's positive cascade and explain more of next week's variance (R2 0.59 vs 0.53)
    fits = {}
    for estimator in ("close", "garman_klass"):
        X = HARFeatures(estimator=estimator).fit_transform(data)
        rows = keep & X.notna().all(axis=1)
        model = LinearRegression().fit(X[rows], y[rows])
        fits[estimator] = model.coef_, model.score(X[rows], y[rows])
    assert (fits["garman_klass"][0] > 0).all()
    assert fits["garman_klass"][1] > fits["close"][1] + 0.03


def test_har_as_exogenous_features_in_sktime():
    """HARFeatures in a ForecastingPipeline: features of the horizon continue from fit."""
    data = ohlc().reset_index(drop=True).iloc[-800:]
    y = realized_variance(np.log(data["Close"]).diff(), horizon=5, forward=False).iloc[30:]
    X = data.shift(1).iloc[30:]                                 # yesterday's prices
    pipe = ForecastingPipeline([
        ("har", HARFeatures(estimator="garman_klass")),
        ("model", YfromX(HistGradientBoostingRegressor(max_iter=20, random_state=0))),
    ]).fit(y.iloc[:-3], X=X.iloc[:-3], fh=[1, 2, 3])
    forecast = pipe.predict(X=X.iloc[-3:])
    assert forecast.notna().all() and (forecast > 0).all()
    features = pipe.steps_[0][1].transform(X.iloc[-3:])
    assert features.notna().all().all()                        # no second warm-up


def test_har_errors_name_what_is_needed():
    data = ohlc()
    with pytest.raises(ValueError, match=r"estimator='parkinson'\) needs the columns "
                                         r"high='High', low='Low', but X lacks \['Low'\]"):
        HARFeatures(estimator="parkinson").fit(data.drop(columns="Low"))
    with pytest.raises(ValueError, match="needs the open, high, low, close prices, but open=None"):
        HARFeatures(estimator="rogers_satchell", open=None).fit(data)
    gap = data.copy()
    gap.iloc[40, 0] = np.nan
    with pytest.raises(ValueError, match=r"first missing value at 1999-03-03 .* in column 'Open'"):
        HARFeatures(estimator="garman_klass").fit(gap)
    HARFeatures(estimator="close").fit(gap)                       # Open is not read
    wti = load_wti()
    with pytest.raises(ValueError, match="first missing value at 1986-02-17"):
        HARFeatures(close="WTI").fit(wti)
    assert HARFeatures(close="WTI", fill="ffill").fit_transform(wti).shape == (len(wti), 3)
    with pytest.raises(ValueError, match=r"average variance rv_1 is 0 at 2003-01-10"):
        HARFeatures(log=True).fit_transform(data)                 # an unchanged close
    wrong = data.copy()
    wrong.iloc[3, 2] = wrong.iloc[3, 0] * 1.01                    # low above open
    with pytest.raises(ValueError, match=r"'Open' \(open=\) = .* is below 'Low' \(low=\)"):
        HARFeatures(estimator="yang_zhang").fit(wrong)
    negative = data.copy()
    negative.iloc[5, 3] = -1.0
    with pytest.raises(ValueError, match=r"strictly positive prices.*'Close' \(close=\)"):
        HARFeatures().fit(negative)
    with pytest.raises(ValueError, match="'estimator' parameter"):
        HARFeatures(estimator="atr").fit(data)
    with pytest.raises(ValueError, match="'windows' parameter"):
        HARFeatures(windows=()).fit(data)
    with pytest.raises(ValueError, match="columns \\['rv_5'\\] twice"):
        HARFeatures(windows=(5, 5)).fit(data)


# ----------------------------------------------------------------------------- targets
def test_realized_variance_forward_and_trailing():
    r = 100 * np.log(_ohlc()["Close"]).diff()
    forward = realized_variance(r, horizon=5)
    trailing = realized_variance(r, horizon=5, forward=False)
    t = r.index.get_loc(pd.Timestamp("2008-10-08"))
    assert forward.iloc[t] == pytest.approx(sum(r.iloc[t + j] ** 2 for j in range(1, 6)))
    assert trailing.iloc[t] == pytest.approx(sum(r.iloc[t - j] ** 2 for j in range(5)))
    pd.testing.assert_series_equal(forward.iloc[:-5], trailing.shift(-5).iloc[:-5])
    assert forward.iloc[-5:].isna().all() and trailing.iloc[:5].isna().all()
    assert forward.name == r.name
    frame = realized_variance(pd.concat([r, 2 * r], axis=1, keys=["a", "b"]), horizon=2)
    np.testing.assert_allclose(frame["b"], 4 * frame["a"], equal_nan=True)
    # the backtest's realized volatility is the square root of the trailing variance
    rv = np.sqrt((r.dropna() ** 2).rolling(5).sum())
    np.testing.assert_allclose(np.sqrt(trailing.dropna()), rv.dropna(), rtol=1e-12)


def test_realized_variance_refuses_gaps():
    r = np.log(_ohlc()["Close"]).diff()
    r.iloc[100] = np.nan
    with pytest.raises(ValueError, match=r"missing or infinite value at 1999-05-27 \(row 100\)"):
        realized_variance(r)
    with pytest.raises(TypeError, match="pandas Series or DataFrame"):
        realized_variance(r.to_numpy())
    with pytest.raises(ValueError, match="horizon to be an int >= 1"):
        realized_variance(r.dropna(), horizon=0)


def test_log_normal_correction_recovers_the_mean_variance_out_of_sample():
    """A log-HAR of the S&P 500's next-week realized variance, fitted on 1999-2008 and
    forecasting 2009-2018: exp(mu) (the median) underestimates the mean variance; the
    log-normal correction exp(mu + s2 / 2) comes much closer."""
    data = ohlc()
    r = np.log(data["Close"]).diff()
    X = HARFeatures(estimator="garman_klass", log=True).fit_transform(data)
    y = np.log(realized_variance(r, horizon=5))
    ok = X.notna().all(axis=1) & y.notna()
    X, y = X[ok], y[ok]
    train = X.index < "2009"
    A = np.column_stack([np.ones(len(X)), X.to_numpy()])
    beta, *_ = np.linalg.lstsq(A[train], y[train].to_numpy(), rcond=None)
    residuals = y[train].to_numpy() - A[train] @ beta
    s2 = residuals.var(ddof=A.shape[1])
    mu = A[~train] @ beta
    actual = np.exp(y[~train]).mean()
    plain, corrected = np.exp(mu).mean(), variance_from_log(mu, s2).mean()
    assert plain < corrected
    assert abs(corrected - actual) < 0.5 * abs(plain - actual)
    np.testing.assert_allclose(variance_from_log(pd.Series(mu), s2), np.exp(mu + s2 / 2))
    with pytest.raises(ValueError, match="residual_variance >= 0"):
        variance_from_log(mu, -0.1)
    with pytest.raises(ValueError, match="log_forecast contains NaN"):
        variance_from_log(np.array([np.nan]), 0.1)


def test_har_features_save_and_pickle(tmp_path):
    import pickle

    import skfin
    from skfin import persistence

    data = ohlc()
    har = HARFeatures(estimator="yang_zhang").fit(data.iloc[:-10])
    expected = har.transform(data.iloc[-10:])
    loaded = skfin.load(persistence.save(har, tmp_path / "har.zip"))
    pd.testing.assert_frame_equal(loaded.transform(data.iloc[-10:]), expected)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(har)).transform(data.iloc[-10:]),
                                  expected)
