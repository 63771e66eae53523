"""Shared fixtures: real data only."""

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.datasets import load_sp500
from skfin.engine.data import WindowDataset


@pytest.fixture(scope="session")
def sp500():
    return load_sp500()


@pytest.fixture(scope="session")
def sp500_returns(sp500):
    """Daily S&P 500 log returns in percent, counted in trading days (integer index)."""
    close = sp500["Close"].reset_index(drop=True)
    return (100 * np.log(close).diff()).dropna().rename("r")


@pytest.fixture(scope="session")
def sp500_xy(sp500):
    """Row-aligned features (today's return and range) and tomorrow's return, in percent."""
    r = 100 * np.log(sp500["Close"]).diff()
    X = pd.DataFrame({"r": r, "range": 100 * (sp500["High"] - sp500["Low"]) / sp500["Close"]})
    y = r.shift(-1).rename("next_r")
    keep = X.notna().all(axis=1) & y.notna()
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def real_batch(sp500_xy):
    """64 windows of 20 days of standardised S&P 500 features and next-day returns."""
    X, y = sp500_xy
    X = torch.tensor(((X - X.mean()) / X.std()).to_numpy(), dtype=torch.float32)
    y = torch.tensor((y / y.std()).to_numpy(), dtype=torch.float32).view(-1, 1, 1)
    ds = WindowDataset(X, torch.arange(1000, 1064), window=20, targets=y)
    return ds[torch.arange(64)]
