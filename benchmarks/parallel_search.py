"""Parallel grid search without oversubscription: ``GridSearchCV(n_jobs=1)`` vs ``n_jobs=2``.

A 4-candidate grid of ``LSTMRegressor`` (hidden_size x lr) over 3 ``TimeSeriesSplit`` folds
on the last 2,000 days of real S&P 500 features. joblib's loky workers start with
``OMP_NUM_THREADS = cpus // n_jobs`` so torch uses one intra-op thread per worker on two
cores; the parent (``n_jobs=1``) keeps torch's default (all cores). Each setting runs in a
fresh process with the user's default environment (no thread pinning: the point is what
a user gets), alternating, and the median of ``--repeats`` wall times is reported, with the
torch thread count each worker saw.

    python -m benchmarks.parallel_search [--repeats 3] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks._common import HERE, median, save


def _child(n_jobs: int, epochs: int) -> dict:
    import numpy as np
    import torch
    from joblib import Parallel, delayed
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    from benchmarks._common import sp500_features
    from skfin.regressors import LSTMRegressor

    X, y = sp500_features()
    X, y = X[-2000:], y[-2000:]
    grid = {"hidden_size": [16, 32], "lr": [1e-3, 3e-3]}
    model = LSTMRegressor(window=20, max_epochs=epochs, patience=None, valid_fraction=0.0,
                          random_state=0)
    start = time.perf_counter()
    search = GridSearchCV(model, grid, cv=TimeSeriesSplit(3), n_jobs=n_jobs,
                          scoring="neg_mean_absolute_error").fit(X, y)
    seconds = time.perf_counter() - start
    # What torch runs on where the folds were fitted: this process, or joblib's workers.
    threads = ([torch.get_num_threads()] if n_jobs == 1 else
               Parallel(n_jobs=n_jobs)(delayed(torch.get_num_threads)() for _ in range(4)))
    return {"seconds": seconds, "torch_threads": sorted(set(threads)),
            "best": search.best_params_, "score": float(np.round(search.best_score_, 6))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--child", nargs=2, type=int, metavar=("N_JOBS", "EPOCHS"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    runs = {1: [], 2: []}
    seen = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            out = subprocess.run([sys.executable, "-m", "benchmarks.parallel_search", "--child",
                                  str(n_jobs), str(args.epochs)], env=dict(os.environ),
                                 capture_output=True, text=True, check=True, cwd=HERE.parent)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            runs[n_jobs].append(result["seconds"])
            seen[n_jobs] = result
    payload = {
        "grid": "LSTMRegressor hidden_size [16, 32] x lr [1e-3, 3e-3], TimeSeriesSplit(3)",
        "epochs": args.epochs, "repeats": args.repeats, "cpus": os.cpu_count(),
        "n_jobs_1_seconds": median(runs[1]), "n_jobs_2_seconds": median(runs[2]),
        "speed_up": median(runs[1]) / median(runs[2]),
        "torch_threads": {str(k): v["torch_threads"] for k, v in seen.items()},
        "same_best_params": seen[1]["best"] == seen[2]["best"],
        "runs": {str(k): v for k, v in runs.items()},
    }
    path = save("parallel_search", payload)
    print(f"n_jobs=1: {payload['n_jobs_1_seconds']:.1f} s  n_jobs=2: "
          f"{payload['n_jobs_2_seconds']:.1f} s  speed-up {payload['speed_up']:.2f}x  "
          f"torch threads {payload['torch_threads']}  (medians of {args.repeats}; {path})")


if __name__ == "__main__":
    main()
