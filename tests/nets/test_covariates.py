"""skfin.nets.Covariates: known-future and static covariates for any net, on real windows."""

import pytest
import torch

from skfin.nets import MLP, OUTPUTS, Covariates, reads_covariates
from skfin.registry import ARCHITECTURES


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if not reads_covariates(a.net)],
                         ids=lambda a: a.name)
def test_untrained_wrapper_is_the_net_and_heads_keep_their_constraints(arch, output, real_batch):
    x, _ = real_batch                                              # [64, 20, 2] real windows
    torch.manual_seed(0)
    wrapped = Covariates(arch.net, n_features=2, window=20, horizon=3, n_targets=1,
                         output=output, n_future=2, n_static=1).eval()
    future = x[:, -3:, :]                                          # any [B, H, K] values
    static = torch.ones(len(x), 1)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x, future, static), wrapped.net(x), rtol=0, atol=0)
        for layer in (wrapped.mlp[0], wrapped.mlp[-1]):            # a trained-looking wrapper
            torch.nn.init.normal_(layer.weight, std=1.0)
        out = wrapped(x, 1e3 * future, -1e3 * static)              # wild covariate values
    assert torch.isfinite(out).all()
    if output == "quantile":
        assert (out.diff(dim=-1) >= 0).all()                       # still non-crossing
    if output in ("gaussian", "student_t"):
        assert (out[..., 1] > 0).all()                             # scales still positive
    if output == "student_t":
        torch.testing.assert_close(out[..., 2], wrapped.net(x)[..., 2])   # df untouched


def test_static_covariates_separate_series(real_batch):
    """Two 'series' with the same real windows, told apart only by their static vector."""
    x, y = real_batch
    torch.manual_seed(0)
    net = Covariates(MLP, n_features=2, window=20, horizon=1, n_targets=1, n_static=1,
                     output="point", dropout=0.0)
    windows = torch.cat([x, x])
    static = torch.cat([torch.zeros(64, 1), torch.ones(64, 1)])
    target = torch.cat([y, y + 5.0])                                # [128, 1, 1]; +5 for series 2
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = ((net(windows, x_static=static)[..., 0] - target) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        gap = net(x, x_static=torch.ones(64, 1)) - net(x, x_static=torch.zeros(64, 1))
    assert gap.mean().item() == pytest.approx(5.0, abs=0.5)
