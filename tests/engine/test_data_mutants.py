"""Window dataset, time-ordered split and loaders: the paths and messages that mutation
testing (issue 17) found unchecked by ``test_data.py``: pre-built windows, elapsed times,
panels of several series, the split's exact sizes, boundaries and warnings, the loaders'
random state. Every expectation is counted by hand from the definitions in the docstrings.
"""

import warnings

import numpy as np
import pytest
import torch

from skfin.datasets import load_nasdaq, load_sp500
from skfin.engine.data import TimeOrderedSplit, WindowDataset, batch_loader


def _close(load=load_sp500, n=300):
    """The last ``n`` daily closes as a float32 ``[n, 1]`` tensor."""
    return torch.tensor(load()["Close"].to_numpy()[-n:, None], dtype=torch.float32)


def test_prebuilt_windows_are_read_by_sample_and_ignore_window():
    close = _close()
    ends = torch.arange(4, 300)
    windows = torch.stack([close[e - 4:e + 1] for e in ends])          # [296, 5, 1]
    paths = torch.stack([close[e + 1:e + 3] if e + 3 <= 300 else close[-2:] for e in ends])
    ds = WindowDataset(windows, torch.arange(len(windows)), window=99, targets=paths)
    x, y = ds[[0, 7, 200]]
    torch.testing.assert_close(x, windows[[0, 7, 200]])
    torch.testing.assert_close(y, paths[[0, 7, 200]])                  # targets at ends
    assert len(ds) == 296 and ds.sample_weights() is None


def test_elapsed_times_are_read_like_the_features():
    sp = load_sp500().iloc[-300:]
    close = _close()
    days = np.r_[1.0, np.diff(sp.index.to_numpy()) / np.timedelta64(1, "D")]
    dt = torch.tensor(days, dtype=torch.float32)                       # 3 after a weekend
    ds = WindowDataset(close, torch.arange(0, 300), window=4, dt=dt)
    inputs, y = ds[[1, 150]]
    assert set(inputs) == {"x", "dt"} and y is None
    torch.testing.assert_close(inputs["dt"][0], dt[[0, 0, 0, 1]])     # left-padded as x
    torch.testing.assert_close(inputs["dt"][1], dt[147:151])
    torch.testing.assert_close(inputs["x"][1], close[147:151])
    with pytest.raises(ValueError, match=(
            r"^WindowDataset reads dt per row; pre-built windows have no rows\. Pass the "
            r"features as rows \[n_rows, n_features\] with dt\.$")):
        WindowDataset(close.unsqueeze(1), torch.arange(3), 1, dt=dt)
    with pytest.raises(ValueError, match=(
            r"^WindowDataset reads known-future covariates at ends \+ target_offsets; pass "
            r"target_offsets \(e\.g\. torch\.arange\(1, horizon \+ 1\)\) together with "
            r"future\.$")):
        WindowDataset(close, torch.arange(3), 1, future=dt[:, None])


def _panel():
    """The S&P 500's last 100 closes, then NASDAQ's first 50: samples end at every row."""
    both = torch.cat([_close(n=100), _close(load_nasdaq, n=5031)[:50]])
    starts = torch.tensor([0] * 100 + [100] * 50)
    return both, WindowDataset(both, torch.arange(150), 5, starts=starts)


def test_a_window_never_reads_the_previous_series():
    both, ds = _panel()
    x, _ = ds[[99, 100, 102, 149]]
    torch.testing.assert_close(x[0], both[95:100])                     # S&P 500's last
    torch.testing.assert_close(x[1], both[[100] * 5])                  # NASDAQ's first day
    torch.testing.assert_close(x[2], both[[100, 100, 100, 101, 102]])
    torch.testing.assert_close(x[3], both[145:150])
    sub = ds.subset([100, 102])                                        # starts travel along
    torch.testing.assert_close(sub.starts, torch.tensor([100, 100]))
    torch.testing.assert_close(sub[[0, 1]][0], x[1:3])


def test_a_panel_is_split_series_by_series():
    _, ds = _panel()
    # S&P 500: 100 samples, 20 validated, gap 5 -> train 0..74; NASDAQ: 50, 10, 5 -> 35
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # a panel's split never warns
        train, valid = TimeOrderedSplit(0.2, gap=5)(ds)
    np.testing.assert_array_equal(train.ends, np.r_[0:75, 100:135])
    np.testing.assert_array_equal(valid.ends, np.r_[80:100, 140:150])
    np.testing.assert_array_equal(valid.starts, np.repeat([0, 100], [20, 10]))
    # a series too short for a split keeps all its samples; if none can, no validation
    starts = np.repeat([0, 500, 900], [100, 8, 50])
    train, valid = TimeOrderedSplit(0.2, gap=5).positions(158, starts=starts)
    np.testing.assert_array_equal(train, np.r_[0:75, 100:108, 108:143])
    np.testing.assert_array_equal(valid, np.r_[80:100, 148:158])
    train, valid = TimeOrderedSplit(0.2, gap=5).positions(16, starts=np.repeat([0, 9], 8))
    assert valid is None
    np.testing.assert_array_equal(train, np.arange(16))


@pytest.mark.parametrize("fraction, gap, n, n_valid", [
    (0.2, 0, 98, 20),          # round(19.6), not the integer part
    ("auto", 0, 50, 10),       # 20% is exactly MIN_VALID: kept
    ("auto", 0, 45, 0),        # 9 < MIN_VALID: none
    ("auto", 40, 100, 10),     # half for training binds: 100 // 2 - 40 = 10
    ("auto", 41, 100, 0),      # 9 < MIN_VALID
    (0, 3, 100, 0),
])
def test_validation_tail_sizes(fraction, gap, n, n_valid):
    split = TimeOrderedSplit(fraction, gap=gap)
    assert split.n_valid(n) == n_valid
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, valid = split.positions(n)
    if n_valid == 0:
        assert valid is None
        np.testing.assert_array_equal(train, np.arange(n))
    else:
        np.testing.assert_array_equal(train, np.arange(n - n_valid - gap))
        np.testing.assert_array_equal(valid, np.arange(n - n_valid, n))


def test_warnings_name_the_numbers():
    with pytest.warns(UserWarning) as record:
        train, valid = TimeOrderedSplit(0.3, gap=80).positions(100)
    assert str(record[0].message) == (
        "Only 100 samples: a validation tail of 30 after a gap of 80 would leave 0 for "
        "training, so early stopping is off and all samples are used for training. Pass "
        "more data, a shorter window, or valid_fraction=0 to silence this.")
    assert valid is None
    np.testing.assert_array_equal(train, np.arange(100))
    # as many training as validation samples: split, with the second warning
    with pytest.warns(UserWarning) as record:
        train, valid = TimeOrderedSplit(0.2, gap=60).positions(100)
    assert str(record[0].message) == (
        "valid_fraction=0.2: a validation tail of 20 samples after a gap of 60 (window + "
        "horizon - 1) leaves 20 of 100 samples (20%) for training. Lower valid_fraction or "
        "the window, or pass valid_fraction='auto' (at least half for training).")
    np.testing.assert_array_equal(train, np.arange(20))
    np.testing.assert_array_equal(valid, np.arange(80, 100))
    # exactly half for training: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, _ = TimeOrderedSplit(0.2, gap=30).positions(100)
    assert len(train) == 50


def test_loaders_batch_in_order_or_shuffled_without_touching_the_global_rng():
    close = _close()
    ds = WindowDataset(close, torch.arange(9, 299), 10, close, torch.arange(1, 2))
    state = torch.get_rng_state()
    batches = [y for _, y in batch_loader(ds, 100)]
    assert [len(b) for b in batches] == [100, 100, 90]                 # last one kept
    torch.testing.assert_close(torch.cat(batches), ds[torch.arange(290)][1])
    shuffled = [y for _, y in batch_loader(ds, 100, shuffle=True,
                                           generator=torch.Generator().manual_seed(0))]
    assert torch.equal(state, torch.get_rng_state())
    flat = torch.cat(shuffled)
    assert not torch.equal(flat, torch.cat(batches))                   # another order...
    torch.testing.assert_close(flat.sort(dim=0).values, torch.cat(batches).sort(dim=0).values)


# -- second pass (issue 17): devices, index dtypes, subsets with dt, split boundaries ----
def test_windows_are_gathered_on_the_features_device():
    """Features on another device than the window ends and the panel starts (as on a
    GPU): every index is moved to the features' device, so the gather runs there. The
    ``meta`` device stands for the accelerator: it checks devices and shapes, not values
    (those are checked on the CPU above)."""
    both, cpu_ds = _panel()
    on_meta = both.to("meta")
    ds = WindowDataset(on_meta, torch.arange(150), 5, starts=torch.tensor([0] * 100 + [100] * 50))
    assert ds._back.device == on_meta.device
    x, _ = ds[[99, 100, 102]]
    assert x.device == on_meta.device and x.shape == cpu_ds[[99, 100, 102]][0].shape == (3, 5, 1)
    close = _close()
    ds = WindowDataset(close.to("meta"), torch.arange(9, 299), 10, close.to("meta"),
                       torch.arange(1, 3, device="meta"))             # targets with them
    x, y = ds[[0, 5]]
    assert x.device == y.device == on_meta.device
    assert x.shape == (2, 10, 1) and y.shape == (2, 2, 1)


def test_positions_of_any_integer_dtype_are_positions():
    close = _close()
    ds = WindowDataset(close, torch.arange(9, 299), 10, close, torch.arange(1, 2))
    small = np.array([3, 5, 200], dtype=np.int16)          # int16: torch cannot index by it
    sub = ds.subset(small)
    torch.testing.assert_close(sub.ends, torch.tensor([12, 14, 209]))
    x, y = ds[small]
    torch.testing.assert_close(x[2], close[200:210])
    torch.testing.assert_close(y[:, 0, 0], close[[13, 15, 210], 0])


def test_a_subset_keeps_the_elapsed_times():
    sp = load_sp500().iloc[-300:]
    close = _close()
    days = np.r_[1.0, np.diff(sp.index.to_numpy()) / np.timedelta64(1, "D")]
    dt = torch.tensor(days, dtype=torch.float32)
    ds = WindowDataset(close, torch.arange(0, 300), window=4, dt=dt)
    sub = ds.subset(np.array([150, 299]))
    inputs, _ = sub[[0, 1]]
    assert set(inputs) == {"x", "dt"}
    torch.testing.assert_close(inputs["dt"], torch.stack([dt[147:151], dt[296:300]]))


def test_auto_tail_is_a_whole_number_when_half_for_training_binds():
    # 101 samples, gap 40: 20% is round(20.2) = 20; half for training: 101 // 2 - 40 = 10
    split = TimeOrderedSplit("auto", gap=40)
    n_valid = split.n_valid(101)
    assert n_valid == 10 and isinstance(n_valid, int)
    train, valid = split.positions(101)
    np.testing.assert_array_equal(train, np.arange(51))
    np.testing.assert_array_equal(valid, np.arange(91, 101))
    assert valid.dtype.kind == "i"


def test_a_third_to_a_half_for_training_still_warns():
    # 100 samples, 20 validated after a gap of 40: 40 (40%) left, fewer than half
    with pytest.warns(UserWarning, match=r"leaves 40 of 100 samples \(40%\) for training"):
        train, valid = TimeOrderedSplit(0.2, gap=40).positions(100)
    np.testing.assert_array_equal(train, np.arange(40))
    np.testing.assert_array_equal(valid, np.arange(80, 100))


def test_a_given_generator_decides_the_shuffle():
    close = _close()
    ds = WindowDataset(close, torch.arange(9, 299), 10, close, torch.arange(1, 2))
    def order(seed):
        return torch.cat([y for _, y in batch_loader(
            ds, 100, shuffle=True, generator=torch.Generator().manual_seed(seed))])

    first = order(0)
    torch.testing.assert_close(order(0), first)                        # reproducible
    assert not torch.equal(order(1), first)                            # the seed decides
    torch.testing.assert_close(order(1).sort(dim=0).values, first.sort(dim=0).values)


# -- third pass (issue 17): where the split's warnings point, weights on another device ---


def test_split_warnings_point_at_the_callers_line():
    # 100 samples: a 30% tail after a gap of 80 leaves none to train on (first warning);
    # a 20% tail after a gap of 60 leaves 20 of 100 (second warning)
    with pytest.warns(UserWarning, match=r"^Only 100 samples") as too_few:
        TimeOrderedSplit(0.3, gap=80).positions(100)
    with pytest.warns(UserWarning, match=r"^valid_fraction=0\.2") as little:
        TimeOrderedSplit(0.2, gap=60).positions(100)
    assert len(too_few) == len(little) == 1
    assert too_few[0].filename == little[0].filename == __file__


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sample_weights_are_read_on_the_weights_device():
    """Window ends on the GPU, weights on the CPU: the ends move to the weights (a CPU
    tensor cannot be indexed by CUDA indices). Weights: the daily volumes."""
    close = _close()
    volume = torch.tensor(load_sp500()["Volume"].to_numpy()[-300:], dtype=torch.float32)
    ends = torch.arange(9, 299, device="cuda")
    ds = WindowDataset(close.cuda(), ends, 10, close.cuda(), torch.arange(1, 2, device="cuda"),
                       weights=volume)
    got = ds.sample_weights()
    assert got.device.type == "cpu"
    torch.testing.assert_close(got, volume[9:299])
