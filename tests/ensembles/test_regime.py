"""Regime ensembles on S&P 500 realized volatility: weights, causality, errors, conformance.

References computed here: the regime filter against statsmodels' own Hamilton filter on a
prefix of the signal (a filtered probability at t must not move when the data after t
change); the two-member weights against the closed form of a least-squares fit on the
simplex (a clipped 1-D regression); the combined forecasts against the members' forecasts
weighted by hand.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks
from sktime.forecasting.naive import NaiveForecaster
from sktime.utils.estimator_checks import check_estimator
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from skfin.cli import load_target
from skfin.ensembles import (
    MarkovSwitchingRegimes,
    RegimeEnsembleForecaster,
    RegimeEnsembleRegressor,
    fit_regime_weights,
)
from skfin.regressors import MLPRegressor

#: a tiny net member for the conformance suites (seeded: sklearn compares two fits)
NET = dict(window=3, hidden_size=8, max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def vol():
    """The S&P 500 5-day realized volatility, last 2000 trading days (integer index)."""
    return load_target("sp500", "realized_vol", vol_window=5, last=2000)[0]


@pytest.fixture(scope="module")
def xy(vol):
    """Today's volatility and its 1-month mean -> tomorrow's volatility."""
    X = pd.DataFrame({"vol": vol, "month": vol.rolling(21).mean()}).iloc[20:-1]
    return X, vol.shift(-1).iloc[20:-1].rename("next")


class _Specialist(RegressorMixin, BaseEstimator):
    """The mean of y over the calm (or volatile) training rows: vol below ``threshold``."""

    def __init__(self, calm=True, threshold=1.0):
        self.calm = calm
        self.threshold = threshold

    def fit(self, X, y):
        rows = (np.asarray(X)[:, 0] < self.threshold) == self.calm
        self.model_ = DummyRegressor().fit(np.asarray(X)[rows], np.asarray(y)[rows])
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X))


class _FirstStep(Ridge):
    """A ridge that forecasts only the first of the horizons it was fitted on."""

    def predict(self, X):
        return super().predict(X)[:, 0]


# -- the regime model -------------------------------------------------------------------
def test_filtered_probabilities_are_statsmodels_filter_and_causal(vol):
    signal = vol.to_numpy()
    regimes = MarkovSwitchingRegimes().fit(signal[:1500])
    p = regimes.predict_proba(signal)
    # statsmodels' Hamilton filter on the prefix up to t, with the fitted parameters
    z = (signal[:1200] - regimes._center) / regimes._scale
    ref = MarkovRegression(z, k_regimes=2, switching_variance=True).filter(regimes.params_)
    np.testing.assert_allclose(p[:1200], ref.filtered_marginal_probabilities[:, regimes._order],
                               atol=1e-12)
    # changing the future leaves the past as it was; the smoothed ones would move
    future = signal.copy()
    future[1200:] *= 3
    np.testing.assert_array_equal(regimes.predict_proba(future)[:1200], p[:1200])
    smoothed = MarkovRegression(z, k_regimes=2, switching_variance=True).smooth(
        regimes.params_).smoothed_marginal_probabilities[:, regimes._order]
    assert np.abs(smoothed - p[:1200]).max() > 0.1
    # regimes go from calm to volatile, and the transition matrix is a stochastic one
    assert regimes.means_[0] < regimes.means_[1]
    np.testing.assert_allclose(regimes.transition_.sum(axis=1), 1.0)
    assert p[np.argmax(signal), 1] > 0.99


def test_em_fit_reaches_the_maximum_likelihood_estimate_on_two_regimes():
    # 2007-2008: one calm and one volatile regime, a well-separated likelihood maximum
    y, _, dates, _ = load_target("sp500", "realized_vol")
    signal = y.set_axis(dates).loc["2007":"2008"]
    mle = MarkovSwitchingRegimes().fit(signal)
    em = MarkovSwitchingRegimes(method="em").fit(signal)
    np.testing.assert_allclose(em.means_, mle.means_, rtol=1e-3)
    np.testing.assert_allclose(em.transition_, mle.transition_, atol=1e-2)
    assert np.abs(em.predict_proba(signal) - mle.predict_proba(signal)).max() < 0.05
    # max_iter is the number of EM steps: one step is far from the estimate
    one = MarkovSwitchingRegimes(method="em", max_iter=1).fit(signal)
    assert np.abs(one.means_ - mle.means_).max() > 0.3


@pytest.mark.parametrize("n_regimes", [1, 5])
def test_n_regimes_out_of_range_is_an_error(xy, n_regimes):
    X, y = xy
    with pytest.raises(ValueError, match="'n_regimes' parameter.*range \\[2, 4\\]"):
        RegimeEnsembleRegressor([("ridge", Ridge())], n_regimes=n_regimes).fit(X, y)
    with pytest.raises(ValueError, match="'n_regimes' parameter"):
        MarkovSwitchingRegimes(n_regimes).fit(X["vol"])


def test_too_short_a_series_for_the_regime_model_is_an_error(xy, vol):
    X, y = xy
    with pytest.raises(ValueError, match="too short \\(n_samples=14\\).*at least 15"):
        RegimeEnsembleRegressor([("ridge", Ridge())], n_regimes=3).fit(X.iloc[:14],
                                                                        y.iloc[:14])
    with pytest.raises(ValueError, match="too short \\(n_samples=9\\)"):
        RegimeEnsembleForecaster([("last", NaiveForecaster())]).fit(vol.iloc[:9], fh=[1])


def test_nan_is_refused_and_named_in_the_regime_column(xy):
    X, y = xy
    X = X.copy()
    X.iloc[100, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        RegimeEnsembleRegressor([("ridge", Ridge())]).fit(X, y)
    # members that take NaN: the regime filter does not
    with pytest.raises(ValueError, match="regime column.*row 100"):
        RegimeEnsembleRegressor([("hgb", HistGradientBoostingRegressor())]).fit(X, y)


# -- weights ----------------------------------------------------------------------------
def test_weights_are_a_softmax_per_regime_and_match_the_simplex_least_squares(vol):
    """With a known regime (probability 0 or 1), two members' optimal weight is the clipped
    1-D least-squares coefficient of y - f2 on f1 - f2."""
    v = vol.to_numpy()
    F = np.c_[v[20:-1], pd.Series(v).rolling(21).mean().to_numpy()[20:-1]]
    y = v[21:]
    high = F[:, 0] > np.median(F[:, 0])
    w = fit_regime_weights(F, y, np.c_[~high, high].astype(float))
    assert (w >= 0).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    for k, rows in enumerate([~high, high]):
        d = F[rows, 0] - F[rows, 1]
        a = np.clip(d @ (y[rows] - F[rows, 1]) / (d @ d), 0, 1)
        np.testing.assert_allclose(w[k], [a, 1 - a], atol=1e-6)


def test_weights_favour_the_member_that_is_better_in_each_regime(vol):
    """A member fitted on the calm days and one fitted on the volatile days (the mean of
    tomorrow's volatility over either half of the training rows): each regime leans on
    its own specialist."""
    X, y = vol.iloc[:-1].to_frame("vol"), vol.shift(-1).iloc[:-1]
    threshold = float(X["vol"].median())
    ens = RegimeEnsembleRegressor([("calm", _Specialist(True, threshold)),
                                   ("volatile", _Specialist(False, threshold))]).fit(X, y)
    w = ens.regime_weights_
    assert list(w.columns) == ["calm", "volatile"]
    assert w.loc["regime_0", "calm"] > 0.9 and w.loc["regime_1", "volatile"] > 0.9
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert ens.regime_probabilities_.stack().between(-1e-12, 1 + 1e-12).all()
    np.testing.assert_allclose(ens.regime_probabilities_.sum(axis=1), 1.0)


def test_weights_are_learned_out_of_sample(xy):
    """The weights fitted by hand on TimeSeriesSplit(3)'s test folds, members refitted."""
    X, y = xy
    members = [("ridge", Ridge()), ("month", _Specialist(True, 1e9))]
    ens = RegimeEnsembleRegressor(members, cv=3).fit(X, y)
    n = len(X)
    rows, F = [], []
    for start in (n - 3 * (n // 4), n - 2 * (n // 4), n - n // 4):
        train, test = slice(0, start), slice(start, start + n // 4)
        F.append(np.c_[[clone(m).fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])
                        for _, m in members]].T)
        rows.extend(range(start, start + n // 4))
    by_hand = fit_regime_weights(np.concatenate(F), y.to_numpy()[rows],
                                 ens.regime_probabilities_.to_numpy()[rows])
    np.testing.assert_allclose(ens.regime_weights_.to_numpy(), by_hand, atol=1e-8)


# -- predictions --------------------------------------------------------------------------
def test_regressor_combines_with_the_filtered_probabilities_and_ignores_the_future(xy):
    X, y = xy
    ens = RegimeEnsembleRegressor([("ridge", Ridge()), ("lr", LinearRegression())]).fit(
        X.iloc[:1500], y.iloc[:1500])
    new = X.iloc[1500:]
    p = ens.regime_model_.predict_proba(X["vol"].to_numpy())[1500:]   # filter over all rows
    members = np.c_[[m.predict(new) for m in ens.estimators_]].T      # [n, 2]
    by_hand = ((p @ ens.regime_weights_.to_numpy()) * members).sum(axis=1)
    pred = ens.predict(new)
    np.testing.assert_allclose(pred, by_hand, rtol=1e-10)
    # no leakage: a different future changes neither the past probabilities nor forecasts
    shocked = new.copy()
    shocked.iloc[200:] *= 3
    np.testing.assert_array_equal(ens.predict(shocked)[:200], pred[:200])
    assert not np.allclose(ens.predict(shocked)[200:], pred[200:])
    # repeating the training rows gives their probabilities back
    np.testing.assert_allclose(ens._probabilities(X.iloc[:1500]),
                               ens.regime_probabilities_.to_numpy(), atol=1e-12)


def test_members_with_different_horizons_are_an_error(vol):
    X = vol.iloc[:-2].to_frame("vol")
    Y = pd.DataFrame({"h1": vol.shift(-1), "h2": vol.shift(-2)}).iloc[:-2]
    with pytest.raises(ValueError, match="different shapes.*'first': \\(\\d+, 1\\).*'ridge'"):
        RegimeEnsembleRegressor([("first", _FirstStep()), ("ridge", Ridge())]).fit(X, Y)
    with pytest.raises(ValueError, match="forecast 1 output.*y has 2"):
        RegimeEnsembleRegressor([("first", _FirstStep())]).fit(X, Y)


def test_quantiles_need_members_with_quantiles(xy):
    X, y = xy
    ens = RegimeEnsembleRegressor([("ridge", Ridge())]).fit(X, y)
    with pytest.raises(ValueError, match="\\['ridge'\\] have no predict_quantiles"):
        ens.predict_interval(X.tail(5))
    assert ens.predict(X.tail(5)).shape == (5,)


def test_regressor_quantiles_use_the_same_weights_and_never_cross(xy):
    X, y = xy
    tiny = dict(window=5, hidden_size=8, max_epochs=2, random_state=0)
    ens = RegimeEnsembleRegressor(
        [("mlp", MLPRegressor(**tiny, output="quantile")),
         ("gauss", MLPRegressor(**tiny, output="gaussian"))], cv=2).fit(X, y)
    new = X.tail(30)
    levels = [0.9, 0.1, 0.5]
    q = ens.predict_quantiles(new, alpha=levels).to_numpy()
    weights = ens._member_weights(new)                                  # [30, 2]
    members = np.stack([m.predict_quantiles(new, alpha=levels).to_numpy()
                        for m in ens.estimators_])                      # [2, 30, 3]
    by_hand = np.einsum("nm,mnl->nl", weights, members)
    np.testing.assert_allclose(q, by_hand, rtol=1e-10)
    assert (q[:, 1] <= q[:, 2]).all() and (q[:, 2] <= q[:, 0]).all()
    band = ens.predict_interval(new, coverage=0.8).to_numpy()
    np.testing.assert_allclose(band, q[:, [1, 0]])


def test_forecaster_weights_at_the_cutoff_and_update_moves_the_filter(vol):
    y = vol.iloc[:1500]
    ens = RegimeEnsembleForecaster([
        ("last", NaiveForecaster()),
        ("month", NaiveForecaster(strategy="mean", window_length=21))]).fit(y, fh=[1, 2, 3])
    W = ens.regime_weights_.to_numpy()
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    assert len(ens.regime_probabilities_) == 1500

    def by_hand(seen):
        p = ens.regime_model_.predict_proba(seen.to_numpy())[-1]
        members = np.c_[[f.predict().to_numpy().ravel() for _, f in ens.forecasters_]].T
        return members @ (p @ W)

    np.testing.assert_allclose(ens.predict().to_numpy().ravel(), by_hand(y), rtol=1e-10)
    q = ens.predict_quantiles(alpha=[0.1, 0.9]).to_numpy()
    p = ens.regime_model_.predict_proba(y.to_numpy())[-1] @ W
    members = np.stack([f.predict_quantiles(alpha=[0.1, 0.9]).to_numpy()
                        for _, f in ens.forecasters_])
    np.testing.assert_allclose(q, np.tensordot(p, members, axes=1), rtol=1e-10)
    ens.update(vol.iloc[1500:1510])
    np.testing.assert_allclose(ens.predict().to_numpy().ravel(), by_hand(vol.iloc[:1510]),
                               rtol=1e-10)
    np.testing.assert_array_equal(ens.regime_weights_.to_numpy(), W)


def test_get_params_shows_the_members_and_clone_keeps_them(xy):
    ens = RegimeEnsembleRegressor([("ridge", Ridge(alpha=2.0)), ("lr", LinearRegression())])
    params = ens.get_params(deep=True)
    assert params["ridge__alpha"] == 2.0 and "lr__fit_intercept" in params
    ens.set_params(ridge__alpha=3.0)
    assert clone(ens).named_estimators["ridge"].alpha == 3.0
    fc = RegimeEnsembleForecaster([("last", NaiveForecaster()),
                                   ("mean", NaiveForecaster(strategy="mean"))])
    assert fc.get_params(deep=True)["mean__strategy"] == "mean"
    assert fc.clone().get_params()["n_regimes"] == 2


def test_plot_regime_weights(xy):
    pytest.importorskip("matplotlib")
    from skfin.plotting import plot_regime_weights

    X, y = xy
    ens = RegimeEnsembleRegressor([("ridge", Ridge()), ("lr", LinearRegression())]).fit(X, y)
    fig = plot_regime_weights(ens)
    top, bottom = fig.axes
    effective = ens.regime_probabilities_.to_numpy() @ ens.regime_weights_.to_numpy()
    drawn = top.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(drawn.max(), effective[:, 0].max())
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["ridge", "lr"]
    assert len(bottom.lines) == 2


# -- conformance ------------------------------------------------------------------------
@parametrize_with_checks(
    [RegimeEnsembleRegressor([("ridge", Ridge()), ("lr", LinearRegression())]),
     RegimeEnsembleRegressor([("ridge", Ridge()),
                              ("mlp", MLPRegressor(**NET))],
                             cv=2)],
    expected_failed_checks=lambda est: est._expected_failed_checks())
def test_sklearn_conformance(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # statsmodels' convergence on noise
        check(estimator)


@pytest.mark.slow
def test_sktime_conformance():
    results = check_estimator(RegimeEnsembleForecaster, raise_exceptions=False,
                              verbose=False)
    assert len(results) >= 100, f"only {len(results)} checks ran"
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed
