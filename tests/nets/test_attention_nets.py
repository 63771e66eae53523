"""Attention family: Transformer (causal mask), PatchTST (patches, RevIN, channel
independence) and Autoformer (decomposition, Auto-Correlation), on real data.

Overfitting one real batch and "every parameter learns" run for these nets in
tests/nets/test_contract.py, which is parametrized over the registry.
"""

import math
import warnings

import numpy as np
import pytest
import torch

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.datasets import load_airline, load_sp500
from skfin.engine.data import WindowDataset
from skfin.nets import OUTPUTS, Autoformer, PatchTST, Transformer, series_decomposition
from skfin.nets.attention import RevIN, _AutoCorrelation, autocorrelation, sinusoidal_encoding
from skfin.nets.heads import make_head
from skfin.registry import ARCHITECTURES

ATTENTION_NETS = [Transformer, PatchTST, Autoformer]
N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}


@pytest.fixture(scope="module")
def windows(sp500_xy):
    """Real standardised S&P 500 windows (return, range) of any length: ``windows(W, n)``."""
    X, _ = sp500_xy
    X = torch.tensor(((X - X.mean()) / X.std()).to_numpy(), dtype=torch.float32)

    def make(window: int, n: int = 16) -> torch.Tensor:
        ds = WindowDataset(X, torch.arange(2000, 2000 + n), window=window)
        return ds[torch.arange(n)][0]                               # [n, W, 2]

    return make


@pytest.fixture(scope="module")
def prices():
    """Real S&P 500 Close, Open, High, Low levels as 8 windows of 40 days, float64."""
    ohlc = load_sp500()[["Close", "Open", "High", "Low"]].to_numpy()[-320:]
    return torch.tensor(ohlc, dtype=torch.float64).view(8, 40, 4)


@pytest.fixture(scope="module")
def airline_seasonal():
    """Detrended log airline passengers ``[1, 144, 1]`` (float64): the seasonal part."""
    y = torch.tensor(np.log(load_airline().to_numpy())).view(1, 144, 1)
    return series_decomposition(y, kernel_size=13)[0]


def test_attention_family_is_registered_for_the_contract_suites():
    names = {a.name for a in ARCHITECTURES if a.family == "attention"}
    assert {"transformer", "patchtst", "autoformer"} <= names
    assert {a.net for a in ARCHITECTURES if a.name in names} >= set(ATTENTION_NETS)


@pytest.mark.parametrize("window", [1, 2, 5, 16, 33, 64])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("net_cls", ATTENTION_NETS, ids=lambda c: c.__name__)
def test_output_shape_every_head_and_window(net_cls, output, window, windows):
    torch.manual_seed(0)
    x = windows(window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)             # PatchTST: window < patch_len
        net = net_cls(n_features=2, window=window, horizon=4, n_targets=1, output=output)
    out = net(x)
    assert out.shape == (16, 4, 1, N_PARAMS[output])
    assert torch.isfinite(out).all()
    if output == "quantile":
        assert (out.diff(dim=-1) > 0).all()
    if output in ("gaussian", "student_t"):
        assert (out[..., 1] > 0).all()


def test_invalid_architecture_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="d_model divisible by n_heads"):
        Transformer(n_features=1, window=8, horizon=1, n_targets=1, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="norm='pre' or 'post'"):
        Transformer(n_features=1, window=8, horizon=1, n_targets=1, norm="middle")
    with pytest.raises(ValueError, match="factor > 0"):
        Autoformer(n_features=1, window=8, horizon=1, n_targets=1, factor=0.0)
    with pytest.raises(ValueError, match="patch_len to be an integer >= 1"):
        PatchTST(n_features=1, window=8, horizon=1, n_targets=1, patch_len=0)


# -- Transformer -----------------------------------------------------------------------
def test_sinusoidal_encoding_matches_the_formula():
    pe = sinusoidal_encoding(50, 16)
    t, i = 37, 3
    angle = t / 10000 ** (2 * i / 16)
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert sinusoidal_encoding(4, 5).shape == (4, 5)                 # odd width works


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("t", [0, 7, 19])
def test_causal_transformer_hides_later_steps(t, norm, windows):
    torch.manual_seed(0)
    x = windows(20)
    net = Transformer(n_features=2, window=20, horizon=1, n_targets=1, causal=True,
                      norm=norm).eval()
    perturbed = x.clone()
    perturbed[:, t] = x.roll(1, dims=0)[:, t] + 3.0              # another day's values, shifted
    with torch.no_grad():
        before, after = net.features(x), net.features(perturbed)  # [B, W, d]
    torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-5)
    assert (after[:, t:] - before[:, t:]).abs().amax(dim=(0, 2)).min() > 1e-3


def test_unmasked_transformer_lets_later_steps_reach_earlier_ones(windows):
    """Without the mask the same perturbation does move earlier encodings (the test can fail)."""
    torch.manual_seed(0)
    x = windows(20)
    net = Transformer(n_features=2, window=20, horizon=1, n_targets=1).eval()
    perturbed = x.clone()
    perturbed[:, 19] += 3.0
    with torch.no_grad():
        assert (net.features(perturbed)[:, :19] - net.features(x)[:, :19]).abs().max() > 1e-3


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_transformer_readout(readout, windows):
    torch.manual_seed(0)
    x = windows(20)
    net = Transformer(n_features=2, window=20, horizon=2, n_targets=1, readout=readout).eval()
    h = net.features(x)
    z = h[:, -1] if readout == "last" else h.mean(dim=1)
    torch.testing.assert_close(net(x), net.head(z))


# -- PatchTST ---------------------------------------------------------------------------
@pytest.mark.parametrize(("window", "patch_len", "stride", "padding"), [
    (64, 16, 8, "end"), (64, 16, 8, None), (33, 16, 8, "end"), (20, 4, 3, None),
    (20, 4, 3, "end"), (7, 7, 1, None), (5, 2, 1, "end"),
])
def test_patch_count_formula(window, patch_len, stride, padding, windows):
    net = PatchTST(n_features=2, window=window, horizon=1, n_targets=1, patch_len=patch_len,
                   stride=stride, padding_patch=padding)
    expected = (window - patch_len) // stride + 1 + (padding == "end")
    x = windows(window)
    patches = net.patches(x)                                      # [B, C, N, P]
    assert net.n_patches == expected == patches.shape[2]
    assert patches.shape == (16, 2, expected, patch_len)
    first = (window - patch_len) // stride * stride               # last unpadded patch's start
    torch.testing.assert_close(patches[:, :, (window - patch_len) // stride],
                               x[:, first:first + patch_len].transpose(1, 2))
    if padding == "end":                                          # repeats the last value
        tail = patches[:, :, -1, -stride:]
        torch.testing.assert_close(tail, x[:, -1:].transpose(1, 2).expand_as(tail))


def test_short_window_falls_back_to_one_patch_with_a_warning(windows):
    with pytest.warns(UserWarning, match="one patch of 5 steps"):
        net = PatchTST(n_features=2, window=5, horizon=3, n_targets=1)
    assert (net.patch_len, net.n_patches) == (5, 2)               # one patch + the end patch
    assert net(windows(5)).shape == (16, 3, 1, 1)


def test_revin_round_trip_is_identity(prices):
    revin = RevIN(4).double()
    with torch.no_grad():                                         # a trained-looking affine
        revin.weight.copy_(torch.tensor([2.5, 0.4, -1.3, 1.0]))
        revin.bias.copy_(torch.tensor([-0.3, 0.1, 2.0, 0.0]))
    z, loc, scale = revin.normalise(prices)
    assert (z - revin.bias).abs().max() > 0.1                     # it did something
    torch.testing.assert_close(revin.denormalise(z, loc, scale), prices, rtol=0, atol=1e-6)
    plain = RevIN(4, affine=False).double()
    z, loc, scale = plain.normalise(prices)
    torch.testing.assert_close(z.mean(dim=1), torch.zeros(8, 4, dtype=torch.float64),
                               rtol=0, atol=1e-9)
    torch.testing.assert_close(z.std(dim=1, unbiased=False),
                               torch.ones(8, 4, dtype=torch.float64), rtol=0, atol=1e-6)
    torch.testing.assert_close(plain.denormalise(z, loc, scale), prices, rtol=0, atol=1e-6)


@pytest.mark.parametrize("j", [0, 2])
def test_patchtst_channels_are_independent(j, prices):
    torch.manual_seed(0)
    net = PatchTST(n_features=4, window=40, horizon=1, n_targets=1, patch_len=8,
                   stride=4).double().eval()
    perturbed = prices.clone()
    perturbed[:, :, j] = prices.roll(1, dims=0)[:, :, j]          # another window's channel j
    with torch.no_grad():
        before, after = net.channel_features(prices), net.channel_features(perturbed)
    others = [i for i in range(4) if i != j]
    torch.testing.assert_close(after[:, others], before[:, others], rtol=0, atol=1e-9)
    assert (after[:, j] - before[:, j]).abs().max() > 1e-3


@pytest.mark.parametrize("output", OUTPUTS)
def test_patchtst_revin_maps_outputs_back_to_target_units(output, prices):
    """RevIN makes the net equivariant: ``net(a x + b) = a net(x) + b`` for location-like
    parameters (and scales times ``a``), which is what the de-normalisation must give."""
    torch.manual_seed(0)
    net = PatchTST(n_features=4, window=40, horizon=2, n_targets=1, output=output, patch_len=8,
                   stride=4).double().eval()
    a, b = 3.0, -250.0
    with torch.no_grad():
        out, moved = net(prices), net(a * prices + b)
    if output in ("point", "quantile"):
        torch.testing.assert_close(moved, a * out + b, rtol=1e-6, atol=1e-6)
    else:
        torch.testing.assert_close(moved[..., 0], a * out[..., 0] + b, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(moved[..., 1], a * out[..., 1], rtol=1e-6, atol=1e-6)
    if output == "student_t":
        torch.testing.assert_close(moved[..., 2], out[..., 2])
    # The forecasts live at the level of the target channel (the Close), not near 0.
    close = prices[:, :, 0]
    point = net.head.point(out)[:, :, 0]                          # [B, H]
    assert ((point - close.mean(dim=1, keepdim=True)).abs()
            < 20 * close.std(dim=1, keepdim=True)).all()


def test_patchtst_without_revin_is_not_denormalised(prices):
    torch.manual_seed(0)
    net = PatchTST(n_features=4, window=40, horizon=1, n_targets=1, patch_len=8, stride=4,
                   revin=False).double().eval()
    z = net.channel_features(prices).flatten(1)
    torch.testing.assert_close(net(prices), net.head(z))


def test_patchtst_revin_needs_targets_among_the_channels():
    with pytest.raises(ValueError, match="only 1 input channel"):
        PatchTST(n_features=1, window=32, horizon=1, n_targets=2)
    PatchTST(n_features=1, window=32, horizon=1, n_targets=2, revin=False)   # fine


@pytest.mark.parametrize("output", OUTPUTS)
def test_head_denormalise_per_head(output):
    torch.manual_seed(0)
    head = make_head(output, 6, horizon=3, n_targets=2)
    params = head(torch.randn(5, 6) * 3)                          # [5, 3, 2, P]
    loc = torch.tensor([[100.0, -2.0]]).expand(5, 2)
    scale = torch.tensor([[4.0, 0.5]]).expand(5, 2)
    out = head.denormalise(params, loc, scale)
    assert out.shape == params.shape
    l4, s4 = loc[:, None, :, None], scale[:, None, :, None]
    if output in ("point", "quantile"):
        torch.testing.assert_close(out, params * s4 + l4)
    else:
        torch.testing.assert_close(out[..., :1], params[..., :1] * s4 + l4)
        torch.testing.assert_close(out[..., 1:2], params[..., 1:2] * s4)
        torch.testing.assert_close(out[..., 2:], params[..., 2:])  # df (student_t) stays
    if output != "point":                                         # intervals scale with y
        levels = [0.1, 0.5, 0.9]
        torch.testing.assert_close(head.quantiles(out, levels),
                                   head.quantiles(params, levels) * s4 + l4)


# -- Autoformer -------------------------------------------------------------------------
def test_decomposition_sums_to_the_input_on_real_data(prices, windows):
    for x in (prices, windows(64)):                               # float64 levels, float32 z
        for kernel in (25, 7, 1):
            seasonal, trend = series_decomposition(x, kernel)
            assert seasonal.shape == trend.shape == x.shape
            torch.testing.assert_close(seasonal + trend, x, rtol=0, atol=1e-6)


def test_decomposition_trend_is_the_edge_replicated_moving_average(prices):
    x = prices[:, :, :1]                                          # [8, 40, 1] Close
    _, trend = series_decomposition(x, 5)
    padded = torch.cat([x[:, :1], x[:, :1], x, x[:, -1:], x[:, -1:]], dim=1)
    expected = padded.unfold(1, 5, 1).mean(dim=-1)                # [8, 40, 1]
    torch.testing.assert_close(trend, expected)


@pytest.mark.parametrize(("length", "kernel"), [(1, 1), (2, 1), (3, 3), (4, 3), (24, 23)])
def test_decomposition_clamps_the_kernel_on_short_series(length, kernel, prices):
    x = prices[:, :length, :1]
    _, trend = series_decomposition(x, kernel_size=25)
    _, expected = series_decomposition(x, kernel_size=kernel)
    torch.testing.assert_close(trend, expected)
    if kernel == 1:
        torch.testing.assert_close(trend, x)


def test_autocorrelation_finds_the_yearly_period_of_airline_passengers(airline_seasonal):
    """The delays Auto-Correlation keeps on detrended log passengers are multiples of 12."""
    r = autocorrelation(airline_seasonal)[0, :, 0]                # [144]
    assert int(r[1:72].argmax()) + 1 == 12
    # The layer itself (identity projections on the one channel), factor 2: 9 delays.
    layer = _AutoCorrelation(d_model=1, factor=2.0).double()
    with torch.no_grad():
        for lin in (layer.query, layer.key, layer.value, layer.out):
            lin.weight.fill_(1.0)
            lin.bias.zero_()
        weights, delays = layer.delays(airline_seasonal, airline_seasonal)
    assert delays.shape == (1, int(2 * math.log(144)))
    assert all(d % 12 == 0 for d in delays[0].tolist()), delays
    assert set(delays[0, :3].tolist()) == {0, 12, 132}            # 132 = -12 (circular)
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_autocorrelation_is_the_circular_correlation(prices):
    x = prices[:2, :, :2]
    q = x - x.mean(dim=1, keepdim=True)
    k = q.roll(3, dims=1)
    r = autocorrelation(q, k)
    direct = torch.stack([(q.roll(-tau, dims=1) * k).sum(dim=1) for tau in range(40)], dim=1)
    torch.testing.assert_close(r, direct)
    assert int(r[0, :, 0].argmax()) == 37                         # k lags q by 3: delay -3


def test_time_delay_aggregation_rolls_values(airline_seasonal):
    torch.manual_seed(0)
    layer = _AutoCorrelation(d_model=4, factor=1.0).double()
    x = airline_seasonal.expand(2, -1, 4) * torch.tensor([1.0, 2.0, -1.0, 0.5]).double()
    with torch.no_grad():
        weights, delays = layer.delays(x, x)
        v = layer.value(x)
        expected = sum(weights[:, i, None, None]
                       * torch.stack([v[b].roll(-int(delays[b, i]), dims=0) for b in range(2)])
                       for i in range(delays.shape[1]))
        torch.testing.assert_close(layer(x, x), layer.out(expected))


def test_autoformer_forecast_of_a_window_ignores_the_rest_of_the_batch(windows):
    """Delays are chosen per window, in training too (dropout off to compare)."""
    torch.manual_seed(0)
    x = windows(48)
    net = Autoformer(n_features=2, window=48, horizon=3, n_targets=1, dropout=0.0).train()
    torch.testing.assert_close(net(x)[:4], net(x[:4]))


def test_autoformer_explain(windows):
    torch.manual_seed(0)
    x = windows(40)
    net = Autoformer(n_features=2, window=40, horizon=5, n_targets=1, moving_avg=9).eval()
    parts = net.explain(x)
    assert parts["seasonal"].shape == parts["trend"].shape == x.shape
    torch.testing.assert_close(parts["seasonal"] + parts["trend"], x, rtol=0, atol=1e-6)
    assert parts["forecast_seasonal"].shape == parts["forecast_trend"].shape == (16, 5, 2)
    # The head reads the decoder's state next to the Autoformer's own forecast.
    h, seasonal, trend = net._decode(x)
    torch.testing.assert_close(seasonal + trend,
                               parts["forecast_seasonal"] + parts["forecast_trend"])
    torch.testing.assert_close(net(x), net.head(torch.cat([h, seasonal + trend], dim=-1)))
    assert net.label_len == 20


def test_autoformer_decoder_trend_starts_from_the_window_mean(prices):
    """With every layer's trend output zeroed, the forecast trend is the window's mean."""
    torch.manual_seed(0)
    net = Autoformer(n_features=4, window=40, horizon=6, n_targets=1).double().eval()
    with torch.no_grad():
        for layer in net.decoder:
            layer.trend_proj.weight.zero_()
        trend = net.explain(prices)["forecast_trend"]
    torch.testing.assert_close(trend, prices.mean(dim=1, keepdim=True).expand(-1, 6, -1))
