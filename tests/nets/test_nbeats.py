"""N-BEATS: residual stacking, basis constraints, the stack-sum identity and both faces."""

import numpy as np
import pytest
import torch

from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.datasets import load_airline
from skfin.nets import NBEATS, OUTPUTS
from skfin.nets.basis import _seasonality_basis

N_PARAMS = {"point": 1, "quantile": len(DEFAULT_QUANTILES), "gaussian": 2, "student_t": 3}
INTERPRETABLE = ("trend", "seasonality")


@pytest.fixture(scope="module")
def airline_windows():
    """24 windows of 36 months of standardised log airline passengers, and the next 12."""
    y = torch.tensor(np.log(load_airline().to_numpy()), dtype=torch.float32)
    y = (y - y.mean()) / y.std()
    windows = y.unfold(0, 48, 4)[:24]                               # [24, 48]
    return windows[:, :36, None], windows[:, 36:, None]             # [B, 36, 1], [B, 12, 1]


def _location(net, out):
    return net.head.point(out)                                       # [B, H, T]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("stacks", [("generic",), INTERPRETABLE, ("trend", "generic", "trend")])
def test_shapes_for_every_head_and_stack_kind(stacks, output, real_batch):
    x, _ = real_batch                                                # [64, 20, 2]
    torch.manual_seed(0)
    net = NBEATS(n_features=2, window=20, horizon=4, n_targets=1, output=output, stacks=stacks,
                 hidden_size=16).eval()
    out = net(x)
    assert out.shape == (64, 4, 1, N_PARAMS[output]) and torch.isfinite(out).all()
    parts = net.explain(x)
    for name in net.stack_names:
        assert parts[name].shape == (64, 4, 1)
        assert parts[f"backcast_{name}"].shape == (64, 20, 1)
    assert parts["residual"].shape == (64, 20, 1)


def test_stack_names():
    def names(stacks):
        return NBEATS(1, 8, 2, 1, stacks=stacks, hidden_size=4).stack_names

    assert names(("generic",)) == ["stack_0"]
    assert names(INTERPRETABLE) == ["trend", "seasonality"]
    assert names(("trend", "generic", "trend")) == ["trend_0", "stack_1", "trend_2"]


@pytest.mark.parametrize("share_weights", [False, True])
def test_each_block_reads_the_input_minus_the_backcasts_before_it(share_weights, real_batch):
    x, _ = real_batch
    torch.manual_seed(0)
    net = NBEATS(n_features=2, window=20, horizon=3, n_targets=1, stacks=("generic", "trend"),
                 num_blocks=2, hidden_size=16, share_weights=share_weights).eval()
    calls = []                      # (residual in, exog in, backcast out), in call order

    def record(module, inputs, outputs):
        calls.append((inputs[0].detach(), inputs[1].detach(),
                      None if outputs[0] is None else outputs[0].detach()))

    blocks = {id(b): b for stack in net.stacks for b in stack}.values()
    handles = [b.register_forward_hook(record) for b in blocks]
    net(x)
    for h in handles:
        h.remove()
    assert len(calls) == 4
    torch.testing.assert_close(calls[0][0], x[..., :1], rtol=0, atol=0)
    for before, after in zip(calls, calls[1:]):
        assert not torch.allclose(before[2], torch.zeros_like(before[2]))   # a real backcast
        torch.testing.assert_close(after[0], before[0] - before[2], rtol=0, atol=0)
        torch.testing.assert_close(after[1], x[..., 1:], rtol=0, atol=0)    # exog untouched
    assert calls[-1][2] is not None if share_weights else calls[-1][2] is None


@pytest.mark.parametrize("output", OUTPUTS)
def test_sum_of_stack_forecasts_is_the_forecast(output, airline_windows):
    """Exact for the point forecast and the location (median) of every other head."""
    x, _ = airline_windows
    torch.manual_seed(0)
    net = NBEATS(n_features=1, window=36, horizon=12, n_targets=1, output=output,
                 stacks=INTERPRETABLE).eval()
    with torch.no_grad():
        out, parts = net(x), net.explain(x)
    total = parts["trend"] + parts["seasonality"]
    torch.testing.assert_close(_location(net, out), total, rtol=0, atol=1e-6)
    torch.testing.assert_close(out[..., 0] if output != "quantile" else _location(net, out),
                               total, rtol=0, atol=1e-6)
    # The residual is the input minus every backcast.
    backcasts = parts["backcast_trend"] + parts["backcast_seasonality"]
    torch.testing.assert_close(parts["residual"], x - backcasts, rtol=0, atol=1e-5)


def _lstsq_residual(basis: torch.Tensor, values: torch.Tensor) -> float:
    """Largest residual of the least-squares fit of ``values [n, L]`` on ``basis [L, P]``."""
    b = basis.double()
    coef = torch.linalg.lstsq(b, values.double().T).solution
    return float((b @ coef - values.double().T).abs().max())


def test_trend_stack_is_a_polynomial_of_degree_at_most_degree(airline_windows):
    x, _ = airline_windows
    torch.manual_seed(0)
    net = NBEATS(n_features=1, window=36, horizon=12, n_targets=1, stacks=INTERPRETABLE,
                 degree=2).eval()
    with torch.no_grad():
        parts = net.explain(x)
    t_f, t_b = torch.arange(12) / 12, torch.arange(36) / 36
    quadratic_f = torch.stack([t_f ** i for i in range(3)], dim=1)          # [12, 3]
    quadratic_b = torch.stack([t_b ** i for i in range(3)], dim=1)          # [36, 3]
    trend, backcast = parts["trend"][..., 0], parts["backcast_trend"][..., 0]
    scale = float(trend.abs().max())
    assert scale > 1e-3
    assert _lstsq_residual(quadratic_f, trend) < 1e-5 * max(scale, 1)
    assert _lstsq_residual(quadratic_b, backcast) < 1e-5 * max(float(backcast.abs().max()), 1)
    # The check can fail: a straight line does not fit the quadratic trend, nor any degree
    # fit the seasonality or a generic stack's forecast.
    assert _lstsq_residual(quadratic_f[:, :2], trend) > 1e-4
    assert _lstsq_residual(quadratic_f, parts["seasonality"][..., 0]) > 1e-3


def test_seasonality_is_periodic_with_zero_mean(airline_windows):
    x, _ = airline_windows
    torch.manual_seed(0)
    net = NBEATS(n_features=1, window=36, horizon=12, n_targets=1, stacks=INTERPRETABLE).eval()
    with torch.no_grad():
        parts = net.explain(x)
    season, backcast = parts["seasonality"][..., 0], parts["backcast_seasonality"][..., 0]
    assert float(season.abs().max()) > 1e-3
    # The backcast repeats every horizon (12 steps), and the forecast sums to zero over one.
    torch.testing.assert_close(backcast[:, 12:], backcast[:, :-12], rtol=0, atol=1e-5)
    torch.testing.assert_close(season.sum(1), torch.zeros(24), rtol=0, atol=1e-5)
    assert not torch.allclose(parts["trend"].sum(1), torch.zeros(24, 1), atol=1e-3)
    # One time axis: the basis at the last 12 window steps equals the basis at the 12
    # forecast steps, so backcast and forecast share their periods.
    block = net.stacks[1][0]
    torch.testing.assert_close(block.basis_b[:, -12:], block.basis_f, rtol=0, atol=1e-5)


def test_seasonality_basis_terms():
    steps = torch.arange(-8, 4)
    basis = _seasonality_basis(harmonics=2, horizon=4, steps=steps)
    assert basis.shape == (3, 12)             # cos k=1, sin k=1, cos k=2 (sin k=2 vanishes)
    torch.testing.assert_close(basis[:, 4:], basis[:, :-4], rtol=0, atol=1e-6)
    torch.testing.assert_close(basis[2], torch.tensor([1.0, -1.0] * 6), rtol=0, atol=1e-6)


def test_interpretable_net_overfits_one_real_batch(airline_windows, overfit):
    x, y = airline_windows
    torch.manual_seed(0)
    net = NBEATS(n_features=1, window=36, horizon=12, n_targets=1, stacks=INTERPRETABLE)
    first, last = overfit(net, (x,), y, lr=1e-3)
    assert last < 0.1 * first, (first, last)


def test_exogenous_features_are_read_but_never_backcast(real_batch):
    x, _ = real_batch                                        # feature 0: return, 1: range
    torch.manual_seed(0)
    net = NBEATS(n_features=2, window=20, horizon=2, n_targets=1, hidden_size=16).eval()
    shuffled = x.clone()
    shuffled[..., 1] = x[..., 1].flip(0)                     # other days' ranges
    with torch.no_grad():
        assert not torch.allclose(net(x), net(shuffled))      # the blocks read them
        assert net.explain(x)["residual"].shape == (64, 20, 1)
    # every block gets the exogenous channel exactly as it came in, while the target
    # channel it reads is the input minus the backcasts of the blocks before it
    seen = []
    blocks = [block for stack in net.stacks for block in stack]
    hooks = [b.register_forward_hook(lambda m, args, out: seen.append((args, out)))
             for b in blocks]
    try:
        with torch.no_grad():
            parts = net.explain(x)
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen) == len(blocks) > 1
    expected = x[..., :1]
    for (residual, exog), (backcast, _, _) in seen:
        torch.testing.assert_close(exog, x[..., 1:], rtol=0, atol=0)
        torch.testing.assert_close(residual, expected, rtol=0, atol=1e-6)
        if backcast is not None:
            expected = expected - backcast
    torch.testing.assert_close(parts["residual"], expected, rtol=0, atol=1e-6)


def test_several_targets_share_the_residual_stream(real_batch):
    x, _ = real_batch
    net = NBEATS(n_features=2, window=20, horizon=3, n_targets=2, stacks=INTERPRETABLE,
                 output="gaussian").eval()
    with torch.no_grad():
        out, parts = net(x), net.explain(x)
    assert out.shape == (64, 3, 2, 2)
    torch.testing.assert_close(out[..., 0], parts["trend"] + parts["seasonality"],
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(parts["residual"],
                               x - parts["backcast_trend"] - parts["backcast_seasonality"],
                               rtol=0, atol=1e-5)


def test_quantiles_never_cross_and_their_median_is_the_forecast(real_batch):
    x, _ = real_batch
    torch.manual_seed(0)
    net = NBEATS(n_features=2, window=20, horizon=3, n_targets=1, output="quantile",
                 quantiles=(0.05, 0.25, 0.5, 0.75, 0.95), hidden_size=16).eval()
    with torch.no_grad():
        for p in net.head.parameters():
            p.normal_(0, 10)                                  # wild weights
        out = net(x)
        parts = net.explain(x)
    assert (out.diff(dim=-1) > 0).all()
    torch.testing.assert_close(out[..., 2], parts["stack_0"], rtol=0, atol=1e-5)


def test_weight_sharing_and_the_last_block():
    shared = NBEATS(1, 24, 6, 1, stacks=INTERPRETABLE, num_blocks=3, hidden_size=8)
    assert all(b is stack[0] for stack in shared.stacks for b in stack)
    assert shared.stacks[-1][-1].theta_b is not None        # shared: earlier uses train it
    generic = NBEATS(1, 24, 6, 1, num_blocks=3, hidden_size=8)
    assert len({id(b) for b in generic.stacks[0]}) == 3
    assert generic.stacks[0][-1].theta_b is None             # nothing reads its backcast
    assert generic.stacks[0][0].theta_b is not None
    n_block = sum(p.numel() for p in shared.stacks[0][0].parameters())
    n_stack = sum(p.numel() for p in shared.stacks[0].parameters())
    assert n_stack == n_block


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ValueError, match="stacks to be a non-empty sequence"):
        NBEATS(1, 8, 2, 1, stacks=("trend", "fourier"))
    with pytest.raises(ValueError, match="Put the target series first"):
        NBEATS(1, 8, 2, 2)
    with pytest.raises(ValueError, match="must span 0.5"):
        NBEATS(1, 8, 2, 1, output="quantile", quantiles=(0.6, 0.9))
    with pytest.raises(ValueError, match="degree to be an integer >= 0"):
        NBEATS(1, 8, 2, 1, stacks=("trend",), degree=-1)


def test_regressor_rejects_unknown_stacks(sp500_xy):
    from skfin.regressors import NBEATSRegressor

    X, y = sp500_xy
    with pytest.raises(ValueError, match="'generic', 'trend', 'seasonality'"):
        NBEATSRegressor(stacks=("trend", "fourier"), max_epochs=1).fit(X.iloc[:300], y.iloc[:300])
    with pytest.raises(ValueError, match="'stacks' parameter"):
        NBEATSRegressor(stacks="trend", max_epochs=1).fit(X.iloc[:300], y.iloc[:300])


def test_forecaster_explains_its_forecast():
    from skfin.forecasting import NBEATSForecaster

    y = np.log(load_airline())
    f = NBEATSForecaster(window=36, stacks=INTERPRETABLE, max_epochs=3, random_state=0)
    f.fit(y, fh=list(range(1, 13)))
    x = f._last_window()[[0]][0]                              # [1, 36, 1], standardised
    with torch.no_grad():
        parts = f.net_.module_.explain(x)
    total = (parts["trend"] + parts["seasonality"])[0, :, 0].numpy() * f.scale_[0] + f.loc_[0]
    np.testing.assert_allclose(f.predict().to_numpy(), total, rtol=1e-5)


# ----------------------------------------------------- quantile head x MC dropout
MC_QUANTILE = dict(window=16, max_epochs=2, output="quantile", quantiles=(0.05, 0.5, 0.95),
                   uncertainty="mc_dropout", dropout=0.1, n_draws=8, hidden_size=16,
                   random_state=0)


def _check_bands(bands):
    """Finite, ordered [lower, upper] columns."""
    lower, upper = bands.iloc[:, 0].to_numpy(), bands.iloc[:, 1].to_numpy()
    assert np.isfinite(bands.to_numpy()).all() and (lower < upper).all()


def test_anchored_head_exposes_the_learned_levels():
    net = NBEATS(1, 8, 2, 1, output="quantile", quantiles=(0.9, 0.1, 0.5), hidden_size=4)
    torch.testing.assert_close(net.head.levels, torch.tensor([0.1, 0.5, 0.9]))
    assert not hasattr(NBEATS(1, 8, 2, 1, output="gaussian", hidden_size=4).head, "levels")


def test_regressor_mc_dropout_with_quantile_head_gives_intervals(sp500_xy):
    """The MC-dropout mixture of anchored quantiles stays inside the learned levels."""
    from skfin.regressors import NBEATSRegressor

    X, y = sp500_xy
    X, y = X.iloc[-700:], y.iloc[-700:]
    model = NBEATSRegressor(**MC_QUANTILE).fit(X.iloc[:600], y.iloc[:600])
    bands = model.predict_interval(X.iloc[600:], coverage=0.9)
    assert bands.shape == (100, 2)
    _check_bands(bands)
    point = model.predict(X.iloc[600:])
    assert ((bands.iloc[:, 0] < point) & (point < bands.iloc[:, 1])).all()
    with pytest.raises(ValueError, match="outside the learned range"):
        model.predict_interval(X.iloc[600:], coverage=0.95)


def test_forecaster_mc_dropout_with_quantile_head_gives_intervals(sp500_returns):
    from skfin.forecasting import NBEATSForecaster

    f = NBEATSForecaster(**MC_QUANTILE).fit(sp500_returns.iloc[-700:], fh=[1, 2, 3])
    bands = f.predict_interval(coverage=0.9)
    assert bands.shape == (3, 2)
    _check_bands(bands)
