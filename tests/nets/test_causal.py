"""CausalLSTM: counterfactuals as documented, the treatment by name, and a known effect recovered.

The semi-synthetic test keeps everything real but the treatment: the confounders are the
S&P 500's realized volatility and the VIX, the treatment is drawn from the VIX (more often
when it is high, seeded), and the outcome is the real next-day absolute return plus a
known effect ``TAU`` of the treatment. High VIX days are followed by large moves, so the
naive difference of means (treated minus untreated) is biased far above ``TAU``.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from skfin.datasets import load_sp500, load_vix
from skfin.export import windows
from skfin.forecasting import CausalLSTMForecaster
from skfin.nets import CausalLSTM
from skfin.regressors import CausalLSTMRegressor

TAU = 0.3          # the known effect, in percentage points of next-day |return|


@pytest.fixture(scope="module")
def semi_synthetic():
    """Standardised confounders, a treatment assigned from them, outcome = real + TAU * D."""
    r = 100 * np.log(load_sp500()["Close"]).diff()
    vix = load_vix().reindex(r.index).ffill().dropna()                 # 2014-01 .. 2018-12
    r = r.loc[vix.index]
    frame = pd.DataFrame({"rv5": r.rolling(5).std(), "logvix": np.log(vix),
                          "next_abs": r.abs().shift(-1)}).dropna()
    z = (frame["logvix"] - frame["logvix"].mean()) / frame["logvix"].std()
    rng = np.random.default_rng(0)
    treated = (rng.random(len(frame)) < 1 / (1 + np.exp(-2.0 * z))).astype(float)
    X = pd.DataFrame({"rv5": (frame["rv5"] - frame["rv5"].mean()) / frame["rv5"].std(),
                      "logvix": z, "high_vix": treated}, index=frame.index)
    return X, frame["next_abs"] + TAU * treated


@pytest.mark.slow
def test_effect_recovers_a_known_effect_that_the_naive_difference_misses(semi_synthetic):
    X, y = semi_synthetic
    model = CausalLSTMRegressor(window=5, hidden_size=8, treatment="high_vix", max_epochs=8,
                                batch_size=128, lr=3e-3, patience=None, random_state=0)
    per_window, average = model.fit(X, y).effect(X, y, coverage=0.9, n_boot=500)
    lower, upper = average.loc["lower"].iloc[0], average.loc["upper"].iloc[0]
    treated = X["high_vix"] == 1
    naive = y[treated].mean() - y[~treated].mean()
    assert lower <= TAU <= upper, (lower, average.loc["effect"].iloc[0], upper)
    assert naive > upper, (naive, upper)          # confounded by the VIX: biased upward
    assert upper - lower < TAU                    # an informative interval, not a wide one
    assert len(per_window) == len(X) and per_window.index.equals(X.index)


def test_effect_is_the_difference_of_the_nets_counterfactuals(semi_synthetic):
    X, y = semi_synthetic
    fitted = CausalLSTMRegressor(window=5, hidden_size=8, treatment="high_vix", max_epochs=1,
                                 random_state=0).fit(X.iloc[-300:-60], y.iloc[-300:-60])
    tail = X.iloc[-60:]
    per_window, average = fitted.effect(tail, y.iloc[-60:], n_boot=50)
    x = torch.as_tensor(windows(fitted, tail))
    net = fitted.net_.module_.eval()
    with torch.no_grad():
        under = {v: net.counterfactual(x, v)[:, 0, 0, 0].numpy() for v in (0.0, 1.0)}
    np.testing.assert_allclose(per_window.iloc[:, 0], under[1.0] - under[0.0], atol=1e-6)
    # predict is the outcome under the observed treatment
    observed = tail["high_vix"].to_numpy() == 1
    np.testing.assert_allclose(fitted.predict(tail), np.where(observed, under[1.0], under[0.0]),
                               atol=1e-6)
    # a continuous reading: the effect of moving the treatment from 0.5 to 1
    half, _ = fitted.effect(tail, treated=1.0, control=0.5, n_boot=50)
    with torch.no_grad():
        at_half = net.counterfactual(x, 0.5)[:, 0, 0, 0].numpy()
    np.testing.assert_allclose(half.iloc[:, 0], under[1.0] - at_half, atol=1e-6)
    assert list(average.index) == ["effect", "lower", "upper"]


def test_counterfactual_at_the_observed_treatment_is_the_prediction():
    r = torch.tensor(100 * np.diff(np.log(load_sp500()["Close"].to_numpy()[-41:])),
                     dtype=torch.float32)
    x = torch.stack([r, (r.abs() > 1).float()], dim=-1).view(2, 20, 2)   # [2, 20, 2]
    torch.manual_seed(0)
    net = CausalLSTM(n_features=2, window=20, horizon=3, n_targets=1, treatment=1).eval()
    for b in range(2):
        observed = x[b, -1, 1].item()
        assert torch.equal(net.counterfactual(x[b:b + 1], observed), net(x[b:b + 1]))
    assert not torch.allclose(net.counterfactual(x, 0.0), net.counterfactual(x, 1.0))


def test_only_the_last_rows_treatment_is_set_and_the_encoder_never_reads_it():
    vix = torch.tensor(np.log(load_vix().dropna().to_numpy()[-60:]), dtype=torch.float32)
    x = torch.stack([vix, (vix > vix.median()).float()], dim=-1).view(3, 20, 2)
    torch.manual_seed(0)
    net = CausalLSTM(n_features=2, window=20, horizon=1, n_targets=1).eval()   # treatment -1
    changed = CausalLSTM.intervene(x, 1, 5.0)
    assert torch.equal(changed[:, :-1], x[:, :-1]) and (changed[:, -1, 1] == 5.0).all()
    assert torch.equal(changed[:, -1, 0], x[:, -1, 0])
    seen = []
    net.encoder.register_forward_hook(lambda module, args, out: seen.append(out[0]))
    net(x), net(changed)
    assert torch.equal(seen[0], seen[1])             # the current treatment bypasses it
    earlier = x.clone()
    earlier[:, -2, 1] = 1 - earlier[:, -2, 1]        # an earlier treatment is history:
    assert not torch.allclose(net.counterfactual(earlier, 1.0), net.counterfactual(x, 1.0))


def test_the_net_refuses_a_treatment_that_is_not_a_feature_index():
    with pytest.raises(ValueError, match="use an index from -2 to 1"):
        CausalLSTM(n_features=2, window=5, horizon=1, n_targets=1, treatment=2)
    with pytest.raises(TypeError, match="index of the treatment feature"):
        CausalLSTM(n_features=2, window=5, horizon=1, n_targets=1, treatment="vix")


def test_faces_refuse_bad_treatment_names_and_indices(semi_synthetic):
    X, y = semi_synthetic
    X, y = X.iloc[-80:], y.iloc[-80:]
    small = {"window": 3, "hidden_size": 4, "max_epochs": 1, "random_state": 0}
    with pytest.raises(ValueError, match=r"'vix' is not a column .*\['rv5', 'logvix', 'high_vix'\]"):
        CausalLSTMRegressor(treatment="vix", **small).fit(X, y)
    with pytest.raises(ValueError, match="reads 3 feature"):
        CausalLSTMRegressor(treatment=3, **small).fit(X, y)
    with pytest.raises(ValueError, match=r"'high_vix' is not a column .*\[0, 1, 2\]"):
        CausalLSTMRegressor(treatment="high_vix", **small).fit(X.to_numpy(), y.to_numpy())
    target = y.rename("abs_r")
    with pytest.raises(ValueError, match=r"'vix' is not a column .*\['abs_r', 'rv5'"):
        CausalLSTMForecaster(treatment="vix", **small).fit(target, X, fh=[1])
    model = CausalLSTMRegressor(treatment="high_vix", **small).fit(X, y)
    with pytest.raises(ValueError, match="coverage"):
        model.effect(X, coverage=1.5)
    with pytest.raises(ValueError, match="n_boot >= 2"):
        model.effect(X, n_boot=1)


def test_forecaster_effect_is_in_the_units_of_y(semi_synthetic):
    X, y = semi_synthetic
    target = y.iloc[-200:].rename("abs_r")
    exog = X.iloc[-200:]
    f = CausalLSTMForecaster(window=5, hidden_size=8, treatment="high_vix", future_X=None,
                             max_epochs=2, random_state=0).fit(target, exog, fh=[1, 2])
    per_window, average = f.effect(n_boot=50)
    assert list(per_window.columns) == [("abs_r", 1), ("abs_r", 2)]
    assert len(per_window) == 200 - 5 - 2 + 1 and per_window.index[-1] == target.index[-3]
    # the reference: the net's counterfactuals at the standardised 0 and 1, times y's scale
    column = 1 + list(exog.columns).index("high_vix")
    standardised = ((np.column_stack([target, exog]) - f.loc_) / f.scale_).astype(np.float32)
    x = torch.as_tensor(standardised).unfold(0, 5, 1).transpose(1, 2)[:len(per_window)]
    net = f.net_.module_.eval()
    with torch.no_grad():
        one, zero = (net.counterfactual(x, (v - f.loc_[column]) / f.scale_[column])[..., 0, 0]
                     for v in (1.0, 0.0))
    np.testing.assert_allclose(per_window.to_numpy(), (one - zero).numpy() * f.scale_[0],
                               rtol=1e-4, atol=1e-6)
    assert (average.loc["lower"] <= average.loc["effect"]).all()
    assert (average.loc["effect"] <= average.loc["upper"]).all()
