"""Parallel grid search without oversubscription: ``GridSearchCV(n_jobs=1)`` vs ``n_jobs=2``.

A 4-candidate grid of ``LSTMRegressor`` (hidden_size x lr) over 3 ``TimeSeriesSplit`` folds
on real S&P 500 features (the last ``--rows`` days). joblib's loky workers start with
``OMP_NUM_THREADS = cpus // n_jobs``, so torch trains on one thread per worker; the parent
(``n_jobs=1``) keeps torch's default (all cores). Run in one fresh process with the user's
default environment (no thread pinning: the point is what a user gets), in this order:

* ``n_jobs=1``;
* ``n_jobs=2`` *cold*: loky starts two workers, each importing torch, sklearn, sktime and
  skfin (~4 s here) and, at its first fit, ``torch._dynamo`` (~3 s: ``torch.optim``
  imports it on first use);
* ``n_jobs=2`` *warm*: the same search again; loky reuses its workers, as it does for every
  later search of a session.

The median of ``--repeats`` such processes is reported, with the torch thread count each
worker saw.

    python -m benchmarks.parallel_search [--repeats 3] [--epochs 10] [--rows 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks._common import HERE, median, save


def _child(epochs: int, rows: int) -> dict:
    import torch
    from joblib import Parallel, delayed
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    from benchmarks._common import sp500_features
    from skfin.regressors import LSTMRegressor

    X, y = sp500_features()
    X, y = X[-rows:], y[-rows:]
    grid = {"hidden_size": [32, 64], "lr": [1e-3, 3e-3]}
    model = LSTMRegressor(window=20, max_epochs=epochs, patience=None, valid_fraction=0.0,
                          random_state=0)

    def search(n_jobs):
        start = time.perf_counter()
        fitted = GridSearchCV(model, grid, cv=TimeSeriesSplit(3), n_jobs=n_jobs,
                              scoring="neg_mean_absolute_error").fit(X, y)
        return time.perf_counter() - start, fitted.best_params_

    sequential, best_1 = search(1)
    cold, best_2 = search(2)
    warm, _ = search(2)
    workers = Parallel(n_jobs=2)(delayed(torch.get_num_threads)() for _ in range(4))
    return {"n_jobs_1": sequential, "n_jobs_2_cold": cold, "n_jobs_2_warm": warm,
            "threads": {"parent": torch.get_num_threads(), "workers": sorted(set(workers))},
            "same_best_params": best_1 == best_2}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.epochs, args.rows)))
        return
    runs = []
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, "-m", "benchmarks.parallel_search", "--child",
                              "--epochs", str(args.epochs), "--rows", str(args.rows)],
                             env=dict(os.environ), capture_output=True, text=True,
                             check=True, cwd=HERE.parent)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ("n_jobs_1", "n_jobs_2_cold", "n_jobs_2_warm")
    payload = {
        "grid": "LSTMRegressor hidden_size [32, 64] x lr [1e-3, 3e-3], TimeSeriesSplit(3)",
        "epochs": args.epochs, "rows": args.rows, "repeats": args.repeats,
        "cpus": os.cpu_count(),
        **{f"{k}_seconds": median(r[k] for r in runs) for k in keys},
        "speed_up_cold": median(r["n_jobs_1"] / r["n_jobs_2_cold"] for r in runs),
        "speed_up_warm": median(r["n_jobs_1"] / r["n_jobs_2_warm"] for r in runs),
        "threads": runs[-1]["threads"],
        "same_best_params": all(r["same_best_params"] for r in runs),
        "runs": runs,
    }
    path = save("parallel_search", payload)
    print(f"n_jobs=1: {payload['n_jobs_1_seconds']:.1f} s  n_jobs=2 cold: "
          f"{payload['n_jobs_2_cold_seconds']:.1f} s ({payload['speed_up_cold']:.2f}x)  warm: "
          f"{payload['n_jobs_2_warm_seconds']:.1f} s ({payload['speed_up_warm']:.2f}x)  "
          f"torch threads {payload['threads']}  (medians of {args.repeats}; {path})")


if __name__ == "__main__":
    main()
