"""Latency of ``predict`` on one window through the sklearn face (fitted LSTM, CPU).

Reports the median over ``--calls`` calls of ``LSTMRegressor.predict`` on a single
pre-built window ``[1, window, n_features]`` of real S&P 500 features, beside a bare
``net(x)`` forward under ``torch.inference_mode`` on the same window. Target <= 1 ms.

    python -m benchmarks.latency [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import time


def _child(calls: int) -> dict:
    import numpy as np
    import torch

    from benchmarks._common import sp500_features
    from skfin.regressors import LSTMRegressor

    torch.set_num_threads(1)
    X, y = sp500_features()
    model = LSTMRegressor(window=32, max_epochs=2, device="cpu", random_state=0).fit(X, y)
    window = np.ascontiguousarray(X[-32:][None])                      # [1, 32, 2]
    net = model.net_.module_.eval()
    x = torch.from_numpy(window)

    def clock(fn):
        for _ in range(50):
            fn()
        laps = []
        for _ in range(calls):
            t = time.perf_counter()
            fn()
            laps.append(time.perf_counter() - t)
        return float(np.median(laps)) * 1e3

    def bare():
        with torch.inference_mode():
            net(x)

    return {"predict_ms": clock(lambda: model.predict(window)), "bare_forward_ms": clock(bare)}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.calls)))
        return
    from benchmarks._common import fresh_process, median, save

    runs = [fresh_process("latency", "--calls", str(args.calls)) for _ in range(args.repeats)]
    result = {k: median([r[k] for r in runs]) for k in runs[0]}
    result["runs"] = runs
    path = save("latency", result)
    print(f"predict on one window: LSTMRegressor {result['predict_ms']:.3f} ms, bare forward "
          f"{result['bare_forward_ms']:.3f} ms (median of {args.calls} calls, median of "
          f"{args.repeats} processes; target <= 1 ms) -> {path}")


if __name__ == "__main__":
    main()
