"""Windows sliced on the fly, time-ordered validation, and batch loaders.

A :class:`WindowDataset` keeps one contiguous ``[n_rows, n_features]`` tensor and the list of
window end rows; a batch gathers its windows with one index operation. Memory therefore
grows with the series, never with ``series x window``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from skfin._warnings import warn

__all__ = ["WindowDataset", "TimeOrderedSplit", "batch_loader"]


class WindowDataset(Dataset):
    """Samples are windows ending at given rows of one contiguous feature tensor.

    Parameters
    ----------
    features : Tensor
        ``[n_rows, n_features]`` rows in time order, or ``[n_samples, window, n_features]``
        pre-built windows (then ``ends`` indexes samples and ``window`` is ignored).
    ends : Tensor of int64
        ``[n_samples]`` row of the last step of each sample's window, ascending.
    window : int
        Steps per window. Rows before the first one are left-padded with the first row.
    targets : Tensor, default=None
        ``[n_rows, horizon, n_targets]`` read at ``ends`` when ``target_offsets`` is None,
        or a series ``[n_rows, n_targets]`` read at ``ends + target_offsets``.
    target_offsets : Tensor of int64, default=None
        ``[horizon]`` offsets (e.g. ``1..H`` for direct multi-step forecasting).
    future : Tensor, default=None
        ``[n_rows, n_future]`` known-future covariates, read at ``ends + target_offsets``
        (the rows of the targets). A sample is then ``({"x": x, "x_future": x_future}, y)``
        with ``x_future: [B, horizon, n_future]``, which skorch passes to the net as
        ``module(x=x, x_future=x_future)``. Needs ``target_offsets``.
    dt : Tensor, default=None
        ``[n_rows]`` time elapsed before each row (for nets that read time, such as
        :class:`~skfin.nets.NeuralODE`), read like the features: a sample's inputs then
        carry ``"dt": [B, window]`` next to ``"x"``, passed to the net as ``dt=``.
    weights : Tensor, default=None
        ``[n_rows]`` non-negative sample weights, read at ``ends``: a window's weight is
        the one of its last row (the row of its target when ``target_offsets`` is None).
        A sample's inputs then carry ``"sample_weight": [B]`` next to ``"x"``;
        :class:`~skfin.engine.SkfinNet` hands it to the loss (train and validation batches
        alike), never to the net.
    starts : Tensor of int64, default=None
        ``[n_samples]`` first row of the series each sample belongs to, for rows that
        hold several series one after the other (a panel): a window never reads a row
        before its series' first one (earlier steps repeat that row, as the rows before
        row 0 do), and :class:`TimeOrderedSplit` holds out each series' own most recent
        samples. None: one series.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[:, None], dtype=torch.float32)
    >>> ds = WindowDataset(close, torch.arange(59, 5026), window=60, targets=close,
    ...                    target_offsets=torch.arange(1, 6))
    >>> x, y = ds[[0, 1, 2]]
    >>> tuple(x.shape), tuple(y.shape)
    ((3, 60, 1), (3, 5, 1))
    >>> bool(y[0, 0, 0] == close[60, 0])
    True

    Known-future covariates (here the day of the week of each target day):

    >>> sp = load_sp500()
    >>> dow = torch.tensor(sp.index.dayofweek.to_numpy()[:, None], dtype=torch.float32)
    >>> ds = WindowDataset(close, torch.arange(59, 5026), window=60, targets=close,
    ...                    target_offsets=torch.arange(1, 6), future=dow)
    >>> inputs, y = ds[[0, 1, 2]]
    >>> sorted(inputs), tuple(inputs["x_future"].shape)
    (['x', 'x_future'], (3, 5, 1))
    >>> bool((inputs["x_future"][0, :, 0] == dow[60:65, 0]).all())
    True

    Sample weights, here halving the weight of every window that ends before 2010:

    >>> w = torch.tensor(np.where(sp.index.year < 2010, 0.5, 1.0), dtype=torch.float32)
    >>> ds = WindowDataset(close, torch.arange(59, 5026), window=60, targets=close,
    ...                    target_offsets=torch.arange(1, 6), weights=w)
    >>> inputs, y = ds[[0, 4000]]
    >>> inputs["sample_weight"].tolist()
    [0.5, 1.0]

    Two series in one tensor, the S&P 500 then NASDAQ closes: the first NASDAQ window
    repeats NASDAQ's first close instead of reading the S&P 500's last ones.

    >>> from skfin.datasets import load_nasdaq
    >>> both = torch.cat([close[-100:], torch.tensor(
    ...     load_nasdaq()["Close"].to_numpy()[:100, None], dtype=torch.float32)])
    >>> ds = WindowDataset(both, torch.arange(200), 5, starts=torch.tensor([0] * 100 + [100] * 100))
    >>> x, _ = ds[[100]]
    >>> bool((x[0, :, 0] == both[100, 0]).all())
    True
    """

    def __init__(self, features: Tensor, ends: Tensor, window: int,
                 targets: Tensor | None = None, target_offsets: Tensor | None = None,
                 future: Tensor | None = None, weights: Tensor | None = None,
                 dt: Tensor | None = None, starts: Tensor | None = None):
        if future is not None and target_offsets is None:
            raise ValueError(
                "WindowDataset reads known-future covariates at ends + target_offsets; pass "
                "target_offsets (e.g. torch.arange(1, horizon + 1)) together with future."
            )
        if dt is not None and features.ndim == 3:
            raise ValueError("WindowDataset reads dt per row; pre-built windows have no rows. "
                             "Pass the features as rows [n_rows, n_features] with dt.")
        self.features = features
        self.ends = ends
        self.window = window
        self.targets = targets
        self.target_offsets = target_offsets
        self.future = future
        self.weights = weights
        self.dt = dt
        self.starts = starts
        device = features.device
        self._back = torch.arange(window - 1, -1, -1, device=device)        # [W]: W-1 .. 0

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, idx):
        if not isinstance(idx, (Tensor, slice)):
            idx = torch.as_tensor(idx, dtype=torch.long)
        ends = self.ends[idx].to(self.features.device)                       # [B]
        if self.features.ndim == 3:
            x = self.features[ends]                                          # [B, W, F]
        else:
            rows = ends.unsqueeze(1) - self._back                            # [B, W]
            if self.starts is None:
                rows = rows.clamp_min(0)
            else:                                      # never into the previous series
                first = self.starts[idx].to(rows.device).unsqueeze(1)
                rows = torch.maximum(rows, first)
            x = self.features[rows]                                          # [B, W, F]
        inputs = {}
        if self.future is not None:                                          # [B, H, K]
            inputs["x_future"] = self.future[ends.unsqueeze(1) + self.target_offsets]
        if self.dt is not None:                                              # [B, W]
            inputs["dt"] = self.dt[rows]
        if self.weights is not None:                                         # [B]
            inputs["sample_weight"] = self.weights[ends]
        if inputs:
            x = {"x": x, **inputs}
        if self.targets is None:
            return x, None
        if self.target_offsets is None:
            return x, self.targets[ends]                                     # [B, H, T]
        return x, self.targets[ends.unsqueeze(1) + self.target_offsets]      # [B, H, T]

    def subset(self, positions: np.ndarray | Tensor) -> WindowDataset:
        """Dataset of the samples at ``positions`` (sharing the same storage)."""
        positions = torch.as_tensor(positions, dtype=torch.long)
        return WindowDataset(self.features, self.ends[positions], self.window,
                             self.targets, self.target_offsets, self.future, self.weights,
                             self.dt, None if self.starts is None else self.starts[positions])

    def sample_weights(self) -> Tensor | None:
        """The weight of each sample ``[n_samples]`` (None without weights)."""
        return None if self.weights is None else self.weights[self.ends.to(self.weights.device)]


class TimeOrderedSplit:
    """skorch ``train_split`` that validates on the most recent samples, after a gap.

    Samples are taken in time order; the last ``valid_fraction`` of them are the validation
    tail, and the ``gap`` samples before it are dropped so that no training target overlaps a
    validation input (use ``gap = window + horizon - 1``). A dataset of several series
    (``WindowDataset(starts=...)``) is split series by series: each one's most recent
    samples are validated on, after its own gap. If that would leave fewer training
    than validation samples, validation is skipped with a warning; if it leaves less than
    half of the samples for training, a warning says so (with the numbers) and what to change.

    Parameters
    ----------
    valid_fraction : float or "auto"
        Share of samples in the validation tail; 0 disables validation. ``"auto"``: 20%,
        shrunk so that at least half of the samples are left for training, and no
        validation at all (early stopping on the training loss) when that leaves fewer than
        :attr:`MIN_VALID` validation samples.
    gap : int
        Samples dropped between training and validation.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[:, None], dtype=torch.float32)
    >>> ds = WindowDataset(close, torch.arange(59, 5030), 60, close, torch.arange(1, 2))
    >>> train, valid = TimeOrderedSplit(0.2, gap=60)(ds)
    >>> int(valid.ends[0] - train.ends[-1])   # gap + 1 rows apart
    61
    """

    #: Fewest validation samples ``"auto"`` keeps; with fewer, early stopping would follow noise.
    MIN_VALID = 10

    def __init__(self, valid_fraction: float | str, gap: int):
        self.valid_fraction = valid_fraction
        self.gap = gap

    def n_valid(self, n: int) -> int:
        """Size of the validation tail among ``n`` samples.

        Examples
        --------
        The 144 months of airline passengers, window 36, horizon 12: 97 windows. A 20% tail
        after a gap of 47 would leave 31 (32%) to train on; ``"auto"`` validates on none.

        >>> split = TimeOrderedSplit("auto", gap=36 + 12 - 1)
        >>> TimeOrderedSplit(0.2, gap=47).n_valid(97), split.n_valid(97), split.n_valid(2000)
        (19, 0, 400)
        """
        if self.valid_fraction != "auto":
            return int(round(n * self.valid_fraction))
        n_valid = min(int(round(0.2 * n)), n // 2 - self.gap)
        return n_valid if n_valid >= self.MIN_VALID else 0

    def positions(self, n: int, starts=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Train and validation positions among ``n`` time-ordered samples.

        ``starts`` (``[n]``, the first row of each sample's series, in blocks): each
        series is split on its own, as if alone, without the warnings.

        Examples
        --------
        Two series of 100 and 50 samples, 20% validated on after a gap of 5:

        >>> import numpy as np
        >>> train, valid = TimeOrderedSplit(0.2, gap=5).positions(
        ...     150, starts=np.repeat([0, 500], [100, 50]))
        >>> len(train), len(valid), valid[:2].tolist(), valid[-10:-8].tolist()
        (110, 30, [80, 81], [140, 141])
        """
        if starts is not None:
            return self._series_positions(np.asarray(starts))
        n_valid = self.n_valid(n)
        n_train = n - n_valid - self.gap
        if n_valid == 0:
            return np.arange(n), None
        if n_train < n_valid:
            warn(
                f"Only {n} samples: a validation tail of {n_valid} after a gap of {self.gap} "
                f"would leave {max(n_train, 0)} for training, so early stopping is off and "
                "all samples are used for training. Pass more data, a shorter window, or "
                "valid_fraction=0 to silence this.",
                UserWarning,
            )
            return np.arange(n), None
        if n_train < n / 2:
            warn(
                f"valid_fraction={self.valid_fraction}: a validation tail of {n_valid} "
                f"samples after a gap of {self.gap} (window + horizon - 1) leaves {n_train} of "
                f"{n} samples ({n_train / n:.0%}) for training. Lower valid_fraction or the "
                "window, or pass valid_fraction='auto' (at least half for training).",
                UserWarning,
            )
        return np.arange(n_train), np.arange(n - n_valid, n)

    def _series_positions(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Each series' own split (a series too short for one keeps all its samples)."""
        bounds = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1], True])
        train, valid = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                part_train, part_valid = self.positions(hi - lo)
                train.append(lo + part_train)
                if part_valid is not None:
                    valid.append(lo + part_valid)
        train = np.concatenate(train)
        return (train, np.concatenate(valid)) if valid else (train, None)

    def __call__(self, dataset: WindowDataset, y=None, **fit_params):
        starts = None if dataset.starts is None else dataset.starts.cpu().numpy()
        train, valid = self.positions(len(dataset), starts)
        if valid is None:
            return dataset, None
        return dataset.subset(train), dataset.subset(valid)


def batch_loader(dataset: WindowDataset, batch_size: int, *, shuffle: bool = False,
                 generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader that hands the dataset whole index batches (one gather per batch).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> vix = torch.tensor(load_vix().ffill().to_numpy()[:, None], dtype=torch.float32)
    >>> ds = WindowDataset(vix, torch.arange(20, 1300), 21, vix, torch.arange(1, 2))
    >>> [tuple(x.shape) for x, _ in batch_loader(ds, 512)]
    [(512, 21, 1), (512, 21, 1), (256, 21, 1)]
    """
    # A DataLoader draws a base seed from its generator (the global RNG if none is given)
    # every time it is iterated: give it its own, so predicting never moves the global RNG.
    generator = torch.Generator() if generator is None else generator
    inner = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=None, generator=generator,
                      sampler=BatchSampler(inner, batch_size=batch_size, drop_last=False))
