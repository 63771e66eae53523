"""Output heads: exact values at their constraints' floors, predictive quantiles against
scipy, the learned-range check and the messages (issue 17, mutation testing). The
representation fed to the heads is a week of real S&P 500 returns.
"""

import re

import numpy as np
import pytest
import torch
from scipy import stats

from skfin.datasets import load_sp500
from skfin.nets.heads import (
    DEFAULT_QUANTILES,
    OUTPUTS,
    GaussianHead,
    PointHead,
    QuantileHead,
    StudentTHead,
    head_class,
    make_head,
)

R = 100 * np.diff(np.log(load_sp500()["Close"].to_numpy()))
Z = torch.tensor(np.lib.stride_tricks.sliding_window_view(R[-12:], 5), dtype=torch.float32)


def _constant(head, bias):
    """The head with zero weights and the given bias: every output is the bias."""
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias.fill_(bias)
    return head


def test_constraints_floor_at_epsilon():
    g = _constant(make_head("gaussian", 5, horizon=2, n_targets=1), -200.0)(Z)
    torch.testing.assert_close(g[..., 1], torch.full_like(g[..., 1], 1e-6))
    t = _constant(make_head("student_t", 5, horizon=2, n_targets=1), -200.0)(Z)
    torch.testing.assert_close(t[..., 1], torch.full_like(t[..., 1], 1e-6))
    torch.testing.assert_close(t[..., 2], torch.full_like(t[..., 2], 2 + 1e-6))
    head = _constant(make_head("quantile", 5, horizon=2, n_targets=1,
                               quantiles=(0.1, 0.5, 0.9)), -200.0)
    with torch.no_grad():
        head.proj.bias.view(-1, 3)[:, 0] = 0.0              # lowest quantile 0, then steps
    q = head(Z).detach()
    torch.testing.assert_close(q.diff(dim=-1), torch.full_like(q[..., 1:], 1e-6),
                               rtol=0, atol=1e-9)


def test_untrained_quantile_head_starts_at_normal_quantiles():
    levels = (0.05, 0.25, 0.5, 0.9)
    head = make_head("quantile", 5, horizon=3, n_targets=2, quantiles=levels)
    with torch.no_grad():
        head.proj.weight.zero_()
    out = head(Z).detach()
    assert out.shape == (len(Z), 3, 2, 4)
    # up to the 1e-6 floor added to each step above the lowest quantile
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(stats.norm.ppf(levels), out.shape),
                               rtol=1e-5, atol=1e-5)


def test_predictive_quantiles_match_scipy():
    levels = [0.025, 0.3, 0.975]
    head = make_head("gaussian", 5, horizon=1, n_targets=1)
    gauss = head(Z).detach()
    expected = stats.norm.ppf(levels, loc=gauss[..., :1].numpy(), scale=gauss[..., 1:2].numpy())
    got = head.quantiles(gauss, levels)
    assert got.shape == (len(Z), 1, 1, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)         # float32
    head = make_head("student_t", 5, horizon=1, n_targets=1)
    p = head(Z).detach()
    expected = stats.t.ppf(levels, df=p[..., 2:3], loc=p[..., :1], scale=p[..., 1:2])
    np.testing.assert_allclose(head.quantiles(p, levels), expected, rtol=1e-5, atol=1e-6)


def test_quantile_head_interpolates_inside_its_learned_range_only():
    head = make_head("quantile", 5, horizon=1, n_targets=1, quantiles=(0.9, 0.1, 0.5))
    params = head(Z).detach()                                        # levels sorted
    torch.testing.assert_close(head.levels, torch.tensor([0.1, 0.5, 0.9]))
    got = head.quantiles(params, [0.1 - 1e-7, 0.3, 0.5, 0.9 + 1e-7])
    torch.testing.assert_close(got[..., 0], params[..., 0])           # within 1e-6: the edge
    torch.testing.assert_close(got[..., 1], (params[..., 0] + params[..., 1]) / 2)
    torch.testing.assert_close(got[..., 2], params[..., 1])
    torch.testing.assert_close(got[..., 3], params[..., 2])
    torch.testing.assert_close(head.point(params), params[..., 1])
    with pytest.raises(ValueError, match=re.escape(
            "Quantile level(s) 0.025, 0.95 fall outside the learned range [0.1, 0.9]. Refit "
            "with quantiles= covering them, e.g. quantiles=(0.01, 0.05, 0.5, 0.95, 0.99) for "
            "98% intervals.")):
        head.quantiles(params, [(1 - 0.95) / 2, 0.5, 0.95, 0.95])


def test_head_names_and_messages():
    assert DEFAULT_QUANTILES == (0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45,
                                 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975)
    classes = [PointHead, QuantileHead, GaussianHead, StudentTHead]
    assert [head_class(o) for o in OUTPUTS] == classes
    for output, cls in zip(OUTPUTS, classes):
        head = make_head(output, 5, horizon=2, n_targets=3)
        assert type(head) is cls and head(Z).shape == (len(Z), 2, 3, head.n_params)
    assert make_head("quantile", 5, 2, 3).n_params == 21
    message = re.escape("output='laplace' is not one of ('point', 'quantile', 'gaussian', "
                        "'student_t').")
    for factory in (head_class, lambda o: make_head(o, 5, 2, 3)):
        with pytest.raises(ValueError, match=f"^{message}$"):
            factory("laplace")
    point = make_head("point", 5, horizon=2, n_targets=1)
    with pytest.raises(ValueError, match=re.escape(
            "PointHead has no predictive distribution; choose output='quantile', 'gaussian' "
            "or 'student_t' for model-based intervals.")):
        point.quantiles(point(Z), [0.5])


# -- second pass (issue 17): forward values by hand, per-step statistics, interpolation
# between the last two levels, tolerance boundaries, dtypes and devices -----------------
def _raw(head, z):
    """The projection ``z @ W.T + b`` reshaped to [B, H, T, P], in NumPy."""
    w = head.proj.weight.detach().double().numpy()
    b = head.proj.bias.detach().double().numpy()
    return (z.double().numpy() @ w.T + b).reshape(len(z), head.horizon, head.n_targets, -1)


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_distribution_heads_forward_by_hand():
    head = make_head("gaussian", 5, horizon=2, n_targets=2)
    raw = _raw(head, Z)
    got = head(Z).detach().double().numpy()
    np.testing.assert_allclose(got[..., 0], raw[..., 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[..., 1], _softplus(raw[..., 1]) + 1e-6, rtol=1e-5, atol=1e-6)
    head = make_head("student_t", 5, horizon=2, n_targets=2)
    raw = _raw(head, Z)
    got = head(Z).detach().double().numpy()
    np.testing.assert_allclose(got[..., 0], raw[..., 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[..., 1], _softplus(raw[..., 1]) + 1e-6, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[..., 2], 2 + _softplus(raw[..., 2]) + 1e-6, rtol=1e-5,
                               atol=1e-6)


def test_denormalise_with_one_statistic_per_step():
    head = make_head("quantile", 5, horizon=3, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    params = head(Z).detach()                                         # [8, 3, 1, 3]
    # per step: the week's mean and spread of the returns, shifted by the step number
    loc = torch.tensor(R[-8:].mean() + np.arange(3.0))[None, :, None].expand(len(Z), 3, 1)
    scale = torch.tensor(R[-8:].std() * (1 + np.arange(3.0)))[None, :, None].expand(len(Z), 3, 1)
    got = head.denormalise(params, loc.float(), scale.float())
    expected = (params.double().numpy() * scale.numpy()[..., None] + loc.numpy()[..., None])
    assert got.shape == params.shape
    # float32 arithmetic: a value near zero (a cancellation) keeps only an absolute precision
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
    g = make_head("gaussian", 5, horizon=3, n_targets=1)
    p = g(Z).detach()
    got = g.denormalise(p, loc.float(), scale.float())
    assert got.shape == p.shape
    np.testing.assert_allclose(got[..., 0], p[..., 0] * scale + loc, rtol=1e-5, atol=1e-6)


def test_heads_built_directly_project_all_steps_at_once():
    point = PointHead(5, 2, 1)
    assert point.per_step is False and point.proj.out_features == 2
    assert point(Z).shape == (len(Z), 2, 1, 1)
    q = QuantileHead(5, 2, 1, levels=(0.1, 0.5, 0.9))
    assert q.per_step is False and q.proj.out_features == 6
    assert make_head("point", 5, 2, 1, per_step=True).per_step is True


def test_quantile_levels_buffer_is_float32_whatever_the_input():
    head = make_head("quantile", 5, horizon=1, n_targets=1,
                     quantiles=np.array([0.9, 0.1, 0.5]))             # float64 array
    assert head.levels.dtype == torch.float32
    np.testing.assert_array_equal(head.levels.numpy(), np.float32([0.1, 0.5, 0.9]))


def test_interpolation_between_the_last_two_levels():
    head = make_head("quantile", 5, horizon=1, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    params = head(Z).detach()
    got = head.quantiles(params, [0.7, 0.8])
    torch.testing.assert_close(got[..., 0], (params[..., 1] + params[..., 2]) / 2)
    torch.testing.assert_close(got[..., 1], params[..., 1] / 4 + params[..., 2] * 3 / 4)


def test_levels_exactly_at_the_tolerance_are_inside():
    head = make_head("quantile", 5, horizon=1, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    params = head(Z).detach()
    known = head.levels.double().numpy()                               # float32 levels
    got = head.quantiles(params, [known[0] - 1e-6, known[-1] + 1e-6])
    torch.testing.assert_close(got[..., 0], params[..., 0])
    torch.testing.assert_close(got[..., 1], params[..., 2])


def test_levels_equal_to_ten_decimals_are_named_once():
    head = make_head("quantile", 5, horizon=1, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    with pytest.raises(ValueError, match=r"^Quantile level\(s\) 0\.01 fall outside"):
        head.quantiles(head(Z).detach(), [0.01, 0.01 + 2e-11])


def test_predictive_quantiles_keep_the_parameters_dtype():
    levels = [0.025, 0.3, 0.975]
    g = make_head("gaussian", 5, horizon=1, n_targets=1).double()
    p = g(Z.double()).detach()
    got = g.quantiles(p, levels)
    assert got.dtype == torch.float64
    expected = stats.norm.ppf(levels, loc=p[..., :1].numpy(), scale=p[..., 1:2].numpy())
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-14)
    t = make_head("student_t", 5, horizon=1, n_targets=1)
    p = t(Z).detach()                                                   # float32
    assert t.quantiles(p, levels).dtype == torch.float32
    assert g.quantiles(p, np.array(levels)).dtype == torch.float32     # float64 levels


def test_predictive_quantiles_stay_on_the_parameters_device():
    """Parameters on another device (``meta`` stands for an accelerator: devices and
    shapes only): the interpolation weights and the normal quantiles follow them."""
    q = make_head("quantile", 5, horizon=1, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    got = q.quantiles(q(Z).detach().to("meta"), [0.3, 0.7])
    assert got.device.type == "meta" and got.shape == (len(Z), 1, 1, 2)
    g = make_head("gaussian", 5, horizon=1, n_targets=1)
    got = g.quantiles(g(Z).detach().to("meta"), [0.3, 0.7])
    assert got.device.type == "meta" and got.shape == (len(Z), 1, 1, 2)


def test_predictive_quantiles_follow_the_parameters_not_torchs_default_device():
    """A user may set ``torch.set_default_device("cuda")`` and still predict with a model on
    the CPU: every tensor the heads build for the quantiles (the Student-t quantiles taken
    from SciPy, the interpolation indices and weights) must follow the parameters, not
    torch's default device. ``meta`` stands for the other default device here; the
    values are those computed with the CPU default, and against SciPy."""
    levels = [0.025, 0.3, 0.7, 0.975]
    t = make_head("student_t", 5, horizon=2, n_targets=1)
    p = t(Z).detach()                                                   # on the CPU
    expected = stats.t.ppf(levels, df=p[..., 2:3].double(), loc=p[..., :1].double(),
                           scale=p[..., 1:2].double())
    q = make_head("quantile", 5, horizon=2, n_targets=1, quantiles=(0.1, 0.5, 0.9))
    params = q(Z).detach()
    interpolated = q.quantiles(params, [0.3, 0.7, 0.8])
    # 0.3 and 0.7 halfway between two learned levels, 0.8 three quarters of the way
    torch.testing.assert_close(interpolated[..., 0], (params[..., 0] + params[..., 1]) / 2)
    torch.testing.assert_close(interpolated[..., 1], (params[..., 1] + params[..., 2]) / 2)
    torch.testing.assert_close(interpolated[..., 2], params[..., 1] / 4 + params[..., 2] * 3 / 4)
    with torch.device("meta"):
        got_t = t.quantiles(p, levels)
        got_q = q.quantiles(params, [0.3, 0.7, 0.8])
    assert got_t.device.type == "cpu" and got_q.device.type == "cpu"
    np.testing.assert_allclose(got_t.numpy(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_q, interpolated, rtol=0, atol=0)
