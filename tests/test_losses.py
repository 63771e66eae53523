"""skfin.losses on real S&P 500 returns, against numpy / scipy / sklearn written out here.

Targets are daily log returns in percent, ``[B, H, T] = [60, 2, 1]`` (tomorrow and the day
after); the forecasts are causal ones built from the past (yesterday's return, trailing
means, standard deviations and quantiles), so every loss is evaluated on realistic values.
"""

import re

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import mean_pinball_loss

from skfin.datasets import load_sp500
from skfin.losses import (
    POINT_LOSSES,
    DirectionalLoss,
    GaussianNLLLoss,
    PinballLoss,
    PointLoss,
    SharpeLoss,
    StudentTNLLLoss,
    loss_for,
    weighted_mean,
)
from skfin.nets.heads import DEFAULT_QUANTILES

B, H = 60, 2
LEVELS = (0.1, 0.5, 0.9)


def _returns() -> np.ndarray:
    close = load_sp500()["Close"].to_numpy()[-400:]
    return 100 * np.diff(np.log(close))


def _data():
    """``y [B, H]`` and causal forecasts of it, all float64 numpy.

    Forecasts differ by horizon step (a loss that mixed up the horizon and target axes
    would score them against the wrong truth): yesterday's and the day before's return,
    trailing 60- and 20-day means, spreads and quantiles widened by ``sqrt(h)``.
    """
    r = _returns()
    origins = np.arange(len(r) - B - H, len(r) - H)          # forecast made after day o
    y = np.stack([r[origins + 1 + h] for h in range(H)], axis=1)                  # [B, H]
    past = [r[o - 59:o + 1] for o in origins]                                     # 60 days
    widen = np.sqrt(np.arange(1, H + 1))
    loc = np.stack([[p.mean() for p in past], [p[-20:].mean() for p in past]], axis=1)
    scale = np.array([p.std() for p in past])[:, None] * widen
    last = np.stack([r[origins], r[origins - 1]], axis=1)
    q = np.array([np.quantile(p, LEVELS) for p in past])[:, None, :] * widen[:, None]
    weights = np.abs(r[origins])                              # bigger weight on volatile days
    weights[::7] = 0.0
    return y, last, loc, scale, q, weights


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def _call(loss, pred_params, y, weights=None):
    """Loss on ``pred_params [B, H, P]`` and ``y [B, H]``, with T = 1 added."""
    out = loss(_t(pred_params)[:, :, None, :], _t(y)[:, :, None],
               None if weights is None else _t(weights))
    return float(out)


def _weighted(per_sample, weights):
    return np.sum(weights * per_sample) / np.sum(weights)


@pytest.mark.parametrize("kind", POINT_LOSSES)
def test_point_losses_match_their_formulas(kind):
    y, last, *_, weights = _data()
    err = last - y
    delta = 0.75                                              # a return of 0.75%
    per_point = {"mse": err ** 2, "mae": np.abs(err),
                 "huber": np.where(np.abs(err) <= delta, 0.5 * err ** 2,
                                   delta * (np.abs(err) - 0.5 * delta))}[kind]
    loss = PointLoss(kind, delta=delta)
    assert _call(loss, last[..., None], y) == pytest.approx(per_point.mean(), rel=1e-12)
    assert _call(loss, last[..., None], y, weights) == pytest.approx(
        _weighted(per_point.mean(1), weights), rel=1e-12)


def test_point_loss_reads_only_the_first_parameter_and_refuses_unknown_kinds():
    y, last, loc, *_ = _data()
    both = np.stack([last, loc], axis=-1)
    assert _call(PointLoss("mae"), both, y) == pytest.approx(np.abs(last - y).mean(),
                                                             rel=1e-12)
    with pytest.raises(ValueError, match="loss='mape' is not one of"):
        PointLoss("mape")


def test_pinball_matches_sklearn_with_levels_sorted():
    y, *_, q, weights = _data()
    expected = np.mean([mean_pinball_loss(y.ravel(), q[..., k].ravel(), alpha=a)
                        for k, a in enumerate(LEVELS)])
    assert _call(PinballLoss(LEVELS), q, y) == pytest.approx(expected, rel=1e-6)
    # levels are sorted: the same loss from an unsorted list
    assert _call(PinballLoss((0.9, 0.1, 0.5)), q, y) == pytest.approx(expected, rel=1e-6)
    # weighted: per-sample mean over horizon and levels, then the weighted mean
    diff = y[..., None] - q
    per = np.where(diff >= 0, np.array(LEVELS) * diff, (np.array(LEVELS) - 1) * diff)
    assert _call(PinballLoss(LEVELS), q, y, weights) == pytest.approx(
        _weighted(per.mean(axis=(1, 2)), weights), rel=1e-6)
    # a miss above the 0.1-quantile by 1 costs 0.1, below it 0.9
    one = np.array([[[0.0]]])
    assert _call(PinballLoss([0.1]), one, np.array([[1.0]])) == pytest.approx(0.1)
    assert _call(PinballLoss([0.1]), one, np.array([[-1.0]])) == pytest.approx(0.9)


def test_gaussian_nll_matches_scipy():
    y, _, loc, scale, _, weights = _data()
    nll = -stats.norm.logpdf(y, loc, scale)
    params = np.stack([loc, scale], axis=-1)
    assert _call(GaussianNLLLoss(), params, y) == pytest.approx(nll.mean(), rel=1e-10)
    assert _call(GaussianNLLLoss(), params, y, weights) == pytest.approx(
        _weighted(nll.mean(1), weights), rel=1e-10)


def test_student_t_nll_matches_scipy_with_loc_scale_df_in_that_order():
    y, _, loc, scale, _, weights = _data()
    df = np.full_like(y, 4.0)
    nll = -stats.t.logpdf(y, df, loc, scale)
    params = np.stack([loc, scale, df], axis=-1)
    assert _call(StudentTNLLLoss(), params, y) == pytest.approx(nll.mean(), rel=1e-10)
    assert _call(StudentTNLLLoss(), params, y, weights) == pytest.approx(
        _weighted(nll.mean(1), weights), rel=1e-10)


def test_directional_loss_matches_its_formula():
    y, last, *_, weights = _data()
    k, w = 3.0, 0.25
    agree = np.tanh(k * last) * np.sign(y)
    sq = (last - y) ** 2
    loss = DirectionalLoss(sharpness=k, mse_weight=w)
    assert _call(loss, last[..., None], y) == pytest.approx(
        1 - agree.mean() + w * sq.mean(), rel=1e-12)
    assert _call(loss, last[..., None], y, weights) == pytest.approx(
        1 - _weighted(agree.mean(1), weights) + w * _weighted(sq.mean(1), weights),
        rel=1e-12)


def test_sharpe_loss_is_minus_the_sharpe_ratio_of_tanh_positions():
    y, last, *_, weights = _data()
    pnl = np.tanh(last) * y
    eps = 1e-3
    assert _call(SharpeLoss(eps=eps), last[..., None], y) == pytest.approx(
        -pnl.mean() / (pnl.std() + eps), rel=1e-12)
    mean = _weighted(pnl.mean(1), weights)
    std = np.sqrt(_weighted(((pnl - mean) ** 2).mean(1), weights))
    assert _call(SharpeLoss(eps=eps), last[..., None], y, weights) == pytest.approx(
        -mean / (std + eps), rel=1e-12)


@pytest.mark.parametrize("loss", [PointLoss("huber"), PinballLoss(LEVELS), GaussianNLLLoss(),
                                  DirectionalLoss(), SharpeLoss()],
                         ids=lambda loss: type(loss).__name__)
def test_a_zero_weight_removes_the_sample_and_equal_weights_change_nothing(loss):
    y, last, loc, scale, q, weights = _data()
    params = {"PinballLoss": q, "GaussianNLLLoss": np.stack([loc, scale], -1)}.get(
        type(loss).__name__, last[..., None])
    keep = weights > 0
    assert _call(loss, params, y, weights) == pytest.approx(
        _call(loss, params[keep], y[keep], weights[keep]), rel=1e-12)
    assert _call(loss, params, y, np.full(B, 2.5)) == pytest.approx(_call(loss, params, y),
                                                                    rel=1e-12)


def test_weighted_mean_by_hand_and_all_zero_weights():
    y = _t(_data()[0])                                        # [B, H]
    w = torch.zeros(B, dtype=torch.float64)
    w[3], w[10] = 1.0, 3.0
    assert float(weighted_mean(y, w)) == pytest.approx(
        float((y[3].mean() + 3 * y[10].mean()) / 4), rel=1e-12)
    assert float(weighted_mean(y)) == pytest.approx(float(y.mean()), rel=1e-12)
    values = y.clone().requires_grad_(True)
    out = weighted_mean(values, torch.zeros(B, dtype=torch.float64))
    out.backward()
    assert float(out) == 0.0 and float(values.grad.abs().sum()) == 0.0


def test_loss_for_picks_the_loss_of_the_head():
    assert isinstance(loss_for("point"), PointLoss) and loss_for("point").kind == "mse"
    for kind in POINT_LOSSES:
        assert loss_for("point", kind).kind == kind
    assert isinstance(loss_for("point", "directional"), DirectionalLoss)
    assert isinstance(loss_for("point", "sharpe"), SharpeLoss)
    assert isinstance(loss_for("gaussian"), GaussianNLLLoss)
    assert isinstance(loss_for("student_t"), StudentTNLLLoss)
    default = loss_for("quantile")
    assert default.levels.tolist() == pytest.approx(sorted(DEFAULT_QUANTILES))
    assert loss_for("quantile", quantiles=(0.9, 0.1)).levels.tolist() == pytest.approx(
        [0.1, 0.9])
    with pytest.raises(ValueError, match=re.escape(
            "loss='mse' applies to output='point' only; output='gaussian' is trained by "
            "its own scoring rule. Leave loss=None.")):
        loss_for("gaussian", "mse")
    with pytest.raises(ValueError, match="Unknown output='poisson'"):
        loss_for("poisson")
    with pytest.raises(ValueError, match=re.escape(
            "loss='mape' is not one of ('mse', 'mae', 'huber', 'directional', 'sharpe').")):
        loss_for("point", "mape")


def test_pinball_reads_targets_and_levels_on_their_own_axes():
    """Two targets (the two horizon steps as columns), [B, 1, T=2, Q]: the same loss."""
    y, *_, q, _ = _data()
    expected = np.mean([mean_pinball_loss(y.ravel(), q[..., k].ravel(), alpha=a)
                        for k, a in enumerate(LEVELS)])
    got = PinballLoss(LEVELS)(_t(q)[:, None], _t(y)[:, None])
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_pinball_levels_are_float32_and_keep_a_float32_loss():
    loss = PinballLoss(LEVELS)
    assert loss.levels.dtype == torch.float32
    y, *_, q, _ = _data()
    out = loss(_t(q)[:, :, None].float(), _t(y)[:, :, None].float())
    assert out.dtype == torch.float32


def test_defaults_are_the_documented_ones():
    y, last, *_ = _data()
    err = last - y
    assert _call(PointLoss(), last[..., None], y) == pytest.approx((err ** 2).mean(),
                                                                   rel=1e-12)
    huber = np.where(np.abs(err) <= 1.0, 0.5 * err ** 2, np.abs(err) - 0.5)   # delta = 1
    assert _call(PointLoss("huber"), last[..., None], y) == pytest.approx(huber.mean(),
                                                                          rel=1e-12)
    agree = np.tanh(10.0 * last) * np.sign(y)                   # sharpness 10, mse_weight 0.5
    assert _call(DirectionalLoss(), last[..., None], y) == pytest.approx(
        1 - agree.mean() + 0.5 * (err ** 2).mean(), rel=1e-12)
    pnl = np.tanh(last) * y                                     # eps 1e-8
    assert _call(SharpeLoss(), last[..., None], y) == pytest.approx(
        -pnl.mean() / (pnl.std() + 1e-8), rel=1e-12)


def test_directional_loss_on_a_flat_day():
    """2017-01-10: the S&P 500 closed exactly unchanged; sign 0 agrees with nothing."""
    close = load_sp500()["Close"].loc["2016-12-01":"2017-01-31"]
    r = 100 * np.diff(np.log(close.to_numpy()))
    day = int(np.flatnonzero(close.index[1:] == "2017-01-10")[0])
    assert r[day] == 0.0
    y, pred = r[day - 5:day + 5][:, None], r[day - 6:day + 4][:, None]      # [10, 1]
    agree = np.tanh(2.0 * pred) * np.sign(y)
    expected = 1 - agree.mean() + 0.5 * ((pred - y) ** 2).mean()
    loss = DirectionalLoss(sharpness=2.0)
    assert _call(loss, pred[..., None], y) == pytest.approx(expected, rel=1e-12)
    weights = np.linspace(1, 2, 10)
    assert _call(loss, pred[..., None], y, weights) == pytest.approx(
        1 - _weighted(agree[:, 0], weights)
        + 0.5 * _weighted(((pred - y) ** 2)[:, 0], weights), rel=1e-12)
