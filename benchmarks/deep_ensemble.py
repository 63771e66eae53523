"""Does a deep ensemble beat one member? S&P 500 realized volatility, the zoo's protocol.

Issue 16 item 6. The same walk as ``benchmarks/zoo_walkforward.py`` (the README's main
command on ``--target realized_vol``): 5-day realized volatility of the S&P 500, the last
2,500 days, 50 expanding-window folds 5 days apart, the daily returns as past covariates,
first fit of 10 epochs then one epoch of fine-tuning per fold. One LSTM with a quantile head
(the CLI's settings) against :class:`skfin.uncertainty.DeepEnsembleForecaster` of
``--members`` such LSTMs (seeds drawn from the same ``random_state``), and GARCH(1,1) as the
reference. Columns from :func:`skfin.model_selection.backtest`: MAE, QLIKE, pinball loss,
coverage and Winkler interval score at 80/90/95%, seconds.

    python -m benchmarks.deep_ensemble [--members 5] [--seeds 1]

Saves ``results/deep_ensemble.json``. What it shows: whether mixing the members'
distributions improves the point (MAE, QLIKE) and the intervals (coverage, pinball,
Winkler) of one member on this target; not whether the same holds on other targets,
or against members trained longer.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

COLUMNS = ["mae", "qlike", "pinball", "coverage_80", "coverage_90", "coverage_95",
           "winkler_90", "seconds"]


def run_seed(seed: int, args) -> pd.DataFrame:
    from skfin.baselines import make_baseline
    from skfin.cli import load_target
    from skfin.forecasting import LSTMForecaster
    from skfin.model_selection import backtest
    from skfin.nets import DEFAULT_QUANTILES
    from skfin.uncertainty import DeepEnsembleForecaster

    y, X, _, _ = load_target("sp500", "realized_vol", last=args.last)
    member = LSTMForecaster(window=30, max_epochs=10, output="quantile",
                            quantiles=DEFAULT_QUANTILES, update_epochs=1, future_X=None,
                            random_state=seed)
    models = {"lstm (one member)": member,
              f"lstm x{args.members} (deep ensemble)": DeepEnsembleForecaster(
                  member, n_members=args.members, random_state=seed),
              "garch": make_baseline("garch", target="volatility", random_state=seed)}
    rows = {}
    for name, model in models.items():
        start = time.perf_counter()
        res = backtest({name: model}, y, X, fh=5, folds=args.folds, target="volatility",
                       coverage=(0.8, 0.9, 0.95), progress=False)
        board = res.leaderboard()
        rows[name] = {c: float(board.loc[name, c]) for c in COLUMNS if c in board.columns}
        rows[name]["seconds"] = time.perf_counter() - start
        print(f"  {name}: {rows[name]}", file=sys.stderr, flush=True)
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv=None) -> None:
    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--folds", type=int, default=50)
    parser.add_argument("--last", type=int, default=2500)
    args = parser.parse_args(argv)
    runs = [run_seed(seed, args) for seed in range(args.seeds)]
    stacked = pd.concat(runs, keys=range(len(runs)), names=["seed", "model"])
    table = stacked.groupby(level="model", sort=False).median()
    print(table.round(3).to_string())
    save("deep_ensemble", {
        "command": "python -m benchmarks.deep_ensemble " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "protocol": {"dataset": "sp500", "target": "realized_vol", "last": args.last,
                     "folds": args.folds, "horizon": 5, "members": args.members,
                     "seeds": args.seeds, "update": "1 epoch per fold"},
        "median_over_seeds": table.to_dict(orient="index"),
        "runs": {seed: run.to_dict(orient="index") for seed, run in enumerate(runs)},
    })


if __name__ == "__main__":
    main()
