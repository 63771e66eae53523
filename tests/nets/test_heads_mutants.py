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
