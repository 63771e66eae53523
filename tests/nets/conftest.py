"""Real windows shared by the net tests."""

import pytest
import torch

from skfin.engine.data import WindowDataset


@pytest.fixture(scope="module")
def real_batch(sp500_xy):
    """64 windows of 20 days of standardised S&P 500 features and next-day returns."""
    X, y = sp500_xy
    X = torch.tensor(((X - X.mean()) / X.std()).to_numpy(), dtype=torch.float32)
    y = torch.tensor((y / y.std()).to_numpy(), dtype=torch.float32).view(-1, 1, 1)
    ds = WindowDataset(X, torch.arange(1000, 1064), window=20, targets=y)
    return ds[torch.arange(64)]


@pytest.fixture
def overfit():
    """``overfit(net, inputs, y)``: Adam on one batch until the MSE falls below 10% of the
    first step's (at most ``steps`` steps); returns ``(first, last)`` loss for the assertion.

    ``auxiliary=True`` also back-propagates ``net.auxiliary_loss(y)`` (multi-task nets); the
    tracked loss stays the forecast MSE.
    """
    def run(net, inputs, y, *, lr=1e-2, steps=400, auxiliary=False):
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        first = None
        for _ in range(steps):
            opt.zero_grad()
            loss = ((net(*inputs)[..., 0] - y) ** 2).mean()
            (loss + net.auxiliary_loss(y) if auxiliary else loss).backward()
            opt.step()
            first = loss.item() if first is None else first
            if loss.item() < 0.1 * first:
                break
        return first, loss.item()

    return run
