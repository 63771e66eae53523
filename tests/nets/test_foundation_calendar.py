"""Lag-Llama's calendar: features read from the index, known ahead, on real S&P 500 dates.

``calendar_features`` is checked by hand on dates whose week, month and year positions are
known; the net's known-future conditioning and its sample paths on real returns and their
real calendar; the forecaster face on ``load_sp500()`` as loaded.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.calendars import CALENDAR_FEATURES, calendar_features
from skfin.datasets import load_sp500
from skfin.forecasting import LagLlamaForecaster
from skfin.nets import LagLlama


@pytest.fixture(scope="module")
def sp500():
    return load_sp500()


@pytest.fixture(scope="module")
def returns(sp500):
    """The last 400 daily S&P 500 log returns in percent, on their trading days."""
    return (100 * np.log(sp500["Close"]).diff()).dropna().iloc[-400:]


# -- calendar_features ---------------------------------------------------------------------
def test_calendar_features_by_hand_on_year_end_dates(sp500):
    days = sp500.loc["2017-12-28":"2018-01-03"].index     # Thu, Fri, (holiday), Tue, Wed
    assert [d.strftime("%a %d %b") for d in days] == [
        "Thu 28 Dec", "Fri 29 Dec", "Tue 02 Jan", "Wed 03 Jan"]
    got = calendar_features(days)
    assert list(got.columns) == [f"calendar_{n}" for n in CALENDAR_FEATURES]
    assert got.index.equals(days)
    expected = np.array([
        # day of week / 6, (day - 1) / 30, (day of year - 1) / 365, (month - 1) / 11,
        # (ISO week - 1) / 52; each minus 0.5
        [3 / 6, 27 / 30, 361 / 365, 11 / 11, 51 / 52],
        [4 / 6, 28 / 30, 362 / 365, 11 / 11, 51 / 52],
        [1 / 6, 1 / 30, 1 / 365, 0 / 11, 0 / 52],        # 2 Jan 2018: ISO week 1
        [2 / 6, 2 / 30, 2 / 365, 0 / 11, 0 / 52],
    ]) - 0.5
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)
    assert ((got >= -0.5) & (got <= 0.5)).all().all()


def test_calendar_features_choose_and_order_columns_and_read_periods(sp500):
    days = sp500.index[-5:]
    some = calendar_features(days, ["month_of_year", "day_of_week"])
    assert list(some.columns) == ["calendar_month_of_year", "calendar_day_of_week"]
    periods = calendar_features(days.to_period("D"), ["month_of_year", "day_of_week"])
    np.testing.assert_array_equal(periods.to_numpy(), some.to_numpy())


def test_calendar_features_refuse_an_index_without_dates_and_unknown_names(sp500):
    with pytest.raises(TypeError, match="RangeIndex.*Index the series by its dates"):
        calendar_features(pd.RangeIndex(5))
    with pytest.raises(ValueError, match=r"Unknown calendar feature\(s\) \['hour'\]"):
        calendar_features(sp500.index[-5:], ["day_of_week", "hour"])


# -- the net: known-future conditioning and paths --------------------------------------------
def _batch(returns, window=32, horizon=5, n=3):
    """``n`` real windows of returns with their calendar, and the calendar of the days ahead."""
    cal = calendar_features(returns.index).to_numpy()
    rows = np.column_stack([returns.to_numpy(), cal]).astype(np.float32)
    starts = [0, 100, 200][:n]
    x = torch.tensor(np.stack([rows[s:s + window] for s in starts]))
    x_future = torch.tensor(np.stack([cal[s + window:s + window + horizon] for s in starts]),
                            dtype=torch.float32)
    return x, x_future


def _trained_future_mlp(net):
    """Give the (zero-initialised) known-future layer weights, as training would."""
    with torch.no_grad():
        torch.manual_seed(0)
        net.future[-1].weight.normal_(0.0, 0.5)
    return net


def test_each_forecast_step_reads_its_own_day_only(returns):
    x, x_future = _batch(returns)
    net = LagLlama(6, 32, 5, 1, output="student_t", n_future=5).eval()
    untouched = net(x, x_future)
    # zero-initialised: the calendar of the days ahead changes nothing before training
    torch.testing.assert_close(net(x, torch.zeros_like(x_future)), untouched, rtol=0, atol=0)
    _trained_future_mlp(net)
    before = net(x, x_future)
    moved = x_future.clone()
    moved[:, 2] = moved[:, 4]                               # step 3 gets step 5's day
    after = net(x, moved)
    changed = (after - before).abs().amax(dim=(0, 2, 3))    # per step
    assert changed[2] > 1e-3
    assert changed[[0, 1, 3, 4]].max() == 0
    assert (after[..., 1] > 0).all() and (after[..., 2] > 2).all()   # constraints kept


def test_paths_append_the_known_days_ahead(returns):
    x, x_future = _batch(returns, n=2)
    net = _trained_future_mlp(LagLlama(6, 32, 5, 1, output="gaussian", n_future=5)).eval()
    assert net.draws_paths
    seen = []
    hook = net.register_forward_pre_hook(
        lambda module, args: seen.append([a if a is None else a.clone() for a in args]))
    paths = net.sample_paths(x, 4, torch.Generator().manual_seed(0), x_future=x_future)
    hook.remove()
    assert paths.shape == (4, 2, 5, 1)
    assert len(seen) == 5                                   # one pass per step ahead
    for h, (window, ahead, _) in enumerate(seen):
        # [S*B, W, 6]: paths tile the batch; after h steps the window's last h rows are
        # the drawn values followed by the calendar of those days
        tiled = x_future.repeat(4, 1, 1)
        if h:
            torch.testing.assert_close(window[:, -h:, 1:], tiled[:, :h], rtol=0, atol=0)
            drawn = paths.reshape(8, 5, 1)[:, :h]
            torch.testing.assert_close(window[:, -h:, :1], drawn, rtol=0, atol=0)
        torch.testing.assert_close(window[:, :32 - h], x.repeat(4, 1, 1)[:, h:], rtol=0, atol=0)
        torch.testing.assert_close(ahead[:, 0], tiled[:, h], rtol=0, atol=0)  # the next day


def test_covariate_inputs_must_match_the_net(returns):
    x, x_future = _batch(returns)
    with pytest.raises(ValueError, match="must not be targets"):
        LagLlama(6, 32, 5, 1, n_future=6)
    net = LagLlama(6, 32, 5, 1, n_future=5)
    with pytest.raises(ValueError, match=r"^This LagLlama was built with n_future=5: pass "
                                         r"x_future of shape \[batch, 5, 5\]\.$"):
        net(x)
    with pytest.raises(ValueError, match=r"^This LagLlama was built with n_static=0 and takes "
                                         r"no x_static; rebuild it with n_static=2\.$"):
        net(x, x_future, torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"^x_future has 4 variables on its last axis; this "
                                         r"LagLlama expects \[batch, 5, 5\]\.$"):
        net(x, x_future[..., :4])
    with pytest.raises(ValueError, match="all targets or known ahead"):
        LagLlama(6, 32, 5, 1, output="gaussian", n_future=4).sample_paths(
            x, 2, torch.Generator(), x_future=x_future[..., :4])
    static = LagLlama(6, 32, 5, 1, n_future=5, n_static=2)
    assert static(x, x_future, torch.ones(3, 2)).shape == (3, 5, 1, 3)   # student_t


# -- the forecaster face -----------------------------------------------------------------------
def _forecaster(**kwargs):
    return LagLlamaForecaster(window=20, d_model=8, n_heads=2, num_layers=1, max_epochs=2,
                              random_state=0, **kwargs)


def test_forecaster_builds_the_calendar_of_the_days_ahead(returns):
    f = _forecaster(calendar=["day_of_week", "month_of_year"], output="student_t",
                    n_paths=20).fit(returns.iloc[:-3], fh=[1, 2, 3])
    assert f.future_columns_ == ["calendar_day_of_week", "calendar_month_of_year"]
    assert f.net_.module_.n_future == 2 and f.net_.module_.draws_paths
    window = f._last_window()
    x_future = window[torch.arange(1)][0]["x_future"][0].numpy()            # [H, 2]
    ahead = returns.index[-3:]                              # the trading days after the cutoff
    expected = calendar_features(ahead, ["day_of_week", "month_of_year"]).to_numpy()
    loc, scale = f.loc_[1:], f.scale_[1:]
    np.testing.assert_allclose(x_future * scale + loc, expected, rtol=0, atol=1e-6)
    pred = f.predict()                                      # no X needed
    assert pred.index.equals(ahead)
    band = f.predict_interval(coverage=0.8)
    assert (band.iloc[:, 0] < band.iloc[:, 1]).all()


def test_forecaster_calendar_follows_an_update_by_one_new_row(returns):
    f = _forecaster(calendar=True).fit(returns.iloc[:-2], fh=[1])
    f.update(returns.iloc[-2:-1], update_params=False)      # tomorrow's row arrives
    X = f._seen[1]
    np.testing.assert_allclose(X.iloc[-1].to_numpy(),
                               calendar_features(returns.index[-2:-1]).iloc[0].to_numpy())
    assert f.predict().index[0] == returns.index[-1]


def test_forecaster_calendar_with_exogenous_X(returns, sp500):
    vix_like = np.log(sp500["High"] / sp500["Low"]).loc[returns.index].rename("range")
    X = vix_like.to_frame()
    f = _forecaster(calendar=["day_of_week"], future_X=None).fit(
        returns.iloc[:-5], X=X.iloc[:-5], fh=[1, 2])
    # the observed-only range is a past covariate; the calendar is known ahead
    assert f.future_columns_ == ["calendar_day_of_week"]
    assert f.predict(X=X.iloc[:-5]).index.equals(returns.index[-5:-3])
    with pytest.raises(ValueError, match="calendar_day_of_week.*that calendar="):
        _forecaster(calendar=["day_of_week"]).fit(
            returns, X=calendar_features(returns.index, ["day_of_week"]), fh=[1])


def test_forecaster_calendar_errors(returns):
    integer = returns.reset_index(drop=True)
    with pytest.raises(ValueError, match="indexed by a RangeIndex.*calendar=None"):
        _forecaster(calendar=True).fit(integer, fh=[1])
    with pytest.raises(TypeError, match="calendar must be None, True, or names"):
        _forecaster(calendar=5).fit(returns, fh=[1])
    with pytest.raises(ValueError, match=r"Unknown calendar feature\(s\) \['hour'\]"):
        _forecaster(calendar=["hour"]).fit(returns, fh=[1])
    panel = pd.concat({"a": returns.iloc[:100], "b": returns.iloc[100:200]}).to_frame()
    with pytest.raises(ValueError, match="pretrain does not build calendar features"):
        _forecaster(calendar=True).pretrain(panel, fh=[1])


def test_a_saved_calendar_forecaster_reloads_and_forecasts_the_same(returns, tmp_path):
    import skfin

    f = _forecaster(calendar=["day_of_week"], output="gaussian", n_paths=20).fit(
        returns, fh=[1, 2])
    f.save(tmp_path / "lag_llama")
    g = skfin.load(tmp_path / "lag_llama")
    assert g.calendar_columns_ == ["calendar_day_of_week"]
    pd.testing.assert_frame_equal(g.predict_interval(coverage=0.9),
                                  f.predict_interval(coverage=0.9))
    pd.testing.assert_series_equal(g.predict(), f.predict())
