"""Conformal wrappers: the ACI recursion, no look-ahead, conformance, coverage on real data."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks
from sktime.forecasting.naive import NaiveForecaster
from sktime.utils.estimator_checks import check_estimator

from skfin.datasets import load_sp500
from skfin.forecasting import MLPForecaster
from skfin.uncertainty import (
    ConformalForecaster,
    ConformalRegressor,
    causal_scale,
    conformal_radius,
)
from skfin.uncertainty.conformal import _radius_of_stream

RETURNS = (100 * np.log(load_sp500()["Close"].reset_index(drop=True)).diff()).dropna()


def _reference_aci(scores, known, origin, alpha, gamma, window, start):
    """Gibbs & Candes's recursion written out directly, replayed from scratch."""
    level, issued = alpha, {}
    for k in range(start, origin + 1):
        level = alpha + gamma * sum(alpha - (scores[i] > issued[i])
                                    for i in range(start, k) if known[i] <= k)
        avail = scores[[i for i in range(len(scores)) if known[i] <= k]][-window:]
        n = len(avail)
        rank = int(np.clip(np.ceil((n + 1) * np.clip(1 - level, 0, 1)), 1, n))
        issued[k] = np.sort(avail)[rank - 1]
    return issued[origin]


@pytest.mark.parametrize("step", [1, 3])
def test_aci_matches_the_recursion_and_resumes_exactly(step):
    scores = np.abs(RETURNS.to_numpy()[-400:])
    known = np.arange(400) + step
    state = {}
    for origin in (150, 151, 230, 399):                  # resumed from the cached state
        got = conformal_radius(scores, known, origin, [0.1], window=100, gamma=0.02,
                               start=120, state=state)[0]
        assert got == _reference_aci(scores, known, origin, 0.1, 0.02, 100, 120)


@settings(max_examples=40, deadline=None)
@given(origin=st.integers(50, 300), step=st.integers(1, 5), window=st.integers(5, 80),
       gamma=st.sampled_from([None, 0.005, 0.05]), scaling=st.sampled_from(["none", "ewma"]),
       seed=st.integers(0, 2**16))
def test_radius_never_reads_scores_known_after_the_origin(origin, step, window, gamma, scaling,
                                                          seed):
    scores = np.abs(RETURNS.to_numpy()[-320:]).copy()
    known = np.arange(320) + step

    def radius():
        return _radius_of_stream(scores, known, origin, [0.1, 0.2], lag=step, scaling=scaling,
                                 halflife=10, window=window, gamma=gamma, start=40)

    before = radius()
    future = known > origin
    scores[future] = np.random.default_rng(seed).permutation(scores)[future] * 7
    np.testing.assert_array_equal(before, radius())


def test_causal_scale_is_the_ewma_rms_of_the_errors_known_at_each_origin():
    errors = np.abs(RETURNS.to_numpy()[-200:])
    scale = causal_scale(errors, lag=3, halflife=10)
    weights = 0.5 ** (np.arange(50)[::-1] / 10)                 # origin 52 knows errors[:50]
    expected = np.sqrt(np.sum(weights * errors[:50] ** 2) / weights.sum())
    assert scale[52] == pytest.approx(expected)
    assert (scale[:3] == errors[0]).all()                       # warm-up: the first scale
    changed = errors.copy()
    changed[150:] *= 10
    np.testing.assert_array_equal(causal_scale(changed, 3, 10)[:153], scale[:153])


@pytest.mark.parametrize("method, scaling", [("split", "none"), ("aci", "none"),
                                             ("split", "ewma"), ("aci", "ewma")])
def test_forecaster_intervals_depend_only_on_the_past(method, scaling):
    """Two walks that agree up to a cutoff issue the same interval there."""
    y = RETURNS.iloc[-420:]
    changed = y.copy()
    changed.iloc[-60:] = changed.iloc[-60:].to_numpy()[::-1] * 3      # rewrite the future
    bands = []
    for series in (y, changed):
        f = ConformalForecaster(NaiveForecaster("mean"), method=method, scaling=scaling,
                                calibration_size=100)
        f.fit(series.iloc[:300], fh=[1, 2])
        f.update(series.iloc[300:360])                          # identical in both walks
        bands.append(f.predict_interval(coverage=[0.8, 0.9]))
        f.update(series.iloc[360:])                             # the walks differ here
    pd.testing.assert_frame_equal(*bands)


def test_forecaster_calibrates_a_skfin_net_without_refitting_it():
    y = RETURNS.iloc[-700:]
    f = ConformalForecaster(MLPForecaster(window=10, max_epochs=2, random_state=0),
                            calibration_size=100).fit(y.iloc[:600], fh=[1, 2, 3])
    # The net was fitted on the rows before the tail only (no refit through the tail).
    assert len(f.forecaster_._seen[0]) == 600
    assert f.forecaster_.net_.history[-1]["epoch"] == 2
    band = f.predict_interval(coverage=0.9)
    assert (band.iloc[:, 1] - band.iloc[:, 0] > 0).all()
    f.update(y.iloc[600:])
    assert f.forecaster_.cutoff[0] == y.index[-1]


def test_aci_keeps_coverage_on_sp500_returns():
    """Walk-forward, one trading day at a time over 2015-2018, nominal 90%."""
    y = RETURNS.iloc[-1250:]
    f = ConformalForecaster(NaiveForecaster("mean"), method="aci", gamma=0.02,
                            calibration_size=250).fit(y.iloc[:500], fh=[1])
    hits = []
    for t in range(500, len(y)):
        lo, hi = f.predict_interval(coverage=0.9).to_numpy()[0]
        hits.append(lo <= y.iloc[t] <= hi)
        f.update(y.iloc[t:t + 1])
    assert abs(np.mean(hits) - 0.9) < 0.02


def test_scaled_split_conformal_keeps_coverage_on_sp500_returns():
    """Split conformal on volatility-scaled errors, one trading day at a time, 2016-2018."""
    y = RETURNS.iloc[-1250:]
    f = ConformalForecaster(NaiveForecaster("mean"), method="split", scaling="ewma",
                            calibration_size=250).fit(y.iloc[:500], fh=[1])
    hits, widths = [], []
    for t in range(500, len(y)):
        lo, hi = f.predict_interval(coverage=0.9).to_numpy()[0]
        hits.append(lo <= y.iloc[t] <= hi)
        widths.append(hi - lo)
        f.update(y.iloc[t:t + 1])
    assert abs(np.mean(hits) - 0.9) < 0.02
    calm, stressed = np.argsort(np.abs(y.iloc[499:-1].to_numpy()))[[0, -1]]
    assert widths[stressed] > widths[calm]        # the band follows yesterday's volatility


def test_scaled_regressor_widens_after_large_errors():
    r = RETURNS.to_numpy()
    X, y = np.c_[r[:-1], np.abs(r[:-1])], r[1:]
    model = ConformalRegressor(Ridge(), scaling="ewma", halflife=5,
                               calibration_size=250).fit(X[:1500], y[:1500])
    before = np.diff(model.predict_interval(X[1500:1501]).to_numpy()[0])[0]
    model.update(X[:1510], y[1500:1510] * 0 + 8.0)           # ten 8% misses in a row
    after = np.diff(model.predict_interval(X[1510:1511]).to_numpy()[0])[0]
    assert after > 2 * before


def test_bad_settings_are_explained():
    with pytest.raises(ValueError, match="calibration_size"):
        ConformalForecaster(NaiveForecaster(), calibration_size=300).fit(RETURNS.iloc[-250:],
                                                                          fh=[1])
    with pytest.raises(ValueError, match="method"):
        ConformalForecaster(NaiveForecaster(), method="cqr").fit(RETURNS.iloc[-500:], fh=[1])
    with pytest.raises(ValueError, match="coverage"):
        ConformalRegressor(Ridge()).fit(np.c_[RETURNS.to_numpy()[:-1]],
                                        RETURNS.to_numpy()[1:]).predict_interval(
            np.c_[RETURNS.to_numpy()[:3]], coverage=1.5)


def test_regressor_update_scores_only_the_new_rows():
    r = RETURNS.to_numpy()
    X, y = np.c_[r[:-1], np.abs(r[:-1])], r[1:]
    model = ConformalRegressor(Ridge(), scaling="none", calibration_size=200).fit(X[:1000],
                                                                                y[:1000])
    assert model.scores_.shape == (200, 1)
    model.update(X[:1010], y[1000:1010])                  # context rows, then 10 new ones
    expected = np.abs(y[1000:1010] - model.estimator_.predict(X[1000:1010]))
    np.testing.assert_allclose(model.scores_[-10:, 0], expected)


def test_sktime_conformance():
    results = check_estimator(ConformalForecaster, raise_exceptions=False, verbose=False)
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed


@parametrize_with_checks([ConformalRegressor(Ridge()),
                          ConformalRegressor(Ridge(), method="aci", scaling="none")])
def test_sklearn_conformance(estimator, check):
    check(estimator)
