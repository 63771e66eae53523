"""Shared fixtures: real data only."""

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500


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
