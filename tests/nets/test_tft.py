"""Temporal Fusion Transformer: variable selection, causal attention, heads, overfitting.

All inputs are real: a two-asset panel (S&P 500 and NASDAQ) with daily features, calendar
features of the forecast days as known-future covariates, and per-asset statics.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.datasets import load_nasdaq, load_sp500
from skfin.nets import OUTPUTS, TFT
from skfin.nets.heads import make_head
from skfin.nets.tft import GatedResidualNetwork, InterpretableMultiHeadAttention

W, H = 20, 5
N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}


def _asset(frame: pd.DataFrame, ends: np.ndarray, nasdaq: float):
    r = 100 * np.log(frame["Close"]).diff()
    feats = pd.DataFrame({"r": r, "range": 100 * (frame["High"] - frame["Low"]) / frame["Close"],
                          "intraday": 100 * np.log(frame["Close"] / frame["Open"])}).iloc[1:]
    feats = (feats - feats.mean()) / feats.std()
    days = feats.index
    calendar = np.column_stack([(days.dayofweek - 2) / 1.4, (days.month - 6.5) / 3.5])
    values, target = feats.to_numpy(), (r.iloc[1:] / r.std()).to_numpy()
    x = np.stack([values[e - W + 1:e + 1] for e in ends])                 # [B, W, 3]
    x_future = np.stack([calendar[e + 1:e + 1 + H] for e in ends])         # [B, H, 2]
    y = np.stack([target[e + 1:e + 1 + H] for e in ends])[..., None]       # [B, H, 1]
    x_static = np.tile([nasdaq, r.std()], (len(ends), 1))                  # [B, 2]
    return x, x_future, x_static, y


@pytest.fixture(scope="module")
def panel():
    """64 real windows: 32 from the S&P 500 and 32 from the NASDAQ, same dates."""
    ends = np.arange(3000, 3032)
    parts = [_asset(load_sp500(), ends, 0.0), _asset(load_nasdaq(), ends, 1.0)]
    x, x_future, x_static, y = (torch.tensor(np.concatenate(p), dtype=torch.float32)
                                for p in zip(*parts))
    return x, x_future, x_static, y


def _net(n_future=2, n_static=2, **kwargs):
    torch.manual_seed(0)
    return TFT(n_features=3, window=W, horizon=H, n_targets=1, n_future=n_future,
               n_static=n_static, **kwargs)


def _inputs(panel, future: bool, static: bool):
    x, x_future, x_static, _ = panel
    return x, (x_future if future else None), (x_static if static else None)


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("future", [False, True])
@pytest.mark.parametrize("output", OUTPUTS)
def test_every_head_shape_with_and_without_covariates(panel, output, future, static):
    net = _net(n_future=2 * future, n_static=2 * static, output=output)
    out = net(*_inputs(panel, future, static))
    assert out.shape == (64, H, 1, N_PARAMS[output])
    assert torch.isfinite(out).all()
    out.sum().backward()
    no_grad = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad, f"parameters without gradient: {no_grad}"


def test_quantile_output_never_crosses_at_any_step(panel):
    net = _net(output="quantile")
    with torch.no_grad():
        for p in net.head.parameters():
            p.normal_(0, 10)                                   # wild head weights
        q = net(*_inputs(panel, True, True))
    assert (q.diff(dim=-1) >= 0).all()


@pytest.mark.parametrize(("future", "static"), [(True, True), (False, False)])
def test_selection_weights_sum_to_one_per_step(panel, future, static):
    net = _net(n_future=2 * future, n_static=2 * static).eval()
    with torch.no_grad():
        parts = net.explain(*_inputs(panel, future, static))
    assert parts["past_weights"].shape == (64, W, 3)
    expected = {"past_weights", "attention"}
    expected |= {"future_weights", "static_weights"} if future else set()
    assert set(parts) == expected
    for name in expected - {"attention"}:
        weights = parts[name]
        assert (weights >= 0).all(), name
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    if future:
        assert parts["future_weights"].shape == (64, H, 2)
        assert parts["static_weights"].shape == (64, 2)
    # the weights depend on the inputs: not a constant softmax
    assert parts["past_weights"].std(dim=(0, 1)).max() > 1e-3
    attention = parts["attention"]
    assert attention.shape == (64, H, W + H)
    torch.testing.assert_close(attention.sum(-1), torch.ones(64, H))


def test_attention_is_causal_over_the_forecast_steps(panel):
    net = _net().eval()
    x, x_future, x_static = _inputs(panel, True, True)
    with torch.no_grad():
        attention = net.explain(x, x_future, x_static)["attention"]   # [B, H, W + H]
        for step in range(H):
            assert (attention[:, step, W + step + 1:] == 0).all()     # nothing after the step
            assert attention[:, step, W + step].min() > 0             # attends to itself
        base = net(x, x_future, x_static)
        for p in range(1, H):
            bumped = x_future.clone()
            bumped[:, p] += 3.0                               # change the calendar at step p
            parts = net.explain(x, bumped, x_static)
            out = net(x, bumped, x_static)
            torch.testing.assert_close(out[:, :p], base[:, :p], rtol=0, atol=1e-6)
            torch.testing.assert_close(parts["attention"][:, :p], attention[:, :p],
                                       rtol=0, atol=1e-6)
            assert (out[:, p:] - base[:, p:]).abs().max() > 1e-4    # and it does reach step p


def test_past_and_static_inputs_reach_every_step(panel):
    net = _net().eval()
    x, x_future, x_static = _inputs(panel, True, True)
    with torch.no_grad():
        base = net(x, x_future, x_static)
        moved_past = net(x.flip(0), x_future, x_static)           # another asset's window
        moved_static = net(x, x_future, x_static.flip(0))         # the other asset's statics
    assert ((moved_past - base).abs().amax(dim=(2, 3)) > 1e-6).all()
    assert ((moved_static - base).abs().amax(dim=(2, 3)) > 1e-6).all()


@pytest.mark.parametrize(("future", "static"), [(True, True), (True, False), (False, True)])
def test_overfits_one_real_batch(panel, future, static, overfit):
    """Loss on 64 real windows (5 steps each) falls by more than 90% within 400 Adam steps.

    (Without covariates the registry-wide test in test_contract.py covers it.)
    """
    y = panel[3]
    net = _net(n_future=2 * future, n_static=2 * static, hidden_size=32, dropout=0.0)
    inputs = _inputs(panel, future, static)
    first, last = overfit(net, inputs, y)
    assert last < 0.1 * first, (first, last)


def test_interpretable_attention_shares_one_value_projection(panel):
    torch.manual_seed(0)
    attn = InterpretableMultiHeadAttention(16, n_heads=4, dropout=0.0)
    assert attn.value.weight.shape == (4, 16)                  # ONE value projection, d_attn = 4
    assert attn.query.weight.shape == attn.key.weight.shape == (16, 16)   # 4 heads x 4
    h = torch.nn.Linear(3, 16)(panel[0])                       # [B, W, 16] from real windows
    out, weights = attn(h[:, -3:], h)
    # heads averaged: the output is W_H (mean_h A_h) V, the averaged weights applied once
    expected = attn.out(weights @ attn.value(h))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_grn_is_layer_norm_of_skip_plus_gated_branch(panel):
    torch.manual_seed(0)
    grn = GatedResidualNetwork(3, 8, 3, dropout=0.0).eval()
    a = panel[0][:, -1]                                        # [B, 3] real features
    with torch.no_grad():
        eta2 = torch.nn.functional.elu(grn.fc2(a))
        eta1 = grn.fc1(eta2)
        values, gates = grn.glu.proj(eta1).chunk(2, dim=-1)
        expected = torch.nn.functional.layer_norm(a + values * torch.sigmoid(gates), (3,))
        torch.testing.assert_close(grn(a), expected * grn.norm.weight + grn.norm.bias)


def test_per_step_head_applies_one_projection_to_every_step(panel):
    torch.manual_seed(0)
    head = make_head("quantile", 3, horizon=H, n_targets=2, per_step=True)
    z = panel[0][:, :H]                                        # [B, H, 3]: one vector per step
    q = head(z)
    assert q.shape == (64, H, 2, len(DEFAULT_QUANTILES)) and (q.diff(dim=-1) > 0).all()
    same = head(z[:, :1].expand(-1, H, -1))                    # same input at every step
    torch.testing.assert_close(same, same[:, :1].expand_as(same))
    # the initial quantiles are the standard-normal ones, as for the joint head
    q = len(DEFAULT_QUANTILES)
    torch.testing.assert_close(head.proj.bias.view(2, q), make_head(
        "quantile", 3, horizon=H, n_targets=2).proj.bias.view(H * 2, q)[:2])


def test_missing_or_unexpected_covariates_are_named(panel):
    x, x_future, x_static = _inputs(panel, True, True)
    with pytest.raises(ValueError, match=r"n_future=2: pass x_future of shape \[batch, 5, 2\]"):
        _net()(x, x_static=x_static)
    with pytest.raises(ValueError, match=r"n_static=2: pass x_static"):
        _net()(x, x_future)
    with pytest.raises(ValueError, match=r"n_future=0 and takes no x_future; rebuild it with "
                                         r"n_future=2"):
        _net(n_future=0)(x, x_future, x_static)
    with pytest.raises(ValueError, match=r"x_future has 1 variables"):
        _net()(x, x_future[..., :1], x_static)
