"""skfin.plotting.plot_forecast on both faces' outputs, drawn with matplotlib's Agg backend."""

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from skfin.forecasting import LSTMForecaster  # noqa: E402
from skfin.plotting import plot_forecast  # noqa: E402
from skfin.regressors import LSTMRegressor  # noqa: E402


@pytest.fixture(scope="module")
def close(sp500):
    return sp500["Close"].iloc[-800:]


@pytest.fixture(scope="module")
def forecast(close):
    f = LSTMForecaster(window=20, hidden_size=8, max_epochs=2, random_state=0)
    f.fit(close, fh=[1, 2, 3, 4, 5])
    return f.predict(), f.predict_interval(coverage=[0.8, 0.95])


def _band_range(collection):
    """Lowest and highest y of a fill_between polygon."""
    ys = np.concatenate([path.vertices[:, 1] for path in collection.get_paths()])
    return ys.min(), ys.max()


def test_forecaster_fan_on_trading_days(close, forecast):
    pred, intervals = forecast
    assert close.index.freqstr == "C"                       # CustomBusinessDay, as loaded
    fig = plot_forecast(close, pred, intervals, history=60, title="S&P 500")
    ax = fig.axes[0]
    observed, line = ax.lines
    assert len(observed.get_xdata()) == 60
    # The forecast lands on the next five trading days after the last close.
    expected = pd.date_range(close.index[-1], periods=6, freq=close.index.freq)[1:]
    np.testing.assert_array_equal(pd.DatetimeIndex(line.get_xdata()), expected)
    np.testing.assert_allclose(line.get_ydata(), pred.to_numpy())
    wide, narrow = ax.collections                            # widest band drawn first
    (wide_lo, wide_hi), (narrow_lo, narrow_hi) = _band_range(wide), _band_range(narrow)
    assert wide_lo <= narrow_lo < narrow_hi <= wide_hi
    assert wide_lo == pytest.approx(intervals[("Close", 0.95, "lower")].min())
    assert narrow_hi == pytest.approx(intervals[("Close", 0.8, "upper")].max())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "observed", "95% interval", "80% interval", "forecast"]
    assert ax.get_title() == "S&P 500" and ax.get_ylabel() == "Close"
    fig.savefig(io.BytesIO(), format="png")                  # renders with Agg


def test_regressor_intervals_with_realised_values_and_given_axes(sp500_xy):
    from matplotlib.figure import Figure

    X, y = sp500_xy
    model = LSTMRegressor(window=10, hidden_size=8, max_epochs=2, output="quantile",
                          random_state=0).fit(X.iloc[-700:-20], y.iloc[-700:-20])
    new = X.iloc[-20:]
    pred = pd.Series(model.predict(new), index=new.index, name=y.name)
    ax = Figure().subplots()
    fig = plot_forecast(y.iloc[-100:-20], pred, model.predict_interval(new, coverage=0.9),
                        y_true=y.iloc[-20:], ax=ax)
    assert fig is ax.figure
    assert [len(line.get_xdata()) for line in ax.lines] == [80, 20, 20]   # history 250 > 80
    assert len(ax.collections) == 1
    assert ax.lines[2].get_linestyle() == "None"             # realised values are dots


def test_several_targets_need_target(sp500_xy):
    X, y = sp500_xy
    Y = pd.concat({"r+1": y, "r+2": y.shift(-1)}, axis=1).dropna().iloc[-400:]
    model = LSTMRegressor(window=10, hidden_size=8, max_epochs=1, output="gaussian",
                          random_state=0).fit(X.loc[Y.index], Y)
    intervals = model.predict_interval(X.loc[Y.index].tail(5))
    with pytest.raises(ValueError, match=r"variables \['r\+1', 'r\+2'\]; pass target="):
        plot_forecast(Y, pred_interval=intervals)
    fig = plot_forecast(Y, pred_interval=intervals, target="r+2")
    assert fig.axes[0].get_ylabel() == "r+2" and len(fig.axes[0].collections) == 1


def test_bad_inputs_are_explained(close, forecast):
    pred, intervals = forecast
    with pytest.raises(ValueError, match="sktime's interval format"):
        plot_forecast(close, pred, intervals.droplevel(2, axis=1))
    with pytest.raises(ValueError, match="y is indexed by DatetimeIndex but y_pred by RangeIndex"):
        plot_forecast(close, pred.reset_index(drop=True))
    with pytest.raises(ValueError, match="history must be a positive int"):
        plot_forecast(close, history=0)
    with pytest.raises(TypeError, match="y must be a pandas Series or DataFrame"):
        plot_forecast(close.to_numpy())


def test_sktime_plot_series_draws_skfin_forecasts(close, forecast):
    """sktime's own plot_series works on the trading-day index, given its seaborn need."""
    pytest.importorskip("seaborn")
    from sktime.utils.plotting import plot_series

    pred, intervals = forecast
    fig, ax = plot_series(close.iloc[-60:], pred, labels=["y", "forecast"],
                          pred_interval=intervals)
    assert len(ax.lines) == 2 and len(ax.collections) == 2
