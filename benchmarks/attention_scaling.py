"""How the attention family's training step scales with the window length, on the CPU.

Forward + backward time of one batch (32 windows of real S&P 500 daily log returns, one
feature, horizon 1, MSE) for Transformer, Autoformer and PatchTST at their default sizes,
for windows of 64 to 1024 days. One torch thread, allocator thresholds pinned, each model
in its own fresh process; two warm-up steps, then the median of ``--repeats`` steps, in
wall-clock time or (``--clock cpu``) in the process's CPU time, which other work on a busy
machine inflates less.

The log-log slope of time against L says how the cost grows: self-attention is O(L^2)
per layer, Auto-Correlation O(L log L), and PatchTST attends over L / stride patches. At
short windows every model is dominated by its O(L) parts (projections, feed-forward
blocks), so slopes are reported over all lengths and over the longest ones (L >= 256).

    python -m benchmarks.attention_scaling [--repeats 7] [--clock wall|cpu]
                                           [--lengths 64 128 256 512 1024]

Results go to ``benchmarks/results/attention_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

MODELS = ("Transformer", "Autoformer", "PatchTST")
LENGTHS = (64, 128, 256, 512, 1024)
BATCH = 32


def _child(model: str, lengths: list[int], repeats: int) -> dict:
    import numpy as np
    import torch

    from skfin import nets
    from skfin.datasets import load_sp500

    torch.set_num_threads(1)
    r = 100 * np.log(load_sp500()["Close"].to_numpy())
    r = np.diff(r)
    r = ((r - r.mean()) / r.std()).astype(np.float32)
    series = torch.from_numpy(r)
    seconds = {}
    for length in lengths:
        torch.manual_seed(0)
        # 32 windows of `length` days spread over the sample, and each next day's return.
        starts = torch.linspace(0, len(series) - length - 2, BATCH).long()
        rows = starts[:, None] + torch.arange(length)                      # [B, L]
        x = series[rows].unsqueeze(-1)                                     # [B, L, 1]
        y = series[starts + length].view(BATCH, 1, 1)                      # [B, 1, 1]
        net = getattr(nets, model)(n_features=1, window=length, horizon=1, n_targets=1)
        net.train()

        def step():
            net.zero_grad(set_to_none=True)
            loss = ((net(x)[..., 0] - y) ** 2).mean()
            loss.backward()

        for _ in range(2):
            step()
        wall, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            step()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        seconds[str(length)] = {"wall": wall, "cpu": cpu}
    return seconds


def _slope(lengths, times) -> float:
    import numpy as np

    return float(np.polyfit(np.log(lengths), np.log(times), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--model", choices=MODELS)
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="report wall-clock or process CPU time (steadier on a busy machine)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.model, args.lengths, args.repeats)))
        return
    from benchmarks._common import fresh_process, median, save

    lengths = sorted(args.lengths)
    runs = {m: fresh_process("attention_scaling", "--model", m, "--repeats", str(args.repeats),
                             "--lengths", *map(str, lengths))
            for m in MODELS}
    ms = {m: {L: 1000 * median(runs[m][str(L)][args.clock]) for L in lengths} for m in MODELS}
    large = [L for L in lengths if L >= 256]
    slopes = {m: {"all": _slope(lengths, [ms[m][L] for L in lengths]),
                  "L>=256": _slope(large, [ms[m][L] for L in large]) if len(large) > 1 else None,
                  "last_doubling": _slope(lengths[-2:], [ms[m][L] for L in lengths[-2:]])}
              for m in MODELS}

    print(f"forward+backward ms per batch of {BATCH} (median of {args.repeats}, 1 CPU thread, "
          f"{args.clock} time)")
    print(f"{'L':<16}" + "".join(f"{m:>12}" for m in MODELS))
    for L in lengths:
        print(f"{L:<16}" + "".join(f"{ms[m][L]:>12.1f}" for m in MODELS))
    for key in ("all", "L>=256", "last_doubling"):
        print(f"{'slope ' + key:<16}" + "".join(
            f"{slopes[m][key]:>12.2f}" if slopes[m][key] is not None else f"{'-':>12}"
            for m in MODELS))
    path = save("attention_scaling", {
        "what": "forward+backward seconds per batch, CPU, 1 thread",
        "clock": args.clock, "load_average": os.getloadavg(),
        "batch": BATCH, "n_features": 1, "repeats": args.repeats, "lengths": lengths,
        "median_ms": {m: {str(L): v for L, v in ms[m].items()} for m in MODELS},
        "loglog_slope": slopes,
        "runs_s": runs,
    })
    print(f"saved {path}")


if __name__ == "__main__":
    main()
