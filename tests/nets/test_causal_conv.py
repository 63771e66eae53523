"""Convolutional nets: no padding leak (causality), receptive field, weight normalisation.

Each convolutional net exposes ``features(x) -> [B, W, C]``, the per-step sequence of its
convolution stack before the readout. Causality means: changing the input at step ``t``
leaves the features at steps ``< t`` unchanged. Tests run in evaluation mode (dropout off;
BatchNorm on running statistics, since batch statistics mix the steps of a batch).
"""

import pickle
import warnings

import pytest
import torch

from skfin.nets import TCN, WaveNet, receptive_field
from skfin.nets.convolutional import _CausalConv1d
from skfin.registry import ARCHITECTURES

CONV_NETS = [pytest.param(a.net, id=a.name) for a in ARCHITECTURES
             if a.family == "convolutional"]


def test_every_convolutional_net_is_covered():
    assert {p.id for p in CONV_NETS} >= {"cnn_lstm", "tcn", "wavenet"}


@pytest.mark.parametrize("t", [0, 5, 12, 19])
@pytest.mark.parametrize("net_cls", CONV_NETS)
def test_perturbing_step_t_leaves_earlier_features_unchanged(net_cls, t, real_batch):
    torch.manual_seed(0)
    x, _ = real_batch                                          # [64, 20, 2] real windows
    net = net_cls(n_features=2, window=20, horizon=1, n_targets=1).eval()
    perturbed = x.clone()
    perturbed[:, t] = x.roll(1, dims=0)[:, t] + 3.0            # another day's values, shifted
    with torch.no_grad():
        before, after = net.features(x), net.features(perturbed)   # [B, W, C]
    assert before.shape[:2] == (64, 20)
    torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-6)
    assert (after[:, t] - before[:, t]).abs().max() > 1e-3     # the change is seen at t


@pytest.mark.parametrize("net_cls", CONV_NETS)
def test_forecast_reads_the_most_recent_step(net_cls, real_batch):
    """The last input step reaches the forecast (no right-hand chomp of the present)."""
    torch.manual_seed(0)
    x, _ = real_batch
    net = net_cls(n_features=2, window=20, horizon=1, n_targets=1).eval()
    x = x.clone().requires_grad_(True)
    net(x).sum().backward()
    assert x.grad[:, -1].abs().sum() > 0


def test_receptive_field_formula():
    # One convolution per dilation level: 1 + (k - 1)(2^L - 1).
    assert receptive_field(3, 4) == 1 + 2 * 15 == 31
    # Bai et al.'s block has two convolutions per level: 1 + 2 (k - 1)(2^L - 1).
    assert receptive_field(3, 4, convs_per_level=2) == 61
    assert receptive_field(2, 1, convs_per_level=2) == 3
    # WaveNet cycles repeat the dilations: 1 + cycles (k - 1)(2^L - 1).
    assert receptive_field(2, 5, num_cycles=2) == 63
    with pytest.raises(ValueError, match="kernel_size to be an integer >= 1"):
        receptive_field(0, 3)


@pytest.mark.parametrize(("net_cls", "kwargs"), [
    (TCN, dict(kernel_size=2, num_blocks=3)),                  # 1 + 2 * 1 * 7 = 15
    (TCN, dict(kernel_size=3, num_blocks=2)),                  # 1 + 2 * 2 * 3 = 13
    (WaveNet, dict(kernel_size=2, num_layers=3, num_cycles=2)),  # 1 + 2 * 1 * 7 = 15
    (WaveNet, dict(kernel_size=3, num_layers=2, num_cycles=1)),  # 1 + 1 * 2 * 3 = 7
])
def test_receptive_field_is_exact_on_real_windows(net_cls, kwargs, real_batch):
    """The last feature depends on exactly the last ``receptive_field`` input steps."""
    torch.manual_seed(0)
    x, _ = real_batch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)           # window 20 > field, on purpose
        net = net_cls(n_features=2, window=20, horizon=1, n_targets=1, **kwargs).eval()
    x = x.clone().requires_grad_(True)
    net.features(x)[:, -1].sum().backward()
    reached = x.grad.abs().sum(dim=(0, 2)) > 0                 # [W]
    field = net.receptive_field
    assert field < 20
    assert not reached[:20 - field].any()
    assert reached[20 - field:].all()


def test_tcn_warns_when_window_exceeds_receptive_field():
    with pytest.warns(UserWarning, match=r"window=14 is longer than the TCN's receptive "
                                         r"field of 13 steps: the oldest 1 steps"):
        TCN(n_features=2, window=14, horizon=1, n_targets=1, kernel_size=3, num_blocks=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TCN(n_features=2, window=13, horizon=1, n_targets=1, kernel_size=3, num_blocks=2)


def test_tcn_warning_reaches_the_estimator_fit(sp500_xy):
    from skfin.regressors import TCNRegressor

    X, y = sp500_xy
    model = TCNRegressor(window=10, kernel_size=2, num_blocks=1, max_epochs=1, random_state=0)
    with pytest.warns(UserWarning, match="receptive field of 3 steps"):
        model.fit(X.iloc[-200:], y.iloc[-200:])


def test_wavenet_warns_when_window_exceeds_receptive_field():
    with pytest.warns(UserWarning, match="WaveNet's receptive field of 8 steps"):
        WaveNet(n_features=1, window=9, horizon=1, n_targets=1, kernel_size=2, num_layers=3,
                num_cycles=1)


def test_weight_norm_matches_torch_parametrization(real_batch):
    """``_CausalConv1d(weight_norm=True)`` computes what torch's ``weight_norm`` does."""
    from torch.nn.utils.parametrizations import weight_norm

    torch.manual_seed(0)
    x = real_batch[0].transpose(1, 2)                          # [B, C=2, W=20]
    ours = _CausalConv1d(2, 4, kernel_size=3, dilation=2, weight_norm=True)
    with torch.no_grad():
        ours.weight_g.mul_(torch.linspace(0.5, 2.0, 4).view(4, 1, 1))   # g != ||v||
    ref = weight_norm(torch.nn.Conv1d(2, 4, 3, dilation=2), dim=0)
    with torch.no_grad():
        ref.parametrizations.weight.original0.copy_(ours.weight_g)
        ref.parametrizations.weight.original1.copy_(ours.conv.weight)
        ref.bias.copy_(ours.conv.bias)
    expected = ref(torch.nn.functional.pad(x, (4, 0)))         # left pad (k-1) d = 4
    torch.testing.assert_close(ours(x), expected)
    # And unlike the parametrized module, ours pickles (skorch and sklearn need that).
    clone = pickle.loads(pickle.dumps(ours))
    torch.testing.assert_close(clone(x), ours(x))


@pytest.mark.parametrize("window", [1, 2, 3, 5])
@pytest.mark.parametrize("pool_size", [1, 2, 4])
def test_cnn_lstm_pooling_handles_short_windows(window, pool_size, real_batch):
    from skfin.nets import CNNLSTM

    x = real_batch[0][:, -window:]                             # [64, window, 2]
    net = CNNLSTM(n_features=2, window=window, horizon=2, n_targets=1, pool_size=pool_size)
    assert net(x).shape == (64, 2, 1, 1)
    assert net.eval()(x[:1]).shape == (1, 2, 1, 1)


@pytest.mark.parametrize(("net_cls", "bad"), [
    ("CNNLSTM", dict(pool_size=0)), ("CNNLSTM", dict(kernel_size=0)),
    ("TCN", dict(num_blocks=0)), ("TCN", dict(kernel_size=1.5)),
    ("WaveNet", dict(num_cycles=0)), ("WaveNet", dict(channels=0)),
])
def test_bad_architecture_parameters_raise_value_error(net_cls, bad):
    from skfin import nets

    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"{net_cls} needs {name} to be an integer >= 1"):
        getattr(nets, net_cls)(n_features=2, window=8, horizon=1, n_targets=1, **bad)
