"""TFT's two faces on real S&P 500 data, with calendar features known in advance."""

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.forecasting.model_evaluation import evaluate
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.split import ExpandingWindowSplitter

from skfin.datasets import load_sp500
from skfin.forecasting import LSTMForecaster, TFTForecaster
from skfin.regressors import TFTRegressor

FAST = dict(window=10, hidden_size=8, max_epochs=2, random_state=0)
FH = [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def returns_and_calendar():
    """The last 800 daily log returns (%), counted in trading days, and the calendar of their
    real dates (day of week, month, trading days left in the month) as known-future X."""
    close = load_sp500()["Close"].iloc[-801:]
    days = close.index[1:]
    r = (100 * np.log(close).diff()).iloc[1:].reset_index(drop=True).rename("r")
    month = days.to_period("M")
    left = pd.Series(1, index=days).groupby(month).cumcount(ascending=False).to_numpy()
    X = pd.DataFrame({"dow": days.dayofweek, "month": days.month, "left_in_month": left},
                     dtype=float)
    return r, X


@pytest.fixture(scope="module")
def fitted(returns_and_calendar):
    r, X = returns_and_calendar
    return TFTForecaster(**FAST, output="quantile").fit(r.iloc[:-5], X=X.iloc[:-5], fh=FH)


def test_predict_with_future_calendar_and_intervals(fitted, returns_and_calendar):
    r, X = returns_and_calendar
    assert fitted.net_.module_.n_future == 3                  # X's columns feed the decoder
    pred = fitted.predict(X=X.iloc[-5:])
    assert pred.index.tolist() == [795, 796, 797, 798, 799] and np.isfinite(pred).all()
    band = fitted.predict_interval(X=X.iloc[-5:], coverage=[0.5, 0.9])
    assert band.shape == (5, 4)
    lo50, hi50 = band[("r", 0.5, "lower")], band[("r", 0.5, "upper")]
    lo90, hi90 = band[("r", 0.9, "lower")], band[("r", 0.9, "upper")]
    assert ((lo90 < lo50) & (lo50 < hi50) & (hi50 < hi90)).all()
    # X may hold more rows than the forecast needs (here all of it): the rows after the
    # cutoff are picked by their index
    pd.testing.assert_frame_equal(fitted.predict(X=X).to_frame(), pred.to_frame())


def test_the_future_calendar_changes_the_forecast(fitted, returns_and_calendar):
    _, X = returns_and_calendar
    other = X.iloc[-15:-10].set_axis(X.index[-5:])            # another week's real calendar
    assert not np.allclose(fitted.predict(X=X.iloc[-5:]), fitted.predict(X=other))


def test_training_windows_read_x_at_the_target_rows(fitted, returns_and_calendar):
    r, X = returns_and_calendar
    inputs, y = fitted._training_set()[[0, 300]]
    scaled_X = (X.to_numpy() - fitted.loc_[1:]) / fitted.scale_[1:]
    scaled_r = (r.to_numpy() - fitted.loc_[0]) / fitted.scale_[0]
    for row, end in enumerate([9, 309]):                      # window 10: first end is row 9
        future = inputs["x_future"][row].numpy()
        np.testing.assert_allclose(future, scaled_X[end + 1:end + 6], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y[row, :, 0].numpy(), scaled_r[end + 1:end + 6],
                                   rtol=1e-5, atol=1e-6)
        past = inputs["x"][row].numpy()                       # [y | X] up to the end row
        np.testing.assert_allclose(past[:, 1:], scaled_X[end - 9:end + 1], rtol=1e-5, atol=1e-6)


def test_missing_future_rows_are_named(fitted, returns_and_calendar):
    _, X = returns_and_calendar
    with pytest.raises(ValueError, match=r"pass X with rows for the 5 steps after the "
                                         r"cutoff \(795 \.\. 799\)"):
        fitted.predict()
    with pytest.raises(ValueError, match=r"lacks 2 of the 5 rows .* \(first missing: 798\)"):
        fitted.predict(X=X.iloc[-5:-2])
    with pytest.raises(ValueError, match=r"lacks 5 of the 5 rows"):
        fitted.predict_interval(X=X.iloc[:-5])                # only past rows
    with pytest.raises(ValueError, match=r"lacks the known-future columns \['left_in_month'\]"):
        fitted.predict(X=X.iloc[-5:, :2])


def test_update_moves_the_origin_and_wants_the_next_calendar(returns_and_calendar):
    r, X = returns_and_calendar
    f = TFTForecaster(**FAST, update_epochs=1).fit(r.iloc[:700], X=X.iloc[:700], fh=[1, 2, 3])
    epochs = len(f.net_.history)
    f.update(r.iloc[700:750], X=X.iloc[700:750])
    assert len(f.net_.history) == epochs + 1 and f.cutoff[0] == 749
    pred = f.predict(X=X.iloc[750:753])
    assert pred.index.tolist() == [750, 751, 752]
    with pytest.raises(ValueError, match=r"first missing: 750"):
        f.predict(X=X.iloc[700:750])                          # the calendar of the old origin


def test_walk_forward_evaluate_with_known_future_X(returns_and_calendar):
    r, X = returns_and_calendar
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=600, step_length=100)
    res = evaluate(TFTForecaster(**FAST), cv, r.iloc[:800], X=X.iloc[:800], strategy="update",
                   scoring=MeanAbsoluteError())
    assert len(res) == 2 and np.isfinite(res["test_MeanAbsoluteError"]).all()


def test_without_X_the_decoder_runs_on_position_embeddings(returns_and_calendar):
    r, _ = returns_and_calendar
    f = TFTForecaster(**FAST).fit(r.iloc[:500], fh=[1, 2])
    assert f.net_.module_.n_future == 0
    assert f.net_.module_.position_embedding.shape == (2, 8)
    assert f.predict_interval(coverage=0.9).shape == (2, 2)   # point head: residual intervals


def test_tft_reads_future_X_natively_and_others_through_the_shared_wrapper(returns_and_calendar):
    """Every forecaster reads known-future X; only nets without covariate inputs are wrapped."""
    r, X = returns_and_calendar
    lstm = LSTMForecaster(**FAST).fit(r.iloc[:500], X=X.iloc[:500], fh=[1, 2])
    tft = TFTForecaster(**FAST).fit(r.iloc[:500], X=X.iloc[:500], fh=[1, 2])
    assert type(lstm.net_.module_).__name__ == "Covariates"
    assert type(tft.net_.module_).__name__ == "TFT" and tft.net_.module_.n_future == 3
    for f in (lstm, tft):
        assert f._training_set().future.shape[1] == 3
        assert not np.allclose(f.predict(X=X.iloc[500:502]), f.predict(X=X.iloc[500:502] + 3))


def test_tags_say_x_must_cover_every_step():
    assert TFTForecaster().get_tag("capability:non_contiguous_X") is False
    assert LSTMForecaster().get_tag("capability:non_contiguous_X") is False
    assert LSTMForecaster(future_X=None).get_tag("capability:non_contiguous_X") is True
    f = LSTMForecaster().set_params(future_X=None)
    assert f.get_tag("capability:non_contiguous_X") is True


def test_regressor_reads_past_rows_and_explains(sp500_xy):
    X, y = sp500_xy
    model = TFTRegressor(**FAST, output="gaussian").fit(X.iloc[-600:], y.iloc[-600:])
    assert model.predict(X.iloc[-5:]).shape == (5,)
    assert model.predict_interval(X.iloc[-5:], coverage=0.9).shape == (5, 2)
    window = torch.tensor(X.iloc[-10:].to_numpy(), dtype=torch.float32).unsqueeze(0)
    parts = model.net_.module_.explain(window)
    assert set(parts) == {"past_weights", "attention"}
    assert parts["past_weights"].shape == (1, 10, 2) and parts["attention"].shape == (1, 1, 11)
