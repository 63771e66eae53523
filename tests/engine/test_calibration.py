"""Point-model calibration residuals: computed on first use, with what the fit had.

A fit that never asks for intervals skips the calibration forward pass; the first
``predict_interval`` / ``predict_quantiles`` (or ``residuals_``, or a pickle) computes the
residuals, and they are the ones an eager computation at the end of the fit gave.
"""

import copy
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from skfin.engine import SkfinNet
from skfin.forecasting import MLPForecaster
from skfin.regressors import LSTMRegressor, MLPRegressor

FAST = dict(window=10, hidden_size=8, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def xy(sp500_xy):
    X, y = sp500_xy
    return X.iloc[-600:], y.iloc[-600:]


def _tail_residuals(model, X, y):
    """``y - predict`` on the rows of the validation tail (public route, for reference)."""
    valid = model.net_.train_split.positions(len(X))[1]
    return y.to_numpy(np.float32)[valid] - model.predict(X)[valid]


def test_fit_skips_the_calibration_pass_until_an_interval_asks(xy, monkeypatch):
    X, y = xy
    sizes = []
    forward = SkfinNet.forward

    def spy(self, X, *args, **kwargs):
        sizes.append(len(X))
        return forward(self, X, *args, **kwargs)

    monkeypatch.setattr(SkfinNet, "forward", spy)
    model = MLPRegressor(**FAST).fit(X, y)
    assert sizes == []                         # training and validation ran, nothing after
    n_valid = len(model.net_.train_split.positions(len(X))[1])
    model.predict_interval(X, coverage=0.9)
    model.predict_quantiles(X, alpha=[0.1, 0.5])
    assert sizes.count(n_valid) == 1           # the tail once, then kept
    np.testing.assert_allclose(model.residuals_[:, 0, 0], _tail_residuals(model, X, y),
                               rtol=1e-6, atol=1e-6)


def test_residuals_are_those_of_the_fit_however_late_they_are_asked(xy):
    X, y = xy
    asked, late = (LSTMRegressor(**FAST).fit(X, y) for _ in range(2))
    residuals = asked.residuals_.copy()
    # Settings changed after the fit do not change the fit's calibration ...
    for model in (asked, late):
        model.set_params(uncertainty="mc_dropout", n_draws=5)
    np.testing.assert_array_equal(late.residuals_, residuals)
    # ... and neither does a copy or a pickle taken before anything asked.
    fresh = LSTMRegressor(**FAST).fit(X, y)
    for twin in (pickle.loads(pickle.dumps(fresh)), copy.deepcopy(fresh)):
        np.testing.assert_array_equal(twin.residuals_, residuals)
    np.testing.assert_array_equal(fresh.residuals_, residuals)


def test_update_keeps_the_residuals_of_the_fitted_weights(sp500_returns):
    y = sp500_returns.iloc[-600:]
    asked, late = (MLPForecaster(**FAST, update_epochs=2).fit(y.iloc[:500], fh=[1, 2])
                   for _ in range(2))
    asked.predict_interval(coverage=0.9)       # residuals computed before the update
    for f in (asked, late):
        f.update(y.iloc[500:550])              # moves the weights
    np.testing.assert_array_equal(late.residuals_, asked.residuals_)
    pd.testing.assert_frame_equal(late.predict_interval(coverage=0.9),
                                  asked.predict_interval(coverage=0.9))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continued_training_recalibrates_on_the_new_data(xy, how):
    X, y = xy
    first, second = slice(0, 300), slice(300, 600)
    model = MLPRegressor(**FAST, warm_start=how == "warm_start")
    if how == "warm_start":
        model.fit(X.iloc[first], y.iloc[first]).fit(X.iloc[second], y.iloc[second])
        expected = _tail_residuals(model, X.iloc[second], y.iloc[second])
    else:
        model.partial_fit(X.iloc[first], y.iloc[first])
        model.partial_fit(X.iloc[second], y.iloc[second])   # no tail: all of the new rows
        expected = y.iloc[second].to_numpy(np.float32) - model.predict(X.iloc[second])
    np.testing.assert_allclose(model.residuals_[:, 0, 0], expected, rtol=1e-6, atol=1e-6)


def test_threads_asking_at_once_get_the_same_intervals(xy):
    X, y = xy
    expected = MLPRegressor(**FAST).fit(X, y).predict_interval(X, coverage=0.8)
    model = MLPRegressor(**FAST).fit(X, y)
    start = threading.Barrier(4)

    def ask(_):
        start.wait()
        return model.predict_interval(X, coverage=0.8)

    with ThreadPoolExecutor(4) as pool:
        bands = list(pool.map(ask, range(4)))
    for band in bands:
        pd.testing.assert_frame_equal(band, expected)


def test_heads_with_their_own_intervals_keep_no_residuals(xy):
    X, y = xy
    model = MLPRegressor(**FAST, output="quantile").fit(X, y)
    assert model.residuals_ is None
    assert not hasattr(MLPRegressor(**FAST), "residuals_")
