"""What the net tests share (their real windows, ``real_batch``, are in tests/conftest.py)."""

import pytest
import torch


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
