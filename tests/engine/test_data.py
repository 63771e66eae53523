"""Windows sliced on the fly and the time-ordered validation split."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skfin.engine.data import TimeOrderedSplit, WindowDataset, batch_loader
from skfin.datasets import load_wti


def _wti():
    return torch.tensor(load_wti().ffill().bfill().to_numpy()[:, None], dtype=torch.float32)


def test_windows_match_manual_slices_and_share_storage():
    series = _wti()
    ds = WindowDataset(series, torch.arange(255, 8000), window=256, targets=series,
                       target_offsets=torch.arange(1, 6))
    assert ds.features.data_ptr() == series.data_ptr()        # no copy of the series
    x, y = ds[[0, 100, 7000]]
    for row, end in enumerate([255, 355, 7255]):
        torch.testing.assert_close(x[row], series[end - 255:end + 1])
        torch.testing.assert_close(y[row], series[end + 1:end + 6])


def test_left_padding_repeats_first_row():
    series = _wti()
    x, _ = WindowDataset(series, torch.arange(0, 3), window=4)[[0, 2]]
    torch.testing.assert_close(x[0], series[[0, 0, 0, 0]])
    torch.testing.assert_close(x[1], series[[0, 0, 1, 2]])


@settings(max_examples=50, deadline=None)
@given(n=st.integers(50, 3000), frac=st.floats(0.05, 0.4), window=st.integers(1, 60),
       horizon=st.integers(1, 10))
def test_no_training_target_overlaps_a_validation_input(n, frac, window, horizon):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # short series: tested below
        train, valid = TimeOrderedSplit(frac, gap=window + horizon - 1).positions(n)
        auto_train, auto_valid = TimeOrderedSplit("auto", gap=window + horizon - 1).positions(n)
    if auto_valid is not None:                             # "auto" keeps half for training
        assert len(auto_train) >= n / 2 and len(auto_valid) >= TimeOrderedSplit.MIN_VALID
        assert auto_train.max() + horizon < auto_valid.min() - window + 1
    if valid is None:
        return
    last_train_target = train.max() + horizon          # sample at row e predicts up to e + H
    first_valid_input = valid.min() - window + 1       # and reads rows from e - W + 1
    assert last_train_target < first_valid_input
    assert np.all(np.diff(np.concatenate([train, valid])) > 0)   # time order kept


def test_a_split_that_leaves_little_to_train_on_says_so():
    """Airline passengers, window 36, horizon 12: 97 windows; a 20% tail after a gap of 47
    leaves 31 (32%) to train on. The warning names the numbers; "auto" validates on none."""
    from skfin.datasets import load_airline
    from skfin.forecasting import MLPForecaster

    y = np.log(load_airline())
    with pytest.warns(UserWarning, match=r"tail of 19 samples after a gap of 47 .* leaves 31 "
                                         r"of 97 samples \(32%\)"):
        MLPForecaster(window=36, max_epochs=1, random_state=0).fit(y, fh=list(range(1, 13)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        f = MLPForecaster(window=36, max_epochs=1, valid_fraction="auto",
                          random_state=0).fit(y, fh=list(range(1, 13)))
    assert f.net_.train_split is None                          # trained on all 97 windows
    assert "valid_loss" not in f.net_.history[-1]
    assert TimeOrderedSplit("auto", gap=47).positions(400)[1].size == 80   # 20% when it fits


def test_shuffled_loader_is_seeded():
    series = _wti()
    ds = WindowDataset(series, torch.arange(10, 1000), 11, series, torch.arange(1, 2))
    first = [x for x, _ in batch_loader(ds, 64, shuffle=True, generator=torch.Generator().manual_seed(3))]
    again = [x for x, _ in batch_loader(ds, 64, shuffle=True, generator=torch.Generator().manual_seed(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))


# -- known-future covariates -------------------------------------------------------------
def _wti_calendar():
    """WTI prices and, as known-future covariates, the day of the week and month of each row."""
    from skfin.datasets import load_wti

    days = load_wti().index
    calendar = np.column_stack([days.dayofweek, days.month]).astype(np.float32)
    return _wti(), torch.tensor(calendar)


def test_future_covariates_are_read_at_the_target_rows():
    series, calendar = _wti_calendar()
    ds = WindowDataset(series, torch.arange(59, 8000), window=60, targets=series,
                       target_offsets=torch.arange(1, 6), future=calendar)
    inputs, y = ds[[0, 500, 7000]]
    assert set(inputs) == {"x", "x_future"}
    for row, end in enumerate([59, 559, 7059]):
        torch.testing.assert_close(inputs["x"][row], series[end - 59:end + 1])
        torch.testing.assert_close(inputs["x_future"][row], calendar[end + 1:end + 6])
        torch.testing.assert_close(y[row], series[end + 1:end + 6])   # same rows as targets
    assert ds.future.data_ptr() == calendar.data_ptr()                 # no copy


def test_without_future_a_sample_is_still_a_plain_tensor():
    series, _ = _wti_calendar()
    x, _ = WindowDataset(series, torch.arange(59, 100), 60, series, torch.arange(1, 3))[[0, 1]]
    assert isinstance(x, torch.Tensor) and x.shape == (2, 60, 1)


def test_subsets_splits_and_loaders_carry_the_future():
    series, calendar = _wti_calendar()
    ds = WindowDataset(series, torch.arange(19, 3000), 20, series, torch.arange(1, 4), calendar)
    train, valid = TimeOrderedSplit(0.2, gap=22)(ds)
    for part in (train, valid, ds.subset(np.arange(10, 20))):
        assert part.future is calendar
    inputs, _ = valid[[0]]
    end = int(valid.ends[0])
    torch.testing.assert_close(inputs["x_future"][0], calendar[end + 1:end + 4])
    batches = list(batch_loader(ds, 1024))
    shapes = [tuple(b[0]["x_future"].shape) for b in batches]
    assert shapes == [(1024, 3, 2), (1024, 3, 2), (933, 3, 2)]


def test_future_needs_target_offsets():
    import pytest

    series, calendar = _wti_calendar()
    with pytest.raises(ValueError, match="pass target_offsets"):
        WindowDataset(series, torch.arange(19, 100), 20, future=calendar)


def test_engine_trains_and_predicts_on_dict_inputs():
    """skorch passes ``{"x", "x_future"}`` as keyword arguments, in training and inference."""
    from skfin.engine import SkfinNet
    from skfin.losses import loss_for
    from skfin.nets import TFT

    series, calendar = _wti_calendar()
    scaled = (series - series.mean()) / series.std()
    ds = WindowDataset(scaled, torch.arange(19, 600), 20, scaled, torch.arange(1, 4),
                       (calendar - calendar.mean(0)) / calendar.std(0))
    net = SkfinNet(TFT, loss_for("point", None, None), module__n_features=1, module__window=20,
                   module__horizon=3, module__n_targets=1, module__n_future=2,
                   module__hidden_size=8, max_epochs=2, batch_size=128, train_split=None,
                   device="cpu").fit(ds)
    assert len(net.history) == 2 and np.isfinite(net.history[-1, "train_loss"])
    out = net.forward(ds, training=False, device="cpu")
    assert out.shape == (len(ds), 3, 1, 1)
    # the future covariates are used: other calendars give other forecasts
    shifted = WindowDataset(ds.features, ds.ends, 20, ds.targets, ds.target_offsets,
                            ds.future.roll(1, dims=0))
    assert not torch.allclose(out, net.forward(shifted, training=False, device="cpu"))


# -- sample weights ----------------------------------------------------------------------
def _wti_weights():
    """WTI prices and a weight per row: 0 before 2000, 1 after, 2 in 2008."""
    from skfin.datasets import load_wti

    years = load_wti().index.year
    weights = np.where(years < 2000, 0.0, np.where(years == 2008, 2.0, 1.0))
    return _wti(), torch.tensor(weights, dtype=torch.float32), years


def test_weights_are_read_at_window_ends_and_travel_with_subsets_splits_and_future():
    series, weights, years = _wti_weights()
    _, calendar = _wti_calendar()
    ds = WindowDataset(series, torch.arange(19, 8000), 20, series, torch.arange(1, 4),
                       calendar, weights=weights)
    inputs, _ = ds[[0, 5000]]
    assert set(inputs) == {"x", "x_future", "sample_weight"}
    torch.testing.assert_close(inputs["sample_weight"], weights[[19, 5019]])
    torch.testing.assert_close(ds.sample_weights(), weights[19:8000])
    train, valid = TimeOrderedSplit(0.2, gap=22)(ds)
    for part in (train, valid, ds.subset(np.arange(10, 20))):
        assert part.weights is weights
        torch.testing.assert_close(part.sample_weights(), weights[part.ends])
    plain, _ = WindowDataset(series, torch.arange(19, 30), 20, weights=weights)[[0]]
    assert set(plain) == {"x", "sample_weight"}                # no future: x and weight
    assert int(years[int(valid.ends[0])]) > 2000


def test_engine_never_hands_the_weights_to_the_net():
    """A net without a sample_weight argument trains and predicts on weighted batches."""
    from skfin.engine import SkfinNet
    from skfin.losses import loss_for
    from skfin.nets import LSTM

    series, weights, _ = _wti_weights()
    scaled = (series - series.mean()) / series.std()
    ds = WindowDataset(scaled, torch.arange(19, 8600), 20, scaled, torch.arange(1, 2),
                       weights=weights)
    net = SkfinNet(LSTM, loss_for("point"), module__n_features=1, module__window=20,
                   module__horizon=1, module__n_targets=1, module__hidden_size=8,
                   max_epochs=1, batch_size=256, train_split=None, device="cpu")
    calls = []
    net.initialize()
    net.module_.register_forward_pre_hook(
        lambda module, args, kwargs: calls.append((args, kwargs)), with_kwargs=True)
    net.partial_fit(ds)
    assert np.isfinite(net.history[-1, "train_loss"])
    out = net.forward(ds, training=False, device="cpu")
    assert out.shape == (len(ds), 1, 1, 1)
    # every call, in training and in prediction, got the windows alone: one [b, 20, 1]
    # tensor, no keyword arguments, and never the weights
    assert len(calls) > int(np.ceil(len(ds) / 256)) // 2        # training and predicting
    for args, kwargs in calls:
        assert kwargs == {} and len(args) == 1
        assert args[0].shape[1:] == (20, 1)
    # and the windows are the series' windows: the prediction is the module's own output
    with torch.no_grad():
        direct = net.module_.eval()(ds[torch.arange(len(ds))][0]["x"])
    torch.testing.assert_close(out, direct)
