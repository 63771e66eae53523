"""PurgedWalkForward and PurgedKFold on the real S&P 500 calendar: leakage, search, errors."""

import pickle
import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit

from skfin.datasets import load_sp500
from skfin.model_selection import PurgedKFold, PurgedWalkForward


@lru_cache
def _returns() -> pd.Series:
    """Daily S&P 500 log returns, 5,030 rows: the length every property runs on."""
    return np.log(load_sp500()["Close"]).diff().dropna()


@lru_cache
def _multi_step(horizon: int):
    """Today's return and range -> the next ``horizon`` returns (one column per step)."""
    ohlcv = load_sp500()
    r = np.log(ohlcv["Close"]).diff()
    X = pd.DataFrame({"r": r, "range": (ohlcv["High"] - ohlcv["Low"]) / ohlcv["Close"]})
    Y = pd.concat({f"r+{h}": r.shift(-h) for h in range(1, horizon + 1)}, axis=1)
    keep = X.notna().all(axis=1) & Y.notna().all(axis=1)
    return X[keep], Y[keep]


def _min_gap(train: np.ndarray, test: np.ndarray) -> int:
    """Smallest |t - s| over training rows t and test rows s (both sorted)."""
    pos = np.searchsorted(test, train)
    left = np.abs(train - test[np.clip(pos - 1, 0, len(test) - 1)])
    right = np.abs(test[np.clip(pos, 0, len(test) - 1)] - train)
    return int(np.minimum(left, right).min())


def _check_common(train, test, n):
    assert train.dtype.kind == "i" and test.dtype.kind == "i"
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0), "not in time order"
    assert np.all(np.diff(test) == 1), "test block not contiguous"
    assert len(np.intersect1d(train, test)) == 0
    assert train.min() >= 0 and max(train.max(), test.max()) < n


# -- leakage properties --------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_splits=st.integers(1, 20),
    test_size=st.one_of(st.none(), st.integers(1, 600)),
    horizon=st.integers(1, 60),
    gap=st.integers(0, 60),
    max_train_size=st.one_of(st.none(), st.integers(1, 3000)),
)
def test_walk_forward_never_trains_on_overlapping_targets(
    n_splits, test_size, horizon, gap, max_train_size
):
    n = len(_returns())
    cv = PurgedWalkForward(n_splits, test_size=test_size, horizon=horizon, gap=gap,
                           max_train_size=max_train_size)
    size = test_size if test_size is not None else n // (n_splits + 1)
    if n_splits * size + horizon - 1 + gap + 1 > n:
        with pytest.raises(ValueError, match=f"got n_samples={n}"):
            list(cv.split(_returns()))
        return
    folds = list(cv.split(_returns()))
    assert len(folds) == cv.get_n_splits() == n_splits
    for k, (train, test) in enumerate(folds):
        _check_common(train, test, n)
        assert len(test) == size
        # time order: every training row precedes the test block
        assert train.max() < test.min()
        # purging: the target t+1..t+h of a training row overlaps the target s+1..s+h
        # of a test row exactly when |t - s| < h
        assert _min_gap(train, test) >= horizon
        # gap kept, and nothing more dropped than horizon - 1 + gap rows (tight purge)
        assert test.min() - train.max() - 1 == horizon - 1 + gap
        assert train.max() + horizon <= test.min()       # last training target ends in time
        if max_train_size is None:
            assert train.min() == 0
        else:
            assert len(train) == min(max_train_size, train.max() + 1)
        # the blocks tile the end of the data in order
        assert test.max() == n - 1 - (n_splits - 1 - k) * size


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_splits=st.integers(2, 30), horizon=st.integers(1, 80), embargo=st.integers(0, 400))
def test_kfold_purges_both_sides_and_embargoes_after(n_splits, horizon, embargo):
    n = len(_returns())
    cv = PurgedKFold(n_splits, horizon=horizon, embargo=embargo)
    folds = list(cv.split(_returns()))
    assert len(folds) == cv.get_n_splits() == n_splits
    np.testing.assert_array_equal(np.concatenate([test for _, test in folds]), np.arange(n))
    for train, test in folds:
        _check_common(train, test, n)
        a, b = test.min(), test.max() + 1
        assert _min_gap(train, test) >= horizon          # no overlapping target periods
        before, after = train[train < a], train[train >= b]
        # purge before the block: exactly the horizon - 1 rows whose targets reach it
        if a - horizon >= 0:
            assert before.max() == a - horizon
        else:
            assert len(before) == 0
        # purge + embargo after the block: the first training row is b - 1 + h + embargo
        first_after = b - 1 + horizon + embargo
        if first_after < n:
            assert after.min() == first_after
            np.testing.assert_array_equal(after, np.arange(first_after, n))
        else:
            assert len(after) == 0
        # embargo respected: no row right after the purged region is used
        assert not np.any((train >= b) & (train < first_after))


# -- equivalences that anchor the definitions ---------------------------------------
@pytest.mark.parametrize("horizon,gap,max_train_size", [(1, 0, None), (5, 0, None),
                                                       (5, 60, None), (20, 3, 1000)])
def test_walk_forward_is_time_series_split_with_the_purge_as_gap(horizon, gap, max_train_size):
    r = _returns()
    ours = PurgedWalkForward(6, test_size=250, horizon=horizon, gap=gap,
                             max_train_size=max_train_size).split(r)
    sklearns = TimeSeriesSplit(6, test_size=250, gap=horizon - 1 + gap,
                               max_train_size=max_train_size).split(r)
    for (tr1, te1), (tr2, te2) in zip(ours, sklearns, strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)


def test_kfold_without_purge_or_embargo_is_kfold():
    r = _returns()
    for (tr1, te1), (tr2, te2) in zip(PurgedKFold(7).split(r), KFold(7).split(r), strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)


# -- in sklearn's model selection ----------------------------------------------------
@pytest.mark.parametrize("cv", [PurgedWalkForward(4, test_size=500, horizon=5, gap=1),
                                PurgedKFold(4, horizon=5, embargo=21)],
                         ids=lambda cv: type(cv).__name__)
def test_grid_search_scores_are_the_purged_folds(cv):
    X, Y = _multi_step(5)                                # 5-day return paths: horizon=5
    search = GridSearchCV(Ridge(), {"alpha": [1e-4, 1.0]}, cv=cv, scoring="r2").fit(X, Y)
    assert search.n_splits_ == 4
    best = search.best_params_["alpha"]
    for k, (train, test) in enumerate(cv.split(X)):
        model = Ridge(alpha=best).fit(X.iloc[train], Y.iloc[train])
        expected = r2_score(Y.iloc[test], model.predict(X.iloc[test]))
        got = search.cv_results_[f"split{k}_test_score"][search.best_index_]
        assert got == pytest.approx(expected, rel=1e-12)


def test_splitters_pickle_and_repr():
    cv = PurgedWalkForward(3, horizon=5, gap=2)
    assert " ".join(repr(cv).split()) == (
        "PurgedWalkForward(gap=2, horizon=5, max_train_size=None, n_splits=3, test_size=None)"
    )
    assert repr(pickle.loads(pickle.dumps(cv))) == repr(cv)
    assert repr(PurgedKFold(3, embargo=4)) == "PurgedKFold(embargo=4, horizon=1, n_splits=3)"


# -- errors --------------------------------------------------------------------------
def test_too_few_rows_names_the_numbers():
    r = _returns().iloc[:1000]
    msg = ("needs at least n_splits * test_size + (horizon - 1) + gap + 1 = "
           "4 * 250 + 4 + 0 + 1 = 1005 rows to leave one training row in the first fold, "
           "but got n_samples=1000")
    with pytest.raises(ValueError, match=re.escape(msg)):
        list(PurgedWalkForward(4, test_size=250, horizon=5).split(r))
    with pytest.raises(ValueError, match="default test_size = n_samples // "):
        list(PurgedWalkForward(20).split(r.iloc[:10]))


def test_kfold_errors():
    r = _returns()
    with pytest.raises(ValueError, match="cannot cut n_samples=3 rows into n_splits=5"):
        list(PurgedKFold(5).split(r.iloc[:3]))
    with pytest.raises(ValueError, match=r"fold 0 \(test rows 0\.\.2514 of 5030\) without "
                                         "training rows"):
        list(PurgedKFold(2, horizon=3000).split(r))


@pytest.mark.parametrize("cls,params,name", [
    (PurgedWalkForward, {"horizon": 0}, "horizon"),
    (PurgedWalkForward, {"n_splits": 0}, "n_splits"),
    (PurgedWalkForward, {"gap": -1}, "gap"),
    (PurgedWalkForward, {"test_size": 2.5}, "test_size"),
    (PurgedKFold, {"n_splits": 1}, "n_splits"),
    (PurgedKFold, {"embargo": -5}, "embargo"),
])
def test_invalid_parameters_are_named(cls, params, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter of {cls.__name__}"):
        list(cls(**params).split(_returns()))


def test_groups_are_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="groups parameter is ignored by PurgedWalkForward"):
        list(PurgedWalkForward(2).split(_returns(), groups=np.zeros(len(_returns()))))
