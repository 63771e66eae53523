"""Data augmentation (``augment=``): each transform's defining property, training batches only,
seeded fits."""

import numpy as np
import pytest
import torch

from skfin.engine import SkfinNet, TimeOrderedSplit, WindowDataset
from skfin.engine.augment import (AUGMENTATIONS, Augmenter, check_augment, jitter,
                                  magnitude_warp, mixup, scaling, window_slice)
from skfin.losses import loss_for
from skfin.nets import MLP
from skfin.regressors import GRURegressor, MLPRegressor

FAST = dict(window=10, hidden_size=8, max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def windows(sp500_xy):
    """128 windows of 30 days of the S&P 500 return and range (percent), [128, 30, 2]."""
    X, _ = sp500_xy
    values = torch.tensor(X.to_numpy()[-128 * 30:], dtype=torch.float32)
    return values.view(128, 30, 2)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_jitter_adds_noise_of_strength_times_each_features_sd(windows):
    out = jitter(windows, 0.1, _gen())
    noise_sd = (out - windows).std(dim=(0, 1))
    feature_sd = windows.std(dim=(0, 1))
    np.testing.assert_allclose(noise_sd / feature_sd, [0.1, 0.1], rtol=0.05)
    assert (out - windows).mean(dim=(0, 1)).abs().max() < 0.01 * feature_sd.max()


def test_scaling_multiplies_each_window_feature_by_one_factor(windows):
    windows = windows[..., 1:]                                       # the range: never 0
    ratio = scaling(windows, 0.1, _gen()) / windows                  # [B, W, F]
    factor = ratio[:, :1, :]
    torch.testing.assert_close(ratio, factor.expand_as(ratio), rtol=1e-5, atol=1e-5)
    assert abs(float(factor.std()) - 0.1) < 0.02 and abs(float(factor.mean()) - 1) < 0.02


def test_magnitude_warp_multiplies_by_a_smooth_curve_around_one(windows):
    windows = windows[..., 1:]                                       # the range: never 0
    ratio = magnitude_warp(windows, 0.2, _gen()) / windows           # [B, W, F]
    assert abs(float(ratio.mean()) - 1) < 0.05
    assert 0.1 < float(ratio.std()) < 0.3
    first, second = ratio.diff(dim=1), ratio.diff(n=2, dim=1)
    assert float(first.abs().max()) > 0.01                           # it varies over time ...
    # ... smoothly: white noise of the same spread would have |second| ~ 1.7 |first|
    assert float(second.abs().mean()) < 0.5 * float(first.abs().mean())


def test_window_slice_stretches_a_crop_keeping_its_endpoints_in_order(sp500_returns):
    # a strictly increasing real series (cumulative absolute returns): the order of time
    # shows in the values
    path = torch.tensor(sp500_returns.abs().cumsum().to_numpy()[:64 * 30], dtype=torch.float32)
    x = path.view(64, 30, 1)
    out = window_slice(x, 0.2, _gen())
    assert out.shape == x.shape
    assert (out.diff(dim=1) >= 0).all()                              # time order kept
    length = round(0.8 * 30)
    for b in range(64):
        start = int(torch.searchsorted(x[b, :, 0], out[b, 0, 0]))
        assert out[b, 0, 0] == x[b, start, 0]                         # first step of the crop
        assert out[b, -1, 0] == x[b, start + length - 1, 0]           # last step of the crop
    # dt is stretched with the crop: the window spans the crop's time
    dt = torch.ones(64, 30)
    _, dt_out = window_slice(x, 0.2, _gen(), dt=dt)
    torch.testing.assert_close(dt_out.sum(dim=1)[0], torch.tensor(30 * (length - 1) / 29))


def test_mixup_is_a_convex_combination_of_pairs_inputs_and_targets_alike(windows):
    x, x_future = windows[:32, :20], windows[:32, 20:25]
    y = windows[:32, 25:26, :1]
    weight = torch.ones(32)
    weight[:4] = 0                                                   # excluded samples
    inputs = {"x": x, "x_future": x_future, "sample_weight": weight}
    mixed, y_mixed = mixup(inputs, y, 0.4, _gen())
    n_mixed = 0
    for i in range(32):
        found = False
        for j in range(32):
            if y[i, 0, 0] == y[j, 0, 0]:
                continue
            lam = (y_mixed[i, 0, 0] - y[j, 0, 0]) / (y[i, 0, 0] - y[j, 0, 0])
            if not -1e-4 <= lam <= 1 + 1e-4:
                continue
            if (torch.allclose(mixed["x"][i], lam * x[i] + (1 - lam) * x[j], atol=1e-4)
                    and torch.allclose(mixed["x_future"][i],
                                       lam * x_future[i] + (1 - lam) * x_future[j], atol=1e-4)
                    and torch.isclose(mixed["sample_weight"][i],
                                      lam * weight[i] + (1 - lam) * weight[j], atol=1e-4)):
                found = True
                n_mixed += bool(0.01 < lam < 0.99)
                break
        unchanged = torch.equal(mixed["x"][i], x[i]) and torch.equal(y_mixed[i], y[i])
        assert found or unchanged, i
    assert n_mixed > 5
    # a sample given zero weight is never mixed, in either role
    assert torch.equal(mixed["x"][:4], x[:4]) and torch.equal(mixed["sample_weight"][:4],
                                                               weight[:4])
    others = mixed["sample_weight"][4:]
    assert (others == 1).all()                                       # mixed only among weight 1


def test_augmenter_orders_transforms_and_leaves_the_future_and_targets(windows):
    aug = Augmenter(["mixup", "jitter"])
    assert list(aug.spec) == ["jitter", "mixup"]
    inputs = {"x": windows[:16, :20], "x_future": windows[:16, 20:25]}
    y = windows[:16, 25:26, :1]
    out, y_out = Augmenter({"jitter": 0.1, "scaling": 0.1, "magnitude_warp": 0.2,
                            "window_slice": 0.2})(inputs, y, _gen())
    assert torch.equal(out["x_future"], inputs["x_future"]) and torch.equal(y_out, y)
    assert not torch.equal(out["x"], inputs["x"])


@pytest.mark.parametrize("bad, match", [
    ("warp", "unknown augmentation 'warp'. Valid names: 'window_slice', 'magnitude_warp'"),
    (["jitter", "flip"], "unknown augmentation 'flip'"),
    ({"jitter": -0.1}, r"augment\['jitter'\]: the strength must be positive"),
    ({"window_slice": 1.0}, r"augment\['window_slice'\]: the strength must be in \(0, 1\)"),
    ({"mixup": "big"}, "must be a number"),
])
def test_invalid_augment_raises_a_value_error_listing_the_names(sp500_xy, bad, match):
    with pytest.raises(ValueError, match=match):
        check_augment(bad)
    X, y = sp500_xy
    with pytest.raises(ValueError, match=match):
        MLPRegressor(**FAST, augment=bad).fit(X.iloc[-200:], y.iloc[-200:])


def test_default_strengths_are_documented():
    assert check_augment(list(AUGMENTATIONS)) == AUGMENTATIONS
    assert check_augment(None) is None and check_augment([]) is None


def test_validation_and_inference_windows_are_never_augmented(sp500_xy, monkeypatch):
    """A spy on the engine's forward passes: those in evaluation mode (validation,
    calibration, prediction) see the clean windows, the training ones augmented windows."""
    X, y = sp500_xy
    features = torch.tensor(X.to_numpy()[-600:], dtype=torch.float32)
    target = torch.tensor(y.to_numpy()[-600:], dtype=torch.float32).view(-1, 1, 1)
    ds = WindowDataset(features, torch.arange(19, 600), window=20, targets=target)
    split = TimeOrderedSplit(0.2, gap=20)
    train, valid = split(ds)
    seen = {"eval": [], "train": []}
    original_infer = SkfinNet.infer

    def infer_spy(self, x, **kw):
        seen["train" if self.module_.training else "eval"].append(x.clone())
        return original_infer(self, x, **kw)

    monkeypatch.setattr(SkfinNet, "infer", infer_spy)
    net = SkfinNet(MLP, loss_for("point"), optimizer=torch.optim.AdamW, max_epochs=2,
                   batch_size=64, train_split=split, predict_batch_size=10_000,
                   augment={"jitter": 0.5, "mixup": 0.4}, seed=0,
                   module__n_features=2, module__window=20, module__horizon=1,
                   module__n_targets=1)
    net.fit(ds)
    clean_valid = valid[torch.arange(len(valid))][0]
    assert len(seen["eval"]) == 2                                    # one batch per epoch
    for x in seen["eval"]:
        assert torch.equal(x, clean_valid)
    clean_train = train[torch.arange(len(train))][0]
    for x in seen["train"]:                                          # augmented: no clean window
        assert not any(torch.equal(w, c) for w in x[:5] for c in clean_train)
    seen["eval"].clear()
    net.forward(ds, training=False)                                  # inference: clean
    assert torch.equal(seen["eval"][0], ds[torch.arange(len(ds))][0])


def test_predictions_are_a_function_of_the_weights_alone(sp500_xy):
    X, y = sp500_xy
    X, y = X.iloc[-400:], y.iloc[-400:]
    model = MLPRegressor(**FAST, augment=["jitter", "window_slice", "mixup"]).fit(X, y)
    first = model.predict(X)
    interval = model.predict_interval(X, coverage=0.9)
    model.net_.augment = None                                        # same weights, no augment
    np.testing.assert_array_equal(model.predict(X), first)
    np.testing.assert_array_equal(model.predict_interval(X, coverage=0.9), interval)


def test_same_seed_same_fit_other_seed_other_fit_global_rng_untouched(sp500_xy):
    X, y = sp500_xy
    X, y = X.iloc[-400:], y.iloc[-400:]
    params = dict(window=10, hidden_size=8, max_epochs=2, augment=["magnitude_warp", "mixup"])
    before = torch.get_rng_state()
    a = GRURegressor(**params, random_state=0).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    b = GRURegressor(**params, random_state=0).fit(X, y)
    c = GRURegressor(**params, random_state=1).fit(X, y)
    plain = GRURegressor(**{**params, "augment": None}, random_state=0).fit(X, y)
    wa, wb, wc, wp = (list(m.net_.module_.state_dict().values()) for m in (a, b, c, plain))
    assert all(torch.equal(p, q) for p, q in zip(wa, wb))
    assert not all(torch.equal(p, q) for p, q in zip(wa, wc))
    assert not all(torch.equal(p, q) for p, q in zip(wa, wp))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
