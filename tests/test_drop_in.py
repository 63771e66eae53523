"""The snippets of issue 10, run on the bundled data, with the behaviour they should have.

Each test is a path a quant takes first: dated market data as loaded, indicators in a
pipeline in front of a net, tomorrow's forecast from one new row, sktime's update and
horizon rules, and bad magnitudes refused with a message instead of inf forecasts.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sktime.forecasting.compose import ForecastingPipeline

from skfin.datasets import load_sp500
from skfin.forecasting import LSTMForecaster
from skfin.regressors import LSTMRegressor, MLPRegressor
from skfin.transformations import LogRatio, TechnicalIndicators

NET = dict(window=20, hidden_size=8, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def market():
    """The last 1,200 S&P 500 days as loaded and the next day's log return in percent."""
    ohlcv = load_sp500().iloc[-1200:]
    y = 100 * LogRatio().fit_transform(ohlcv["Close"]).shift(-1)
    keep = y.notna()
    return ohlcv[keep], y[keep].rename("next_r")


@pytest.mark.parametrize("warmup", ["nan", "drop"])
def test_indicators_pipeline_fits_predicts_and_cross_validates_without_imputer(market, warmup):
    ohlcv, y = market
    pipe = make_pipeline(TechnicalIndicators(warmup=warmup), StandardScaler(),
                         LSTMRegressor(**NET)).set_output(transform="pandas")
    pipe.fit(ohlcv.iloc[:-1], y.iloc[:-1])
    net = pipe[-1]
    assert list(net.feature_names_in_) == list(pipe[0].get_feature_names_out())
    assert net.n_warmup_ == (pipe[0].n_warmup_ if warmup == "nan" else 0)
    full = pipe.predict(ohlcv)
    assert np.isfinite(full).all()
    assert len(full) == len(ohlcv) - (pipe[0].n_warmup_ if warmup == "drop" else 0)
    # tomorrow from one new row equals the last row of the whole series' predictions
    assert pipe.predict(ohlcv.tail(1))[0] == pytest.approx(full[-1], abs=1e-6)
    scores = cross_val_score(pipe, ohlcv, y, cv=TimeSeriesSplit(3, gap=20),
                             scoring="neg_mean_absolute_error")
    assert np.isfinite(scores).all() and (scores < 0).all()


def test_warmup_rows_get_the_unconditional_forecast(market):
    ohlcv, y = market
    pipe = make_pipeline(TechnicalIndicators(), StandardScaler(),
                         LSTMRegressor(**NET, output="quantile")).set_output(transform="pandas")
    pipe.fit(ohlcv, y)
    n = pipe[0].n_warmup_
    kept = y.iloc[n:]
    pred = pipe.predict(ohlcv)
    np.testing.assert_allclose(pred[:n], kept.mean(), rtol=1e-6)
    assert not np.allclose(pred[n:n + 5], kept.mean())               # the net, after warm-up
    q = pipe[-1].predict_quantiles(pipe[:-1].transform(ohlcv.iloc[:n]), alpha=[0.1, 0.9])
    np.testing.assert_allclose(q.iloc[0].to_numpy(), np.quantile(kept, [0.1, 0.9]), rtol=1e-6)


@pytest.fixture(scope="module")
def fitted(sp500_xy):
    X, y = sp500_xy
    X_train, y_train = X.iloc[-800:-1], y.iloc[-800:-1]
    return LSTMRegressor(**NET).fit(X_train, y_train), X.iloc[-800:]


def test_prediction_does_not_depend_on_how_many_rows_are_passed(fitted):
    model, X = fitted
    last = model.predict(X)[-1]
    assert model.predict(X.tail(5))[-1] == pytest.approx(last, abs=1e-6)
    assert model.predict(X.tail(1))[0] == pytest.approx(last, abs=1e-6)
    # arrays: the row is found among (or after) the fitted rows by value
    assert model.predict(X.tail(1).to_numpy())[0] == pytest.approx(last, abs=1e-6)
    inside = model.predict(X.iloc[300:310])
    np.testing.assert_allclose(inside, model.predict(X)[300:310], atol=1e-6)
    np.testing.assert_allclose(model.predict(X.iloc[300:310].to_numpy()), inside, atol=1e-6)


def test_set_params_after_fit_does_not_change_predictions_until_refit(fitted, sp500_xy):
    model, X = fitted
    before = model.predict(X.tail(3))
    model.set_params(window=16)
    np.testing.assert_array_equal(model.predict(X.tail(3)), before)
    model.set_params(window=20)
    Xa, ya = sp500_xy
    refit = LSTMRegressor(**{**NET, "window": 16}).fit(Xa.iloc[-300:], ya.iloc[-300:])
    assert refit.window_ == 16 and refit.predict(Xa.tail(1)).shape == (1,)


def test_missing_values_are_forward_filled_causally_or_refused(sp500_xy):
    X, y = sp500_xy
    X, y = X.iloc[-400:].copy(), y.iloc[-400:]
    holes = X.copy()
    holes.iloc[[100, 250, 251], 1] = np.nan                     # e.g. a feed that skipped days
    a = MLPRegressor(window=10, max_epochs=2, random_state=0).fit(holes, y)
    b = MLPRegressor(window=10, max_epochs=2, random_state=0).fit(holes.ffill(), y)
    np.testing.assert_array_equal(a.predict(holes), b.predict(holes.ffill()))
    with pytest.raises(ValueError, match=r"column 'range' at row 100"):
        MLPRegressor(window=10, max_epochs=2, missing="raise").fit(holes, y)
    bad = X.copy()
    bad.iloc[5, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf.*column 'r' at row 5"):
        MLPRegressor(window=10, max_epochs=2).fit(bad, y)


@pytest.mark.parametrize("scale", [1e39, 1e300])
def test_values_beyond_float32_are_refused_with_the_column(sp500_xy, scale):
    X, y = sp500_xy
    X, y = X.iloc[-300:], y.iloc[-300:]
    with pytest.raises(ValueError, match="beyond float32's range .*column 'next_r'"):
        MLPRegressor(window=10, max_epochs=1).fit(X, y * scale)
    with pytest.raises(ValueError, match="beyond float32's range .*column 'range'"):
        MLPRegressor(window=10, max_epochs=1).fit(X.assign(range=X["range"] * scale), y)
    with pytest.raises(ValueError, match="beyond float32's range"):
        LSTMForecaster(window=10, max_epochs=1).fit(y * scale, fh=[1])


# -- the sktime face ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def returns():
    close = load_sp500()["Close"].iloc[-600:]
    return (100 * np.log(close).diff()).iloc[1:]


@pytest.fixture()
def forecaster(returns):
    return LSTMForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0).fit(
        returns.iloc[:-10], fh=[1, 2, 3, 4, 5])


def test_predict_on_a_subset_of_the_fitted_horizon(forecaster):
    full = forecaster.predict()
    part = forecaster.predict(fh=[2, 4])
    pd.testing.assert_series_equal(part, full.iloc[[1, 3]], check_freq=False)
    with pytest.raises(ValueError, match="max\\(fh\\)=6 exceeds horizon=5"):
        forecaster.predict(fh=[6])


@pytest.mark.parametrize("call", [
    lambda f: f.predict_interval(coverage=1),
    lambda f: f.predict_quantiles(alpha=0),
    lambda f: f.predict_interval(coverage=[0.5, 1.2]),
])
def test_degenerate_levels_get_skfin_message(forecaster, call):
    with pytest.raises(ValueError, match="must be in the open interval \\(0, 1\\)"):
        call(forecaster)


def test_update_with_rows_already_seen_never_moves_the_cutoff_back(forecaster, returns):
    cutoff = forecaster.cutoff[0]
    before = forecaster.predict()
    forecaster.update(returns.iloc[-20:-15], update_params=False)
    assert forecaster.cutoff[0] == cutoff
    pd.testing.assert_series_equal(forecaster.predict(), before)
    forecaster.update(returns.iloc[-10:], update_params=False)     # new rows: cutoff moves on
    assert forecaster.cutoff[0] == returns.index[-1]
    assert str(forecaster.predict().index[0].date()) == "2019-01-02"


def test_set_params_after_fit_requires_a_refit(forecaster):
    from skbase._exceptions import NotFittedError
    forecaster.set_params(window=16)
    with pytest.raises(NotFittedError):
        forecaster.predict()


def test_forecasting_pipeline_with_dropped_warmup(returns):
    ohlcv = load_sp500().loc[returns.index]
    pipe = ForecastingPipeline([
        ("ti", TechnicalIndicators(warmup="drop")),
        ("net", LSTMForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0))])
    pipe.fit(returns.iloc[:-5], X=ohlcv.iloc[:-5], fh=[1, 2])
    pred = pipe.predict(X=ohlcv)
    assert list(pred.index) == list(returns.index[-5:-3])
    assert np.isfinite(pred.to_numpy()).all()


def test_future_X_passed_to_predict_is_read_not_ignored(returns):
    """Issue snippet: predict(X=X_future) == predict(X=1000 * X_future) == predict()."""
    days = returns.index
    X = pd.DataFrame({"dow": days.dayofweek.astype(float),
                      "month": days.month.astype(float)}, index=days)
    f = LSTMForecaster(**NET).fit(returns.iloc[:-5], X=X.iloc[:-5], fh=[1, 2, 3])
    X_future = X.iloc[-5:-2]
    assert not np.allclose(f.predict(X=X_future), f.predict(X=1000 * X_future))
    with pytest.raises(ValueError, match="known-future covariates"):
        f.predict()
    past_only = LSTMForecaster(**NET, future_X=None).fit(returns.iloc[:-5], X=X.iloc[:-5],
                                                         fh=[1, 2, 3])
    pd.testing.assert_series_equal(past_only.predict(X=1000 * X_future), past_only.predict())
