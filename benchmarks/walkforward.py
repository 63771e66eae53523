"""Walk-forward cost: sktime ``evaluate`` with ``strategy="update"`` vs ``"refit"``.

10 expanding-window folds over the last 1,500 trading days of S&P 500 daily log returns
(%), forecasting 1-5 days ahead with ``LSTMForecaster``; reports total time and test MAE /
RMSE of both strategies side by side, and the time ratio.

    python -m benchmarks.walkforward [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time


def _child(strategy: str) -> dict:
    import numpy as np
    import torch
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.performance_metrics.forecasting import (
        MeanAbsoluteError,
        MeanSquaredError,
    )
    from sktime.split import ExpandingWindowSplitter

    from skfin.datasets import load_sp500
    from skfin.forecasting import LSTMForecaster

    torch.set_num_threads(1)
    close = load_sp500()["Close"].reset_index(drop=True)
    y = (100 * np.log(close).diff()).dropna().iloc[-1500:]
    cv = ExpandingWindowSplitter(fh=[1, 2, 3, 4, 5], initial_window=1000, step_length=50)
    forecaster = LSTMForecaster(window=30, max_epochs=20, update_epochs=2, device="cpu",
                                random_state=0)
    start = time.perf_counter()
    res = evaluate(forecaster, cv, y, strategy=strategy,
                   scoring=[MeanAbsoluteError(), MeanSquaredError(square_root=True)])
    return {"strategy": strategy, "folds": len(res), "seconds": time.perf_counter() - start,
            "MAE": float(res["test_MeanAbsoluteError"].mean()),
            "RMSE": float(res["test_MeanSquaredError"].mean())}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--strategy", default="update")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.strategy)))
        return
    from benchmarks._common import fresh_process, median, save

    result = {}
    for strategy in ("update", "refit"):
        runs = [fresh_process("walkforward", "--strategy", strategy) for _ in range(args.repeats)]
        result[strategy] = {k: median([r[k] for r in runs]) for k in ("seconds", "MAE", "RMSE")}
        result[strategy]["folds"] = runs[0]["folds"]
    result["time_ratio_update_over_refit"] = result["update"]["seconds"] / result["refit"]["seconds"]
    path = save("walkforward", result)
    print(f"{'strategy':>8} {'folds':>5} {'seconds':>8} {'MAE':>7} {'RMSE':>7}")
    for s in ("update", "refit"):
        r = result[s]
        print(f"{s:>8} {r['folds']:>5} {r['seconds']:>8.1f} {r['MAE']:>7.4f} {r['RMSE']:>7.4f}")
    print(f"time ratio update/refit: {result['time_ratio_update_over_refit']:.3f} -> {path}")


if __name__ == "__main__":
    main()
