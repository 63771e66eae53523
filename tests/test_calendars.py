"""Trading-day calendars: loaders attach them, and skfin's and sktime's forecasters use them."""

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.exp_smoothing import ExponentialSmoothing
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.naive import NaiveForecaster
from sktime.split import ExpandingWindowSplitter

from skfin.calendars import trading_calendar, with_trading_days
from skfin.datasets import load_msft, load_nasdaq, load_sp500, load_vix, load_wti
from skfin.forecasting import MLPForecaster
from skfin.transformations import LogRatio

NEXT_DAYS = ["2019-01-02", "2019-01-03", "2019-01-04"]       # 2019-01-01 is a NYSE holiday


@pytest.mark.parametrize("loader", [load_sp500, load_nasdaq, load_msft, load_vix, load_wti])
def test_daily_loaders_attach_a_trading_day_frequency(loader):
    data = loader()
    assert data.index.freq is not None
    # the frequency reproduces every observed date, and only those
    regenerated = pd.date_range(data.index[0], periods=len(data), freq=data.index.freq)
    assert regenerated.equals(pd.DatetimeIndex(data.index, freq=None).as_unit(regenerated.unit))


def test_inferred_holidays_are_the_missing_weekdays():
    index = load_sp500().index
    days = trading_calendar(index)
    missing = pd.bdate_range(index[0], index[-1]).difference(index)
    assert pd.Timestamp("2001-09-11") in missing                 # the 9/11 closure
    assert pd.Timestamp("2001-09-10") + days == pd.Timestamp("2001-09-17")
    # without an exchange the future skips weekends only
    assert pd.Timestamp("2018-12-31") + days == pd.Timestamp("2019-01-01")


def test_exchange_calendar_skips_future_holidays():
    days = trading_calendar(load_sp500().index, exchange="XNYS")
    steps = [pd.Timestamp("2018-12-31") + k * days for k in (1, 2, 3)]
    assert [str(d.date()) for d in steps] == NEXT_DAYS


def test_unknown_exchange_and_non_trading_indices_are_refused():
    index = load_sp500().index
    with pytest.raises(ValueError, match="Unknown exchange 'NOPE'"):
        trading_calendar(index, exchange="NOPE")
    with pytest.raises(ValueError, match="weekend date"):
        trading_calendar(index.union([pd.Timestamp("2018-12-29")]))
    with pytest.raises(ValueError, match="sorted, unique"):
        trading_calendar(index[::-1])


def test_with_trading_days_keeps_values_and_adds_freq():
    close = load_msft()["Close"]
    bare = close.copy()
    bare.index = pd.DatetimeIndex(close.index, freq=None)
    out = with_trading_days(bare)
    assert out.index.freq is not None and bare.index.freq is None       # input not mutated
    pd.testing.assert_series_equal(out, bare, check_freq=False)


def _naive():
    return NaiveForecaster()


@pytest.mark.parametrize("make", [
    _naive,
    lambda: ExponentialSmoothing(),
    lambda: TransformedTargetForecaster([("logret", LogRatio()), ("naive", NaiveForecaster())]),
    lambda: MLPForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0),
], ids=["naive", "ets", "logratio+naive", "skfin-mlp"])
def test_forecasters_take_sp500_as_loaded_and_land_on_trading_days(make):
    close = load_sp500()["Close"].iloc[-400:]
    pred = make().fit(close, fh=[1, 2, 3]).predict()
    assert [str(d.date()) for d in pred.index] == NEXT_DAYS
    assert np.isfinite(pred.to_numpy()).all()


def test_autoarima_takes_sp500_as_loaded():
    import pmdarima  # noqa: F401  (AutoARIMA's backend: in the data extra, part of test)
    from sktime.forecasting.arima import AutoARIMA
    close = load_sp500()["Close"].iloc[-250:]
    pred = AutoARIMA(max_p=2, max_q=2, seasonal=False, suppress_warnings=True).fit(
        close, fh=[1, 2]).predict()
    assert [str(d.date()) for d in pred.index] == NEXT_DAYS[:2]


def test_sktime_evaluate_on_loaded_dates():
    close = load_sp500()["Close"].iloc[-300:]
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=250, step_length=20)
    res = evaluate(NaiveForecaster(), cv, close, return_data=True)
    assert len(res) == 3
    # every test window is a pair of consecutive trading days of the data
    for y_test in res["y_test"]:
        pos = close.index.get_indexer(y_test.index)
        assert (pos >= 0).all() and np.diff(pos).tolist() == [1]


def test_skfin_forecaster_infers_the_calendar_of_a_bare_date_index():
    r = (100 * np.log(load_sp500()["Close"]).diff()).iloc[-300:]
    bare = r.copy()
    bare.index = pd.DatetimeIndex(r.index, freq=None)              # as read from a CSV
    f = MLPForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0)
    f.fit(bare.iloc[:-5], fh=[1, 2])
    # inferred from the dates alone: weekends are skipped, future holidays are unknown
    assert [str(d.date()) for d in f.predict().index] == ["2018-12-24", "2018-12-25"]
    f.update(bare.iloc[-5:], update_params=False)
    assert f.cutoff[0] == r.index[-1]
    assert f.predict().index[0] == pd.Timestamp("2019-01-01")      # no exchange: weekdays only
