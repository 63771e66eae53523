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
    # centred on the net's own forecast, and as wide as the conformal quantile of the
    # volatility-scaled errors of the walk through the tail (replayed here: a second net
    # fitted the same way, moved one step at a time without training)
    point = f.predict().to_numpy().ravel()
    np.testing.assert_allclose(band.mean(axis=1), point, rtol=1e-6, atol=1e-9)
    twin = MLPForecaster(window=10, max_epochs=2, random_state=0).fit(y.iloc[:498],
                                                                      fh=[1, 2, 3])
    v = y.to_numpy()
    forecasts = [twin.predict().to_numpy().ravel()]
    for t in range(498, 600):
        twin.update(y.iloc[t:t + 1], update_params=False)
        forecasts.append(twin.predict().to_numpy().ravel())
    np.testing.assert_allclose(forecasts[-1], point, rtol=1e-6)
    for h in (1, 2, 3):
        errors = np.array([abs(v[497 + o + h] - forecasts[o][h - 1]) if 497 + o + h < 600
                           else np.nan for o in range(len(forecasts))])
        scale = causal_scale(errors, h, 10)                  # checked on its own above
        scores = (errors / scale[:len(errors)])[~np.isnan(errors)]
        r = _nominal_radius(scores[-100:], 0.1) * scale[len(forecasts) - 1]
        np.testing.assert_allclose(band.iloc[h - 1, 1] - point[h - 1], r, rtol=1e-5)
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
    assert len(results) >= 100, f"only {len(results)} checks ran"      # a real suite ran
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed


@parametrize_with_checks([ConformalRegressor(Ridge()),
                          ConformalRegressor(Ridge(), method="aci", scaling="none")])
def test_sklearn_conformance(estimator, check):
    check(estimator)


# -- what is trained on, what calibrates, where ACI starts: replayed from scratch --------
def _nominal_radius(scores, alpha):
    """Split conformal radius: the ceil((n + 1)(1 - alpha))-th smallest score."""
    scores = np.sort(scores)
    rank = min(int(np.ceil((len(scores) + 1) * (1 - alpha))), len(scores))
    return scores[rank - 1]


class _RecordingRidge(Ridge):
    """Ridge that keeps a copy of the rows it was fitted on."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_, self.fit_y_ = np.array(X, copy=True), np.array(y, copy=True)
        return super().fit(X, y, sample_weight)


class _RecordingNaive(NaiveForecaster):
    """NaiveForecaster that keeps a copy of the series it was fitted on."""

    def _fit(self, y, X=None, fh=None):
        self.fit_y_ = y.copy()
        return super()._fit(y, X, fh)


def _lagged(n_outputs=1):
    """Today's S&P 500 return and its size -> the next ``n_outputs`` returns (percent)."""
    r = RETURNS.to_numpy()[-1210:]
    n = len(r) - n_outputs
    X = np.c_[r[:n], np.abs(r[:n])]
    y = np.column_stack([r[1 + h:n + 1 + h] for h in range(n_outputs)])
    return X, (y[:, 0] if n_outputs == 1 else y)


@pytest.mark.parametrize("n_outputs, gap, calibration_size, n_cal, n_gap",
                         [(1, None, 200, 200, 0), (3, None, 200, 200, 2),
                          (1, 5, 0.25, 300, 5), (3, 0, 150, 150, 0)])
def test_regressor_trains_before_the_gap_and_calibrates_on_the_tail(n_outputs, gap,
                                                                    calibration_size, n_cal,
                                                                    n_gap):
    X, y = _lagged(n_outputs)
    X, y = X[:1200], y[:1200]
    n_train = 1200 - n_cal - n_gap
    model = ConformalRegressor(_RecordingRidge(), gap=gap, scaling="none",
                               calibration_size=calibration_size).fit(X, y)
    # trained on exactly the rows before the gap: none of the calibration rows
    np.testing.assert_array_equal(model.estimator_.fit_X_, X[:n_train])
    np.testing.assert_array_equal(model.estimator_.fit_y_, y[:n_train])
    # scored on exactly the last n_cal rows, with a model fitted independently
    ref = Ridge().fit(X[:n_train], y[:n_train])
    expected = np.abs(y[-n_cal:] - ref.predict(X[-n_cal:])).reshape(n_cal, -1)
    np.testing.assert_allclose(model.scores_, expected, rtol=1e-10, atol=1e-12)
    # and the interval is the nominal conformal radius of those scores
    band = model.predict_interval(X[-1:], coverage=0.8).to_numpy()[0]
    point = ref.predict(X[-1:]).ravel()
    for j in range(n_outputs):
        r = _nominal_radius(expected[:, j], 0.2)
        np.testing.assert_allclose(band[2 * j:2 * j + 2], [point[j] - r, point[j] + r],
                                   rtol=1e-10)


def test_regressor_aci_starts_at_the_nominal_level_and_adapts_from_the_end_of_fit():
    X, y = _lagged()
    # Not round numbers: with alpha = 0.1 the ACI level returns exactly to alpha every
    # ten origins, which would hide a walk that started at the wrong origin.
    n_cal, alpha, gamma = 97, 0.13, 0.03
    model = ConformalRegressor(Ridge(), method="aci", gamma=gamma, scaling="none",
                               calibration_size=n_cal).fit(X[:800], y[:800])
    split = ConformalRegressor(Ridge(), method="split", scaling="none",
                               calibration_size=n_cal).fit(X[:800], y[:800])
    ref = Ridge().fit(X[:703], y[:703])
    scores = list(np.abs(y[703:800] - ref.predict(X[703:800])))
    level, misses = alpha, 0
    for t in range(800, 880):                      # one row at a time, replayed by hand
        radius = _nominal_radius(np.array(scores[-n_cal:]), level)
        band = model.predict_interval(X[t:t + 1], coverage=1 - alpha).to_numpy()[0]
        centre = ref.predict(X[t:t + 1])[0]
        np.testing.assert_allclose(band, [centre - radius, centre + radius], rtol=1e-10)
        if t == 800:                               # nothing fed back yet: split's interval
            np.testing.assert_allclose(
                band, split.predict_interval(X[t:t + 1], coverage=1 - alpha).to_numpy()[0])
        score = abs(y[t] - centre)
        misses += score > radius
        level += gamma * (alpha - (score > radius))
        scores.append(score)
        model.update(X[t:t + 1], y[t:t + 1])
    assert 0 < misses and level != alpha           # the level did move in this walk


@pytest.mark.parametrize("horizon", [1, 3])
def test_forecaster_trains_before_the_tail_and_calibrates_on_it(horizon):
    y = RETURNS.iloc[-600:]
    cal = 120
    f = ConformalForecaster(_RecordingNaive("last"), method="split", scaling="none",
                            calibration_size=cal).fit(y, fh=list(range(1, horizon + 1)))
    n_train = len(y) - cal - horizon + 1
    seen = f.forecaster_.fit_y_
    pd.testing.assert_index_equal(seen.index, y.index[:n_train])
    np.testing.assert_array_equal(np.asarray(seen).ravel(), y.to_numpy()[:n_train])
    band = f.predict_interval(coverage=0.8)
    v = y.to_numpy()
    for h in range(1, horizon + 1):
        # the forecast of step h made at row t is v[t]; origins run from the last
        # training row to the end; the last `cal` errors already observed calibrate
        errors = [abs(v[t + h] - v[t]) for t in range(n_train - 1, len(v) - h)]
        assert len(errors) == cal + horizon - h
        r = _nominal_radius(np.array(errors[-cal:]), 0.2)
        np.testing.assert_allclose(band.iloc[h - 1].to_numpy(), [v[-1] - r, v[-1] + r],
                                   rtol=1e-12)


@pytest.mark.parametrize("horizon", [1, 2])
def test_forecaster_aci_starts_at_the_nominal_level_and_adapts_from_the_end_of_fit(horizon):
    y = RETURNS.iloc[-400:]
    cal, alpha, gamma = 77, 0.13, 0.03               # not round: see the regressor's test
    fh = list(range(1, horizon + 1))
    kw = dict(calibration_size=cal, scaling="none", gamma=gamma)
    aci = ConformalForecaster(NaiveForecaster("last"), method="aci", **kw).fit(y.iloc[:300],
                                                                              fh=fh)
    split = ConformalForecaster(NaiveForecaster("last"), method="split", **kw)
    split.fit(y.iloc[:300], fh=fh)
    pd.testing.assert_frame_equal(aci.predict_interval(coverage=1 - alpha),
                                  split.predict_interval(coverage=1 - alpha))
    v = y.to_numpy()
    first = 300 - cal - horizon                      # row of origin 0 (the last training row)
    start = cal + horizon - 1                        # origin at the end of fit
    issued = {}
    for h in fh:
        # errors of step h by origin, and the origin from which each is known
        scores = np.array([abs(v[first + o + h] - v[first + o])
                           for o in range(len(v) - first - h)])
        for k in range(start, start + 30):           # replay the Gibbs & Candes recursion
            fed = [i for i in range(start, k) if i + h <= k]
            level = alpha + gamma * sum(alpha - (scores[i] > issued[h, i]) for i in fed)
            known = scores[:max(0, k - h + 1)]
            issued[h, k] = _nominal_radius(known[-cal:], level)
        assert level != alpha                        # the level did move in this walk
    for k in range(start, start + 30):
        t = first + k                                # row of origin k
        band = aci.predict_interval(coverage=1 - alpha).to_numpy()
        for h in fh:
            np.testing.assert_allclose(band[h - 1], [v[t] - issued[h, k], v[t] + issued[h, k]],
                                       rtol=1e-12, err_msg=f"step {h}, origin {k}")
        aci.update(y.iloc[t + 1:t + 2])


class _RecordingUpdates(NaiveForecaster):
    """NaiveForecaster that reads X and records, per update, its rows, X's and ``update_params``."""

    _tags = {"capability:exogenous": True}

    def _fit(self, y, X=None, fh=None):
        self.updates_ = []
        return super()._fit(y, X, fh)

    def _update(self, y, X=None, update_params=True):
        self.updates_.append((list(y.index), None if X is None else X.to_numpy().ravel(),
                              update_params))
        return super()._update(y, X, update_params=update_params)


@pytest.mark.parametrize("update_params", [True, False])
def test_forecaster_walks_new_rows_one_at_a_time_and_refits_only_on_the_last(update_params):
    y = RETURNS.iloc[-300:]
    X = y.abs().rename("size").to_frame()                  # each day's own absolute return
    f = ConformalForecaster(_RecordingUpdates("last"), method="split", scaling="none",
                            calibration_size=40).fit(y.iloc[:-5], X=X.iloc[:-5], fh=[1, 2])
    tail = list(f.forecaster_.updates_)
    # fit walks the calibration tail row by row, with its X row, never refitting the
    # wrapped forecaster
    assert [rows for rows, _, _ in tail] == [[i] for i in y.index[-5 - 40 - 1:-5]]
    assert [x.tolist() for _, x, _ in tail] == [[v] for v in X["size"].iloc[-5 - 40 - 1:-5]]
    assert not any(flag for _, _, flag in tail)
    f.update(y.iloc[-5:], X=X.iloc[-5:], update_params=update_params)
    new = f.forecaster_.updates_[len(tail):]
    assert [rows for rows, _, _ in new] == [[i] for i in y.index[-5:]]
    assert [x.tolist() for _, x, _ in new] == [[v] for v in X["size"].iloc[-5:]]
    assert [flag for _, _, flag in new] == [False] * 4 + [update_params]
    assert len(f._forecasts) == len(tail) + 1 + 5          # one forecast per origin


class _RecordingPredictions(_RecordingUpdates):
    """... and records the fh and X of every prediction."""

    def _predict(self, fh, X=None):
        self.predictions_ = [*getattr(self, "predictions_", []),
                             (list(fh.to_relative(self.cutoff)),
                              None if X is None else X.to_numpy().ravel())]
        return super()._predict(fh, X)


def test_forecaster_predict_passes_fh_and_X_and_split_keeps_its_level_through_updates():
    y = RETURNS.iloc[-400:]
    X = y.abs().rename("size").to_frame()
    cal, alpha = 60, 0.2
    f = ConformalForecaster(_RecordingPredictions("last"), method="split", scaling="none",
                            calibration_size=cal, gamma=0.2).fit(y.iloc[:-50], X=X.iloc[:-50],
                                                                 fh=[2, 3])
    f.update(y.iloc[-50:-3], X=X.iloc[-50:-3], update_params=False)
    # the point forecast: the wrapped forecaster's (fitted on steps 1..3), for the steps
    # asked and with the X given
    point = f.predict(X=X.iloc[-3:])
    pd.testing.assert_index_equal(point.index, y.index[-2:])
    assert f.forecaster_.predictions_[-1][0] == [2, 3]
    np.testing.assert_array_equal(f.forecaster_.predictions_[-1][1], X["size"].iloc[-3:])
    # split conformal ignores gamma: after 47 updates the radius is still the nominal
    # quantile of the last `cal` errors of each step
    band = f.predict_interval(X=X.iloc[-3:], coverage=1 - alpha)
    v = y.to_numpy()[:-3]
    for row, h in enumerate((2, 3)):
        errors = np.abs(v[h:] - v[:-h])                  # the "last" forecast made h days before
        r = _nominal_radius(errors[-cal:], alpha)
        np.testing.assert_allclose(band.iloc[row].to_numpy(), [v[-1] - r, v[-1] + r],
                                   rtol=1e-12)


def test_forecaster_interval_frame_labels_and_an_absolute_fh_that_the_cutoff_passed():
    from sktime.forecasting.base import ForecastingHorizon

    y = RETURNS.iloc[-300:].rename("r")
    fh = ForecastingHorizon(y.index[-2:], is_relative=False)   # absolute: the last two days
    f = ConformalForecaster(_RecordingPredictions("last"), method="split", scaling="none",
                            calibration_size=40).fit(y.iloc[:-2], fh=fh)
    band = f.predict_interval(coverage=[0.8, 0.9])
    pd.testing.assert_index_equal(band.index, y.index[-2:])
    assert band.columns.tolist() == [("r", 0.8, "lower"), ("r", 0.8, "upper"),
                                     ("r", 0.9, "lower"), ("r", 0.9, "upper")]
    assert f.forecaster_.predictions_[-1][0] == [1, 2]
    assert (band[("r", 0.9, "upper")] > band[("r", 0.8, "upper")]).all()
    # the only steps _predict_interval can be asked for: sktime refuses another fh than
    # fit's, and the steps of an absolute fh that the cutoff has passed
    with pytest.raises(ValueError, match="different forecasting horizon"):
        f.predict_interval(fh=[1, 2, 3], coverage=0.8)
    f.update(y.iloc[-2:-1], update_params=False)      # the first forecast day is now past
    with pytest.raises(NotImplementedError, match="in-sample prediction"):
        f.predict_interval(coverage=0.8)
