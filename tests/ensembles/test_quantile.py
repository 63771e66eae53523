"""Quantile ensembles (Vincentisation) on real S&P 500 data: hand computations, errors,
conformance.

References computed here: the combined quantiles of two members as the weighted average
of their quantiles, level by level, written out with numbers from real returns; the
rearrangement of a crossing member against ``np.sort``.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks
from sktime.forecasting.naive import NaiveForecaster
from sktime.utils.estimator_checks import check_estimator

from skfin.cli import load_target
from skfin.datasets import load_sp500
from skfin.ensembles import QuantileEnsembleForecaster, QuantileEnsembleRegressor, vincentise
from skfin.regressors import MLPRegressor

TINY = dict(window=5, hidden_size=8, max_epochs=2, random_state=0)

#: a tiny net member for the conformance suites (seeded: sklearn compares two fits)
NET = dict(window=3, hidden_size=8, max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def returns():
    return 100 * np.log(load_sp500()["Close"]).diff().dropna()


def test_vincentisation_of_two_members_by_hand(returns):
    """Two members: the empirical 5/50/95% quantiles of the last 20 and 250 days of 2018."""
    r = returns.loc[:"2018-12-31"]
    short = np.quantile(r.iloc[-20:], [0.05, 0.5, 0.95])
    long = np.quantile(r.iloc[-250:], [0.05, 0.5, 0.95])
    np.testing.assert_allclose(short, [-2.7757, -0.0799, 1.2758], atol=1e-4)
    np.testing.assert_allclose(long, [-2.0907, 0.0365, 1.4502], atol=1e-4)
    combined = vincentise(np.stack([short, long]), [0.05, 0.5, 0.95], weights=[0.25, 0.75])
    np.testing.assert_allclose(combined, [0.25 * -2.7757 + 0.75 * -2.0907,
                                          0.25 * -0.0799 + 0.75 * 0.0365,
                                          0.25 * 1.2758 + 0.75 * 1.4502], atol=1e-4)
    # equal weights by default; levels in any order come back in that order
    np.testing.assert_allclose(vincentise(np.stack([short, long])[:, ::-1], [0.95, 0.5, 0.05]),
                               ((short + long) / 2)[::-1])


def test_crossing_members_are_rearranged_per_row(returns):
    """A member whose quantiles cross (levels swapped) is sorted back: the rearrangement."""
    r = returns.to_numpy()[-500:]
    good = np.stack([np.quantile(r[i - 60:i], [0.1, 0.5, 0.9]) for i in range(60, 500)])
    crossing = good[:, ::-1]                                     # 10% above 90%
    out = vincentise(np.stack([good, crossing]), [0.1, 0.5, 0.9], weights=[0.9, 0.1])
    raw = 0.9 * good + 0.1 * crossing
    np.testing.assert_allclose(out, np.sort(raw, axis=1))
    assert (np.diff(out, axis=1) >= 0).all()
    # per-row weights: each row its own vector
    w = np.c_[np.linspace(0, 1, len(good)), 1 - np.linspace(0, 1, len(good))]
    out = vincentise(np.stack([good, good + 1.0]), [0.1, 0.5, 0.9], weights=w)
    np.testing.assert_allclose(out, good + w[:, 1:])


def test_bad_weights_are_errors(returns):
    q = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match="non-negative.*n_members=2"):
        vincentise(q, [0.1, 0.9], weights=[1.5, -0.5])
    X, y = returns.iloc[-300:-1].to_frame("r"), returns.shift(-1).iloc[-300:-1]
    with pytest.raises(ValueError, match="2 finite non-negative numbers.*\\['a', 'b'\\]"):
        QuantileEnsembleRegressor([("a", Ridge()), ("b", Ridge())], weights=[1.0]).fit(X, y)


def test_regressor_combines_the_members_with_the_normalised_weights(returns):
    X, y = returns.iloc[-600:-1].to_frame("r"), returns.shift(-1).iloc[-600:-1]
    ens = QuantileEnsembleRegressor([("quantile", MLPRegressor(**TINY, output="quantile")),
                                     ("gauss", MLPRegressor(**TINY, output="gaussian"))],
                                    weights=[1, 3]).fit(X, y)
    np.testing.assert_allclose(ens.weights_, [0.25, 0.75])
    new = X.iloc[-40:]
    levels = [0.05, 0.5, 0.95]
    members = [m.predict_quantiles(new, alpha=levels).to_numpy() for m in ens.estimators_]
    q = ens.predict_quantiles(new, alpha=levels)
    np.testing.assert_allclose(q.to_numpy(), 0.25 * members[0] + 0.75 * members[1],
                               rtol=1e-10)
    assert q.columns.equals(ens.estimators_[0].predict_quantiles(new, alpha=levels).columns)
    assert (np.diff(q.to_numpy(), axis=1) >= 0).all()
    points = [m.predict(new) for m in ens.estimators_]
    np.testing.assert_allclose(ens.predict(new), 0.25 * points[0] + 0.75 * points[1])
    band = ens.predict_interval(new, coverage=0.9).to_numpy()
    np.testing.assert_allclose(band, q.to_numpy()[:, [0, 2]])


def test_members_without_quantiles_are_named(returns):
    X, y = returns.iloc[-300:-1].to_frame("r"), returns.shift(-1).iloc[-300:-1]
    ens = QuantileEnsembleRegressor([("ridge", Ridge()),
                                     ("mlp", MLPRegressor(**TINY))]).fit(X, y)
    with pytest.raises(ValueError, match="\\['ridge'\\] have no predict_quantiles"):
        ens.predict_quantiles(X.tail(3))
    assert ens.predict(X.tail(3)).shape == (3,)


def test_forecaster_vincentises_the_members_intervals():
    y = load_target("sp500", "realized_vol", last=500)[0]
    ens = QuantileEnsembleForecaster([
        ("last", NaiveForecaster()),
        ("mean", NaiveForecaster(strategy="mean", window_length=20))],
        weights=[3, 1]).fit(y, fh=[1, 2, 3])
    members = [f.predict_quantiles(alpha=[0.1, 0.9]).to_numpy() for _, f in ens.forecasters_]
    q = ens.predict_quantiles(alpha=[0.1, 0.9])
    np.testing.assert_allclose(q.to_numpy(), 0.75 * members[0] + 0.25 * members[1])
    points = [f.predict().to_numpy().ravel() for _, f in ens.forecasters_]
    np.testing.assert_allclose(ens.predict().to_numpy(), 0.75 * points[0] + 0.25 * points[1])
    assert ens.get_params(deep=True)["mean__window_length"] == 20
    assert clone(QuantileEnsembleRegressor([("r", Ridge(alpha=2))])).get_params()[
        "r__alpha"] == 2


@parametrize_with_checks(
    [QuantileEnsembleRegressor([("ridge", Ridge()),
                                ("mlp", MLPRegressor(**NET))],
                               weights=[3, 1])],
    expected_failed_checks=lambda est: est._expected_failed_checks())
def test_sklearn_conformance(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_sktime_conformance():
    results = check_estimator(QuantileEnsembleForecaster, raise_exceptions=False,
                              verbose=False)
    assert len(results) >= 100, f"only {len(results)} checks ran"
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed
