"""Under joblib's loky workers (GridSearchCV(n_jobs=2), evaluate(backend="loky")) every worker
trains with one torch thread, so two workers on two cores do not oversubscribe them.

The speed-up itself is measured in ``benchmarks/parallel_search.py`` (not a timed test).
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from skfin.datasets import load_sp500
from skfin.regressors import LSTMRegressor


def _fit_and_count_threads(X, y, seed):
    import torch

    LSTMRegressor(window=5, hidden_size=4, max_epochs=1, random_state=seed).fit(X, y)
    return torch.get_num_threads()


def test_loky_workers_train_on_one_torch_thread_each():
    r = 100 * np.log(load_sp500()["Close"]).diff().to_numpy()[-301:]
    X, y = r[:-1, None], r[1:]
    threads = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_and_count_threads)(X, y, seed) for seed in range(4))
    assert threads == [1, 1, 1, 1]


def test_parallel_grid_search_finds_the_sequential_result():
    r = 100 * np.log(load_sp500()["Close"]).diff().to_numpy()[-401:]
    X, y = r[:-1, None], r[1:]
    grid = {"hidden_size": [4, 8]}
    model = LSTMRegressor(window=5, max_epochs=2, random_state=0)
    results = [GridSearchCV(model, grid, cv=TimeSeriesSplit(2), n_jobs=n_jobs).fit(X, y)
               for n_jobs in (1, 2)]
    np.testing.assert_allclose(results[0].cv_results_["mean_test_score"],
                               results[1].cv_results_["mean_test_score"], rtol=1e-5)
