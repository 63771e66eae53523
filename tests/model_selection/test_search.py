"""Searching skfin estimators: Optuna with per-epoch pruning, default spaces from the
registry, and scikit-learn's and sktime's searches on Dask and Ray, on real S&P 500 data.

The Dask and Ray searches must give the very scores of the serial run: the workers fit
the same clones with the same ``random_state``.
"""

import inspect
import pickle
import warnings
from functools import lru_cache

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfin.datasets import load_sp500
from skfin.engine.callbacks import OptunaPruning, extra_callbacks
from skfin.engine.estimator import check_parameters
from skfin.forecasting import MLPForecaster
from skfin.model_selection import OptunaSearchCV, PurgedWalkForward, default_search_space
from skfin.registry import ARCHITECTURES, TRAINING_SPACE, Choice
from skfin.regressors import LSTMRegressor, MLPRegressor

optuna = pytest.importorskip("optuna", reason="optuna (the 'tune' extra) is not installed")

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@lru_cache
def _abs_returns():
    """|S&P 500 daily log return| in percent: today's as the feature, tomorrow's as target."""
    r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-400:]
    return np.abs(r[:-1, None]), np.abs(r[1:])


def _tiny(**kw):
    return MLPRegressor(**{"window": 5, "hidden_size": 4, "max_epochs": 3, "random_state": 0,
                           **kw})


CV = PurgedWalkForward(n_splits=2, test_size=50)


# -- default search spaces --------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_every_architecture_has_a_space_that_samples_valid_configurations(arch):
    assert arch.search_space, f"{arch.name} has no search_space in skfin/registry.py"
    space = default_search_space(arch.regressor())
    assert set(space) == set(arch.space) == set(TRAINING_SPACE) | set(arch.search_space)
    net_params = set(inspect.signature(arch.net).parameters)
    assert set(arch.search_space) <= net_params
    for face in (arch.regressor, arch.forecaster):
        assert set(space) <= set(face().get_params()), face.__name__
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    x = torch.tensor(_abs_returns()[0][-2 * 40:], dtype=torch.float32)
    for _ in range(3):
        params = study.ask(space).params
        for face in (arch.regressor, arch.forecaster):
            est = face().set_params(**params)
            check_parameters(est, arch.net)        # within the net's constraints
        window = arch.regressor().window
        with warnings.catch_warnings():
            # e.g. "window=32 is longer than the TCN's receptive field": the default
            # space's nets see all of the faces' default window
            warnings.simplefilter("error")
            net = arch.net(n_features=1, window=window, horizon=1, n_targets=1,
                           **{k: v for k, v in params.items() if k in arch.search_space})
        out = net.eval()(x[-2 * window:].view(2, window, 1))      # cross-parameter rules
        assert out.shape[:3] == (2, 1, 1) and torch.isfinite(out).all()


def test_default_space_follows_the_net_into_meta_estimators():
    pipe = make_pipeline(StandardScaler(), LSTMRegressor())
    space = default_search_space(pipe)
    assert set(space) == {f"lstmregressor__{k}" for k in ARCHITECTURES[1].space}
    assert pipe.set_params(**{k: d.low if hasattr(d, "low") else d.choices[0]
                              for k, d in space.items()})
    with pytest.raises(ValueError, match="exactly one skfin net.*found 0"):
        default_search_space(StandardScaler())


# -- extra_callbacks and the pruning callback ------------------------------------------
def test_extra_callbacks_reach_the_engine_but_not_params_clones_or_pickles():
    X, y = _abs_returns()
    study = optuna.create_study()
    trial = study.ask()
    est = _tiny()
    with extra_callbacks(("pruning", OptunaPruning(trial, fold=1))):
        est.fit(X, y)
        assert "pruning" not in str(clone(est).get_params())
    names = [name for name, _ in est.net_.callbacks_]
    assert names[-1] == "pruning" and names.count("pruning") == 1
    # the reported values are the history's validation losses, at fold 1's steps
    history = est.net_.history[:, "valid_loss"]
    reported = study.trials[0].intermediate_values
    assert reported == {3 + i: pytest.approx(v, abs=0) for i, v in enumerate(history)}
    assert dict(est.net_.callbacks_)["pruning"].reported_ == list(reported.items())
    # outside the block the engine has no extra callback; a fitted one pickles
    assert "pruning" not in dict(_tiny(max_epochs=1).fit(X, y).net_.callbacks_)
    assert pickle.loads(pickle.dumps(est)).predict(X[-3:]) == pytest.approx(est.predict(X[-3:]))
    for name in ("divergence", "valid_loss"):            # the engine's, skorch's
        with pytest.raises(ValueError, match=f"'{name}' is already used"):
            with extra_callbacks((name, OptunaPruning(trial))):
                _tiny().fit(X, y)


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_trial_pruned_propagates_out_of_skorch_and_pipelines():
    X, y = _abs_returns()
    study = optuna.create_study(pruner=_AlwaysPrune())
    trial = study.ask()
    pipe = make_pipeline(StandardScaler(), _tiny())
    with extra_callbacks(OptunaPruning(trial)), pytest.raises(optuna.TrialPruned,
                                                              match="fold 0, epoch 1"):
        pipe.fit(X, y)
    assert list(study.trials[0].intermediate_values) == [0]      # stopped after one epoch


# -- OptunaSearchCV ---------------------------------------------------------------------
class _InOrder(optuna.samplers.BaseSampler):
    """Samples ``values[trial.number]`` for every parameter: a fixed sequence of trials."""

    def __init__(self, values):
        self.values = values

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, name, distribution):
        return self.values[trial.number]


def test_a_trial_with_a_terrible_lr_is_pruned():
    X, y = _abs_returns()
    lrs = [1e-2, 1e-2, 1e-2, 1e-7, 1e-2]
    search = OptunaSearchCV(_tiny(), {"lr": Choice(1e-2, 1e-7)}, n_trials=len(lrs), cv=CV,
                            sampler=_InOrder(lrs), scoring="neg_mean_absolute_error",
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    search.fit(X, y)
    states = search.trials_["state"].tolist()
    assert states == ["COMPLETE"] * 3 + ["PRUNED", "COMPLETE"]
    assert search.n_pruned_ == 1 and search.pruned_share_ == pytest.approx(0.2)
    # pruned at the first epoch of the first fold: lr=1e-7 barely moves the shared init
    assert search.trials_.loc[3, "last_step"] == 0
    assert np.isnan(search.trials_.loc[3, "split0_test_score"])
    assert search.best_params_ == {"lr": 1e-2}
    assert search.cv_results_["rank_test_score"][3] == 5
    assert search.best_score_ == pytest.approx(search.trials_["mean_test_score"].max())


def test_search_over_the_default_space_is_reproducible_and_refits():
    X, y = _abs_returns()

    def run():
        est = MLPRegressor(window=5, max_epochs=2, random_state=0)
        return OptunaSearchCV(est, n_trials=3, cv=CV, random_state=0).fit(X, y)

    a, b = run(), run()
    assert set(a.best_params_) == set(ARCHITECTURES[0].space)
    pd.testing.assert_frame_equal(a.trials_.drop(columns="duration"),
                                  b.trials_.drop(columns="duration"))
    assert a.best_estimator_.get_params()["hidden_size"] == a.best_params_["hidden_size"]
    assert a.score(X[-50:], y[-50:]) == pytest.approx(a.best_estimator_.score(X[-50:], y[-50:]))
    assert a.predict(X[-2:]).shape == (2,)
    assert "optuna_pruning" not in dict(a.best_estimator_.net_.callbacks_)   # refit unpruned


def test_bad_input():
    X, y = _abs_returns()
    with pytest.raises(ValueError, match="n_trials must be a positive int"):
        OptunaSearchCV(_tiny(), {"lr": [1e-3]}, n_trials=0).fit(X, y)
    with pytest.raises(TypeError, match="Cannot search over 3"):
        OptunaSearchCV(_tiny(), {"lr": 3}, n_trials=1).fit(X, y)
    # a failing configuration: recorded with error_score, or raised
    with pytest.warns(UserWarning, match="Trial 0 failed"), \
            pytest.raises(ValueError, match="No trial of 1 completed"):
        OptunaSearchCV(_tiny(), {"hidden_size": [0]}, n_trials=1, cv=CV).fit(X, y)
    with pytest.warns(UserWarning, match="Trial 1 failed"):
        search = OptunaSearchCV(_tiny(max_epochs=1), {"hidden_size": Choice(4, 0)},
                                n_trials=2, cv=CV, sampler=_InOrder([4, 0]),
                                error_score=-99.0).fit(X, y)
    assert search.trials_["state"].tolist() == ["COMPLETE", "FAIL"]
    assert search.trials_.loc[1, ["split0_test_score", "split1_test_score"]].tolist() == [-99] * 2
    assert search.best_params_ == {"hidden_size": 4}
    with pytest.raises(ValueError, match="hidden_size"):
        OptunaSearchCV(_tiny(), {"hidden_size": [0]}, n_trials=1, cv=CV,
                       error_score="raise").fit(X, y)


# -- scikit-learn's and sktime's searches on Dask and Ray --------------------------------
def _grid():
    return GridSearchCV(_tiny(max_epochs=2), {"hidden_size": [4, 8]}, cv=CV,
                        scoring="neg_mean_absolute_error")


def _randomized():
    return RandomizedSearchCV(_tiny(max_epochs=2), {"hidden_size": [4, 8], "lr": [1e-3, 1e-2]},
                              n_iter=2, cv=CV, scoring="neg_mean_absolute_error",
                              random_state=0)


@lru_cache
def _serial(kind):
    """The serial run of a search, once per module."""
    return {"grid": _grid, "randomized": _randomized}[kind]().fit(*_abs_returns())


def _forecasting_grid(**kw):
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    return ForecastingGridSearchCV(
        MLPForecaster(window=5, hidden_size=4, max_epochs=2, random_state=0),
        ExpandingWindowSplitter(fh=[1], initial_window=150, step_length=25),
        {"hidden_size": [4, 8]}, **kw)


def _same_search(parallel, serial):
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed", reason="dask.distributed (the "
                                      "'distributed' extra) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_sklearn_and_sktime_searches_on_dask_match_the_serial_run(dask_client):
    X, y = _abs_returns()
    with joblib.parallel_config(backend="dask"):
        grid = _grid().set_params(n_jobs=2).fit(X, y)
    assert len(dask_client.scheduler_info()["workers"]) == 2
    _same_search(grid, _serial("grid"))
    yy = pd.Series(y[-200:], name="abs_r")
    serial = _forecasting_grid().fit(yy, fh=[1])
    on_dask = _forecasting_grid(backend="dask").fit(yy, fh=[1])
    assert on_dask.best_params_ == serial.best_params_
    pd.testing.assert_frame_equal(on_dask.cv_results_.filter(like="mean_test"),
                                  serial.cv_results_.filter(like="mean_test"))


def test_sklearn_search_on_ray_matches_the_serial_run():
    ray = pytest.importorskip("ray", reason="ray (the 'distributed' extra) is not installed")
    from ray.util.joblib import register_ray

    X, y = _abs_returns()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray"), warnings.catch_warnings():
            warnings.simplefilter("ignore")           # "The 'context' argument is not supported"
            randomized = _randomized().set_params(n_jobs=2).fit(X, y)
    finally:
        ray.shutdown()
    _same_search(randomized, _serial("randomized"))
