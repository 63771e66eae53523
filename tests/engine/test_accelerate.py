"""Training through Hugging Face Accelerate (``accelerator=``): same fit, any launcher.

The CPU single-process path runs here; the two-process test launches ``torchrun`` with two
CPU processes (gloo), the same data-parallel code path that ``accelerate launch`` takes on
several GPUs.
"""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skfin.engine.net import AcceleratedSkfinNet, SkfinNet, resolve_accelerator
from skfin.forecasting import LSTMForecaster
from skfin.persistence import load
from skfin.regressors import LSTMRegressor

accelerate = pytest.importorskip("accelerate", reason="the 'accelerate' extra is not installed")

#: Tiny nets on 400 S&P 500 days; a cosine LR schedule and early stopping are on, as they
#: are what the engine wraps (scheduler, best weights).
SETTINGS = dict(window=10, hidden_size=8, max_epochs=3, random_state=0, lr_schedule="cosine",
                patience=2)


@pytest.fixture(scope="module")
def accelerator():
    # One AcceleratorState per process: every test here shares this CPU one.
    return accelerate.Accelerator(cpu=True)


@pytest.fixture(scope="module")
def xy(sp500_xy):
    X, y = sp500_xy
    return X.iloc[-400:], y.iloc[-400:]


@pytest.fixture(scope="module")
def fits(xy, accelerator):
    X, y = xy
    plain = LSTMRegressor(**SETTINGS).fit(X, y)
    accelerated = LSTMRegressor(**SETTINGS, accelerator=accelerator).fit(X, y)
    return plain, accelerated


def test_accelerated_fit_is_the_plain_fit_bit_for_bit(fits, xy):
    """One CPU process: same weights, history and predictions, to the bit."""
    plain, accelerated = fits
    X, _ = xy
    assert np.array_equal(accelerated.predict(X), plain.predict(X))
    a, b = plain.net_.module_.state_dict(), accelerated.net_.module_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    losses = ("train_loss", "valid_loss")
    assert ([[h[k] for k in losses] for h in plain.net_.history]
            == [[h[k] for k in losses] for h in accelerated.net_.history])
    assert np.array_equal(accelerated.predict_interval(X.tail(5), coverage=0.9),
                          plain.predict_interval(X.tail(5), coverage=0.9))


def test_fitted_engine_is_plain_and_the_accelerator_keeps_nothing(fits, accelerator):
    _, accelerated = fits
    net = accelerated.net_
    assert type(net) is SkfinNet and net.device == "cpu"
    assert type(net.optimizer_) is torch.optim.AdamW
    assert not hasattr(net, "accelerator")
    assert accelerator._models == [] and accelerator._optimizers == []
    assert accelerated.accelerator is accelerator            # the parameter is untouched


def test_pickle_save_load_and_clone(fits, xy, tmp_path, accelerator):
    _, accelerated = fits
    X, _ = xy
    expected = accelerated.predict(X)
    assert np.array_equal(pickle.loads(pickle.dumps(accelerated)).predict(X), expected)
    loaded = load(accelerated.save(tmp_path / "lstm.zip"))
    assert np.array_equal(loaded.predict(X), expected)
    assert loaded.accelerator == "auto"                 # how it was launched is not kept
    assert type(loaded.net_) is SkfinNet
    twin = clone(accelerated)
    assert isinstance(twin.accelerator, accelerate.Accelerator)
    assert twin.get_params()["hidden_size"] == 8 and not hasattr(twin, "net_")


def test_augmentation_weights_and_verbose_compose(xy, accelerator, capsys):
    """The engine's own training features run the same through the accelerator."""
    X, y = xy
    weights = np.where(np.arange(len(X)) < 200, 0.5, 1.0)
    settings = dict(SETTINGS, augment="jitter", max_epochs=2, verbose=2)
    plain = LSTMRegressor(**settings).fit(X, y, sample_weight=weights)
    accelerated = LSTMRegressor(**settings, accelerator=accelerator).fit(
        X, y, sample_weight=weights)
    assert np.array_equal(accelerated.predict(X), plain.predict(X))
    assert "valid_loss" in capsys.readouterr().out            # skorch's table, printed
    pickle.dumps(accelerated)                                 # no accelerator.print kept


def test_forecaster_update_after_an_accelerated_fit(sp500, accelerator):
    r = 100 * np.log(sp500["Close"]).diff().dropna().iloc[-300:].rename("r")
    settings = dict(window=10, hidden_size=4, max_epochs=2, random_state=0)
    plain = LSTMForecaster(**settings).fit(r.iloc[:-5], fh=[1, 2])
    accelerated = LSTMForecaster(**settings, accelerator=accelerator).fit(r.iloc[:-5], fh=[1, 2])
    assert np.array_equal(accelerated.predict().to_numpy(), plain.predict().to_numpy())
    plain.update(r.iloc[-5:])
    accelerated.update(r.iloc[-5:])
    assert np.array_equal(accelerated.predict().to_numpy(), plain.predict().to_numpy())


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason="Accelerator() would take the GPU, and this process's accelerator "
                           "state is the CPU one of the other tests")
def test_auto_creates_a_default_accelerator(xy):
    X, y = xy
    model = LSTMRegressor(**dict(SETTINGS, max_epochs=1), accelerator="auto").fit(X, y)
    plain = LSTMRegressor(**dict(SETTINGS, max_epochs=1)).fit(X, y)
    assert np.array_equal(model.predict(X), plain.predict(X))
    assert isinstance(resolve_accelerator("auto"), accelerate.Accelerator)
    assert resolve_accelerator(None) is None


def test_engine_class_is_built_by_the_face(xy, accelerator):
    X, y = xy
    model = LSTMRegressor(**SETTINGS, accelerator=accelerator)
    engine = model._build_engine(n_windows=390, n_features=2, window=10, horizon=1, n_targets=1)
    assert type(engine) is AcceleratedSkfinNet and engine.device is None
    assert engine.accelerator is accelerator and engine.mixed_precision is False


@pytest.mark.parametrize("params, match", [
    (dict(accumulate=2), "cannot accumulate gradients"),
    (dict(checkpoint_dir="ckpt"), "does not write training checkpoints"),
    (dict(mixed_precision=True), r"Accelerator\(mixed_precision='bf16'\)"),
    (dict(device="cuda"), "places the net on cpu"),
])
def test_settings_the_accelerator_cannot_honour_are_refused(xy, accelerator, params, match):
    X, y = xy
    if params.get("device") == "cuda" and not torch.cuda.is_available():
        # resolve_device refuses first on a machine without CUDA: still an error
        match = "cuda"
    with pytest.raises(ValueError, match=match):
        LSTMRegressor(**SETTINGS, **params, accelerator=accelerator).fit(X, y)


def test_accumulating_accelerator_and_wrong_type_are_refused(xy):
    X, y = xy

    class Accumulating:                   # an Accelerator's interface, accumulating
        gradient_accumulation_steps = 4

        def prepare(self, *parts):
            return parts

        backward = unwrap_model = prepare

    with pytest.raises(ValueError, match="accumulates gradients over 4 steps"):
        LSTMRegressor(**SETTINGS, accelerator=Accumulating()).fit(X, y)
    with pytest.raises(ValueError, match="'accelerator' parameter of LSTMRegressor"):
        LSTMRegressor(**SETTINGS, accelerator="gpu").fit(X, y)


_WORKER = textwrap.dedent("""
    import sys
    import numpy as np, torch
    from accelerate import Accelerator
    from skfin.datasets import load_sp500
    from skfin.regressors import LSTMRegressor

    sp = load_sp500()
    r = 100 * np.log(sp["Close"]).diff().dropna().iloc[-400:]
    X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    w = np.where(np.arange(len(X)) < 200, 0.5, 1.0)
    accelerator = Accelerator(cpu=True)
    model = LSTMRegressor(**eval(sys.argv[2]), accelerator=accelerator).fit(X, y, sample_weight=w)
    np.save(f"{sys.argv[1]}/{accelerator.process_index}.npy", model.predict(X))
    np.save(f"{sys.argv[1]}/loss{accelerator.process_index}.npy",
            [h["train_loss"] for h in model.net_.history])
    print("processes", accelerator.num_processes, type(model.net_).__name__)
""")


def test_two_processes_train_like_one(tmp_path, sp500):
    """``torchrun --nproc_per_node 2`` on the CPU (gloo DDP): each process trains on its
    share of every batch of 33 (uneven: 17 + 16 windows, the last one 10 + 10), with
    sample weights and jitter augmentation, and the fit equals the one-process fit up to
    float rounding (no dropout: its masks are drawn per share)."""
    settings = dict(window=10, hidden_size=8, max_epochs=3, random_state=0, batch_size=33,
                    dropout=0.0, augment="jitter", lr_schedule="plateau")
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node", "2", str(script), str(tmp_path), repr(settings)],
        capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "processes 2 SkfinNet" in run.stdout
    first, second = np.load(tmp_path / "0.npy"), np.load(tmp_path / "1.npy")
    assert np.array_equal(first, second)                   # one model on every process
    r = 100 * np.log(sp500["Close"]).diff().dropna().iloc[-400:]
    X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    w = np.where(np.arange(len(X)) < 200, 0.5, 1.0)
    one = LSTMRegressor(**settings).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(first, one.predict(X), rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "loss0.npy"),
                               [h["train_loss"] for h in one.net_.history], rtol=1e-5)
