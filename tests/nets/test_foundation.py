"""Foundation-style decoders: LagLlama (lags, rotary, sample paths) and PatchDecoder, on real data.

"Every parameter learns", the heads and overfitting with two real features run for both nets
in tests/nets/test_contract.py, which is parametrized over the registry.
"""

import numpy as np
import pytest
import torch
from scipy import stats

from skfin.datasets import load_sp500
from skfin.engine.sampling import with_sample_paths
from skfin.forecasting import LagLlamaForecaster
from skfin.nets import LagLlama, PatchDecoder
from skfin.nets.foundation import FINANCE_LAGS, lag_features, rotary_embedding, window_scale
from skfin.regressors import LagLlamaRegressor


@pytest.fixture(scope="module")
def returns():
    """S&P 500 daily log returns in percent, as float64 numpy."""
    return 100 * np.diff(np.log(load_sp500()["Close"].to_numpy()))


def _windows(r, window, n, start=3000, step=1):
    """``n`` real windows ``[n, window, 1]`` of ``r`` starting at ``start``, ``step`` apart."""
    rows = [r[start + i * step: start + i * step + window] for i in range(n)]
    return torch.tensor(np.stack(rows)[..., None], dtype=torch.float32)


# -- causality ----------------------------------------------------------------------------
def test_lag_llama_is_causal_over_tokens(returns):
    torch.manual_seed(0)
    x = _windows(returns, 32, 4)
    net = LagLlama(1, 32, 3, 1, scaling=None).eval()
    t = 17
    moved = x.clone()
    moved[:, t] += 5.0
    before, after = net.features(x), net.features(moved)           # [B, W, d]
    torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-6)
    assert (after[:, t:] - before[:, t:]).abs().amax(dim=-1).min() > 1e-4  # t and after move


def test_patch_decoder_is_causal_over_patches(returns):
    torch.manual_seed(0)
    x = _windows(returns, 30, 4)                                     # 2 padded steps, 4 patches
    net = PatchDecoder(1, 30, 3, 1, patch_len=8, scaling=None).eval()
    moved = x.clone()
    moved[:, 20] += 5.0                                              # step 22 of 32: patch 2
    before, after = net.features(x), net.features(moved)             # [B, 4, d]
    torch.testing.assert_close(after[:, :2], before[:, :2], rtol=0, atol=1e-6)
    assert (after[:, 2:] - before[:, 2:]).abs().amax(dim=-1).min() > 1e-4


def test_patch_decoder_left_pads_with_a_mask(returns):
    x = _windows(returns, 30, 2)
    net = PatchDecoder(1, 30, 1, 1, patch_len=8, scaling=None)
    assert (net.pad, net.n_patches) == (2, 4)
    seen = {}
    net.embed.register_forward_hook(lambda m, inputs, out: seen.update(patches=inputs[0]))
    net(x)
    first = seen["patches"][:, 0].view(2, 8, 2)                       # [B, P, value | mask]
    assert first[:, :2].abs().sum() == 0                              # padded: value 0, mask 0
    torch.testing.assert_close(first[:, 2:, 0], x[:, :6, 0])
    assert (first[:, 2:, 1] == 1).all()


# -- rotary positions ---------------------------------------------------------------------
def test_rotary_matches_complex_rotation_and_depends_on_offsets_only(returns):
    d = 8
    q = torch.tensor(returns[100:100 + d], dtype=torch.float64)
    k = torch.tensor(returns[200:200 + d], dtype=torch.float64)
    L = 12
    rq = rotary_embedding(q.expand(L, d))                             # q at positions 0..L-1
    rk = rotary_embedding(k.expand(L, d))
    # independent reference: pairs (x_i, x_{i + d/2}) as complex numbers times e^{i m theta_i}
    theta = 10000.0 ** (-np.arange(0, d, 2) / d)
    for m in (0, 3, 11):
        z = (q[: d // 2] + 1j * q[d // 2:]).numpy() * np.exp(1j * m * theta)
        np.testing.assert_allclose(rq[m].numpy(), np.concatenate([z.real, z.imag]), atol=1e-12)
    scores = rq @ rk.T                                                # [L, L]: <q_m, k_n>
    for offset in (-4, 0, 5):
        diagonal = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal))
    assert not torch.isclose(scores[0, 0], scores[0, 5])             # offsets do matter


# -- lag features and scaling -------------------------------------------------------------
def test_lag_features_equal_hand_built_lags(returns):
    window, lags = 25, (1, 2, 5, 21)
    x = _windows(returns, window, 3, step=7)
    values, observed = lag_features(x, lags)
    for b in range(3):
        series = returns[3000 + 7 * b: 3000 + 7 * b + window]
        for i, lag in enumerate(lags):
            hand = np.array([series[t - lag] if t >= lag else 0.0 for t in range(window)])
            np.testing.assert_allclose(values[b, :, 0, i].numpy(), hand, rtol=1e-6)
            np.testing.assert_array_equal(observed[:, i].numpy(), np.arange(window) >= lag)


def test_tokens_hold_scaled_values_lags_indicators_and_statistics(returns):
    x = _windows(returns, 10, 2)
    net = LagLlama(1, 10, 1, 1, lags=(1, 3), scaling="robust")
    q = np.quantile(x[..., 0].numpy(), [0.25, 0.5, 0.75], axis=1)     # numpy's reference
    loc, scale = window_scale(x, "robust")
    np.testing.assert_allclose(loc[:, 0], q[1], rtol=1e-5)
    np.testing.assert_allclose(scale[:, 0], q[2] - q[0], rtol=1e-5)
    z = (x - loc[:, None]) / scale[:, None]
    tokens = net.tokens(z, loc, scale)                                # [B, W, 1 + 2 + 2 + 2]
    t = 6
    expected = [z[0, t, 0], z[0, t - 1, 0], z[0, t - 3, 0], 1.0, 1.0, loc[0, 0],
                scale[0, 0].log()]
    np.testing.assert_allclose(tokens[0, t].numpy(), torch.tensor(expected).numpy(), rtol=1e-6)
    assert tokens[0, 2, 2] == 0 and tokens[0, 2, 4] == 0             # lag 3 at step 2: outside


def test_mean_abs_scaling_and_a_flat_window(returns):
    x = _windows(returns, 20, 2)
    loc, scale = window_scale(x, "mean_abs")
    assert (loc == 0).all()
    np.testing.assert_allclose(scale[:, 0], np.abs(x[..., 0].numpy()).mean(axis=1), rtol=1e-6)
    flat = torch.full((1, 20, 1), float(returns[0]))
    assert window_scale(flat, "robust")[1].item() == 1.0              # IQR 0: scale 1


def test_default_lags_fit_the_window():
    assert LagLlama(1, 32, 1, 1).lags == (1, 2, 3, 4, 5, 10, 21)
    assert LagLlama(1, 300, 1, 1).lags == FINANCE_LAGS
    assert LagLlama(1, 5, 1, 1).lags == (1, 2, 3, 4)


# -- heads --------------------------------------------------------------------------------
def test_student_t_constraints_hold_after_descaling(returns):
    torch.manual_seed(0)
    x = 50 * _windows(returns, 32, 16)                                # wide real windows
    for net in (LagLlama(1, 32, 5, 1), PatchDecoder(1, 32, 5, 1, output="student_t")):
        with torch.no_grad():
            for p in net.head.parameters():
                p.normal_(0, 10)                                      # wild head weights
        params = net(x)
        assert (params[..., 1] > 0).all() and (params[..., 2] > 2).all()


def test_lag_llama_overfits_one_real_batch_of_returns(returns, overfit):
    torch.manual_seed(0)
    x = _windows(returns, 32, 64, step=3)
    y = torch.tensor(returns[3000 + 32: 3000 + 32 + 3 * 64: 3], dtype=torch.float32).view(-1, 1, 1)
    net = LagLlama(1, 32, 1, 1, output="point", dropout=0.0, d_model=64)
    first, last = overfit(net, (x,), y)
    assert last < 0.1 * first, (first, last)


# -- sample paths -------------------------------------------------------------------------
def test_first_step_of_the_paths_follows_the_closed_form_student_t(returns):
    torch.manual_seed(0)
    x = _windows(returns, 32, 2)
    net = LagLlama(1, 32, 3, 1).eval()
    n = 4000
    paths = net.sample_paths(x, n, torch.Generator().manual_seed(0))  # [n, B, H, T]
    loc, scale, df = net(x)[:, 0, 0].detach().double().unbind(-1)     # step 1: [B] each
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    for b in range(2):
        exact = stats.t.ppf(levels, df[b], loc[b], scale[b])
        density = stats.t.pdf(exact, df[b], loc[b], scale[b])
        se = np.sqrt(levels * (1 - levels) / n) / density            # MC error of a quantile
        empirical = np.quantile(paths[:, b, 0, 0].numpy(), levels)
        assert (np.abs(empirical - exact) < 4 * se).all(), (empirical, exact, se)
    assert paths[:, :, 1:].std(dim=0).min() > 0                       # later steps vary too


def test_paths_repeat_from_their_seed(returns):
    torch.manual_seed(0)
    x = _windows(returns, 32, 2)
    net = LagLlama(1, 32, 3, 1, output="gaussian").eval()
    a = net.sample_paths(x, 30, torch.Generator().manual_seed(7))
    b = net.sample_paths(x, 30, torch.Generator().manual_seed(7))
    c = net.sample_paths(x, 30, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_forecaster_quantiles_are_the_paths_quantiles(returns):
    import pandas as pd

    r = pd.Series(returns[-400:])
    f = LagLlamaForecaster(window=16, d_model=8, n_heads=2, num_layers=1, n_paths=200,
                           output="student_t", max_epochs=1, random_state=0)
    f.fit(r, fh=[1, 2, 3])
    levels = [0.1, 0.5, 0.9]
    got = f.predict_quantiles(alpha=levels).to_numpy()               # [H, L]
    np.testing.assert_array_equal(got, f.predict_quantiles(alpha=levels).to_numpy())
    # replay: the engine's paths (its seed) from the last standardised window
    x = torch.tensor(((r.to_numpy()[-16:] - f.loc_[0]) / f.scale_[0])[None, :, None],
                     dtype=torch.float32)
    with torch.no_grad():
        out = with_sample_paths(f.net_.module_, 200, seed=f.net_.seed + 1)(x)
    paths = out[0, :, 0, 3:].double().numpy() * f.scale_[0] + f.loc_[0]   # [H, S]
    np.testing.assert_allclose(got, np.quantile(paths, levels, axis=-1).T, rtol=1e-5, atol=1e-5)
    point = out[0, :, 0, 0].double().numpy() * f.scale_[0] + f.loc_[0]    # the head's loc
    np.testing.assert_allclose(f.predict().to_numpy(), point, rtol=1e-5, atol=1e-5)
    # the point forecast reads the head only: predict draws no path (H x n_paths passes)
    module = f.net_.module_
    module.sample_paths = lambda *args: pytest.fail("predict drew sample paths")
    try:
        np.testing.assert_allclose(f.predict().to_numpy(), point, rtol=1e-5, atol=1e-5)
    finally:
        del module.sample_paths


def test_no_paths_gives_the_head_quantiles(returns):
    r = returns[-300:]
    X, y = r[:-2, None], np.column_stack([r[1:-1], r[2:]])
    model = LagLlamaRegressor(window=8, d_model=8, n_heads=2, num_layers=1, n_paths=0,
                              output="student_t", max_epochs=1, random_state=0).fit(X, y)
    assert not model.net_.module_.draws_paths
    q = model.predict_quantiles(X[-3:], alpha=[0.05, 0.95]).to_numpy().reshape(3, 2, 2)
    params = model.net_.module_(torch.tensor(X[-10:], dtype=torch.float32).unfold(0, 8, 1)
                                .transpose(1, 2)).detach().double()[-3:, :, 0]    # [3, H, 3]
    exact = stats.t.ppf([0.05, 0.95], params[..., 2:3], params[..., :1], params[..., 1:2])
    np.testing.assert_allclose(q, exact, rtol=1e-4, atol=1e-4)


# -- errors -------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(ValueError, match=r"lags from 1 to window - 1 = 9.*lags=\(1, 21\)"):
        LagLlama(1, 10, 1, 1, lags=(1, 21))
    with pytest.raises(ValueError, match="distinct lags"):
        LagLlama(1, 10, 1, 1, lags=(2, 2))
    with pytest.raises(ValueError, match="window >= patch_len; got window=6, patch_len=8"):
        PatchDecoder(1, 6, 1, 1, patch_len=8)
    with pytest.raises(ValueError, match="n_targets=2 input channels.*n_features=1"):
        LagLlama(1, 10, 1, 2, scaling="robust")
    with pytest.raises(ValueError, match="d_model / n_heads must be even"):
        PatchDecoder(1, 8, 1, 1, d_model=12, n_heads=4)
    net = LagLlama(2, 10, 2, 1, output="quantile")
    assert not net.draws_paths
    with pytest.raises(ValueError, match="'gaussian' or 'student_t' head"):
        net.sample_paths(torch.zeros(1, 10, 2), 5, torch.Generator())
