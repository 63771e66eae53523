"""The forecasters of the continuous-time nets read time from the index, and NaN natively.

Neural ODE and Neural CDE take ``dt``, the time elapsed between observations; the sktime
face reads it from ``y``'s DatetimeIndex (weekends and holidays count). The Neural CDE
forecaster fits and predicts WTI crude with its missing days as loaded; every other
forecaster keeps refusing NaN with a message that says what to do.
"""

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500, load_wti
from skfin.forecasting import LSTMForecaster, NeuralCDEForecaster, NeuralODEForecaster
from skfin.regressors import LSTMRegressor, NeuralCDERegressor
from skfin.registry import ARCHITECTURES

FAST = dict(window=10, hidden_size=8, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def returns():
    return (100 * np.log(load_sp500()["Close"]).diff().dropna()).iloc[-300:]


@pytest.fixture(scope="module")
def wti_returns():
    wti = load_wti()
    r = 100 * np.log(wti.where(wti > 0)).diff().iloc[-700:]
    assert r.isna().sum() > 20                        # holidays kept as NaN, as loaded
    return r


def _seen_dt(forecaster, **predict_kwargs):
    """The ``dt`` the net receives when ``forecaster`` predicts."""
    seen = []
    module = forecaster.net_.module_
    handle = module.register_forward_pre_hook(
        lambda m, args, kwargs: seen.append(kwargs["dt"].clone()), with_kwargs=True)
    try:
        forecaster.predict(**predict_kwargs)
    finally:
        handle.remove()
    return seen[0][0].numpy()                          # [window]


@pytest.mark.parametrize("cls", [NeuralODEForecaster, NeuralCDEForecaster])
def test_the_net_reads_calendar_days_from_the_index(cls, returns):
    f = cls(**FAST).fit(returns, fh=[1, 2])
    days = np.diff(returns.index[-11:]).astype("timedelta64[D]").astype(float)
    dt = _seen_dt(f)
    assert f.time_unit_ == 1.0                        # the median gap: one day
    np.testing.assert_array_equal(dt[1:], days[1:])   # dt[0], before the window, is unused
    assert dt.max() >= 3                              # a weekend is three days


def test_equal_spacing_when_the_index_counts_steps(returns):
    calendar = NeuralODEForecaster(**FAST).fit(returns, fh=[1, 2])
    steps = NeuralODEForecaster(**FAST).fit(returns.reset_index(drop=True), fh=[1, 2])
    np.testing.assert_array_equal(_seen_dt(steps), np.ones(10, np.float32))
    assert not np.allclose(calendar.predict().to_numpy(), steps.predict().to_numpy())


def test_time_unit_is_kept_from_fit():
    daily = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    monthly = daily.groupby(daily.index.to_period("M")).sum()
    f = NeuralODEForecaster(**FAST).fit(monthly.to_timestamp(), fh=[1])
    assert 28 <= f.time_unit_ <= 31                   # a month in days
    dt = _seen_dt(f)
    assert 0.8 < dt[1:].min() and dt.max() < 1.2      # months of 28..31 days, near 1


def test_cde_fits_and_predicts_wti_with_its_missing_days(wti_returns):
    f = NeuralCDEForecaster(**FAST).fit(wti_returns, fh=[1, 2, 3])
    assert f.get_tag("capability:missing_values") is True
    assert np.isfinite(f.predict().to_numpy()).all()
    band = f.predict_interval(coverage=0.9)
    assert np.isfinite(band.to_numpy()).all() and (band.iloc[:, 0] < band.iloc[:, 1]).all()
    # NaN is read as missing, not filled: the forward-filled series is another fit
    filled = NeuralCDEForecaster(**FAST).fit(wti_returns.ffill(), fh=[1, 2, 3])
    assert not np.allclose(f.predict().to_numpy(), filled.predict().to_numpy())
    # a last observation that is missing still forecasts
    f.update(pd.Series([np.nan], index=wti_returns.index[-1:] + pd.offsets.BDay(1),
                       name=wti_returns.name), update_params=False)
    assert np.isfinite(f.predict().to_numpy()).all()


def test_only_nets_that_read_nan_declare_it():
    for arch in ARCHITECTURES:
        reads = getattr(arch.net, "handles_missing", False)
        assert arch.forecaster().get_tag("capability:missing_values") is reads, arch.name


def test_other_forecasters_still_refuse_nan(wti_returns):
    with pytest.raises(ValueError, match="y contains NaN or inf: .* first in column"):
        LSTMForecaster(window=10, max_epochs=1).fit(wti_returns, fh=[1])


def test_cde_refuses_inf_and_a_column_never_observed(wti_returns):
    bad = wti_returns.copy()
    bad.iloc[50] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        NeuralCDEForecaster(**FAST).fit(bad, fh=[1])
    X = pd.DataFrame({"never": np.nan}, index=wti_returns.index)
    with pytest.raises(ValueError, match="'never' has no observed value"):
        NeuralCDEForecaster(**FAST).fit(wti_returns, X=X, fh=[1])


def test_a_parameter_of_another_net_says_which_faces_take_it():
    with pytest.raises(TypeError, match="'interpolation': only NeuralCDERegressor and "
                                        "NeuralCDEForecaster take it"):
        LSTMForecaster(interpolation="linear")
    with pytest.raises(TypeError, match="'solver': only NeuralODERegressor"):
        LSTMForecaster(solver="rk4")
    # a net argument that the faces read from the data is not offered by every face
    with pytest.raises(TypeError, match="'horizon': read from the data, not a parameter "
                                        r"\(a regressor forecasts one step per column of y"):
        LSTMForecaster(horizon=5)


def test_an_unknown_solver_lists_the_valid_ones(returns):
    with pytest.raises(ValueError, match="dopri5"):
        NeuralODEForecaster(**FAST, solver="runge").fit(returns, fh=[1])


def test_the_cde_regressor_keeps_nan_when_told(wti_returns):
    """missing="keep": WTI's missing days reach the net as NaN; predictions stay finite and
    do not depend on how many rows are passed."""
    X = wti_returns.to_frame("r").iloc[:-1]
    y = wti_returns.shift(-1).iloc[:-1]
    X, y = X[y.notna()], y[y.notna()]                 # the targets must be observed
    assert X["r"].isna().sum() > 10
    model = NeuralCDERegressor(**FAST, missing="keep").fit(X, y)
    assert model.n_warmup_ == 0 and model.__sklearn_tags__().input_tags.allow_nan
    full = model.predict(X)
    assert np.isfinite(full).all()
    np.testing.assert_allclose(model.predict(X.tail(30)), full[-30:], rtol=1e-5, atol=1e-6)
    filled = NeuralCDERegressor(**FAST).fit(X, y)     # default: forward fill
    assert not np.allclose(filled.predict(X), full)


def test_keep_is_refused_by_nets_that_cannot_read_nan(wti_returns):
    X = wti_returns.to_frame("r").iloc[:-1]
    y = wti_returns.shift(-1).iloc[:-1].fillna(0.0)
    with pytest.raises(ValueError, match="missing='keep' hands NaN to the net, and LSTM "
                                         "cannot read it.*NeuralCDERegressor"):
        LSTMRegressor(window=10, missing="keep").fit(X, y)
