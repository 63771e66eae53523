"""Conformal wrappers: what mutation testing (issue 17) found unchecked by
``test_conformal.py``, whose scikit-learn and sktime conformance suites are left out of
mutation runs: ConformalRegressor's input handling, boundaries, columns, EWMA scaling and
ACI state per level, the causal scale's precision, save/load and the sktime test
parameters. Radii are replayed from scratch on real S&P 500 (and WTI) returns.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVR
from sktime.forecasting.naive import NaiveForecaster

from skfin.datasets import load_sp500, load_wti
from skfin.persistence import ModelFileError
from skfin.regressors import MLPRegressor
from skfin.uncertainty import ConformalForecaster, ConformalRegressor, causal_scale

RETURNS = 100 * np.diff(np.log(load_sp500()["Close"].to_numpy()))


def _lagged(n_outputs=1, n=900):
    """Today's S&P 500 return and its size -> the next ``n_outputs`` returns (percent)."""
    r = RETURNS[-(n + n_outputs):]
    X = np.c_[r[:n], np.abs(r[:n])]
    y = np.column_stack([r[1 + h:n + 1 + h] for h in range(n_outputs)])
    return X, (y[:, 0] if n_outputs == 1 else y)


def _nominal_radius(scores, alpha):
    """Split conformal radius: the ceil((n + 1)(1 - alpha))-th smallest score."""
    scores = np.sort(scores)
    rank = min(int(np.ceil((len(scores) + 1) * (1 - alpha))), len(scores))
    return scores[rank - 1]


# -- ConformalRegressor -----------------------------------------------------------------
def test_regressor_defaults_scale_by_the_ewma_of_the_errors_known_before_the_next_row():
    X, y = _lagged()
    model = ConformalRegressor(Ridge(), calibration_size=150).fit(X[:800], y[:800])
    ref = Ridge().fit(X[:650], y[:650])
    scores = np.abs(y[650:800] - ref.predict(X[650:800]))
    # defaults: split, scaling="ewma", halflife=10; the next row knows all 150 errors
    scale = causal_scale(scores, lag=1, halflife=10)
    r = _nominal_radius(scores / scale[:150], 0.1) * scale[150]
    band = model.predict_interval(X[800:801]).to_numpy()[0]
    centre = ref.predict(X[800:801])[0]
    np.testing.assert_allclose(band, [centre - r, centre + r], rtol=1e-10)


def test_regressor_split_keeps_the_nominal_level_through_updates():
    X, y = _lagged()
    model = ConformalRegressor(Ridge(), scaling="none", calibration_size=97).fit(X[:800],
                                                                               y[:800])
    ref = Ridge().fit(X[:703], y[:703])
    model.update(X[:860], y[800:860])
    scores = np.abs(y[703:860] - ref.predict(X[703:860]))
    np.testing.assert_allclose(model.scores_[:, 0], scores, rtol=1e-12)
    r = _nominal_radius(scores[-97:], 0.13)                 # the last 97 scores, at 13%
    band = model.predict_interval(X[860:861], coverage=0.87).to_numpy()[0]
    centre = ref.predict(X[860:861])[0]
    np.testing.assert_allclose(band, [centre - r, centre + r], rtol=1e-10)


def test_regressor_aci_default_step_and_one_state_per_level_and_output():
    X, y = _lagged(n_outputs=2)
    kw = {"method": "aci", "scaling": "none", "calibration_size": 97}
    asked = ConformalRegressor(Ridge(), **kw).fit(X[:800], y[:800])
    fresh = ConformalRegressor(Ridge(), **kw).fit(X[:800], y[:800])
    ref = Ridge().fit(X[:702], y[:702])            # a gap of n_outputs - 1 = 1 row
    for t in range(800, 840):                      # asked at 90% every day, fresh never
        asked.predict_interval(X[t:t + 1], coverage=0.9)
        asked.update(X[t:t + 1], y[t:t + 1])
        fresh.update(X[t:t + 1], y[t:t + 1])
    band = asked.predict_interval(X[840:841], coverage=0.87)
    pd.testing.assert_frame_equal(band, fresh.predict_interval(X[840:841], coverage=0.87))
    # replayed by hand for each output with Gibbs & Candes's default step, 0.005
    centre = ref.predict(X[800:841])
    for j in range(2):
        scores = list(np.abs(y[703:800, j] - ref.predict(X[703:800])[:, j]))
        level = 0.13
        for t in range(800, 841):
            radius = _nominal_radius(np.array(scores[-97:]), level)
            if t == 840:
                np.testing.assert_allclose(
                    band.iloc[0, 2 * j:2 * j + 2],
                    [centre[-1, j] - radius, centre[-1, j] + radius], rtol=1e-10)
            score = abs(y[t, j] - centre[t - 800, j])
            level += 0.005 * (0.13 - (score > radius))
            scores.append(score)


def test_regressor_interval_columns_index_and_coverage_bounds():
    X, y = _lagged()
    dates = load_sp500().index[-900:]
    frame = pd.DataFrame(X, index=dates, columns=["r", "abs_r"])
    model = ConformalRegressor(Ridge(), calibration_size=100).fit(frame.iloc[:800], y[:800])
    band = model.predict_interval(frame.iloc[800:805], coverage=[0.8, 0.9])
    assert band.columns.tolist() == [(0, 0.8, "lower"), (0, 0.8, "upper"),
                                     (0, 0.9, "lower"), (0, 0.9, "upper")]
    pd.testing.assert_index_equal(band.index, dates[800:805])
    plain = pd.DataFrame(X[800:805], columns=frame.columns)
    assert model.predict_interval(plain).index.equals(pd.RangeIndex(5))
    for bad in (0, 1):
        with pytest.raises(ValueError, match=rf"^coverage must lie in \(0, 1\); got \[{bad}\]\.$"):
            model.predict_interval(plain, coverage=bad)


@pytest.mark.parametrize("calibration_size, n_train, n_cal", [(98, 2, 98), (1, 99, 1)])
def test_regressor_fits_with_the_fewest_rows_it_allows(calibration_size, n_train, n_cal):
    X, y = _lagged(n=100)
    model = ConformalRegressor(Ridge(), scaling="none",
                               calibration_size=calibration_size).fit(X, y)
    ref = Ridge().fit(X[:n_train], y[:n_train])
    np.testing.assert_allclose(model.scores_[:, 0], np.abs(y[-n_cal:] - ref.predict(X[-n_cal:])),
                               rtol=1e-10)


@pytest.mark.parametrize("calibration_size, n_train, n_cal", [(0.004, 100, 0), (99, 1, 99)])
def test_regressor_too_few_rows_names_the_numbers(calibration_size, n_train, n_cal):
    X, y = _lagged(n=100)
    with pytest.raises(ValueError, match=(
            rf"^ConformalRegressor needs at least 2 training rows plus gap=0 plus a "
            rf"calibration tail of at least 1 row; with n_samples=100 rows and "
            rf"calibration_size={calibration_size} that leaves {n_train} training and "
            rf"{n_cal} calibration rows\. Pass more rows or change calibration_size\.$")):
        ConformalRegressor(Ridge(), calibration_size=calibration_size).fit(X, y)


def test_regressor_scores_are_float64_whatever_the_input_precision():
    X, y = _lagged()
    reference = ConformalRegressor(Ridge(), calibration_size=100).fit(X[:800], y[:800])
    for X_, y_ in ((X.astype(np.float32), y.astype(np.float32)), (X, y.astype(object))):
        model = ConformalRegressor(Ridge(), calibration_size=100).fit(X_[:800], y_[:800])
        assert model.scores_.dtype == np.float64
        model.update(X_[800:810], y_[800:810])
        assert model.scores_.dtype == np.float64
    np.testing.assert_allclose(model.scores_[:100], reference.scores_, rtol=1e-12)


def test_regressor_update_scores_every_output_and_checks_its_inputs():
    X, y = _lagged(n_outputs=3)
    model = ConformalRegressor(Ridge(), calibration_size=100).fit(X[:800], y[:800])
    model.update(X[790:810], y[800:810])                # 10 context rows, 10 new ones
    expected = np.abs(y[800:810] - model.estimator_.predict(X[800:810]))
    np.testing.assert_allclose(model.scores_[-10:], expected, rtol=1e-12)
    assert model.scores_.shape == (110, 3)
    with pytest.raises(ValueError, match=r"^update got 11 targets for only 10 rows of X\.$"):
        model.update(X[800:810], y[800:811])
    for method in (model.predict, lambda X_: model.update(X_, y[800:810])):
        with pytest.raises(ValueError, match="ConformalRegressor is expecting 2 features"):
            method(np.c_[X[800:810], X[800:810, :1]])


def test_regressor_leaves_missing_features_to_an_estimator_that_handles_them():
    """WTI's holiday gaps reach the imputing pipeline in fit, update and predict."""
    r = 100 * np.log(load_wti().iloc[-700:]).diff()
    X = pd.DataFrame({"r": r, "abs_r": r.abs()}).iloc[1:-1]
    y = r.shift(-1).iloc[1:-1]
    keep = y.notna().to_numpy()
    X, y = X[keep], y[keep]
    assert X.iloc[400:500].isna().any().any() and X.iloc[500:560].isna().any().any()
    inner = make_pipeline(SimpleImputer(), Ridge())
    model = ConformalRegressor(inner, scaling="none", calibration_size=100).fit(X[:500],
                                                                               y[:500])
    ref = make_pipeline(SimpleImputer(), Ridge()).fit(X[:400], y[:400])
    model.update(X[:560], y[500:560])
    np.testing.assert_allclose(model.scores_[:, 0],
                               np.abs(y[400:560] - ref.predict(X[400:560])), rtol=1e-10)
    np.testing.assert_allclose(model.predict(X[500:560]), ref.predict(X[500:560]), rtol=1e-10)


def test_regressor_multi_output_tag_follows_the_wrapped_estimator():
    assert ConformalRegressor(Ridge()).__sklearn_tags__().target_tags.multi_output is True
    assert ConformalRegressor(SVR()).__sklearn_tags__().target_tags.multi_output is False


# -- causal_scale ------------------------------------------------------------------------
def test_causal_scale_squares_in_float64():
    errors = np.abs(RETURNS[-300:]).astype(np.float32)       # a float32 net's errors
    np.testing.assert_array_equal(causal_scale(errors, 2, 10),
                                  causal_scale(errors.astype(np.float64), 2, 10))


# -- save / load and sktime's test parameters --------------------------------------------
def test_wrappers_save_and_load_as_their_own_class(tmp_path):
    from sktime.base import load as sktime_load

    X, y = _lagged(n=300)
    model = ConformalRegressor(MLPRegressor(window=5, hidden_size=4, max_epochs=1,
                                            random_state=0), calibration_size=50).fit(X, y)
    path = model.save(tmp_path / "regressor.zip")
    assert path == tmp_path / "regressor.zip" and path.exists()
    with pytest.raises(ValueError, match=(
            r"^serialization_format must be 'skfin' for ConformalRegressor; got 'pickle'\.")):
        model.save(tmp_path / "regressor.pkl", serialization_format="pickle")
    loaded = ConformalRegressor.load(path, device="cpu")
    pd.testing.assert_frame_equal(loaded.predict_interval(X[-5:]),
                                  model.predict_interval(X[-5:]))
    with pytest.raises(ValueError, match="device='meta' is not a device name") as info:
        ConformalRegressor.load(path, device="meta")            # checked before rebuilding
    assert not isinstance(info.value, ModelFileError)           # not "corrupted"
    with pytest.raises(TypeError, match="holds a ConformalRegressor, not a ConformalForecaster"):
        ConformalForecaster.load_from_path(path)                # sktime's hook checks too
    f = ConformalForecaster(NaiveForecaster("mean"), calibration_size=30).fit(y, fh=[1, 2])
    path = f.save(tmp_path / "forecaster.zip")
    for back in (ConformalForecaster.load(path), sktime_load(path)):
        assert type(back) is ConformalForecaster
        pd.testing.assert_frame_equal(back.predict_interval(coverage=0.8),
                                      f.predict_interval(coverage=0.8))
    with pytest.raises(TypeError, match="holds a ConformalForecaster, not a ConformalRegressor"):
        ConformalRegressor.load(path)


def test_sktime_test_parameters_are_two_short_naive_configurations():
    """The two settings sktime's suite runs: short tails, both methods and scalings."""
    params = ConformalForecaster.get_test_params()
    assert [{k: v for k, v in p.items() if k != "forecaster"} for p in params] == [
        {"calibration_size": 2},
        {"method": "split", "calibration_size": 2, "scaling": "none"}]
    assert [p["forecaster"].get_params()["strategy"] for p in params] == ["last", "mean"]
    y = pd.Series(RETURNS[-12:])
    for p in params:                              # each fits on a dozen real returns
        band = ConformalForecaster(**p).fit(y, fh=[1]).predict_interval(coverage=0.5)
        assert band.shape == (1, 2)


def test_causal_scale_skips_missing_errors_without_ageing_the_others():
    """WTI's holiday gaps as missing errors: the EWMA runs over the known errors only."""
    moves = np.abs(np.diff(load_wti().to_numpy()[-300:]))       # NaN around holidays
    assert np.isnan(moves[:-1]).sum() > 3
    known = pd.Series(moves ** 2).dropna()
    rms = np.sqrt(known.ewm(halflife=10).mean()).reindex(range(len(moves))).ffill()
    scale = causal_scale(moves, lag=1, halflife=10)
    first = known.index[0]
    np.testing.assert_allclose(scale[first + 1:], rms.to_numpy()[first:], rtol=1e-12)


def test_causal_scale_with_a_single_known_error():
    """Three forecasts of step 3: only the first error is known, at the last origin."""
    moves = np.abs(RETURNS[-3:])
    np.testing.assert_allclose(causal_scale(moves, lag=3, halflife=10), np.full(4, moves[0]),
                               rtol=1e-14)


# -- conformal_radius and its quantile, called directly ----------------------------------
def _aci_from_scratch(scores, known, origin, alpha, gamma, window=None, start=0):
    """Gibbs & Candes's recursion replayed from ``start`` with a strict miss (score > radius)."""
    level, issued = alpha, {}
    for k in range(start, origin + 1):
        level = alpha + gamma * sum(alpha - (scores[i] > issued[i])
                                    for i in range(start, k) if known[i] <= k)
        avail = scores[known <= k]
        avail = avail if window is None else avail[-window:]
        if len(avail) == 0:
            issued[k] = np.nan                     # nothing known yet: no radius, no miss
        else:
            issued[k] = _nominal_radius(avail, level) if level < 1 else np.sort(avail)[0]
    return issued[origin]


def test_conformal_quantile_edges_no_score_one_score_and_level_zero():
    from skfin.uncertainty.conformal import _conformal_quantile

    moves = np.abs(RETURNS[-60:])
    got = _conformal_quantile(np.array([np.nan, np.nan]), np.array([0.9, 0.5]))
    assert got.shape == (2,) and np.isnan(got).all()           # nothing known yet
    one = _conformal_quantile(moves[:1], np.array([0.9, 0.5]))
    np.testing.assert_array_equal(one, [moves[0], moves[0]])   # a single score is the radius
    # level 0 (ACI's level pushed to or past 1 - 0): the smallest score, rank 1
    np.testing.assert_array_equal(_conformal_quantile(moves, np.array([0.0, -0.3])),
                                  [moves.min(), moves.min()])


def test_conformal_radius_reads_every_known_score_without_a_window():
    from skfin.uncertainty import conformal_radius

    scores = np.abs(RETURNS[-300:])
    known = np.arange(300) + 1
    largest_first = scores.copy()
    largest_first[0] = scores.max() * 10          # the oldest score decides the 100% radius
    got = conformal_radius(largest_first, known, origin=299, alphas=[0.0, 0.1])
    assert got[0] == largest_first[0]
    assert got[1] == _nominal_radius(largest_first[:299], 0.1)


def test_conformal_radius_default_start_and_integer_alphas():
    from skfin.uncertainty import conformal_radius

    scores = np.abs(RETURNS[-200:])
    known = np.arange(200) + 2
    got = conformal_radius(scores, known, 150, [0.1], gamma=0.05, window=60)[0]
    assert got == _aci_from_scratch(scores, known, 150, 0.1, 0.05, window=60, start=0)
    # alpha = 0 written as an integer adapts like 0.0 (the level is a float)
    np.testing.assert_array_equal(
        conformal_radius(scores, known, 150, [0], gamma=0.05, window=60),
        conformal_radius(scores, known, 150, [0.0], gamma=0.05, window=60))


def test_aci_resumed_origin_by_origin_equals_a_replay_from_scratch():
    from skfin.uncertainty import conformal_radius

    scores = np.abs(RETURNS[-260:])
    known = np.arange(260) + 5                     # step 5: five radii await feedback
    state = {}
    for origin in range(100, 160):                 # every origin, resumed from the cache
        resumed = conformal_radius(scores, known, origin, [0.1, 0.3], window=50, gamma=0.08,
                                   start=60, state=state)
        fresh = conformal_radius(scores, known, origin, [0.1, 0.3], window=50, gamma=0.08,
                                 start=60)
        np.testing.assert_array_equal(resumed, fresh)
        assert resumed[0] == _aci_from_scratch(scores, known, origin, 0.1, 0.08, 50, 60)


def test_aci_counts_a_score_equal_to_its_radius_as_covered():
    from skfin.uncertainty import conformal_radius

    # S&P 500 daily moves in whole tens of points (0, 10, 20, ...): most scores tie with
    # some others, so scores equal to the radius issued for them are common
    close = load_sp500()["Close"].to_numpy()[-301:]
    scores = np.round(np.abs(np.diff(close)) / 10)
    known = np.arange(300) + 1
    state = {}
    issued = [conformal_radius(scores, known, k, [0.2], window=40, gamma=0.05, start=40,
                               state=state)[0] for k in range(40, 300)]
    assert sum(scores[k] == issued[k - 40] for k in range(40, 299)) > 10   # ties occur
    assert issued[-1] == _aci_from_scratch(scores, known, 299, 0.2, 0.05, window=40, start=40)


class _AskedFor(NaiveForecaster):
    """NaiveForecaster that reads X and records the steps and X of its last prediction."""

    _tags = {"capability:exogenous": True}

    def _fit(self, y, X=None, fh=None):
        self.fitted_on_ = (list(y.index), None if X is None else X.to_numpy().ravel())
        self.update_flags_ = []
        return super()._fit(y, X, fh)

    def _update(self, y, X=None, update_params=True):
        self.update_flags_.append(update_params)
        return super()._update(y, X, update_params=update_params)

    def _predict(self, fh, X=None):
        self.asked_ = (list(fh.to_relative(self.cutoff)),
                       None if X is None else X.to_numpy().ravel())
        return super()._predict(fh, X)


def test_forecaster_interval_centres_on_the_steps_and_X_it_is_asked_for():
    # fh=[2, 5]: fit walks the wrapped forecaster with steps 1..5, so an interval whose
    # centre were predicted at the wrapped forecaster's own fh would have 5 rows; asked
    # first (no predict before it), the centre is the forecast for steps 2 and 5 with X
    y = pd.Series(RETURNS[-300:], name="r")
    X = y.abs().rename("size").to_frame()
    f = ConformalForecaster(_AskedFor("last"), method="split", scaling="none",
                            calibration_size=50).fit(y.iloc[:-5], X=X.iloc[:-5], fh=[2, 5])
    assert f.forecaster_.asked_[0] == [1, 2, 3, 4, 5]           # the walk's last forecast
    band = f.predict_interval(X=X.iloc[-5:], coverage=0.8)
    steps, x = f.forecaster_.asked_
    assert steps == [2, 5]
    np.testing.assert_array_equal(x, X["size"].iloc[-5:])        # the X given, whole
    pd.testing.assert_index_equal(band.index, y.index[[-4, -1]])
    v = y.to_numpy()[:-5]
    for row, h in enumerate((2, 5)):                             # replayed from scratch
        r = _nominal_radius(np.abs(v[h:] - v[:-h])[-50:], 0.2)
        np.testing.assert_allclose(band.iloc[row].to_numpy(), [v[-1] - r, v[-1] + r],
                                   rtol=1e-12)


def test_forecaster_defaults_and_exogenous_tag_follow_the_wrapped_forecaster():
    # the documented defaults: 250 origins, ACI with Gibbs & Candes's step, EWMA scaling
    f = ConformalForecaster(NaiveForecaster())
    assert {k: v for k, v in f.get_params(deep=False).items() if k != "forecaster"} == {
        "method": "aci", "calibration_size": 250, "gamma": 0.005, "scaling": "ewma",
        "halflife": 10}
    # X is passed on only to a forecaster that reads it
    assert f.get_tag("capability:exogenous") is False
    assert ConformalForecaster(_AskedFor()).get_tag("capability:exogenous") is True
    # and 250 is what fit reserves: 250 + 5 - 1 rows after the training part
    y = pd.Series(RETURNS[-400:], name="r")
    f = ConformalForecaster(_AskedFor("last")).fit(y, fh=[1, 2, 3, 4, 5])
    assert f.forecaster_.cutoff[0] == y.index[-1]
    assert len(f._forecasts) == 250 + 5 - 1 + 1                 # one per origin
    assert f._first == 400 - (250 + 5 - 1) - 1
    # in-sample steps are refused (by sktime, from the "capability:insample" tag)
    for fh in ([0, 1], [-3, 2]):
        with pytest.raises(NotImplementedError, match="can not perform in-sample prediction"):
            ConformalForecaster(_AskedFor("last"), calibration_size=20).fit(y, fh=fh)


def test_forecaster_scaled_aci_after_updates_equals_a_replay_with_the_public_functions():
    # the default EWMA scaling with ACI, past the end of fit: the window of the last
    # `calibration_size` scaled scores binds and the level has adapted. Replayed with
    # causal_scale and conformal_radius (each checked against a hand replay above) on
    # the errors of "last" forecasts: made at row t for row t + h, the error is
    # |y[t + h] - y[t]|
    from skfin.uncertainty import conformal_radius

    y = pd.Series(RETURNS[-400:], name="r")
    cal, gamma, alpha = 30, 0.05, 0.2
    f = ConformalForecaster(NaiveForecaster("last"), calibration_size=cal, gamma=gamma)
    f.fit(y.iloc[:-60], fh=[1, 2])
    f.update(y.iloc[-60:], update_params=False)
    band = f.predict_interval(coverage=1 - alpha)
    v = y.to_numpy()
    first = (400 - 60) - cal - 2 + 1 - 1                  # row of the first origin
    start = (400 - 60 - 1) - first                        # the origin at the end of fit
    last = 400 - 1 - first                                # the origin now
    for h in (1, 2):
        origins = np.arange(last + 1)
        rows = first + origins + h
        errors = np.where(rows < 400, np.abs(v[np.minimum(rows, 399)] - v[first + origins]),
                          np.nan)
        scale = causal_scale(errors, h, 10)
        r = conformal_radius(errors / scale[:len(errors)], origins + h, last, [alpha],
                             window=cal, gamma=gamma, start=start)[0] * scale[last]
        np.testing.assert_allclose(band.iloc[h - 1].to_numpy(), [v[-1] - r, v[-1] + r],
                                   rtol=1e-12)


def test_forecaster_trains_on_the_head_of_y_and_X_with_the_fewest_rows_it_allows():
    # calibration_size + max(fh) - 1 rows for the walk, and at least 2 to train on
    y = pd.Series(RETURNS[-100:], name="r")
    X = y.abs().rename("size").to_frame()
    cal, h = 20, 3
    fewest = cal + h - 1 + 2
    f = ConformalForecaster(_AskedFor("last"), calibration_size=cal).fit(
        y.iloc[:fewest], X=X.iloc[:fewest], fh=[1, 2, 3])
    rows, x = f.forecaster_.fitted_on_
    assert rows == list(y.index[:2])
    np.testing.assert_array_equal(x, X["size"].iloc[:2])          # X's head, with y's
    # the walk through the calibration rows never trains: update_params is False, exactly
    assert f.forecaster_.update_flags_ == [False] * (cal + h - 1)
    assert all(flag is False for flag in f.forecaster_.update_flags_)
    with pytest.raises(ValueError) as info:
        ConformalForecaster(_AskedFor("last"), calibration_size=cal).fit(
            y.iloc[:fewest - 1], X=X.iloc[:fewest - 1], fh=[1, 2, 3])
    assert str(info.value) == (
        f"ConformalForecaster needs more than calibration_size + max(fh) - 1 = {cal} + {h} "
        f"- 1 observations (plus what the wrapped forecaster needs to fit); got "
        f"{fewest - 1}. Pass a longer series or a smaller calibration_size.")
