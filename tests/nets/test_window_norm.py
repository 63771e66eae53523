"""Per-window normalisation (skfin.nets.WindowNorm) on real level series: WTI, airline.

What must hold: the wrapper is the wrapped net applied to each window's standardised values
and mapped back with the target channel's statistics (checked against the statistics
computed by hand), it is equivariant to a change of units and level (so a series that
trends out of its fit range is read like any other), NaN is left out of the statistics,
every head keeps its constraints, and the forecaster's ``standardize="window"`` builds it
around every net, covariate-wrapped ones included.
"""

import re

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.datasets import load_airline, load_wti
from skfin.forecasting import LSTMForecaster, NBEATSForecaster
from skfin.nets import GRU, LSTM, NBEATS, Covariates, WindowNorm
from skfin.nets.heads import head_class
from skfin.nets.window_norm import window_statistics


@pytest.fixture(scope="module")
def wti_windows():
    """Four 30-day windows of WTI (dollars) with a second channel, the daily range proxy
    |Δ price|, from four different years: four different levels."""
    oil = load_wti().dropna()
    ends = [len(oil) - 1 - 750 * k for k in range(4)]
    price = np.stack([oil.to_numpy()[e - 29:e + 1] for e in ends])
    move = np.abs(np.diff(np.stack([oil.to_numpy()[e - 30:e + 1] for e in ends]), axis=1))
    return torch.tensor(np.stack([price, move], axis=-1), dtype=torch.float64)   # [4, 30, 2]


def test_window_statistics_by_hand_and_with_missing_values(wti_windows):
    x = wti_windows.clone()
    loc, scale = window_statistics(x)
    np.testing.assert_allclose(loc.numpy(), x.numpy().mean(axis=1))
    np.testing.assert_allclose(scale.numpy(), np.sqrt(x.numpy().var(axis=1) + 1e-5))
    x[0, 3:9, 0] = float("nan")                                      # six missing days
    x[1, :, 1] = float("nan")                                        # a channel never seen
    loc, scale = window_statistics(x)
    kept = np.delete(x[0, :, 0].numpy(), range(3, 9))
    assert loc[0, 0].item() == pytest.approx(kept.mean())
    assert scale[0, 0].item() == pytest.approx(np.sqrt(kept.var() + 1e-5))
    assert (loc[1, 1].item(), scale[1, 1].item()) == (0.0, 1.0)
    assert torch.isfinite(loc).all() and torch.isfinite(scale).all()


@pytest.mark.parametrize("output", ["point", "quantile", "gaussian", "student_t"])
def test_wrapper_is_the_net_on_standardised_windows_mapped_back(wti_windows, output):
    torch.manual_seed(0)
    net = WindowNorm(LSTM, n_features=2, window=30, horizon=5, n_targets=1,
                     output=output).double().eval()
    x = wti_windows
    mean, std = x.mean(dim=1), x.std(dim=1, unbiased=False)          # by hand, [4, 2]
    inner = net.net((x - mean[:, None]) / torch.sqrt(std[:, None] ** 2 + 1e-5))
    expected = head_class(output).denormalise(inner, mean[:, :1], torch.sqrt(std[:, :1] ** 2 + 1e-5))
    torch.testing.assert_close(net(x), expected)
    out = net(x)
    if output == "quantile":
        assert (out.diff(dim=-1) > 0).all()                           # still ordered
    if output in ("gaussian", "student_t"):
        assert (out[..., 1] > 0).all()
    if output == "student_t":
        torch.testing.assert_close(out[..., 2], inner[..., 2])         # df unchanged


@pytest.mark.parametrize("net_class", [LSTM, GRU, NBEATS])
def test_a_change_of_units_and_level_moves_the_forecast_alike(wti_windows, net_class):
    """Dollars -> cents plus a 40-dollar shift of the price: forecasts follow exactly."""
    torch.manual_seed(0)
    net = WindowNorm(net_class, n_features=2, window=30, horizon=5, n_targets=1,
                     output="quantile", eps=1e-12).double().eval()
    x = wti_windows
    moved = x * torch.tensor([100.0, 100.0], dtype=torch.float64) \
        + torch.tensor([4000.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(net(moved), 100 * net(x) + 4000, rtol=1e-9, atol=1e-6)
    bare = net_class(n_features=2, window=30, horizon=5, n_targets=1,
                     output="quantile").double().eval()
    bare.load_state_dict(net.net.state_dict())
    assert not torch.allclose(bare(moved), 100 * bare(x) + 4000)    # the bare net is not


def test_it_refuses_targets_that_are_not_input_channels():
    with pytest.raises(ValueError, match=re.escape(
            "first n_targets=2 input channels, but the windows have only n_features=1")):
        WindowNorm(LSTM, n_features=1, window=10, horizon=1, n_targets=2)


def test_forecaster_standardize_window_wraps_every_net_and_follows_the_level():
    """Airline passengers, the last year held out: with per-window normalisation the
    forecasts stay at the level of the last two years (the trend carried the series far
    above most of the fit period), and the net inside is the wrapper."""
    y = load_airline()
    train = y.iloc[:-12]
    model = NBEATSForecaster(window=24, standardize="window", max_epochs=20, random_state=0,
                             valid_fraction="auto").fit(train, fh=np.arange(1, 13))
    assert isinstance(model.net_.module_, WindowNorm)
    assert isinstance(model.net_.module_.net, NBEATS)
    forecast = model.predict()
    last = train.iloc[-24:]
    assert last.min() * 0.8 < forecast.mean() < last.max() * 1.2
    assert forecast.mean() > train.mean() * 1.3                       # not the training mean
    q = model.predict_quantiles(alpha=[0.1, 0.9])
    assert (q.iloc[:, 1] > q.iloc[:, 0]).all()


def test_window_normalisation_with_future_covariates_and_save_load(tmp_path):
    import skfin

    oil = load_wti().dropna().iloc[-400:]
    oil.index = pd.RangeIndex(len(oil))
    month = pd.DataFrame({"month_end": (np.arange(len(oil) + 3) % 21 == 20).astype(float)})
    model = LSTMForecaster(window=20, hidden_size=8, standardize="window", max_epochs=2,
                           random_state=0).fit(oil, X=month.iloc[:len(oil)], fh=[1, 2, 3])
    assert isinstance(model.net_.module_, WindowNorm)
    assert isinstance(model.net_.module_.net, Covariates)
    future = month.iloc[len(oil):].set_index(pd.RangeIndex(len(oil), len(oil) + 3))
    pred = model.predict(X=future)
    again = skfin.load(model.save(tmp_path / "wn.skfin"))
    pd.testing.assert_series_equal(again.predict(X=future), pred)


def test_window_normalisation_refuses_qlike():
    oil = load_wti().dropna().iloc[-200:].reset_index(drop=True)
    with pytest.raises(ValueError, match="standardize='window' shifts each window's outputs"):
        LSTMForecaster(window=10, standardize="window", loss="qlike").fit(oil, fh=[1])
