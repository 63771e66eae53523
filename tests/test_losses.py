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
    CRPSLoss,
    QLIKELoss,
    crps_gaussian,
    crps_student_t,
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
    assert isinstance(loss_for("point", "qlike", unit=2.0), QLIKELoss)
    assert loss_for("point", "qlike", unit=2.0).unit == 2.0
    for output in ("quantile", "gaussian", "student_t"):
        crps = loss_for(output, "crps")
        assert isinstance(crps, CRPSLoss) and crps.output == output
    with pytest.raises(ValueError, match=re.escape(
            "loss='mse' scores a point forecast; output='gaussian' is trained by its "
            "negative log-likelihood (loss=None) or loss='crps'.")):
        loss_for("gaussian", "mse")
    with pytest.raises(ValueError, match=re.escape(
            "loss='qlike' scores a point forecast; output='quantile' is trained by its "
            "pinball loss (loss=None) or loss='crps'.")):
        loss_for("quantile", "qlike")
    with pytest.raises(ValueError, match="loss='crps' scores a distribution; use it with "
                                         "output='quantile'"):
        loss_for("point", "crps")
    with pytest.raises(ValueError, match="Unknown output='poisson'"):
        loss_for("poisson")
    with pytest.raises(ValueError, match=re.escape("loss='mape' is not one of ('mse', 'mae', "
                                                   "'huber', 'directional', 'sharpe', 'qlike', "
                                                   "'crps').")):
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


# --------------------------------------------------------------------------- QLIKE and CRPS
def _variance_data():
    """Squared % returns (the variance proxy) and causal variance forecasts of them: the
    trailing 20-day mean of squared returns, per horizon step (``[B, H]`` both)."""
    r = _returns()
    origins = np.arange(len(r) - B - H, len(r) - H)
    v = np.stack([r[origins + 1 + h] ** 2 for h in range(H)], axis=1)
    forecast = np.stack([[np.mean(r[o - 19:o + 1] ** 2) for o in origins],
                         [np.mean(r[o - 59:o + 1] ** 2) for o in origins]], axis=1)
    return v, forecast


def test_qlike_is_pattons_qlike_less_a_forecast_free_term():
    """Patton (2011): v/h - log(v/h) - 1; the loss drops log(v) + 1 and reads log(h)."""
    v, h = _variance_data()
    v = np.where(v > 0, v, 1e-6)                           # Patton's form needs v > 0
    patton = v / h - np.log(v / h) - 1
    got = _call(QLIKELoss(), np.log(h)[..., None], v)
    assert got == pytest.approx(np.mean(patton + np.log(v) + 1), rel=1e-12)
    # the unit rescales target and forecast alike: the same loss up to log(unit)
    unit = 2.5
    rescaled = _call(QLIKELoss(unit), np.log(h / unit)[..., None], v)
    assert rescaled == pytest.approx(got - np.log(unit), rel=1e-12)
    # zero-variance days (zero returns) are finite, and the minimiser is the mean
    zero = _call(QLIKELoss(), np.zeros((B, H, 1)), np.zeros((B, H)))
    assert zero == 0.0
    grid = np.linspace(0.5, 1.5, 21) * v.mean()
    scores = [_call(QLIKELoss(), np.full((B, H, 1), np.log(c)), v) for c in grid]
    assert grid[int(np.argmin(scores))] == pytest.approx(v.mean(), rel=0.05)
    with pytest.raises(ValueError, match="unit must be positive"):
        QLIKELoss(0.0)


def test_qlike_punishes_under_prediction_more_than_over_prediction():
    """The asymmetry that makes QLIKE the risk manager's loss (MSE is symmetric)."""
    v, h = _variance_data()
    under = _call(QLIKELoss(), np.log(h / 2)[..., None], v)
    over = _call(QLIKELoss(), np.log(h * 2)[..., None], v)
    assert under > over


def test_crps_gaussian_matches_properscoring():
    from properscoring import crps_gaussian as reference

    y, _, loc, scale, *_ = _data()
    want = reference(y, mu=loc, sig=scale)
    got = crps_gaussian(_t(y), _t(loc), _t(scale)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("df", [2.05, 3.0, 5.0, 30.0])
def test_crps_student_t_matches_numerical_integration(df):
    """CRPS = ∫ (F(x) - 1{x >= y})² dx with scipy's t CDF, at real returns, including
    errors of 8 to 10 scales (the tails, where a quadrature CDF would go wrong first)."""
    from scipy import integrate
    from scipy.stats import t as student

    def crps_quadrature(y, dist):
        return (integrate.quad(lambda x: dist.cdf(x) ** 2, -np.inf, y, epsabs=1e-12)[0]
                + integrate.quad(lambda x: dist.sf(x) ** 2, y, np.inf, epsabs=1e-12)[0])

    y, _, loc, scale, *_ = _data()
    y, loc, scale = y[:, 0], loc[:, 0], scale[:, 0]
    y = np.concatenate([y[:20], loc[:2] + np.array([8.0, -10.0]) * scale[:2]])
    loc, scale = np.concatenate([loc[:20], loc[:2]]), np.concatenate([scale[:20], scale[:2]])
    want = np.array([crps_quadrature(yi, student(df, loc=li, scale=si))
                     for yi, li, si in zip(y, loc, scale)])
    got = crps_student_t(_t(y), _t(loc), _t(scale), _t(np.full_like(y, df))).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-6)


def test_crps_student_t_approaches_the_gaussian_and_has_exact_gradients():
    y, _, loc, scale, *_ = _data()
    args = [_t(a[:10, 0]) for a in (y, loc, scale)]
    t_big = crps_student_t(*args, torch.full((10,), 1e6, dtype=torch.float64))
    np.testing.assert_allclose(t_big.numpy(), crps_gaussian(*args).numpy(), rtol=1e-5)
    inputs = tuple(a.clone().requires_grad_(True)
                   for a in (*args, torch.full((10,), 4.0, dtype=torch.float64)))
    assert torch.autograd.gradcheck(crps_student_t, inputs)


def test_crps_of_a_quantile_head_is_the_trapezoidal_integral_of_pinball():
    """2 Σ_k w_k pinball(τ_k), trapezoid weights, each pinball from sklearn."""
    y, *_, q, _ = _data()
    levels = np.array(LEVELS)
    weights = np.array([0.2, 0.4, 0.2])                       # (0.4/2, 0.4/2 + 0.4/2, 0.4/2)
    per_level = [mean_pinball_loss(y.ravel(), q[..., k].ravel(), alpha=a)
                 for k, a in enumerate(levels)]
    got = _call(CRPSLoss("quantile", LEVELS), q, y)
    assert got == pytest.approx(2 * np.dot(weights, per_level), rel=1e-6)   # float32 levels


def test_crps_of_a_fine_quantile_grid_approaches_the_gaussian_crps():
    """Quantiles of N(loc, scale) on a fine grid: the trapezoidal CRPS converges to the
    closed form (less the mass outside [τ_min, τ_max], small on 0.0005..0.9995)."""
    from scipy.stats import norm

    y, _, loc, scale, *_ = _data()
    levels = np.linspace(0.0005, 0.9995, 1999)
    q = norm.ppf(levels, loc=loc[..., None], scale=scale[..., None])
    quantile = _call(CRPSLoss("quantile", levels), q, y)
    closed = float(crps_gaussian(_t(y), _t(loc), _t(scale)).mean())
    assert quantile == pytest.approx(closed, rel=2e-3)


@pytest.mark.parametrize("output", ["gaussian", "student_t"])
def test_crps_loss_reads_the_heads_parameters_in_order(output):
    y, _, loc, scale, *_ = _data()
    params = np.stack([loc, scale] + ([np.full_like(loc, 4.0)] if output == "student_t"
                                      else []), axis=-1)
    want = (crps_gaussian(_t(y), _t(loc), _t(scale)) if output == "gaussian" else
            crps_student_t(_t(y), _t(loc), _t(scale), _t(np.full_like(loc, 4.0))))
    assert _call(CRPSLoss(output), params, y) == pytest.approx(float(want.mean()), rel=1e-12)
    with pytest.raises(ValueError, match="CRPS scores a distribution"):
        CRPSLoss("point")


# -- mutation testing (issue 17), losses: weights reaching every loss, dtypes, shapes,
# one-sample and empty batches, the defaults and the messages of loss_for / check_loss --
def _normal_crps(y, loc, scale):
    z = (y - loc) / scale
    return scale * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_weights_reach_qlike_and_every_crps():
    y, _, loc, scale, q, weights = _data()
    v, h = _variance_data()
    per = (v * np.exp(-np.log(h)) + np.log(h)).mean(1)
    assert _call(QLIKELoss(), np.log(h)[..., None], v, weights) == pytest.approx(
        _weighted(per, weights), rel=1e-12)
    params = np.stack([loc, scale], axis=-1)
    assert _call(CRPSLoss("gaussian"), params, y, weights) == pytest.approx(
        _weighted(_normal_crps(y, loc, scale).mean(1), weights), rel=1e-10)
    df = np.full_like(loc, 4.0)
    per = crps_student_t(_t(y), _t(loc), _t(scale), _t(df)).numpy().mean(1)
    assert _call(CRPSLoss("student_t"), np.stack([loc, scale, df], -1), y, weights) == (
        pytest.approx(_weighted(per, weights), rel=1e-12))
    # quantile head: 2 Σ_k w_k pinball_k per step (trapezoid weights 0.2, 0.4, 0.2)
    diff = y[..., None] - q
    pinball = np.where(diff >= 0, np.array(LEVELS) * diff, (np.array(LEVELS) - 1) * diff)
    per = 2 * (pinball @ np.array([0.2, 0.4, 0.2])).mean(1)
    assert _call(CRPSLoss("quantile", LEVELS), q, y, weights) == pytest.approx(
        _weighted(per, weights), rel=1e-6)


def test_weighted_mean_of_one_sample_an_empty_batch_and_small_weights():
    y = _t(_data()[0])                                        # [B, H] float64
    assert float(weighted_mean(y[:1], torch.tensor([0.5], dtype=torch.float64))) == (
        pytest.approx(float(y[0].mean()), rel=1e-12))
    empty = weighted_mean(y[:0], torch.zeros(0, dtype=torch.float64))
    assert float(empty) == 0.0
    # weights whose sum times the values per sample is below 1: still divided by it
    w = torch.zeros(B, dtype=torch.float64)
    w[5], w[6] = 0.1, 0.3                                     # 0.4 * H = 0.8 < 1
    assert float(weighted_mean(y, w)) == pytest.approx(
        float((0.1 * y[5].mean() + 0.3 * y[6].mean()) / 0.4), rel=1e-12)


def test_losses_keep_a_float32_forecast_float32_whatever_the_weights():
    y, _, loc, scale, q, weights = _data()
    f32 = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)   # noqa: E731
    w64 = _t(weights)                                         # float64 weights (from NumPy)
    out = weighted_mean(f32(y), w64)
    assert out.dtype == torch.float32
    assert float(out) == pytest.approx(_weighted(y.mean(1), weights), rel=1e-5)
    crps = CRPSLoss("quantile", LEVELS)
    assert crps.levels.dtype == crps.weights.dtype == torch.float32
    assert crps(f32(q)[:, :, None], f32(y)[:, :, None]).dtype == torch.float32
    df = f32(np.full_like(loc, 4.0))
    got = crps_student_t(f32(y), f32(loc), f32(scale), df)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(
        got.numpy(), crps_student_t(_t(y), _t(loc), _t(scale), _t(df)).numpy(),
        rtol=1e-4, atol=1e-5)


def test_crps_student_t_follows_its_inputs_not_torchs_default_device():
    """A user may set ``torch.set_default_device("cuda")`` and train on the CPU: the
    quadrature's nodes and weights must follow the inputs (``meta`` stands for the other
    default device)."""
    y, _, loc, scale, *_ = _data()
    df = np.full_like(loc, 3.0)
    inputs = [_t(a) for a in (y, loc, scale, df)]                      # on the CPU
    want = crps_student_t(*inputs)
    with torch.device("meta"):
        got = crps_student_t(*inputs)
    assert got.device.type == "cpu"
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_a_diverged_forecast_gives_a_nan_crps_not_an_error():
    """NaN parameters (a net that diverged) give a NaN loss, which the training loop
    reports, instead of torch.distributions' argument validation error."""
    y, _, loc, scale, *_ = _data()
    loc = loc.copy()
    loc[4, 1] = np.nan
    got = crps_gaussian(_t(y), _t(loc), _t(scale)).numpy()
    assert np.isnan(got[4, 1]) and np.isfinite(np.delete(got.ravel(), 4 * H + 1)).all()
    got = crps_student_t(_t(y), _t(loc), _t(scale), _t(np.full_like(loc, 4.0))).numpy()
    assert np.isnan(got[4, 1]) and np.isfinite(np.delete(got.ravel(), 4 * H + 1)).all()


def test_crps_of_a_quantile_head_scores_each_target_on_its_own():
    """Two targets (S&P 500 and NASDAQ returns), three levels: the loss of the pair is
    the mean of each target's loss."""
    from skfin.datasets import load_nasdaq

    sp = 100 * np.diff(np.log(load_sp500()["Close"].to_numpy()[-121:]))
    nq = 100 * np.diff(np.log(load_nasdaq()["Close"].to_numpy()[-121:]))
    y = np.stack([sp[60:], nq[60:]], axis=-1)[:, None, :]                 # [60, 1, 2]
    q = np.stack([[np.quantile(r[o - 60:o], LEVELS) for r in (sp, nq)]
                  for o in range(60, 120)])[:, None]                      # [60, 1, 2, 3]
    loss = CRPSLoss("quantile", LEVELS)
    both = float(loss(_t(q), _t(y)))
    each = [float(loss(_t(q[:, :, [k]]), _t(y[:, :, [k]]))) for k in range(2)]
    assert both == pytest.approx(np.mean(each), rel=1e-6)


def test_loss_for_passes_quantiles_to_crps_and_unit_defaults_to_one():
    assert loss_for("quantile", "crps", quantiles=(0.9, 0.1, 0.5)).levels.tolist() == (
        pytest.approx([0.1, 0.5, 0.9]))
    assert loss_for("point", "qlike").unit == 1.0
    assert loss_for("point", "qlike", unit=0.5).unit == 0.5


def test_a_distribution_loss_on_a_point_head_names_the_point_losses():
    from skfin.losses import check_loss

    with pytest.raises(ValueError) as info:
        check_loss("point", "crps")
    assert str(info.value) == (
        "loss='crps' scores a distribution; use it with output='quantile', 'gaussian' or "
        "'student_t', or a point loss with output='point': ('mse', 'mae', 'huber', "
        "'directional', 'sharpe', 'qlike').")


def test_pinball_levels_from_a_numpy_grid_are_float32():
    """Levels given as a NumPy array (``quantiles=np.linspace(...)``) are NumPy float64
    scalars once sorted: the buffer is still float32, and so is the loss of a float32
    forecast."""
    levels = np.linspace(0.1, 0.9, 3)                          # 0.1, 0.5, 0.9
    loss = PinballLoss(levels)
    assert loss.levels.dtype == torch.float32
    y, *_, q, _ = _data()
    out = loss(_t(q)[:, :, None].float(), _t(y)[:, :, None].float())
    assert out.dtype == torch.float32
    assert float(out) == pytest.approx(_call(PinballLoss(LEVELS), q, y), rel=1e-6)


def test_a_diverged_forecast_gives_a_nan_likelihood_not_an_error():
    """As for the CRPS: NaN parameters give a NaN negative log-likelihood for that step
    instead of torch.distributions' argument validation error."""
    y, _, loc, scale, *_ = _data()
    loc = loc.copy()
    loc[4, 1] = np.nan
    for loss, params in [(GaussianNLLLoss(), np.stack([loc, scale], -1)),
                         (StudentTNLLLoss(), np.stack([loc, scale, np.full_like(loc, 4.0)], -1))]:
        p = _t(params)[:, :, None, :]
        assert np.isnan(float(loss(p, _t(y)[:, :, None])))
        others = [i for i in range(B) if i != 4]                # the diverged window left out
        assert np.isfinite(float(loss(p[others], _t(y)[others][:, :, None])))
