"""Gradient accumulation (``accumulate=``) and resumable checkpoints (``checkpoint_dir=``)."""

import os
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, GradientNormClipping

from skfin.engine import NeuralEstimatorMixin, SkfinNet, WindowDataset, read_checkpoint
from skfin.engine import callbacks as engine_callbacks
from skfin.forecasting import GRUForecaster
from skfin.losses import loss_for
from skfin.regressors import MLPRegressor


class _Linear(torch.nn.Module):
    """A linear forecaster on the tensor contract: [B, W, F] -> [B, H, T, 1]."""

    def __init__(self, n_features, window, horizon, n_targets):
        super().__init__()
        self.shape = (horizon, n_targets, 1)
        self.linear = torch.nn.Linear(window * n_features, horizon * n_targets)

    def forward(self, x):                                   # x: [B, W, F]
        return self.linear(x.flatten(1)).view(len(x), *self.shape)   # [B, H, T, 1]


@pytest.fixture(scope="module")
def linear_data(sp500_xy):
    """Windows of 10 days of S&P 500 return and range; target: tomorrow's |return|; weights:
    a year's recent days counted double (real trading days, a real target)."""
    X, y = sp500_xy
    X, y = X.iloc[-1003:], y.iloc[-1003:]
    features = torch.tensor(((X - X.mean()) / X.std()).to_numpy(), dtype=torch.float32)
    target = torch.tensor(y.abs().to_numpy(), dtype=torch.float32).view(-1, 1, 1)
    weights = torch.ones(len(X))
    weights[-250:] = 2.0
    return features, target, weights


@pytest.mark.parametrize("weighted", [False, True])
def test_accumulating_k_batches_of_b_trains_like_batches_of_k_times_b(linear_data, weighted):
    """``batch_size=b, accumulate=k`` takes the same steps as ``batch_size=k*b``.

    Exact by construction, not by luck of the shuffle: the engine shuffles once per epoch
    with a generator whose draws do not depend on the batch size, and cuts the permutation
    into batches in order, so the k consecutive batches of a group hold exactly the samples
    of the corresponding large batch (the last group and the last large batch are both the
    remainder: 994 windows = 15 x 64 + 34 = 62 x 16 + 2). The gradient of a group is the
    size-weighted (or sample-weight-weighted) mean of its batches' gradients, that of the
    large batch's mean loss; the two differ only by float rounding, and clipping (here
    active: norm 0.05) acts on the same accumulated gradient. Three epochs of AdamW.
    """
    features, target, weights = linear_data
    ds = WindowDataset(features, torch.arange(9, len(features)), 10, target,
                       weights=weights if weighted else None)

    def fit(batch_size, accumulate):
        net = SkfinNet(_Linear, loss_for("point"), optimizer=torch.optim.AdamW, lr=1e-2,
                       max_epochs=3, batch_size=batch_size, accumulate=accumulate,
                       train_split=None, seed=0,
                       callbacks=[("clip", GradientNormClipping(0.05))],
                       module__n_features=2, module__window=10, module__horizon=1,
                       module__n_targets=1)
        return net.fit(ds)

    small, large = fit(16, 4), fit(64, 1)
    for (name, a), b in zip(small.module_.state_dict().items(),
                            large.module_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert small.history[-1, "train_batch_count"] == 63
    assert large.history[-1, "train_batch_count"] == 16
    # and accumulation did something: one step per batch of 16 ends elsewhere
    plain = fit(16, 1)
    assert not torch.allclose(plain.module_.linear.weight, large.module_.linear.weight, atol=1e-4)


# -- checkpoints ---------------------------------------------------------------------------
class _Interrupt(Callback):
    """Ctrl-C at the end of epoch ``at`` (after the checkpoint is written)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.at:
            raise KeyboardInterrupt


@pytest.fixture
def interrupt_at(monkeypatch):
    """``interrupt_at(k)``: faces built from now on stop at the end of epoch ``k``."""
    build = NeuralEstimatorMixin._build_engine

    def arm(at):
        def patched(self, **kwargs):
            net = build(self, **kwargs)
            net.callbacks = [*net.callbacks, ("interrupt", _Interrupt(at))]
            return net
        monkeypatch.setattr(NeuralEstimatorMixin, "_build_engine", patched)

    yield arm
    monkeypatch.setattr(NeuralEstimatorMixin, "_build_engine", build)


@pytest.fixture(scope="module")
def xy(sp500_xy):
    X, y = sp500_xy
    return X.iloc[-500:], y.iloc[-500:]


# dropout (torch RNG), an LR schedule, early stopping with patience, augmentation and
# shuffling: every piece of state that a resumed fit must restore
PARAMS = dict(window=10, hidden_size=16, dropout=0.2, max_epochs=6, patience=4,
              lr_schedule="cosine", lr=3e-3, batch_size=32, augment=["jitter", "mixup"],
              random_state=0)


def _weights(model):
    return [t.clone() for t in model.net_.module_.state_dict().values()]


def _same_weights(a, b):
    return len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b))


def test_interrupted_fit_resumes_to_the_uninterrupted_weights(xy, tmp_path, interrupt_at):
    X, y = xy
    full = MLPRegressor(**PARAMS).fit(X, y)
    interrupt_at(2)
    cut = MLPRegressor(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    assert len(cut.net_.history) == 2                                # stopped by Ctrl-C
    state = read_checkpoint(tmp_path / "last.safetensors")
    assert state["epoch"] == 2 and not state["finished"]
    assert set(state["rng"]) == {"torch", "shuffle", "augment"}
    interrupt_at(None)
    resumed = MLPRegressor(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    assert _same_weights(_weights(resumed), _weights(full))
    np.testing.assert_array_equal(resumed.predict(X), full.predict(X))
    np.testing.assert_array_equal(resumed.predict_interval(X, coverage=0.9),
                                  full.predict_interval(X, coverage=0.9))
    assert resumed.net_.history[:, "valid_loss"] == full.net_.history[:, "valid_loss"]
    assert resumed.net_.history[:, "event_lr"] == full.net_.history[:, "event_lr"]
    assert read_checkpoint(tmp_path / "last.safetensors")["finished"]
    best = read_checkpoint(tmp_path / "best.safetensors")
    losses = full.net_.history[:, "valid_loss"]
    assert best["epoch"] == int(np.argmin(losses)) + 1 and best["score"] == min(losses)


def test_the_sktime_face_resumes_too(sp500_returns, tmp_path, interrupt_at):
    y = sp500_returns.iloc[-400:].reset_index(drop=True)
    params = dict(window=10, hidden_size=8, max_epochs=4, patience=None, random_state=0,
                  accumulate=2, augment="scaling")
    full = GRUForecaster(**params).fit(y, fh=[1, 2])
    interrupt_at(3)
    GRUForecaster(**params, checkpoint_dir=tmp_path).fit(y, fh=[1, 2])
    interrupt_at(None)
    resumed = GRUForecaster(**params, checkpoint_dir=tmp_path).fit(y, fh=[1, 2])
    assert _same_weights(_weights(resumed), _weights(full))
    np.testing.assert_array_equal(resumed.predict().to_numpy(), full.predict().to_numpy())


def test_another_configuration_or_other_data_warns_and_starts_afresh(xy, tmp_path,
                                                                    interrupt_at):
    X, y = xy
    interrupt_at(2)
    MLPRegressor(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    interrupt_at(None)
    other = {**PARAMS, "lr": 1e-3}
    with pytest.warns(UserWarning, match="another configuration, so it is not resumed"):
        changed = MLPRegressor(**other, checkpoint_dir=tmp_path).fit(X, y)
    assert _same_weights(_weights(changed), _weights(MLPRegressor(**other).fit(X, y)))
    assert read_checkpoint(tmp_path / "last.safetensors")["finished"]   # overwritten

    interrupt_at(2)
    MLPRegressor(**PARAMS, checkpoint_dir=tmp_path).fit(X, y)
    interrupt_at(None)
    with pytest.warns(UserWarning, match="other training data, so it is not resumed"):
        moved = MLPRegressor(**PARAMS, checkpoint_dir=tmp_path).fit(X.iloc[1:], y.iloc[1:])
    assert _same_weights(_weights(moved), _weights(MLPRegressor(**PARAMS).fit(X.iloc[1:],
                                                                             y.iloc[1:])))


def test_a_finished_fit_is_not_resumed_and_max_epochs_may_grow(xy, tmp_path, interrupt_at):
    X, y = xy
    params = {**PARAMS, "lr_schedule": None, "patience": None, "max_epochs": 3}
    MLPRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # no warning: a new fit
        again = MLPRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert len(again.net_.history) == 3
    assert _same_weights(_weights(again), _weights(MLPRegressor(**params).fit(X, y)))
    # without a schedule spanning them, max_epochs is not part of the configuration: an
    # interrupted 3-epoch fit resumed with max_epochs=4 is the 4-epoch fit
    interrupt_at(2)
    MLPRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    interrupt_at(None)
    longer = {**params, "max_epochs": 4}
    resumed = MLPRegressor(**longer, checkpoint_dir=tmp_path).fit(X, y)
    assert _same_weights(_weights(resumed), _weights(MLPRegressor(**longer).fit(X, y)))


def test_a_failed_write_leaves_the_previous_checkpoint_whole(xy, tmp_path, monkeypatch):
    X, y = xy
    params = {**PARAMS, "max_epochs": 2}
    MLPRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(engine_callbacks.os, "fsync", crash)         # mid-write, after data
    with pytest.raises(OSError, match="disk full"):
        MLPRegressor(**{**params, "lr": 1e-2}, checkpoint_dir=tmp_path).fit(X, y)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before                                           # same files, no temp left
    assert read_checkpoint(tmp_path / "last.safetensors")["epoch"] == 2


def test_checkpoint_files_are_safetensors_without_pickle(xy, tmp_path):
    from safetensors import safe_open

    X, y = xy
    MLPRegressor(**{**PARAMS, "max_epochs": 1}, checkpoint_dir=tmp_path).fit(X, y)
    assert sorted(os.listdir(tmp_path)) == ["best.safetensors", "last.safetensors"]
    with safe_open(str(tmp_path / "last.safetensors"), framework="pt") as handle:
        assert any(k.startswith("last/module/") for k in handle.keys())
