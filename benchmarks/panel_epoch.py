"""One epoch of a global LSTM over a panel of 1, 64 and 1,024 real series: time and memory.

The panel is cut from the bundled daily series (:mod:`skfin.datasets`): the log returns of
the S&P 500 and NASDAQ closes, WTI crude (holidays forward-filled), the VIX and MSFT, in
percent, each standardised by its own full-sample mean and standard deviation. A series of
the panel is a segment of 250 consecutive trading days of one of them; segments start every
20 days (so neighbours overlap by 230 days: 1,339 segments in all), and a panel of ``n``
takes the first ``n`` segments dealt round-robin over the five series (the 64-series panel
holds 13 S&P 500, 13 NASDAQ, 13 WTI, 13 VIX and 12 MSFT segments; the 1,024-series one 240,
240, 246, 53 and 245). No data is invented.

The rows of all segments are concatenated into one ``[n_series * 250, 1]`` tensor and
one :class:`~skfin.engine.data.WindowDataset` reads windows of 60 days from it, target the
next day's return; its ``ends`` start 59 rows into each segment and stop one row before its
end, so no window or target crosses a segment boundary (190 windows per series). Windows
are gathered per batch, never materialised.

Each (panel size, loader) runs in a fresh process (one torch thread): a warm-up epoch on
the 1-series panel, then one timed epoch of the LSTM (hidden 16, batch 256, AdamW, gradient
clipping) over the whole panel. Loaders:

* ``engine``: ``LSTMRegressor``'s engine (:class:`~skfin.engine.SkfinNet`, built by the
  face's ``_build_engine`` with ``valid_fraction=0``) fitting one epoch: the engine's own
  batching, one index gather per batch. The engine's ``get_iterator`` takes no workers;
* ``loader-0/1/2/4``: the same module, loss and optimizer in a plain torch loop over a
  ``torch.utils.data.DataLoader`` of the same dataset with 0, 1, 2 and 4 worker processes
  (whole index batches, as :func:`skfin.engine.data.batch_loader`).

Memory: peak RSS of the process (``resource.getrusage`` maxrss; the workers' own under
``RUSAGE_CHILDREN``), its growth during the timed epoch, and the peak of Python's own
allocations during the epoch (``tracemalloc``; torch's tensor storage is not traced), beside
the size of the rows tensor and of what materialised windows would take
(``n_windows x 60 x 4`` bytes). The O(n) allocations are the rows and targets (4 bytes per
row each), ``ends`` and the epoch's shuffled permutation (8 bytes per window each).

    python -m benchmarks.panel_epoch [--sizes 1 64 1024] [--loaders engine loader-0 ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc

SEGMENT, STEP, WINDOW, HIDDEN, BATCH = 250, 20, 60, 16, 256


def panel_rows(n_series: int):
    """``[n_series * SEGMENT]`` standardised real returns, and the names of the segments."""
    import numpy as np

    from skfin.datasets import load_msft, load_nasdaq, load_sp500, load_vix, load_wti

    sources = {"sp500": load_sp500()["Close"], "nasdaq": load_nasdaq()["Close"],
               "wti": load_wti().ffill(), "vix": load_vix().ffill(), "msft": load_msft()["Close"]}
    cut = {}
    for name, price in sources.items():
        r = (100 * np.log(price).diff()).dropna().to_numpy()
        r = (r - r.mean()) / r.std()
        cut[name] = [(f"{name}@{start}", r[start:start + SEGMENT])
                     for start in range(0, len(r) - SEGMENT + 1, STEP)]
    dealt = []                                    # round-robin over the series
    for i in range(max(map(len, cut.values()))):
        dealt += [segments[i] for segments in cut.values() if i < len(segments)]
    if n_series > len(dealt):
        raise ValueError(f"Only {len(dealt)} segments of {SEGMENT} days; asked for {n_series}.")
    chosen = dealt[:n_series]
    return np.concatenate([rows for _, rows in chosen]).astype(np.float32), [n for n, _ in chosen]


def panel_dataset(n_series: int):
    import torch

    from skfin.engine.data import WindowDataset

    rows, _ = panel_rows(n_series)
    features = torch.from_numpy(rows).view(-1, 1)                       # [N * 250, 1]
    within = torch.arange(WINDOW - 1, SEGMENT - 1)                       # [190]
    ends = (torch.arange(n_series).view(-1, 1) * SEGMENT + within).flatten()
    return WindowDataset(features, ends, WINDOW, targets=features,
                         target_offsets=torch.arange(1, 2))


def _engine(n_windows: int):
    from skfin.regressors import LSTMRegressor

    face = LSTMRegressor(window=WINDOW, hidden_size=HIDDEN, max_epochs=1, batch_size=BATCH,
                         valid_fraction=0, patience=None, device="cpu", random_state=0)
    return face._build_engine(n_windows=n_windows, n_features=1, window=WINDOW, horizon=1,
                              n_targets=1)


def _plain_epoch(net, dataset, workers: int) -> None:
    import torch

    from torch.utils.data import BatchSampler, DataLoader, RandomSampler

    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers,
                        sampler=BatchSampler(RandomSampler(dataset, generator=generator),
                                             BATCH, drop_last=False))
    module, criterion, optimizer = net.module_, net.criterion_, net.optimizer_
    module.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(module(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()


def _child(n_series: int, loader: str) -> dict:
    import torch

    torch.set_num_threads(1)
    warm = panel_dataset(1)
    dataset = panel_dataset(n_series)
    net = _engine(len(dataset))
    workers = None if loader == "engine" else int(loader.split("-")[1])
    if workers is None:
        net.fit(warm)                                                  # warm-up epoch
        epoch = lambda: net.partial_fit(dataset)                       # noqa: E731
    else:
        net.initialize()
        _plain_epoch(net, warm, 0)
        epoch = lambda: _plain_epoch(net, dataset, workers)            # noqa: E731
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    epoch()
    seconds = time.perf_counter() - start
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = len(dataset)
    return {"series": n_series, "loader": loader, "rows": len(dataset.features), "windows": n,
            "batches": -(-n // BATCH), "epoch_s": seconds,
            "ms_per_batch": 1e3 * seconds / -(-n // BATCH),
            "rows_tensor_mb": dataset.features.nbytes / 2**20,
            "ends_mb": dataset.ends.nbytes / 2**20,
            "materialised_windows_mb": n * WINDOW * 4 / 2**20,
            "peak_rss_mb": after / 1024, "rss_growth_in_epoch_mb": (after - before) / 1024,
            "python_peak_in_epoch_mb": python_peak / 2**20,
            "workers_peak_rss_mb": children / 1024 if workers else 0.0}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--loaders", nargs="+",
                        default=["engine", "loader-0", "loader-1", "loader-2", "loader-4"])
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.sizes[0], args.loaders[0])))
        return
    from benchmarks._common import fresh_process, save

    rows = []
    for size in args.sizes:
        for loader in args.loaders:
            result = fresh_process("panel_epoch", "--sizes", str(size), "--loaders", loader)
            rows.append(result)
            print(f"{size:>5} series {result['windows']:>7} windows  {loader:<9} "
                  f"{result['epoch_s']:7.2f} s/epoch {result['ms_per_batch']:6.2f} ms/batch  "
                  f"peak RSS {result['peak_rss_mb']:6.0f} MB "
                  f"(+{result['rss_growth_in_epoch_mb']:5.1f} "
                  f"in epoch; python peak {result['python_peak_in_epoch_mb']:5.2f} MB)  rows "
                  f"{result['rows_tensor_mb']:6.2f} MB vs windows "
                  f"{result['materialised_windows_mb']:7.1f} MB", flush=True)
    import os
    import platform

    path = save("panel_epoch", {
        "what": "one epoch of a global LSTM (hidden 16, window 60, batch 256) over panels of "
                "250-day real segments (S&P 500, NASDAQ, WTI, VIX, MSFT log returns), CPU, "
                "1 torch thread, fresh process per row",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "segment_days": SEGMENT, "segment_step_days": STEP, "window": WINDOW,
        "results": rows})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
