"""skfin.explain: integrated gradients on both faces of every net, and the nets' own parts.

Every test fits tiny nets (the registry's sizes, one epoch) on real S&P 500 data. The
checks can fail: completeness (the attributions add up to forecast minus baseline
forecast), a feature the net cannot see gets nothing, the forecast explained is the one
``predict`` gives, attributions scale with the units of the data, attention and
variable-selection weights are distributions, decompositions add up to the forecast.
"""

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skfin.datasets import load_sp500
from skfin.explain import METHODS, Explanation, explain
from skfin.forecasting import (
    AutoformerForecaster,
    DeepKoopmanForecaster,
    LSTMForecaster,
    MLPForecaster,
    NBEATSForecaster,
    TFTForecaster,
)
from skfin.registry import ARCHITECTURES
from skfin.regressors import AttentionLSTMRegressor, MLPRegressor, TFTRegressor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def sp500():
    """The last 160 days: log returns (%) and the daily log range (%)."""
    sp = load_sp500().iloc[-161:]
    r = (100 * np.log(sp["Close"]).diff()).iloc[1:].rename("r")
    rng = (100 * np.log(sp["High"] / sp["Low"])).iloc[1:].rename("range")
    return r, rng


def _params(arch):
    params = dict(arch.test_params[0], max_epochs=1, random_state=0)
    if arch.name == "autoformer":
        # int(factor * log L) >= L keeps every delay: the top-k choice of delays is a
        # discontinuous function of the window, where no path method can be complete
        params["factor"] = 10.0
    return params


def _complete(outputs: pd.DataFrame, rtol=0.01):
    change = (outputs["forecast"] - outputs["baseline_forecast"]).abs()
    # float32 round-off in the forecasts themselves
    slack = 1e-5 * np.maximum(outputs["forecast"].abs(), outputs["baseline_forecast"].abs())
    bad = outputs["gap"].abs() > rtol * change + slack
    assert not bad.any(), outputs[bad]
    total = outputs["attribution_sum"]
    assert np.allclose(total, outputs["gap"] + outputs["forecast"] - outputs["baseline_forecast"])


@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: a.name)
def test_completeness_on_both_faces(arch, sp500):
    r, rng = sp500
    X = pd.concat([r, rng], axis=1).iloc[:-1]
    y = r.shift(-1).iloc[:-1].rename("next")
    model = arch.regressor(**_params(arch)).fit(X, y)
    ex = model.explain(X.tail(3))
    _complete(ex.outputs)
    assert ex.attributions.shape == (3 * model.window_ * 2, 6)
    assert list(ex.outputs["sample"]) == list(X.index[-3:])
    if model.uncertainty == "head":                    # the forecast predict gives
        np.testing.assert_allclose(ex.outputs["forecast"], model.predict(X.tail(3)),
                                   rtol=1e-5, atol=1e-6)

    f = arch.forecaster(**_params(arch)).fit(r, fh=[1, 2])
    ex = f.explain()
    _complete(ex.outputs)
    assert ex.outputs[["step", "target"]].values.tolist() == [[1, "r"], [2, "r"]]
    assert list(ex.outputs["sample"].unique()) == [r.index[-1]]
    if f.uncertainty == "head":
        np.testing.assert_allclose(ex.outputs["forecast"], f.predict().to_numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_a_feature_the_net_cannot_see_gets_no_attribution(sp500):
    r, rng = sp500
    X = pd.concat([r, rng], axis=1).iloc[:-1]
    y = r.shift(-1).iloc[:-1]
    model = MLPRegressor(window=5, hidden_size=8, max_epochs=1, random_state=0).fit(X, y)
    first = model.net_.module_.body[0]                  # Linear(window * 2 -> 8) on x.flatten(1)
    with torch.no_grad():
        first.weight[:, 1::2] = 0.0                     # column "range" at every lag
    ex = model.explain(X.tail(10))
    per_feature = ex.attributions.groupby("feature")["attribution"].apply(
        lambda a: a.abs().max())
    assert per_feature["range"] == 0.0
    assert per_feature["r"] > 1e-3
    _complete(ex.outputs)
    # and a feature held at its baseline value gets nothing either
    ex = model.explain(X.tail(10), baseline=X.tail(10).to_numpy()[-5:])
    assert ex.attributions.query("sample == @X.index[-1]")["attribution"].abs().max() == 0.0


def test_attributions_are_in_the_units_of_the_data():
    close = load_sp500()["Close"].iloc[-200:]
    f = MLPForecaster(window=5, hidden_size=8, max_epochs=1, random_state=0)
    ex = f.fit(close, fh=[1, 2]).explain()
    _complete(ex.outputs)
    np.testing.assert_allclose(ex.outputs["forecast"], f.predict().to_numpy(), rtol=1e-6)
    assert ex.outputs["forecast"].between(2000, 3500).all()          # index points
    np.testing.assert_allclose(ex.baseline.to_numpy(), close.mean(), rtol=1e-6)
    # the same model on the same prices in cents: every attribution is 100 times larger
    cents = MLPForecaster(window=5, hidden_size=8, max_epochs=1, random_state=0)
    ex100 = cents.fit(close * 100, fh=[1, 2]).explain()
    np.testing.assert_allclose(ex100.attributions["attribution"],
                               100 * ex.attributions["attribution"], rtol=1e-3, atol=1e-3)


def test_forecaster_explains_each_window_of_a_later_stretch(sp500):
    r, rng = sp500
    y, X = r.to_frame(), rng.to_frame()
    f = LSTMForecaster(window=5, hidden_size=4, max_epochs=1, future_X=None, random_state=0)
    f.fit(y.iloc[:-20], X=X.iloc[:-20], fh=[1])
    ex = f.explain(y.iloc[-20:], X=X.iloc[-20:])
    assert list(ex.outputs["sample"]) == list(y.index[-16:])         # 20 - 5 + 1 windows
    assert set(ex.attributions["feature"]) == {"r", "range"}
    _complete(ex.outputs)
    # the last window's forecast is the one predict gives once the stretch is seen
    f.update(y.iloc[-20:], X=X.iloc[-20:], update_params=False)
    assert ex.outputs["forecast"].iloc[-1] == pytest.approx(f.predict().iloc[0, 0], rel=1e-5)


def test_known_future_covariates_stay_fixed(sp500):
    r, _ = sp500
    dow = pd.DataFrame({"dow": r.index.dayofweek.astype(float)}, index=r.index)
    f = TFTForecaster(window=5, hidden_size=8, n_heads=2, max_epochs=1, random_state=0)
    f.fit(r.iloc[:-2], X=dow.iloc[:-2], fh=[1, 2])
    ex = f.explain(X=dow.iloc[-2:])
    _complete(ex.outputs)
    np.testing.assert_allclose(ex.outputs["forecast"], f.predict(X=dow.iloc[-2:]).to_numpy(),
                               rtol=1e-5)
    importance = ex.importance.groupby(["sample", "input"])["importance"].sum()
    assert set(importance.index.get_level_values("input")) == {"past", "future"}
    np.testing.assert_allclose(importance, 1.0, rtol=1e-5)


def test_attention_rows_are_distributions(sp500):
    r, _ = sp500
    X, y = r.iloc[:-1].to_frame(), r.shift(-1).iloc[:-1]
    model = AttentionLSTMRegressor(window=6, hidden_size=8, max_epochs=1, random_state=0)
    ex = model.fit(X, y).explain(X.tail(4), method=None)
    assert ex.attributions is None and ex.method is None
    att = ex.attention
    assert len(att) == 4 * 6 and sorted(att["lag"].unique()) == list(range(-5, 1))
    np.testing.assert_allclose(att.groupby(["sample", "step"])["weight"].sum(), 1.0, rtol=1e-5)
    # the same weights the net gives for the window it reads
    window = torch.tensor(X.to_numpy()[-6:], dtype=torch.float32)[None]
    with torch.no_grad():
        weights = model.net_.module_.eval().explain(window)["attention"][0].numpy()
    np.testing.assert_allclose(att[att["sample"] == X.index[-1]]["weight"], weights, rtol=1e-5)


def test_transformer_attention_is_the_top_layer_s_for_the_last_step(sp500):
    from skfin.forecasting import TransformerForecaster

    r, _ = sp500
    f = TransformerForecaster(window=6, d_model=8, n_heads=2, num_layers=1, dim_feedforward=16,
                              max_epochs=1, random_state=0).fit(r, fh=[1, 2])
    att = f.explain(method=None).attention
    assert len(att) == 2 * 6
    np.testing.assert_allclose(att.groupby("step")["weight"].sum(), 1.0, rtol=1e-5)
    # by hand: the pre-norm layer attends over its normalised input embedding
    net = f.net_.module_.eval()
    x = torch.tensor(((r.to_numpy()[-6:] - f.loc_[0]) / f.scale_[0])[None, :, None],
                     dtype=torch.float32)
    layer = net.encoder.layers[0]
    with torch.no_grad():
        h = layer.norm1(net.proj(x) * net.scale + net.pe[:6])
        _, weights = layer.self_attn(h, h, h, need_weights=True)
    np.testing.assert_allclose(att[att["step"] == 1]["weight"], weights[0, -1].numpy(),
                               rtol=1e-5)


def test_tft_importance_and_attention(sp500):
    r, rng = sp500
    X = pd.concat([r, rng], axis=1).iloc[:-1]
    y = r.shift(-1).iloc[:-1]
    model = TFTRegressor(window=5, hidden_size=8, n_heads=2, max_epochs=1, random_state=0)
    ex = model.fit(X, y).explain(X.tail(3), method=None)
    imp = ex.importance
    assert imp.shape == (3 * 2, 4) and set(imp["feature"]) == {"r", "range"}
    np.testing.assert_allclose(imp.groupby("sample")["importance"].sum(), 1.0, rtol=1e-5)
    att = ex.attention                                   # 5 past + 1 future position
    assert sorted(att["lag"].unique()) == list(range(-4, 2))
    np.testing.assert_allclose(att.groupby(["sample", "step"])["weight"].sum(), 1.0, rtol=1e-5)
    assert (att.loc[att["lag"] > 0, "weight"] >= 0).all()


def test_nbeats_decomposition_adds_up_to_the_forecast():
    close = load_sp500()["Close"].iloc[-200:]
    f = NBEATSForecaster(window=8, stacks=("trend", "seasonality"), hidden_size=8,
                         num_blocks=1, max_epochs=1, random_state=0).fit(close, fh=[1, 2, 3])
    ex = f.explain(method=None)
    dec = ex.decomposition
    assert set(dec["component"]) == {"trend", "seasonality", "level"}
    total = dec.groupby("step")["value"].sum()
    np.testing.assert_allclose(total, f.predict().to_numpy(), rtol=1e-5)
    assert dec.loc[dec["component"] == "level", "value"].to_numpy() == pytest.approx(f.loc_[0])


def test_autoformer_decomposition_and_koopman_spectrum(sp500):
    r, _ = sp500
    f = AutoformerForecaster(window=8, d_model=8, num_layers=1, dim_feedforward=16,
                             moving_avg=3, max_epochs=1, random_state=0).fit(r, fh=[1, 2])
    dec = f.explain(method=None).decomposition
    assert dec.shape == (2 * 2, 5) and set(dec["component"]) == {"seasonal", "trend"}
    assert np.isfinite(dec["value"]).all()

    k = DeepKoopmanForecaster(window=5, latent_dim=4, hidden_size=8, num_layers=1,
                              max_epochs=1, random_state=0).fit(r, fh=[1, 2])
    spec = k.explain(method=None).spectrum
    eig = k.net_.module_.eigenvalues().detach().numpy()
    assert len(spec) == 4
    np.testing.assert_allclose(np.sort_complex(spec["eigenvalue"].to_numpy()),
                               np.sort_complex(eig.astype(complex)), rtol=1e-6)
    assert (spec["modulus"] < 1).all() and (spec["decay_rate"] > 0).all()   # stable=True
    np.testing.assert_allclose(spec["half_life"], np.log(2) / spec["decay_rate"], rtol=1e-6)


def test_regressor_on_prebuilt_windows_and_several_steps(sp500):
    r, _ = sp500
    values = r.to_numpy()
    windows = np.lib.stride_tricks.sliding_window_view(values[:-2], 5)[:, :, None]
    y = np.stack([values[5:-1], values[6:]], axis=1)              # 1 and 2 days ahead
    model = MLPRegressor(window=5, hidden_size=8, max_epochs=1, random_state=0).fit(windows, y)
    ex = model.explain(windows[-3:], target=2)
    assert ex.outputs["step"].tolist() == [2, 2, 2]
    assert ex.outputs["sample"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(ex.outputs["forecast"], model.predict(windows[-3:])[:, 1],
                               rtol=1e-5, atol=1e-6)
    _complete(ex.outputs)


def test_explanation_helpers(sp500):
    r, rng = sp500
    f = MLPForecaster(window=5, hidden_size=8, max_epochs=1, future_X=None, random_state=0)
    ex = f.fit(r.to_frame(), X=rng.to_frame(), fh=[1]).explain()
    assert isinstance(ex, Explanation)
    assert ex.available() == ["attributions", "outputs", "baseline"]
    imp = ex.feature_importance()
    assert set(imp.index) == {"r", "range"} and imp.is_monotonic_decreasing
    sums = ex.attributions.groupby("feature")["attribution"].sum().abs()
    np.testing.assert_allclose(imp.sort_index(), sums.sort_index(), rtol=1e-10)


def test_bad_input(sp500):
    r, _ = sp500
    X, y = r.iloc[:-1].to_frame(), r.shift(-1).iloc[:-1]
    with pytest.raises(NotFittedError):
        MLPRegressor().explain(X)
    with pytest.raises(NotFittedError):
        explain(LSTMForecaster())
    model = MLPRegressor(window=5, hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="integrated_gradients"):
        model.explain(X.tail(2), method="shap")
    assert METHODS == ("integrated_gradients",)
    with pytest.raises(ValueError, match="horizon step"):
        model.explain(X.tail(2), target=3)
    with pytest.raises(ValueError, match="broadcast"):
        model.explain(X.tail(2), baseline=np.zeros(3))
    with pytest.raises(ValueError, match="needs X"):
        model.explain()
    with pytest.raises(ValueError, match="rtol"):
        model.explain(X.tail(2), rtol=2.0)
    f = LSTMForecaster(window=5, hidden_size=4, max_epochs=1, random_state=0).fit(r, fh=[1])
    with pytest.raises(ValueError, match="fewer than window"):
        f.explain(r.iloc[-3:])


def test_missing_captum_names_the_extra(sp500, monkeypatch):
    r, _ = sp500
    f = MLPForecaster(window=5, hidden_size=4, max_epochs=1, random_state=0).fit(r, fh=[1])
    monkeypatch.setitem(sys.modules, "captum.attr", None)       # import fails
    with pytest.raises(ImportError, match=r"skfin\[explain\]"):
        f.explain()
    assert f.explain(method=None).attributions is None          # no captum needed


def test_module_is_left_as_it_was(sp500):
    from skfin.nets.attention import RevIN

    r, _ = sp500
    from skfin.forecasting import PatchTSTForecaster

    f = PatchTSTForecaster(window=5, patch_len=2, stride=1, d_model=8, n_heads=2, num_layers=1,
                           dim_feedforward=16, max_epochs=1, random_state=0).fit(r, fh=[1])
    before = f.predict()
    module = f.net_.module_
    module.train()
    f.explain()
    assert module.training                                     # mode restored
    revins = [m for m in module.modules() if isinstance(m, RevIN)]
    assert revins and all(m.detach_statistics for m in revins)  # the class default again
    assert all("detach_statistics" not in vars(m) for m in revins)
    module.eval()
    pd.testing.assert_frame_equal(f.predict().to_frame() if isinstance(before, pd.Series)
                                  else f.predict(), before.to_frame()
                                  if isinstance(before, pd.Series) else before)


def test_per_window_statistics_pass_gradients_only_when_asked(sp500):
    # the normalised window sums to 0 whatever the window: its exact gradient is 0, while
    # training's detached statistics give 1 / scale per value
    from skfin.nets.attention import RevIN
    from skfin.nets.window_norm import window_statistics

    r, _ = sp500
    x = torch.tensor(r.to_numpy()[-20:], dtype=torch.float32).view(1, 20, 1).requires_grad_()
    revin = RevIN(1, affine=False)
    for detach in (True, False):
        revin.detach_statistics = detach
        z, _, scale = revin.normalise(x)
        (grad,) = torch.autograd.grad(z.sum(), x)
        expected = (1 / scale).expand_as(x) if detach else torch.zeros_like(x)
        torch.testing.assert_close(grad, expected.detach(), atol=1e-5, rtol=1e-5)
        loc, scale = window_statistics(x, detach=detach)
        assert loc.requires_grad is not detach and scale.requires_grad is not detach
    del revin.detach_statistics
    assert RevIN.detach_statistics and revin.detach_statistics
