"""backtest on loky, Dask and Ray: the serial run's numbers, one torch thread per worker,
and errors that name what failed (an unreachable scheduler, a worker that dies mid-fold,
an unknown backend).

A ``distributed.LocalCluster`` on loopback (2 worker processes, 1 thread each) and a local
Ray with 2 CPUs are started once for the module and torn down after it. Tiny nets on the
last 300 S&P 500 daily log returns keep the file to a few minutes on a busy 2-core machine,
most of it workers importing torch.
"""

import contextlib
import importlib.util
import os
import time
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.naive import NaiveForecaster

from skfin.datasets import load_sp500
from skfin.forecasting import LSTMForecaster, MLPForecaster
from skfin.model_selection import WorkerDiedError, backtest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

HAVE_DASK = importlib.util.find_spec("distributed") is not None
HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed "
                                "(pip install 'skfin[distributed]')")
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed "
                               "(pip install 'skfin[distributed]')")
TIMES = ["fit_seconds", "predict_seconds"]


@lru_cache
def _returns():
    close = load_sp500()["Close"].reset_index(drop=True)
    return (100 * np.log(close).diff()).dropna().rename("r").iloc[-300:]


class ThreadProbe(NaiveForecaster):
    """Forecasts the number of torch threads it was fitted (or updated) on."""

    def _fit(self, y, X=None, fh=None):
        import torch

        self.threads_ = torch.get_num_threads()
        return super()._fit(y, X=X, fh=fh)

    def _update(self, y, X=None, update_params=True):
        import torch

        self.threads_ = torch.get_num_threads()
        return super()._update(y, X=X, update_params=update_params)

    def _predict(self, fh, X=None):
        pred = super()._predict(fh, X=X)
        return pred * 0 + self.threads_


class DiesAt(NaiveForecaster):
    """Kills its process (``os._exit``, no exception) when its cutoff reaches ``at``."""

    def __init__(self, at=0):
        self.at = at
        super().__init__()

    def _fit(self, y, X=None, fh=None):
        if y.index[-1] >= self.at:
            os._exit(1)
        return super()._fit(y, X=X, fh=fh)

    def _update(self, y, X=None, update_params=True):
        if y.index[-1] >= self.at:
            os._exit(1)
        return super()._update(y, X=X, update_params=update_params)


def _models():
    return {"lstm": LSTMForecaster(window=8, hidden_size=8, max_epochs=2, random_state=0),
            "mlp": MLPForecaster(window=8, hidden_size=8, max_epochs=2, random_state=1),
            "threads": ThreadProbe("last")}


SETTINGS = {"fh": 2, "folds": 3, "step": 2, "coverage": (0.8, 0.9), "progress": False}


@lru_cache
def _serial(strategy):
    return backtest(_models(), _returns(), strategy=strategy, **SETTINGS)


def _assert_same(result, serial):
    pd.testing.assert_frame_equal(result.forecasts, serial.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(result.folds.drop(columns=TIMES),
                                  serial.folds.drop(columns=TIMES), check_exact=True)
    assert (result.folds[TIMES] > 0).all(axis=None)
    # one torch thread in every task, serial and parallel
    probe = result.forecasts[result.forecasts["model"] == "threads"]
    assert (probe["y_pred"] == 1).all()


@pytest.fixture(scope="module")
def dask_client():
    if not HAVE_DASK:
        pytest.skip("dask.distributed is not installed (pip install 'skfin[distributed]')")
    import dask
    from distributed import Client, LocalCluster

    # a task whose worker dies is not retried on the other worker (the default retries it
    # 3 times): the test of a dying worker then takes one restart, not four
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def ray_runtime():
    if not HAVE_RAY:
        pytest.skip("ray is not installed (pip install 'skfin[distributed]')")
    import ray

    # Ray's workers do not inherit this process's sys.path: they import this module (its
    # test forecasters) through PYTHONPATH
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def test_loky_gives_the_serial_numbers():
    serial = _serial("update")
    start = time.perf_counter()
    result = backtest(_models(), _returns(), strategy="update", backend="loky", n_jobs=2,
                      **SETTINGS)
    print(f"loky: {time.perf_counter() - start:.1f} s")
    _assert_same(result, serial)
    assert result.models == ["lstm", "mlp", "threads"]


@needs_dask
def test_dask_gives_the_serial_numbers(dask_client):
    serial = _serial("refit")                        # one task per (model, fold)
    result = backtest(_models(), _returns(), strategy="refit", backend="dask",
                      scheduler=dask_client.scheduler.address, **SETTINGS)
    _assert_same(result, serial)


@needs_ray
def test_ray_gives_the_serial_numbers(ray_runtime):
    serial = _serial("update")
    result = backtest(_models(), _returns(), strategy="update", backend="ray", **SETTINGS)
    _assert_same(result, serial)
    assert ray_runtime.is_initialized()              # a Ray it did not start stays up


@needs_dask
def test_unreachable_scheduler_fails_fast_with_its_address():
    """The connection gives up after CONNECT_TIMEOUT seconds (not distributed's default 30)
    and names the address; how fast it is on a loaded machine is not a unit test's to time."""
    from skfin.model_selection import _parallel

    with pytest.raises(ConnectionError, match=(r"tcp://127\.0\.0\.1:1.* within "
                                               f"{_parallel.CONNECT_TIMEOUT} s")):
        backtest({"naive": NaiveForecaster()}, _returns(), backend="dask",
                 scheduler="tcp://127.0.0.1:1", **SETTINGS)
    assert _parallel.CONNECT_TIMEOUT <= 10


def test_bad_backend_settings_say_what_to_fix():
    naive, r = {"n": NaiveForecaster()}, _returns()
    with pytest.raises(ValueError, match="'loky', 'dask', 'ray'; got backend='spark'"):
        backtest(naive, r, backend="spark", **SETTINGS)
    with pytest.raises(ValueError, match="n_jobs=2 needs a parallel backend"):
        backtest(naive, r, n_jobs=2, **SETTINGS)
    with pytest.raises(ValueError, match="n_jobs must be None, -1"):
        backtest(naive, r, backend="loky", n_jobs=0, **SETTINGS)
    with pytest.raises(ValueError, match="loky runs on this machine and takes no scheduler"):
        backtest(naive, r, backend="loky", scheduler="tcp://127.0.0.1:8786", **SETTINGS)
    with pytest.raises(ValueError, match="threads must be an int >= 1"):
        backtest(naive, r, threads=0, **SETTINGS)


def test_missing_package_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"skfin\[distributed\]"):
        backtest({"n": NaiveForecaster()}, _returns(), backend="ray", **SETTINGS)


# ---------------------------------------------------------------------------------------
# sktime's own evaluate(backend=...) runs skfin forecasters unchanged
# ---------------------------------------------------------------------------------------
def _evaluate(backend, **kwargs):
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    r = _returns()
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=len(r) - 6, step_length=2)
    lstm = LSTMForecaster(window=8, hidden_size=4, max_epochs=1, random_state=0)
    frame = evaluate(lstm, cv, r, strategy="refit", return_data=True, backend=backend,
                     **kwargs)
    return frame.drop(columns=[c for c in frame.columns if "time" in c])


@lru_cache
def _evaluate_serial():
    return _evaluate(None)


def _keep_objects():
    """dask.dataframe would turn the frame's forecasts (pandas objects) into strings."""
    if not HAVE_DASK:
        return contextlib.nullcontext()
    import dask

    return dask.config.set({"dataframe.convert-string": False})


def _has_dask_dataframe() -> bool:
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return False
    return True


# sktime's evaluate(backend="dask") returns its frame through dask.dataframe, which needs
# pyarrow: dask[distributed] alone does not install it (dask[dataframe] does)
needs_dask_dataframe = pytest.mark.skipif(
    not HAVE_DASK or not _has_dask_dataframe(),
    reason="sktime's evaluate(backend='dask') needs dask.dataframe (and so pyarrow): "
           "pip install 'dask[dataframe]'")


@pytest.mark.parametrize("backend", [
    "loky", pytest.param("dask", marks=needs_dask_dataframe),
    pytest.param("ray", marks=needs_ray)])
def test_sktime_evaluate_runs_skfin_forecasters_on_every_backend(backend, request):
    kwargs = {}
    if backend == "dask":
        request.getfixturevalue("dask_client")       # dask.compute runs on the cluster
    if backend == "ray":
        request.getfixturevalue("ray_runtime")
        kwargs["backend_params"] = {"shutdown_ray": False}   # the module's Ray stays up
    with _keep_objects():
        frame, serial = _evaluate(backend, **kwargs), _evaluate_serial()
    assert len(frame) == 3
    pd.testing.assert_frame_equal(frame.drop(columns=["y_pred", "y_train", "y_test"]),
                                  serial.drop(columns=["y_pred", "y_train", "y_test"]))
    for mine, theirs in zip(frame["y_pred"], serial["y_pred"]):
        pd.testing.assert_series_equal(mine, theirs, rtol=1e-6)



# ---------------------------------------------------------------------------------------
# skfin backtest --backend
# ---------------------------------------------------------------------------------------
CLI = ["backtest", "--last", "400", "--folds", "2", "--horizon", "2", "--window", "8",
       "--epochs", "1", "--models", "mlp", "--baselines", "naive"]


def test_cli_backend_writes_the_serial_files_with_a_progress_bar(tmp_path, capsys):
    from skfin.cli import main

    assert main([*CLI, "--quiet", "--output", str(tmp_path / "serial")]) == 0
    capsys.readouterr()
    assert main([*CLI, "--backend", "loky", "--n-jobs", "2",
                 "--output", str(tmp_path / "loky")]) == 0
    captured = capsys.readouterr()
    assert "backtest:" in captured.err and "fold" in captured.err       # the bar
    assert "mlp" in captured.out and "wrote leaderboard.csv" in captured.out
    for name in ("folds.csv", "forecasts.csv"):
        serial = pd.read_csv(tmp_path / "serial" / name)
        loky = pd.read_csv(tmp_path / "loky" / name)
        keep = [c for c in serial.columns if c not in TIMES]
        pd.testing.assert_frame_equal(loky[keep], serial[keep], check_exact=True)
    assert (tmp_path / "loky" / "forecast_fans.png").exists()


@pytest.mark.parametrize("args, says", [
    (["--n-jobs", "2"], "--n-jobs needs --backend"),
    (["--backend", "loky", "--scheduler", "tcp://127.0.0.1:8786"], "needs --backend dask"),
    (["--backend", "spark"], "'loky', 'dask', 'ray'"),
])
def test_cli_bad_parallel_options_exit_with_one_line(args, says, capsys):
    from skfin.cli import main

    with pytest.raises(SystemExit) as done:
        main([*CLI, *args])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("skfin: error: ") and err.count("\n") == 1 and says in err, err


@needs_dask
def test_cli_unreachable_scheduler_is_one_line_with_the_address(tmp_path, capsys):
    from skfin.cli import main

    assert main([*CLI, "--models", "none", "--quiet", "--backend", "dask", "--scheduler",
                 "tcp://127.0.0.1:1", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("skfin: error: ") and "tcp://127.0.0.1:1" in err


# last: the tests that cost the pools their workers (joblib cancels the rest of a run
# after an error, a dead worker is replaced): the next call would wait for fresh ones
def test_failures_with_errors_warn_and_raise_as_in_the_serial_path():
    class Broken(NaiveForecaster):
        def _update(self, y, X=None, update_params=True):
            raise RuntimeError("cannot update")

    r = _returns()
    models = {"broken": Broken(), "mean": NaiveForecaster("mean")}
    with pytest.warns(UserWarning, match="model 'broken' failed in fold 1"):
        res = backtest(models, r, backend="loky", n_jobs=2, errors="warn", **SETTINGS)
    assert res.models == ["mean"] and "cannot update" in res.failures["broken"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = backtest(models, r, errors="warn", **SETTINGS)
    pd.testing.assert_frame_equal(res.forecasts, serial.forecasts)
    assert res.failures == serial.failures
    with pytest.raises(RuntimeError, match="cannot update") as info:
        backtest(models, r, backend="loky", n_jobs=2, **SETTINGS)
    assert "model 'broken' in fold 1" in "".join(info.value.__notes__)


def test_loky_worker_death_names_the_model_and_fold():
    r = _returns()
    cutoff = int(r.index[-1]) - 2 - 2                 # the cutoff of fold 1 of 3 (step 2)
    models = {"naive": NaiveForecaster(), "dies": DiesAt(at=cutoff)}
    with pytest.raises(WorkerDiedError, match=r"loky worker died while running model "
                       r"'dies' fold 1 \(cutoff \d+\)"):
        backtest(models, r, backend="loky", n_jobs=2, errors="warn", **SETTINGS)


@needs_dask
def test_dask_worker_death_names_the_model_and_fold(dask_client):
    r = _returns()
    cutoff = int(r.index[-1]) - 2                     # the cutoff of fold 2 of 3
    with pytest.raises(WorkerDiedError, match=r"dask worker died while running model "
                       r"'dies' fold 2 \(cutoff \d+\)"):
        backtest({"dies": DiesAt(at=cutoff)}, r, backend="dask",
                 scheduler=dask_client.scheduler.address, **SETTINGS)
