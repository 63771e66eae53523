"""Windows sliced on the fly and the time-ordered validation split."""

import numpy as np
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
    train, valid = TimeOrderedSplit(frac, gap=window + horizon - 1).positions(n)
    if valid is None:
        return
    last_train_target = train.max() + horizon          # sample at row e predicts up to e + H
    first_valid_input = valid.min() - window + 1       # and reads rows from e - W + 1
    assert last_train_target < first_valid_input
    assert np.all(np.diff(np.concatenate([train, valid])) > 0)   # time order kept


def test_shuffled_loader_is_seeded():
    series = _wti()
    ds = WindowDataset(series, torch.arange(10, 1000), 11, series, torch.arange(1, 2))
    first = [x for x, _ in batch_loader(ds, 64, shuffle=True, generator=torch.Generator().manual_seed(3))]
    again = [x for x, _ in batch_loader(ds, 64, shuffle=True, generator=torch.Generator().manual_seed(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
