"""Does Lag-Llama's calendar help on daily market data? S&P 500, with and without it.

Lag-Llama (Rasul et al., 2023) puts calendar features in every token. For daily index data
the known calendar effects are small (weekend and holiday effects on volatility, turn of
the month on returns), so this measures rather than assumes:

* **Targets**: the S&P 500 percent log return (``returns``) and its absolute value
  (``abs``: a volatility proxy, where a Monday or post-holiday effect would show), 1..5
  trading days ahead, indexed by their trading days (the forecaster builds the calendar of
  the days ahead from them).
* **Rows**: :class:`skfin.forecasting.LagLlamaForecaster` with ``calendar=None`` and with
  ``calendar=True`` (day of week, month and year, month, ISO week), otherwise equal:
  window 32, the default trading-day lags below it (1-5, 10, 21), ``d_model=16``, 2 heads,
  1 layer, Student-t head, 200 sample paths, early stopping (patience 5, at most 30
  epochs).
* **Protocol**: fitted on the ``--history`` days (default 1,000) before the last
  ``--folds`` x 5 days, then walked forward over those (:func:`skfin.model_selection.backtest`,
  ``strategy="update"``, ``update_epochs=0``: each block of 5 days moves the origin, the
  weights stay those of the first fit).

Columns: medians over ``--seeds`` of MAE, mean pinball loss, coverage of the 80% and 90%
intervals (from the sample paths). No claim beyond these numbers.

    python -m benchmarks.lag_llama_calendar [--seeds 3] [--folds 100] [--quick]

``--quick``: 1 seed, 10 folds, 300 days of history (a smoke test). Saves
``results/lag_llama_calendar.json``. One torch thread (set here).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

NET = dict(window=32, d_model=16, n_heads=2, num_layers=1, dim_feedforward=32,
           output="student_t", n_paths=200, max_epochs=30, patience=5, batch_size=64,
           update_epochs=0, device="cpu")
FH = 5
ROWS = ("no calendar", "calendar")
COLUMNS = ["mae", "pinball", "coverage_80", "coverage_90"]


def data(target: str, history: int, folds: int) -> pd.Series:
    """The S&P 500 target on its trading days: ``history`` days to fit, then the folds'."""
    from skfin.datasets import load_sp500

    r = (100 * np.log(load_sp500()["Close"]).diff()).dropna()
    y = r.abs() if target == "abs" else r
    return y.iloc[-(history + folds * FH):].rename(target)


def run(seeds: int, folds: int, history: int) -> pd.DataFrame:
    from skfin.forecasting import LagLlamaForecaster
    from skfin.model_selection import backtest

    rows = []
    for target in ("returns", "abs"):
        y = data(target, history, folds)
        for seed in range(seeds):
            start = time.perf_counter()
            chosen = {"no calendar": LagLlamaForecaster(**NET, random_state=seed),
                      "calendar": LagLlamaForecaster(**NET, calendar=True, random_state=seed)}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = backtest(chosen, y, fh=FH, folds=folds, min_train_size=history,
                                  coverage=(0.8, 0.9),
                                  target="returns" if target == "returns" else "volatility",
                                  progress=False)
            board = result.leaderboard()
            board = board.reset_index() if "model" not in board.columns else board
            board["seed"], board["target"] = seed, target
            rows.append(board)
            print(f"{target} seed {seed} done in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> None:
    import torch

    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=100)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.folds, args.history = 1, 10, 300
    torch.set_num_threads(1)
    raw = run(args.seeds, args.folds, args.history)
    present = [c for c in COLUMNS if c in raw.columns]
    table = raw.groupby(["target", "model"])[present].median()
    print(table.round(4).to_string())
    save("lag_llama_calendar", {
        "command": "python -m benchmarks.lag_llama_calendar " + " ".join(argv or sys.argv[1:]),
        "seeds": args.seeds, "folds": args.folds, "history": args.history,
        "median": {f"{t} / {m}": v for (t, m), v in table.to_dict(orient="index").items()},
        "per_seed": raw.to_dict(orient="records"),
    })


if __name__ == "__main__":
    main()
