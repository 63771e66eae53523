"""The tensor contract, checked for every registered net and every head, on real windows."""

import inspect

import numpy as np
import pytest
import torch

from skfin.nets import OUTPUTS
from skfin.nets.heads import DEFAULT_QUANTILES, make_head
from skfin.registry import ARCHITECTURES

NETS = [pytest.param(a.net, id=a.name) for a in ARCHITECTURES]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("net_cls", NETS)
def test_forward_shape_finite_and_every_parameter_learns(net_cls, output, real_batch):
    torch.manual_seed(0)
    x, y = real_batch
    net = net_cls(n_features=2, window=20, horizon=3, n_targets=1, output=output)
    out = net(x)
    n_params = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2,
                "student_t": 3}[output]
    assert out.shape == (64, 3, 1, n_params)
    assert torch.isfinite(out).all()
    loss = out.sum()
    if hasattr(net, "auxiliary_loss"):        # auxiliary heads learn from their own loss
        loss = loss + net.auxiliary_loss(y.expand(-1, 3, -1))
    loss.backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad, f"parameters without gradient: {no_grad}"


@pytest.mark.parametrize("net_cls", NETS)
def test_overfits_one_real_batch(net_cls, real_batch, overfit):
    """Loss on one real batch of 64 windows falls by more than 90% within 400 Adam steps.

    The loop stops as soon as the target is met (the assertion is unchanged), which keeps
    the deeper nets' runs short.
    """
    torch.manual_seed(0)
    x, y = real_batch
    wide = {"dropout": 0.0, "hidden_size": 64, "channels": 64}   # where the net has them
    accepted = inspect.signature(net_cls).parameters
    net = net_cls(n_features=2, window=20, horizon=1, n_targets=1,
                  **{k: v for k, v in wide.items() if k in accepted})
    first, last = overfit(net, (x,), y)
    assert last < 0.1 * first, (first, last)


def test_quantile_head_never_crosses(real_batch):
    torch.manual_seed(0)
    head = make_head("quantile", in_features=2 * 20, horizon=5, n_targets=1)
    with torch.no_grad():
        for p in head.parameters():
            p.normal_(0, 10)                      # wild weights still give ordered quantiles
    q = head(real_batch[0].flatten(1))
    assert (q.diff(dim=-1) >= 0).all()


def test_distribution_heads_constraints(real_batch):
    z = real_batch[0].flatten(1) * 50
    gauss = make_head("gaussian", z.shape[1], 2, 1)(z)
    student = make_head("student_t", z.shape[1], 2, 1)(z)
    assert (gauss[..., 1] > 0).all()
    assert (student[..., 1] > 0).all() and (student[..., 2] > 2).all()


def test_head_quantiles_match_scipy():
    from scipy import stats

    params = torch.tensor([0.3, 2.0, 4.0]).view(1, 1, 1, 3)
    levels = [0.05, 0.5, 0.975]
    t = make_head("student_t", 1, 1, 1).quantiles(params, levels).flatten().numpy()
    np.testing.assert_allclose(t, stats.t.ppf(levels, df=4, loc=0.3, scale=2.0), rtol=1e-5)
    g = make_head("gaussian", 1, 1, 1).quantiles(params[..., :2], levels).flatten().numpy()
    np.testing.assert_allclose(g, stats.norm.ppf(levels, loc=0.3, scale=2.0), rtol=1e-5)


def test_quantile_head_rejects_levels_outside_learned_range():
    head = make_head("quantile", 4, 1, 1, quantiles=(0.05, 0.5, 0.95))
    levels = [(1 - 0.95) / 2, 0.5, (1 + 0.95) / 2]       # 0.025000000000000022, 0.975
    with pytest.raises(ValueError, match=r"level\(s\) 0\.025, 0\.975 fall outside the "
                                         r"learned range \[0\.05, 0\.95\]"):
        head.quantiles(torch.zeros(1, 1, 1, 3), levels)


def test_default_quantile_head_serves_95_percent_intervals():
    head = make_head("quantile", 4, 1, 1)
    assert len(DEFAULT_QUANTILES) == head.n_params
    assert {0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975} <= set(DEFAULT_QUANTILES)
    q = head.quantiles(head(torch.zeros(2, 4)), [(1 - 0.95) / 2, (1 + 0.95) / 2])
    assert q.shape == (2, 1, 1, 2) and (q[..., 0] < q[..., 1]).all()


def test_lstm_initialisation():
    from skfin.nets import LSTM

    net = LSTM(n_features=3, window=10, horizon=1, n_targets=1, hidden_size=16)
    h = 16
    assert torch.all(net.rnn.bias_ih_l0[h:2 * h] == 1) and torch.all(net.rnn.bias_hh_l0 == 0)
    for gate in net.rnn.weight_hh_l0.detach().chunk(4):
        torch.testing.assert_close(gate @ gate.T, torch.eye(h), atol=1e-5, rtol=0)


def test_attention_explain_sums_to_one(real_batch):
    from skfin.nets import GRU

    net = GRU(n_features=2, window=20, horizon=1, n_targets=1, attention=True)
    weights = net.explain(real_batch[0])["attention"]
    assert weights.shape == (64, 20)
    torch.testing.assert_close(weights.sum(1), torch.ones(64))
