"""Parallel walk-forward: ``backtest`` serial vs loky vs Dask vs Ray with 2 workers.

40 expanding-window folds x 3 nets (``LSTMForecaster``, ``TCNForecaster``,
``MLPForecaster``, tiny-ish: window 20, hidden 16, 3 epochs) on the last 1,000 daily S&P
500 log returns (%), forecasting 1-5 days ahead. ``strategy="refit"`` by default, so every
(net, fold) is one task: 120 tasks to share between the workers (with ``--strategy
update`` each net's walk is one task, and 3 tasks cannot keep 2 workers evenly busy).
Each backend runs in a fresh process with the benchmarks' pinned environment. *Cold*:
the wall time of the first ``backtest`` call, start-up included (loky's workers, a Dask
``LocalCluster`` of 2 processes with 1 thread each, or ``ray.init(num_cpus=2)``, each
worker importing torch, sktime and skfin: tens of seconds on a busy 2-core machine).
*Warm*: the same backtest again on the same workers (joblib keeps its loky workers; the
cluster and Ray stay up), what every later backtest of a session costs. Every parallel
run is checked to give the serial forecasts exactly (a hash of the forecasts frame).

    python -m benchmarks.parallel_backtest [--quick] [--strategy refit|update]

``--quick``: 6 folds, 1 epoch (a smoke run, a minute or two).

Expected scaling to N machines. A task costs the same wherever it runs (one torch thread,
the same data), so with ``c`` seconds per fold (the serial run's mean ``fit_seconds +
predict_seconds``, saved as ``per_fold_seconds``), ``T`` tasks and ``W`` one-thread
workers in all, the wall time is about ``startup + ceil(T / W) * c`` for refit tasks of
one fold (``startup``: a worker's imports, a few seconds, paid once per worker in
parallel), and for ``update`` tasks the longest model walk (``folds * c``) bounds it
whatever ``W``. On a 2-core machine shared with other jobs the two workers also share the
cores with the parent and any other load, so the measured speed-up is below 2; on N
machines of k cores with k workers each the refit walk scales as
``T * c / (N * k)`` until ``N * k`` approaches ``T`` (here 120 tasks), after which
start-up and the last fold dominate. See ``benchmarks/results/parallel_backtest.json``
for the measured ``per_fold_seconds`` and the times.

Measured here (2 cores shared with other jobs, so the numbers move by +-30% between
runs): ``c`` = 0.33 s per fold on average (TCN 0.67 s, LSTM 0.23 s, MLP 0.09 s), serial
42 s for the 120 folds; 2 workers: cold 26-32 s (x1.3-1.6), warm 17-22 s (x1.9-2.4,
above 2 only because the serial run met more outside load). A fresh worker's start-up
(~10-20 s here) is then the cost to amortise: with ``c`` = 0.33 s, N machines of k
cores finish the 120 folds in about ``startup + 40 s / (N * k)``, so beyond a handful of
workers only bigger nets, longer series or more folds gain; a net 10x as costly per
fold (``c`` ~ 3 s, e.g. 30 epochs or hidden 64 on the 5,000-day series) keeps 120
one-thread workers busy for one fold each.
"""

from __future__ import annotations

import argparse
import json
import time

BACKENDS = (None, "loky", "dask", "ray")


def _child(backend: str | None, folds: int, epochs: int, strategy: str) -> dict:
    import warnings

    import numpy as np
    import pandas as pd

    warnings.simplefilter("ignore", FutureWarning)
    from skfin.datasets import load_sp500
    from skfin.forecasting import LSTMForecaster, MLPForecaster, TCNForecaster
    from skfin.model_selection import backtest

    close = load_sp500()["Close"].reset_index(drop=True)
    y = (100 * np.log(close).diff()).dropna().iloc[-1000:]
    common = {"window": 20, "max_epochs": epochs, "random_state": 0, "verbose": 0}
    models = {"lstm": LSTMForecaster(hidden_size=16, **common),
              "tcn": TCNForecaster(**common),
              "mlp": MLPForecaster(hidden_size=16, **common)}
    def run(**kwargs):
        start = time.perf_counter()
        res = backtest(models, y, fh=5, folds=folds, strategy=strategy, progress=False,
                       backend=backend, **kwargs)
        return time.perf_counter() - start, res

    warm = None
    if backend is None:
        seconds, res = run()
    elif backend == "loky":
        seconds, res = run(n_jobs=2)
        warm, _ = run(n_jobs=2)                   # joblib keeps its loky workers
    elif backend == "dask":
        from distributed import LocalCluster

        start = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster:
            _, res = run(scheduler=cluster.scheduler_address)
            seconds = time.perf_counter() - start                # with the cluster's start
            warm, _ = run(scheduler=cluster.scheduler_address)
    else:
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        _, res = run()
        seconds = time.perf_counter() - start                    # with ray.init
        warm, _ = run()
        ray.shutdown()
    per_fold = res.folds[["fit_seconds", "predict_seconds"]].sum(axis=1)
    digest = int(pd.util.hash_pandas_object(res.forecasts, index=False).sum())
    return {"backend": backend or "serial", "seconds": seconds, "warm_seconds": warm,
            "rows": len(res.folds),
            "per_fold_seconds": float(per_fold.mean()),
            "per_fold_seconds_by_model": per_fold.groupby(res.folds["model"]).mean().to_dict(),
            "forecasts_hash": digest}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 folds, 1 epoch")
    parser.add_argument("--strategy", default="refit", choices=["refit", "update"])
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--backend", default="serial")
    parser.add_argument("--folds", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.folds, args.epochs = 6, 1
    if args.child:
        backend = None if args.backend == "serial" else args.backend
        print(json.dumps(_child(backend, args.folds, args.epochs, args.strategy)))
        return
    import os
    import subprocess

    from benchmarks._common import fresh_process, save

    runs = {}
    for backend in BACKENDS:
        name = backend or "serial"
        child = ("--backend", name, "--folds", str(args.folds), "--epochs",
                 str(args.epochs), "--strategy", args.strategy)
        try:
            runs[name] = fresh_process("parallel_backtest", *child)
        except subprocess.CalledProcessError as exc:      # e.g. Ray slow to start
            print(f"{name}: failed, once more ({exc.stderr.strip().splitlines()[-1:]})",
                  flush=True)
            runs[name] = fresh_process("parallel_backtest", *child)
        print(f"{name:>7}: {runs[name]['seconds']:7.1f} s", flush=True)
    serial = runs["serial"]
    table = {name: {"seconds": run["seconds"],
                    "speed_up": serial["seconds"] / run["seconds"],
                    "warm_seconds": run["warm_seconds"],
                    "warm_speed_up": (serial["seconds"] / run["warm_seconds"]
                                      if run["warm_seconds"] else None),
                    "identical_to_serial": run["forecasts_hash"] == serial["forecasts_hash"],
                    "rows": run["rows"]}
             for name, run in runs.items()}
    payload = {
        "protocol": (f"backtest of LSTM, TCN, MLP (window 20, hidden 16, {args.epochs} "
                     f"epochs) on the last 1000 S&P 500 daily log returns, fh=1..5, "
                     f"{args.folds} folds, strategy={args.strategy!r}; 2 workers"),
        "quick": args.quick, "cpus": os.cpu_count(), "workers": 2,
        "per_fold_seconds": serial["per_fold_seconds"],
        "per_fold_seconds_by_model": serial["per_fold_seconds_by_model"],
        "results": table,
    }
    name = "parallel_backtest" + ("_quick" if args.quick else "")
    path = save(name, payload)
    print(f"\n{'backend':>7} {'cold s':>7} {'speed-up':>9} {'warm s':>7} {'speed-up':>9} "
          "identical")
    for backend, row in table.items():
        warm = row["warm_seconds"] or row["seconds"]
        print(f"{backend:>7} {row['seconds']:7.1f} {row['speed_up']:9.2f} {warm:7.1f} "
              f"{serial['seconds'] / warm:9.2f} {row['identical_to_serial']}")
    print(f"per fold (serial): {serial['per_fold_seconds']:.2f} s; wrote {path}")


if __name__ == "__main__":
    main()
