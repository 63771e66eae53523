"""Deep ensembles on S&P 500 returns: members, mean, mixture, update, persistence, conformance.

The mixture's quantiles are checked against the members' own: a q-quantile of an
equal-weight mixture lies between the smallest and the largest of the members'
q-quantiles (its CDF is the mean of theirs), and with the same pooled grid computed here by
hand they are equal. The point forecast is the members' mean, computed here.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks
from sktime.utils.estimator_checks import check_estimator

from skfin.forecasting import MLPForecaster
from skfin.regressors import EXPECTED_FAILED_CHECKS, LSTMRegressor, MLPRegressor
from skfin.uncertainty import DeepEnsembleForecaster, DeepEnsembleRegressor, member_seeds

TINY = dict(window=10, hidden_size=8, max_epochs=3)
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


@pytest.fixture(scope="module")
def returns_xy(sp500_xy):
    X, y = sp500_xy
    return X.iloc[-700:], y.iloc[-700:]


@pytest.fixture(scope="module")
def ensemble(returns_xy):
    X, y = returns_xy
    member = LSTMRegressor(**TINY, output="student_t")
    return DeepEnsembleRegressor(member, n_members=3, random_state=0).fit(X.iloc[:-50],
                                                                          y.iloc[:-50])


def test_members_are_the_estimator_from_different_repeatable_seeds(ensemble):
    seeds = [m.random_state for m in ensemble.estimators_]
    assert seeds == ensemble.seeds_ == member_seeds(0, 3)
    assert len(set(seeds)) == 3
    assert member_seeds(1, 3) != member_seeds(0, 3)
    params = [{k: v for k, v in m.get_params().items() if k != "random_state"}
              for m in ensemble.estimators_]
    assert params[0] == params[1] == params[2]
    first = [p.detach().numpy() for p in ensemble.estimators_[0].net_.module_.parameters()]
    second = [p.detach().numpy() for p in ensemble.estimators_[1].net_.module_.parameters()]
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))


def test_point_is_the_members_mean(ensemble, returns_xy):
    X, _ = returns_xy
    new = X.iloc[-50:]
    by_hand = np.mean([m.predict(new) for m in ensemble.estimators_], axis=0)
    np.testing.assert_allclose(ensemble.predict(new), by_hand, rtol=1e-12)


def test_mixture_quantiles_lie_between_the_members_and_pool_their_grid(ensemble, returns_xy):
    X, _ = returns_xy
    new = X.iloc[-50:]
    mixed = ensemble.predict_quantiles(new, alpha=LEVELS).to_numpy()             # [50, 5]
    members = np.stack([m.predict_quantiles(new, alpha=LEVELS).to_numpy()
                        for m in ensemble.estimators_])                          # [3, 50, 5]
    assert (mixed >= members.min(axis=0) - 1e-9).all()
    assert (mixed <= members.max(axis=0) + 1e-9).all()
    assert (np.diff(mixed, axis=1) > 0).all()
    grid = list((np.arange(100) + 0.5) / 100)
    pooled = np.concatenate([m.predict_quantiles(new, alpha=grid).to_numpy()
                             for m in ensemble.estimators_], axis=1)             # [50, 300]
    by_hand = np.quantile(pooled, LEVELS, axis=1, method="hazen").T
    np.testing.assert_allclose(mixed, by_hand, rtol=1e-10)
    band = ensemble.predict_interval(new, coverage=0.9).to_numpy()
    np.testing.assert_allclose(band, mixed[:, [0, 4]])


def test_a_quantile_member_mixes_within_its_learned_range(returns_xy):
    X, y = returns_xy
    member = MLPRegressor(**TINY, output="quantile", quantiles=(0.05, 0.5, 0.95))
    ens = DeepEnsembleRegressor(member, n_members=2, random_state=0).fit(X, y)
    q = ens.predict_quantiles(X.iloc[-5:], alpha=[0.1, 0.9])
    assert q.shape == (5, 2) and (q.iloc[:, 1] > q.iloc[:, 0]).all()


def test_a_quantile_forecaster_mixes_within_its_learned_range(sp500_returns):
    """The grid clipped to the head's 0.05..0.95 repeats its end levels; sktime refuses
    repeated alphas, so each member is asked once per distinct level."""
    member = MLPForecaster(window=10, max_epochs=2, output="quantile",
                           quantiles=(0.05, 0.5, 0.95))
    ens = DeepEnsembleForecaster(member, n_members=2, random_state=0).fit(
        sp500_returns.iloc[-400:], fh=[1, 2])
    q = ens.predict_quantiles(alpha=[0.05, 0.5, 0.95]).to_numpy()
    members = np.stack([m.predict_quantiles(alpha=[0.05, 0.5, 0.95]).to_numpy()
                        for m in ens.forecasters_])
    assert (q >= members.min(axis=0) - 1e-9).all() and (q <= members.max(axis=0) + 1e-9).all()


def test_an_estimator_without_random_state_is_refused(returns_xy):
    X, y = returns_xy
    with pytest.raises(ValueError, match="LinearRegression has no random_state parameter, so its members "
                                         "would all be the same model"):
        DeepEnsembleRegressor(LinearRegression(), n_members=2).fit(X, y)


def test_save_and_load_predict_the_same(ensemble, returns_xy, tmp_path):
    import skfin

    X, _ = returns_xy
    again = skfin.load(ensemble.save(tmp_path / "ensemble.skfin"))
    new = X.iloc[-20:]
    np.testing.assert_array_equal(again.predict(new), ensemble.predict(new))
    pd.testing.assert_frame_equal(again.predict_interval(new), ensemble.predict_interval(new))


def test_forecaster_mean_mixture_and_update(sp500_returns):
    r = sp500_returns.iloc[-600:]
    member = MLPForecaster(window=10, max_epochs=3, output="gaussian", update_epochs=1)
    ens = DeepEnsembleForecaster(member, n_members=3, random_state=0).fit(r.iloc[:-10],
                                                                          fh=[1, 2, 3])
    by_hand = np.mean([m.predict().to_numpy().ravel() for m in ens.forecasters_], axis=0)
    np.testing.assert_allclose(ens.predict().to_numpy().ravel(), by_hand, rtol=1e-12)
    q = ens.predict_quantiles(alpha=[0.1, 0.9]).to_numpy()
    members = np.stack([m.predict_quantiles(alpha=[0.1, 0.9]).to_numpy()
                        for m in ens.forecasters_])
    assert (q >= members.min(axis=0) - 1e-9).all() and (q <= members.max(axis=0) + 1e-9).all()
    ens.update(r.iloc[-10:])
    assert ens.cutoff[0] == r.index[-1]
    assert all(m.cutoff[0] == r.index[-1] for m in ens.forecasters_)
    after = np.mean([m.predict().to_numpy().ravel() for m in ens.forecasters_], axis=0)
    np.testing.assert_allclose(ens.predict().to_numpy().ravel(), after, rtol=1e-12)


@pytest.mark.slow
def test_sktime_conformance():
    results = check_estimator(DeepEnsembleForecaster, raise_exceptions=False, verbose=False)
    assert len(results) >= 100, f"only {len(results)} checks ran"       # a real suite ran
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed


@parametrize_with_checks(
    [DeepEnsembleRegressor(MLPRegressor(), n_members=2,
                           random_state=0)],
    expected_failed_checks=lambda est: dict(EXPECTED_FAILED_CHECKS))
def test_sklearn_conformance(estimator, check):
    check(estimator)
