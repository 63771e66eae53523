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
