"""MultiTaskNet and the engine's auxiliary-loss hook, on real returns."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.callbacks import Callback
from torch.nn import functional as F

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.datasets import load_nasdaq, load_sp500
from skfin.engine import SkfinNet, TimeOrderedSplit, WindowDataset
from skfin.losses import PointLoss
from skfin.nets import OUTPUTS, MultiTaskNet

N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}


@pytest.fixture(scope="module")
def panel():
    """Daily S&P 500 and NASDAQ log returns (%), the last 800 days, as a float32 tensor."""
    close = pd.DataFrame({"sp500": load_sp500()["Close"], "nasdaq": load_nasdaq()["Close"]})
    r = (100 * np.log(close).diff()).dropna().to_numpy()[-800:]
    return torch.tensor(r, dtype=torch.float32)                          # [800, 2]


@pytest.fixture(scope="module")
def panel_batch(panel):
    """64 windows of 20 days of both assets and their next 3 days: [64, 20, 2], [64, 3, 2]."""
    ds = WindowDataset(panel, torch.arange(100, 164), window=20, targets=panel,
                       target_offsets=torch.arange(1, 4))
    return ds[torch.arange(64)]


@pytest.mark.parametrize("output", OUTPUTS)
def test_shapes_and_auxiliary_ranges(output, panel_batch):
    x, _ = panel_batch
    torch.manual_seed(0)
    net = MultiTaskNet(n_features=2, window=20, horizon=3, n_targets=2, output=output).eval()
    with torch.no_grad():
        out, parts = net(x), net.explain(x)
    assert out.shape == (64, 3, 2, N_PARAMS[output]) and torch.isfinite(out).all()
    assert parts["attention"].shape == (64, 20)
    torch.testing.assert_close(parts["attention"].sum(1), torch.ones(64))
    vol, conf = parts["volatility"], parts["confidence"]
    assert vol.shape == conf.shape == (64, 3, 2)
    assert (vol > 0).all() and ((conf > 0) & (conf < 1)).all()
    assert net._aux is None                                  # evaluation mode keeps nothing
    with torch.no_grad():
        for p in net.vol_head.parameters():
            p.normal_(0, 10)                                 # wild weights: vol stays > 0
        assert (net.explain(x)["volatility"] > 0).all()


def test_auxiliary_loss_is_the_documented_formula(panel_batch):
    x, y = panel_batch
    torch.manual_seed(0)
    net = MultiTaskNet(n_features=2, window=20, horizon=3, n_targets=2, dropout=0.0,
                       vol_weight=0.3, confidence_weight=0.7)
    point = net(x)[..., 0]
    aux = net.auxiliary_loss(y)
    parts = net.explain(x)
    right = (torch.sign(point) == torch.sign(y)).float()
    expected = (0.3 * F.mse_loss(parts["volatility"], y.abs())
                + 0.7 * F.binary_cross_entropy(parts["confidence"], right))
    torch.testing.assert_close(aux, expected, rtol=1e-5, atol=1e-6)
    assert 0 < right.mean() < 1                              # a real mix of right and wrong
    with pytest.raises(ValueError, match="forward pass in training mode"):
        net.auxiliary_loss(y)                                # consumed: each batch counts once


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def test_auxiliary_loss_trains_its_heads_and_shapes_the_trunk(panel_batch):
    x, y = panel_batch
    torch.manual_seed(0)
    net = MultiTaskNet(n_features=2, window=20, horizon=3, n_targets=2, dropout=0.0)
    main = PointLoss()(net(x), y)
    aux = net.auxiliary_loss(y)
    aux_heads = [*net.vol_head.parameters(), *net.confidence_head.parameters()]
    assert all(g is None for g in _grads(main, aux_heads))   # the main loss never reaches them
    assert all(g.abs().sum() > 0 for g in _grads(main + aux, aux_heads))
    trunk = list(net.rnn.parameters())
    moved = [not torch.equal(a, b) for a, b in zip(_grads(main, trunk), _grads(main + aux, trunk))]
    assert all(moved)


def test_zero_weights_leave_the_main_gradient_alone(panel_batch):
    x, y = panel_batch
    torch.manual_seed(0)
    net = MultiTaskNet(n_features=2, window=20, horizon=3, n_targets=2, output="gaussian",
                       vol_weight=0.0, confidence_weight=0.0)
    out = net(x)
    main = torch.distributions.Normal(out[..., 0], out[..., 1]).log_prob(y).mean().neg()
    aux = net.auxiliary_loss(y)
    params = [p for n, p in net.named_parameters() if not n.startswith(("vol_", "confidence_"))]
    for a, b in zip(_grads(main, params), _grads(main + aux, params)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


class _RecordGrads(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.norms.append({n: float(p.grad.abs().sum()) for n, p in named_parameters
                           if p.grad is not None})


def _engine(vol_weight, confidence_weight, **kwargs):
    return SkfinNet(MultiTaskNet, PointLoss(), module__n_features=2, module__window=20,
                    module__horizon=3, module__n_targets=2, module__vol_weight=vol_weight,
                    module__confidence_weight=confidence_weight, module__hidden_size=16,
                    optimizer=torch.optim.SGD, lr=1e-2, batch_size=64, seed=0, **kwargs)


def test_engine_adds_the_auxiliary_loss_on_training_batches_only(panel):
    ds = WindowDataset(panel, torch.arange(19, 797), window=20, targets=panel,
                       target_offsets=torch.arange(1, 4))
    recorder = _RecordGrads()
    net = _engine(0.5, 0.5, max_epochs=2, callbacks=[("grads", recorder)],
                  train_split=TimeOrderedSplit(0.25, gap=22)).fit(ds)
    # One training step reaches the auxiliary heads.
    first = recorder.norms[0]
    assert first["vol_head.weight"] > 0 and first["confidence_head.weight"] > 0
    # Validation scores the criterion alone: the recorded valid_loss is the plain MSE.
    valid = net.train_split(ds)[1]
    with torch.inference_mode():
        pred = net.forward(valid, training=False)
    truth = valid[torch.arange(len(valid))][1]
    assert net.history[-1, "valid_loss"] == pytest.approx(float(PointLoss()(pred, truth)), rel=1e-5)
    # get_loss: criterion + auxiliary in training mode; criterion alone otherwise.
    x, y = ds[torch.arange(64)]
    net.module_.train()
    out = net.infer(x)
    cached = net.module_._aux
    criterion = PointLoss()(out, y).item()
    train_loss = net.get_loss(out, y, training=True).item()
    net.module_._aux = cached
    assert train_loss == pytest.approx(criterion + net.module_.auxiliary_loss(y).item(), rel=1e-6)
    assert train_loss > criterion
    assert net.get_loss(out, y, training=False).item() == pytest.approx(criterion, rel=1e-6)
    pickle.loads(pickle.dumps(net))                          # no autograd graph is kept


def test_overfits_one_real_batch_with_the_auxiliary_loss(panel_batch, overfit):
    x, y = panel_batch
    torch.manual_seed(0)
    net = MultiTaskNet(n_features=2, window=20, horizon=3, n_targets=2, dropout=0.0,
                       hidden_size=64)
    first, last = overfit(net, (x,), y, auxiliary=True)
    assert last < 0.1 * first, (first, last)


def test_bad_weights_raise():
    with pytest.raises(ValueError, match="vol_weight >= 0"):
        MultiTaskNet(2, 20, 3, 2, vol_weight=-1.0)


def test_forecaster_on_the_two_asset_panel(panel):
    from skfin.forecasting import MultiTaskForecaster

    r = pd.DataFrame(panel.numpy().astype(np.float64), columns=["sp500", "nasdaq"])
    f = MultiTaskForecaster(window=20, hidden_size=8, max_epochs=2, output="quantile",
                            random_state=0).fit(r, fh=[1, 2])
    assert f.predict().shape == (2, 2)
    assert f.predict_interval(coverage=0.8).shape == (2, 4)
    x = f._last_window()[[0]][0]
    parts = f.net_.module_.explain(x)
    assert parts["volatility"].shape == (1, 2, 2)
