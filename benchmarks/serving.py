"""Serving latency and throughput: the sklearn face vs TorchScript vs ONNX Runtime vs ``net(x)``.

Issue 14 §2. For LSTM, TCN, N-BEATS and PatchTST regressors (default sizes, window 32,
quantile head with the default 21 levels) fitted for 2 epochs on real S&P 500 features (daily
log return and range, standardised), four ways of computing the forecast of raw windows:

- ``sklearn``: ``model.predict_quantiles(X)`` on the new rows (one row for one window: the
  face completes the window from the rows it was fitted on), which returns a DataFrame;
- ``torchscript``: the graph of :func:`skfin.export.export` loaded with ``torch.jit.load``;
- ``onnxruntime``: the ONNX graph in an ``onnxruntime.InferenceSession`` (CPU provider);
- ``net(x)``: the bare fitted module on a standardised window tensor, head parameters only
  (no quantiles, no de-scaling), under ``torch.inference_mode``: the floor.

Latency: ``--calls`` single-window calls after warm-up, p50/p95/p99 in milliseconds.
Throughput: windows per second on a batch of 1,024 windows, median of ``--repeats``. Each
architecture runs in a fresh process with one intra-op thread for torch and ONNX Runtime
(``--threads``), the allocator pinned (``benchmarks._common.PINNED_ENV``).

    python -m benchmarks.serving [--calls 1000] [--repeats 20] [--threads 1]

Saves ``results/serving.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

MODELS = {"lstm": "LSTMRegressor", "tcn": "TCNRegressor", "nbeats": "NBEATSRegressor",
          "patchtst": "PatchTSTRegressor"}


def _child(name: str, calls: int, repeats: int, threads: int) -> dict:
    import numpy as np
    import onnxruntime
    import pandas as pd
    import torch

    from benchmarks._common import sp500_features
    from skfin import regressors
    from skfin.export import windows

    torch.set_num_threads(threads)
    X, y = sp500_features()
    X = pd.DataFrame(X, columns=["r", "range"])
    model = getattr(regressors, MODELS[name])(window=32, output="quantile", max_epochs=2,
                                               device="cpu", random_state=0).fit(X, y)
    folder = tempfile.mkdtemp()
    ts = torch.jit.load(str(model.export(f"{folder}/m", "torchscript")))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(model.export(f"{folder}/m", "onnx")), options,
                                           providers=["CPUExecutionProvider"])
    net = model.net_.module_.eval()

    one_row, rows = X.iloc[-1:], X.iloc[-1024:]
    one, batch = windows(model, one_row), windows(model, rows)           # raw [n, 32, 2]
    paths = {
        "sklearn": lambda data: model.predict_quantiles(data[0], alpha=[0.05, 0.5, 0.95]),
        "torchscript": lambda data: ts(torch.from_numpy(data[1])),
        "onnxruntime": lambda data: session.run(None, {"x": data[1]}),
        "net(x)": lambda data: net(torch.from_numpy(data[1])),
    }
    out = {}
    with torch.inference_mode():
        for path, fn in paths.items():
            single, many = (one_row, one), (rows, batch)
            for _ in range(50):
                fn(single)
            laps = []
            for _ in range(calls):
                start = time.perf_counter()
                fn(single)
                laps.append(time.perf_counter() - start)
            fn(many)
            rates = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn(many)
                rates.append(len(batch) / (time.perf_counter() - start))
            p50, p95, p99 = np.percentile(np.array(laps) * 1e3, [50, 95, 99])
            out[path] = {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
                         "windows_per_s": float(np.median(rates))}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--child", metavar="NAME")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.calls, args.repeats, args.threads)))
        return

    from benchmarks._common import fresh_process, save

    results = {}
    for name in args.models:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = fresh_process("serving", name, "--calls", str(args.calls),
                                      "--repeats", str(args.repeats),
                                      "--threads", str(args.threads))
    print("| net | path | p50 ms | p95 ms | p99 ms | windows/s (batch 1,024) |")
    print("|---|---|---|---|---|---|")
    for name, paths in results.items():
        for path, r in paths.items():
            print(f"| {name} | {path} | {r['p50_ms']:.3f} | {r['p95_ms']:.3f} | "
                  f"{r['p99_ms']:.3f} | {r['windows_per_s']:,.0f} |")
    path = save("serving", {"command": "python -m benchmarks.serving " + " ".join(
        argv if argv is not None else sys.argv[1:]), "threads": args.threads,
        "calls": args.calls, "repeats": args.repeats, "results": results})
    print(f"saved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
