"""Monte Carlo dropout (``uncertainty="mc_dropout"``) on both faces, on real S&P 500 data."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.stats import norm

from skfin.engine import WindowDataset
from skfin.engine.sampling import SampledDropout, dropout_rate, mc_dropout, mixture_quantiles
from skfin.forecasting import BayesianLSTMForecaster
from skfin.nets import BayesianLSTM, Transformer
from skfin.regressors import BayesianLSTMRegressor, CNNLSTMRegressor, LSTMRegressor


@pytest.fixture(scope="module")
def xy(sp500_xy):
    X, y = sp500_xy
    return X.to_numpy()[-700:], y.to_numpy()[-700:]


def _fit(cls, xy, **params):
    X, y = xy
    return cls(window=16, max_epochs=2, n_draws=12, random_state=0, **params).fit(X[:600], y[:600])


def _windows(model, X):
    """The windows ending at each row of ``X`` alone (the first ones left-padded)."""
    return WindowDataset(torch.tensor(X, dtype=torch.float32), torch.arange(len(X)),
                         model.window_)


def test_predictions_repeat_and_leave_the_global_rng_alone(xy):
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout")
    state = torch.get_rng_state()
    first = model.predict_interval(xy[0][600:], coverage=0.9)
    second = model.predict_interval(xy[0][600:], coverage=0.9)
    np.testing.assert_array_equal(first.to_numpy(), second.to_numpy())
    assert torch.equal(state, torch.get_rng_state())


def test_draws_differ_and_the_point_is_their_mean(xy):
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout", output="gaussian")
    draws = model._forward(_windows(model, xy[0][600:]))                       # [S, n, H, T, 2]
    assert draws.shape[:2] == (12, 100)
    assert draws[..., 0].std(dim=0).min() > 0                                 # passes disagree
    # predict completes the first window - 1 rows from the fit rows; the draws above are on
    # X alone (left-padded), so the two agree from the first row with a full window in X
    w = model.window_ - 1
    np.testing.assert_allclose(model.predict(xy[0][600:])[w:],
                               draws[:, w:, 0, 0, 0].double().mean(0).numpy(),
                               rtol=1e-6)
    # the deterministic forward of the same weights is not what predict returns
    model.set_params(uncertainty="head")
    assert not np.allclose(model.predict(xy[0][600:]), draws[..., 0, 0, 0].mean(0).numpy())


def test_interval_is_the_quantile_of_the_gaussian_mixture(xy):
    """The pooled-grid quantiles agree with the exact mixture quantile (root of its CDF)."""
    model = _fit(BayesianLSTMRegressor, xy)
    draws = model._forward(_windows(model, xy[0][600:]))[..., 0, 0, :]
    loc, scale = draws[..., 0].double().numpy(), draws[..., 1].double().numpy()     # [S, n]
    band = model.predict_interval(xy[0][600:], coverage=0.9).to_numpy()
    for i in range(model.window_, 100, 9):            # rows whose window lies inside X
        for j, level in enumerate([0.05, 0.95]):
            exact = brentq(lambda q: norm.cdf(q, loc[:, i], scale[:, i]).mean() - level, -50, 50)
            assert abs(band[i, j] - exact) < 0.04 * scale[:, i].mean()


def test_mixture_quantiles_of_two_normals():
    locs = np.array([[-1.0], [1.0]])
    got = mixture_quantiles(lambda u: locs[..., None] + norm.ppf(u), [0.1, 0.5, 0.9],
                            grid_size=2000)[0]
    exact = [brentq(lambda q: 0.5 * (norm.cdf(q + 1) + norm.cdf(q - 1)) - a, -9, 9)
             for a in (0.1, 0.5, 0.9)]
    np.testing.assert_allclose(got, exact, atol=5e-3)


def test_batchnorm_keeps_its_running_statistics(xy):
    model = _fit(CNNLSTMRegressor, xy, uncertainty="mc_dropout")
    bn = next(m for m in model.net_.module_.modules() if isinstance(m, torch.nn.BatchNorm1d))
    before = bn.running_mean.clone()
    model.predict(xy[0][600:])
    assert torch.equal(before, bn.running_mean)
    assert not any(m.training for m in model.net_.module_.modules())


def test_mc_dropout_without_dropout_is_refused(xy):
    with pytest.raises(ValueError, match="dropout=0"):
        _fit(LSTMRegressor, xy, uncertainty="mc_dropout", dropout=0.0)


@pytest.mark.parametrize("output", ["point", "quantile", "student_t"])
def test_every_head_gives_ordered_finite_quantiles(xy, output):
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout", output=output)
    q = model.predict_quantiles(xy[0][600:], alpha=[0.1, 0.5, 0.9]).to_numpy()
    assert np.isfinite(q).all() and (np.diff(q, axis=1) > 0).all()


def test_quantile_head_range_is_still_checked(xy):
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout", output="quantile")
    with pytest.raises(ValueError, match="outside the learned range"):
        model.predict_quantiles(xy[0][600:], alpha=[0.01, 0.99])


def test_forecaster_face(sp500_returns):
    y = sp500_returns.iloc[-800:]
    f = BayesianLSTMForecaster(window=16, max_epochs=2, n_draws=16, random_state=0)
    f.fit(y, fh=[1, 2, 3])
    band = f.predict_interval(coverage=[0.8, 0.95])
    point = f.predict()
    lo95, lo80, hi80, hi95 = (band.iloc[:, k].to_numpy() for k in (2, 0, 1, 3))
    assert (lo95 < lo80).all() and (lo80 < point.to_numpy()).all()
    assert (point.to_numpy() < hi80).all() and (hi80 < hi95).all()


def test_locked_dropout_masks_are_shared_over_time(sp500_returns):
    x = torch.tensor(sp500_returns.to_numpy()[-64:], dtype=torch.float32).view(8, 8, 1)
    net = BayesianLSTM(1, 8, 1, 1, dropout=0.5)
    inputs = []
    net.layers[0].register_forward_hook(lambda mod, args, out: inputs.append(args[0]))
    with torch.no_grad():
        mc_dropout(net, seed=3)(x)          # the sampler shares the layers' hooks
    kept = torch.where(x != 0, inputs[0] / x, torch.nan)[..., 0]    # 0 or 1 / (1 - p)
    for row in kept:                                                 # one mask per window
        seen = row[~row.isnan()]
        assert (seen == seen[0]).all()
    assert (kept == 0).any() and (kept == 2).any()


# ------------------------------------------------------------------------ threads
def test_concurrent_predictions_equal_the_sequential_ones(xy):
    """Threads sharing one fitted model get exactly what they would get one at a time."""
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout")
    X = xy[0][600:]
    expected = {"point": model.predict(X),
                "band": model.predict_interval(X, coverage=0.9).to_numpy()}

    def work(k):
        if k % 2:
            return "band", model.predict_interval(X, coverage=0.9).to_numpy()
        return "point", model.predict(X)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(24)))
    for kind, got in results:
        np.testing.assert_array_equal(got, expected[kind])


def test_plain_forward_never_sees_dropout_switched_on(xy):
    """MC-dropout predictions never switch the shared module's dropout on: a concurrent
    deterministic forward of the same weights (what uncertainty='head' runs) is unchanged."""
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout")
    X = xy[0][600:]
    dataset = _windows(model, X)

    def plain():
        with torch.inference_mode():
            return model.net_.forward(dataset, training=False)

    expected = plain()
    done = threading.Event()
    switched_on = []

    def watch():
        while not done.is_set():
            switched_on.append(any(m.training for m in model.net_.module_.modules()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            draws = [pool.submit(model.predict_interval, X, 0.9) for _ in range(6)]
            plains = [pool.submit(plain) for _ in range(12)]
            for future in draws:
                future.result()
            outputs = [future.result() for future in plains]
    finally:
        done.set()
        watcher.join()
    assert switched_on and not any(switched_on)
    for out in outputs:
        assert torch.equal(out, expected)


def test_reseeding_the_process_rng_changes_nothing(xy):
    model = _fit(LSTMRegressor, xy, uncertainty="mc_dropout")
    X = xy[0][600:]
    torch.manual_seed(1)
    first = model.predict(X)
    torch.manual_seed(2)
    np.testing.assert_array_equal(model.predict(X), first)


# ------------------------------------------------------------------------ sampler
def test_sampler_replaces_every_dropout_module_and_shares_the_weights(sp500_returns):
    net = BayesianLSTM(1, 8, 1, 1, dropout=0.3).eval()
    sampler = mc_dropout(net, seed=0)
    assert not any(isinstance(m, torch.nn.Dropout) for m in sampler.modules())
    assert sum(isinstance(m, SampledDropout) for m in sampler.modules()) == 2
    assert all(a is b for a, b in zip(sampler.parameters(), net.parameters()))
    assert dropout_rate(net) == 0.3


def test_transformer_encoder_dropout_is_sampled(sp500_returns):
    """torch's fused inference path skips an encoder layer's dropout modules; the sampler
    runs the layers on the reference path, so the encoder's dropout is drawn too."""
    x = torch.tensor(sp500_returns.to_numpy()[-256:], dtype=torch.float32).view(8, 32, 1)
    net = Transformer(1, 32, 1, 1, d_model=16, n_heads=2, num_layers=2, dropout=0.3).eval()
    sampler = mc_dropout(net, seed=0)
    drops = [m for m in sampler.encoder.modules() if isinstance(m, SampledDropout)]
    calls = []
    for drop in drops:
        drop.register_forward_hook(lambda mod, args, out: calls.append(mod))
    with torch.no_grad():
        sampler(x)
    assert len(drops) == 4 and {id(m) for m in calls} == {id(m) for m in drops}
    assert not any(m.training for m in net.modules())
