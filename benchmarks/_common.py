"""Shared set-up for the benchmarks: real S&P 500 features and a fresh-process runner."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: Pin glibc's allocator thresholds for every timed process: left to itself, glibc's dynamic
#: mmap threshold can change a CPU LSTM's step time by 1.6x between otherwise equal processes.
PINNED_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 28),
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
}


def sp500_features() -> tuple[np.ndarray, np.ndarray]:
    """Standardised daily S&P 500 features (log return, range) and next-day return, float32."""
    from skfin.datasets import load_sp500

    ohlcv = load_sp500()
    r = 100 * np.log(ohlcv["Close"]).diff()
    X = pd.DataFrame({"r": r, "range": 100 * (ohlcv["High"] - ohlcv["Low"]) / ohlcv["Close"]})
    y = r.shift(-1)
    keep = X.notna().all(axis=1) & y.notna()
    X, y = X[keep], y[keep]
    X = (X - X.mean()) / X.std()
    return X.to_numpy(np.float32), (y / y.std()).to_numpy(np.float32)


def fresh_process(module: str, *args: str) -> dict:
    """Run ``python -m benchmarks.<module> --child ARGS`` with the pinned env; parse its JSON."""
    env = {**os.environ, **PINNED_ENV}
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--child", *args],
                         env=env, capture_output=True, text=True, check=True,
                         cwd=HERE.parent).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(values) -> float:
    return float(statistics.median(values))


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    return path
