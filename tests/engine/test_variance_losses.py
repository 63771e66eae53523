"""QLIKE and CRPS through both faces, on S&P 500 realized variance and returns.

The target of the QLIKE tests is next week's realized variance (the mean of the next five
squared daily % returns); the feature is this week's. What must hold: forecasts are
positive variances in the target's units, the net's output is read through the documented
link (``unit * exp(o)``), a target that cannot be a variance is refused by name, and the
fitted state (the unit, the forecaster's un-centred target scaling) survives save/load.
"""

import re

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.forecasting import LSTMForecaster
from skfin.losses import CRPSLoss, QLIKELoss
from skfin.regressors import MLPRegressor

FAST = dict(window=10, hidden_size=8, random_state=0, max_epochs=3)


@pytest.fixture(scope="module")
def weekly_rv(sp500):
    r = 100 * np.log(sp500["Close"]).diff()
    rv = (r ** 2).rolling(5).mean()
    X = pd.DataFrame({"rv": rv, "r2": r ** 2})
    y = rv.shift(-5).rename("rv_next_week")
    keep = X.notna().all(axis=1) & y.notna()
    return X[keep].iloc[-900:], y[keep].iloc[-900:]


def test_qlike_regressor_forecasts_are_unit_times_exp_of_the_output(weekly_rv):
    X, y = weekly_rv
    model = MLPRegressor(**FAST, loss="qlike").fit(X, y)
    assert isinstance(model.net_.criterion_, QLIKELoss)
    assert model.variance_unit_ == pytest.approx(y.mean(), rel=1e-6)
    assert model.net_.criterion_.unit == model.variance_unit_
    pred = model.predict(X.iloc[-50:])
    raw = model.net_.forward(model._dataset(X.to_numpy(np.float32, copy=True), ends=np.arange(
        len(X) - 50, len(X))), training=False, device="cpu")[..., 0, 0, 0].double().numpy()
    np.testing.assert_allclose(pred, model.variance_unit_ * np.exp(raw), rtol=1e-6)
    assert (pred > 0).all()
    q = model.predict_quantiles(X.iloc[-50:], alpha=[0.01, 0.5, 0.99]).to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    # the loss reported for the last epoch is the QLIKE of the fitted weights' outputs
    assert np.isfinite(model.net_.history[-1, "train_loss"])


def test_qlike_refuses_a_target_that_cannot_be_a_variance(weekly_rv, sp500_xy):
    X, y = weekly_rv
    with pytest.raises(ValueError, match=re.escape(
            "loss='qlike' scores a variance forecast, so the target must be non-negative; "
            "it is -")) as info:
        MLPRegressor(**FAST, loss="qlike").fit(*sp500_xy)        # next-day returns
    assert "column 'next_r'" in str(info.value) and "loss='mse'" in str(info.value)
    with pytest.raises(ValueError, match="loss='qlike' scores a point forecast; "
                                         "output='gaussian'"):
        MLPRegressor(**FAST, loss="qlike", output="gaussian").fit(X, y)


def test_qlike_forecaster_scales_the_variance_without_centring_it(weekly_rv):
    _, y = weekly_rv
    y = y.reset_index(drop=True)
    model = LSTMForecaster(**FAST, loss="qlike").fit(y, fh=[1, 2, 3])
    assert model.loc_[0] == 0.0 and model.scale_[0] == pytest.approx(y.mean(), rel=1e-9)
    pred = model.predict()
    assert (pred.to_numpy() > 0).all()
    q = model.predict_quantiles(alpha=[0.05, 0.95]).to_numpy()
    assert (q >= 0).all()
    # without standardisation the unit moves into the loss, and predictions are the same
    # function of the output: positive, in variance units
    raw = LSTMForecaster(**FAST, loss="qlike", standardize=False).fit(y, fh=[1, 2, 3])
    assert raw.variance_unit_ == pytest.approx(y.mean(), rel=1e-9)
    assert raw.net_.criterion_.unit == raw.variance_unit_
    assert (raw.predict().to_numpy() > 0).all()
    refit = LSTMForecaster(**FAST, loss="mse", standardize=False).fit(y, fh=[1])
    assert refit.variance_unit_ == 1.0


def test_a_qlike_model_saved_and_loaded_predicts_the_same(weekly_rv, tmp_path):
    import skfin

    X, y = weekly_rv
    model = MLPRegressor(**FAST, loss="qlike").fit(X, y)
    path = model.save(tmp_path / "qlike.skfin")
    again = skfin.load(path)
    assert again.variance_unit_ == model.variance_unit_
    np.testing.assert_array_equal(again.predict(X.iloc[-20:]), model.predict(X.iloc[-20:]))


@pytest.mark.parametrize("output", ["quantile", "gaussian", "student_t"])
def test_crps_trains_every_distribution_head_on_returns(sp500_xy, output):
    X, y = (part.iloc[-600:] for part in sp500_xy)
    model = MLPRegressor(**FAST, output=output, loss="crps").fit(X, y)
    assert isinstance(model.net_.criterion_, CRPSLoss)
    losses = model.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]                                 # it learns
    # the reported training loss is the CRPS of the head's parameters (same weights)
    data = model._dataset(X.to_numpy(np.float32), y.to_numpy(np.float32)[:, None, None])
    x, target = data[torch.arange(len(data))]
    with torch.no_grad():
        again = model.net_.get_loss(model.net_.infer(x), target, X=x).item()
    assert again == pytest.approx(
        float(CRPSLoss(output, model.net_.criterion_.levels.tolist() if output == "quantile"
                       else None)(model.net_.infer(x).detach(), target)), rel=1e-5)
    interval = model.predict_interval(X.iloc[-30:], coverage=0.8).to_numpy()
    assert (interval[:, 1] > interval[:, 0]).all()
