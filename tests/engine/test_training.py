"""Engine options reached through the faces: LR schedules, mixed precision, parameters."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skfin.engine import WindowDataset
from skfin.forecasting import GRUForecaster, LSTMForecaster
from skfin.regressors import LSTMRegressor, MLPRegressor
from skfin.registry import ARCHITECTURES

FAST = dict(window=10, hidden_size=8, random_state=0)


def _expected_lrs(schedule, lr, epochs, losses, patience=10):
    """The learning rate of each epoch and after the last one, from the documented rules."""
    import math

    import torch

    if schedule == "cosine":                         # linear warm-up over 5% of epochs, cosine to 0
        warmup = max(1, round(0.05 * epochs))
        progress = [min((e - warmup) / max(1, epochs - warmup), 1) for e in range(epochs + 1)]
        return [lr * ((e + 1) / warmup if e < warmup else 0.5 * (1 + math.cos(math.pi * p)))
                for e, p in enumerate(progress)]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    if schedule == "onecycle":                       # torch's one-cycle over epochs + 1 steps
        policy = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs + 1)
        steps = [None] * epochs
    else:                                            # halve after > patience // 3 bad epochs
        policy = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.5, patience=max(1, patience // 3))
        steps = losses
    lrs = []
    for loss in steps:
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()                                 # (no gradients: nothing moves)
        policy.step() if loss is None else policy.step(loss)
    return lrs + [optimizer.param_groups[0]["lr"]]


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "plateau"])
def test_lr_schedules_set_the_documented_learning_rate(sp500_xy, schedule):
    X, y = sp500_xy
    model = MLPRegressor(**FAST, max_epochs=8, patience=None, lr_schedule=schedule, lr=1e-2)
    model.fit(X.iloc[-800:], y.iloc[-800:])
    history = model.net_.history
    expected = _expected_lrs(schedule, 1e-2, 8, history[:, "valid_loss"])
    # each epoch's rate (recorded by skorch's LRScheduler), then the rate after the last one
    got = history[:, "event_lr"] + [model.net_.optimizer_.param_groups[0]["lr"]]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    assert min(expected) < 0.6 * 1e-2                # every schedule lowered the rate here


def test_update_fine_tunes_at_the_base_lr_without_schedule_or_early_stopping(sp500_returns):
    y = sp500_returns.iloc[-600:]
    f = LSTMForecaster(**FAST, max_epochs=4, lr=1e-2, lr_schedule="cosine", update_epochs=2)
    f.fit(y.iloc[:500], fh=[1])
    net = f.net_
    assert net.optimizer_.param_groups[0]["lr"] == 0.0            # where the cosine ended
    assert {"early_stopping", "lr_schedule"} <= {name for name, _ in net.callbacks_}
    f.update(y.iloc[500:550])
    assert f.net_ is net and net.train_split is None and net.lr == 1e-2
    assert all(group["lr"] == 1e-2 for group in net.optimizer_.param_groups)
    assert not {"early_stopping", "lr_schedule"} & {name for name, _ in net.callbacks_}
    assert all(cb is not None for _, cb in net.callbacks_)
    assert len(net.history) == 6 and not {"valid_loss", "event_lr"} & set(net.history[-1])
    f.update(y.iloc[550:])                                        # and again
    assert len(net.history) == 8 and net.optimizer_.param_groups[0]["lr"] == 1e-2


def test_training_batches_are_those_of_a_seeded_data_loader(sp500_returns):
    """The engine gathers each shuffled batch at once, in the DataLoader's order."""
    import torch

    from skfin.engine import SkfinNet
    from skfin.engine.data import batch_loader

    series = torch.tensor(sp500_returns.to_numpy(np.float32)[-500:, None])
    data = WindowDataset(series, torch.arange(9, 499), 10, series, torch.arange(1, 2))
    net = SkfinNet(torch.nn.Linear, torch.nn.MSELoss, batch_size=64)
    torch.manual_seed(0)
    batches = net.get_iterator(data, training=True)
    got = [[x for x, _ in batches] for _ in range(3)]                # three epochs
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(int(torch.randint(2**62, ()).item()))
    loader = batch_loader(data, 64, shuffle=True, generator=generator)
    expected = [[x for x, _ in loader] for _ in range(3)]
    assert len(batches) == len(loader) == 8
    for epoch, reference in zip(got, expected):
        assert len(epoch) == len(reference)
        assert all(torch.equal(a, b) for a, b in zip(epoch, reference))
    assert not torch.equal(got[0][0], got[1][0])                      # reshuffled each epoch


def test_mixed_precision_off_cuda_warns_and_trains_in_float32(sp500_xy):
    X, y = sp500_xy
    if any(a.startswith("cuda") for a in __import__("skfin").engine.available_devices()):
        pytest.skip("this check is for machines without CUDA")
    with pytest.warns(UserWarning, match="mixed_precision=True needs CUDA"):
        model = MLPRegressor(**FAST, max_epochs=1, mixed_precision=True, device="cpu")
        model.fit(X.iloc[-300:], y.iloc[-300:])
    assert model.predict(X.iloc[-5:]).dtype == np.float64


def test_cpu_steps_all_parameters_at_once_with_the_same_result(sp500_xy, monkeypatch):
    """AdamW's multi-tensor (foreach) step on CPU: faster, and the same weights to the bit."""
    import torch

    X, y = sp500_xy
    X, y = X.iloc[-400:], y.iloc[-400:]
    fast = LSTMRegressor(**FAST, max_epochs=3, device="cpu").fit(X, y)
    assert fast.net_.optimizer_.defaults["foreach"] is True

    class OneTensorAtATime(torch.optim.AdamW):
        def __init__(self, params, **kwargs):
            super().__init__(params, **{**kwargs, "foreach": False})

    monkeypatch.setattr(torch.optim, "AdamW", OneTensorAtATime)
    slow = LSTMRegressor(**FAST, max_epochs=3, device="cpu").fit(X, y)
    assert slow.net_.optimizer_.defaults["foreach"] is False
    for (name, a), (_, b) in zip(fast.net_.module_.state_dict().items(),
                                 slow.net_.module_.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_same_hyperparameter_names_on_both_faces(arch):
    reg = set(arch.regressor().get_params())
    fc = set(arch.forecaster().get_params())
    # missing: NaN policy of the sklearn face only (the forecaster refuses NaN in y).
    # warm_start: sklearn's switch for fit to continue the fitted net; the sktime face
    # trains incrementally through update (update_epochs), so it needs none.
    assert reg - fc == {"missing", "warm_start"}
    # future_X: which columns of X are known ahead; sklearn rows are already aligned with
    # their targets, so a known-future value is simply a column of the row. meta: how
    # sktime's pretrain learns from a panel (the sklearn face has no pretrain).
    # calendar (Lag-Llama's): the forecaster builds the calendar of the days ahead from
    # its cutoff; a sklearn row has no days ahead, and its own date's calendar is a
    # column of X (X.join(skfin.calendars.calendar_features(X.index))).
    own = {"calendar"} if arch.name == "lag_llama" else set()
    assert fc - reg == {"update_epochs", "standardize", "future_X", "meta", *own}


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMForecaster])
def test_clone_and_set_params_round_trip(cls):
    est = cls(hidden_size=12, attention=True, output="student_t")
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    twin.set_params(hidden_size=24)
    assert twin.hidden_size == 24 and est.hidden_size == 12


def test_forecaster_grid_search(sp500_returns):
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    y = sp500_returns.iloc[-400:]
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=300, step_length=50)
    search = ForecastingGridSearchCV(GRUForecaster(**FAST, max_epochs=2), cv=cv,
                                     param_grid={"hidden_size": [4, 8]})
    search.fit(y, fh=[1, 2])
    # hidden_size reached the nets: seeded fits of the two sizes score differently, the
    # best is the lowest error, and the refitted net has the chosen width
    scores = search.cv_results_.set_index(
        search.cv_results_["params"].map(lambda p: p["hidden_size"]))
    column = [c for c in scores.columns if c.startswith("mean_test_")][0]
    assert scores.loc[4, column] != scores.loc[8, column]
    best = int(scores[column].idxmin())
    assert search.best_params_["hidden_size"] == best
    module = search.best_forecaster_.net_.module_
    assert module.rnn.weight_hh_l0.shape == (3 * best, best)
    # and the search predicts what that forecaster, refitted on all of y, predicts
    refit = GRUForecaster(**{**FAST, "hidden_size": best}, max_epochs=2).fit(y, fh=[1, 2])
    got, want = search.predict(), refit.predict()
    pd.testing.assert_index_equal(got.index, want.index)
    np.testing.assert_allclose(np.asarray(got).ravel(), np.asarray(want).ravel(), rtol=1e-6)


LOSSES = [("point", "mse"), ("point", "mae"), ("point", "huber"), ("point", "directional"),
          ("point", "sharpe"), ("quantile", None), ("gaussian", None), ("student_t", None),
          ("quantile", "crps"), ("gaussian", "crps"), ("student_t", "crps")]


@pytest.mark.parametrize("output, loss", LOSSES, ids=lambda v: str(v))
def test_zero_weight_samples_get_no_gradient_and_leave_the_loss(sp500_xy, output, loss):
    """On a real batch, weight 0 is the same loss (and gradient) as leaving samples out."""
    import torch

    X, y = sp500_xy
    X, y = X.iloc[-400:], y.iloc[-400:]
    model = MLPRegressor(**FAST, max_epochs=1, output=output, loss=loss).fit(X, y)
    weight = np.ones(len(y), dtype=np.float32)
    weight[::3] = 0.0
    data = WindowDataset(torch.tensor(X.to_numpy(np.float32)), torch.arange(len(X)),
                         model.window_, torch.tensor(y.to_numpy(np.float32)[:, None, None]),
                         weights=torch.tensor(weight))
    x, target = data[torch.arange(len(data))]
    assert set(x) == {"x", "sample_weight"}
    net = model.net_
    y_pred = net.infer(x).detach().requires_grad_(True)          # sample_weight not passed on
    weighted = net.get_loss(y_pred, target, X=x)
    weighted.backward()
    kept = torch.as_tensor(weight > 0)
    left_out = net.get_loss(y_pred[kept], target[kept])          # unweighted, fewer samples
    torch.testing.assert_close(weighted, left_out, rtol=1e-5, atol=1e-7)
    assert (y_pred.grad[~kept] == 0).all()
    assert (y_pred.grad[kept].abs().sum(dim=(1, 2, 3)) > 0).float().mean() > 0.9


@pytest.mark.parametrize("schedule, epochs, patience, valid_fraction", [
    ("cosine", 30, None, 0.2),          # 2 warm-up epochs: round(5% of 30)
    ("onecycle", 6, None, 0.0),
    ("plateau", 12, 4, 0.0),            # no validation tail: plateau of the training loss
    ("plateau", 12, 7, 0.2),            # patience 7 // 3 = 2 bad epochs before halving
])
def test_lr_schedules_follow_the_formula_on_the_forecaster_face(sp500_returns, schedule, epochs,
                                                                patience, valid_fraction):
    from skfin.forecasting import MLPForecaster

    f = MLPForecaster(**FAST, max_epochs=epochs, patience=patience, lr_schedule=schedule,
                      lr=1e-2, valid_fraction=valid_fraction)
    f.fit(sp500_returns.iloc[-800:], fh=[1])
    history = f.net_.history
    monitor = "valid_loss" if valid_fraction else "train_loss"
    assert (monitor == "valid_loss") == ("valid_loss" in history[-1])
    expected = _expected_lrs(schedule, 1e-2, epochs, history[:, monitor],
                             patience=patience or 10)
    got = history[:, "event_lr"] + [f.net_.optimizer_.param_groups[0]["lr"]]
    np.testing.assert_allclose(got, expected[:len(got)], rtol=1e-6, atol=1e-12)
    if schedule == "plateau":
        assert len(set(got)) > 1                     # the rate was halved in this run
    if schedule == "cosine":
        assert got[:3] == pytest.approx([5e-3, 1e-2, 1e-2])   # the warm-up, then the peak
