"""Walk-forward with and without data augmentation (``augment=``) on a short real history.

Does augmenting the training windows help a small net when data are short? Target: the
S&P 500 5-day realized volatility (``skfin backtest --target realized_vol``'s series,
:func:`skfin.cli.load_target`), its last 500 trading days (2017-01 .. 2018-12), with the
percent log returns as past covariates. Protocol: :func:`skfin.model_selection.backtest`
(sktime's ``evaluate(strategy="update")``): expanding window, the last ``--folds`` cutoffs
5 days apart, first fit on everything before them, then each new block of 5 days fine-tunes
the net one epoch (``update_epochs=1``; augmentation applies to those epochs too), and
forecasts 1..5 days ahead from every cutoff.

Model: a small GRU forecaster with a quantile head (window 20, hidden 16, 40 epochs at
most, early stopping with patience 8) -- the same for every row except ``augment``:
none, each augmentation at its default strength (:data:`skfin.engine.augment.AUGMENTATIONS`),
and jitter + magnitude warping + mixup together. Columns: medians over seeds of MAE and
QLIKE of the volatility forecast, mean pinball loss over the interval bounds and the
median, and the empirical coverage of the 80% and 90% intervals.

    python -m benchmarks.augmentation [--seeds 3] [--quick]

``--quick`` runs 1 seed, 10 folds and 2 augmentations (a smoke test). Saves
``results/augmentation.json``. Run with one torch thread (set here). The table compares
default strengths on one short period of one index: it says nothing about other
strengths, periods, targets or nets.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import pandas as pd

#: The rows: name -> ``augment=`` value.
CONFIGS = {
    "none": None,
    "jitter": "jitter",
    "scaling": "scaling",
    "magnitude_warp": "magnitude_warp",
    "window_slice": "window_slice",
    "mixup": "mixup",
    "jitter+warp+mixup": ["jitter", "magnitude_warp", "mixup"],
}
NET = dict(window=20, hidden_size=16, max_epochs=40, patience=8, batch_size=32,
           output="quantile", update_epochs=1, device="cpu")
COLUMNS = ["mae", "qlike", "pinball", "coverage_80", "coverage_90"]


def run(seeds: int, folds: int, configs: dict) -> pd.DataFrame:
    from skfin.cli import load_target
    from skfin.forecasting import GRUForecaster
    from skfin.model_selection import backtest

    y, X, _, _ = load_target("sp500", "realized_vol", vol_window=5, last=500)
    rows = []
    for seed in range(seeds):
        models = {name: GRUForecaster(**NET, augment=augment, random_state=seed)
                  for name, augment in configs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = backtest(models, y, X, fh=5, folds=folds, coverage=(0.8, 0.9),
                              target="volatility", progress=False)
        board = result.leaderboard()
        board = board.reset_index() if "model" not in board.columns else board
        board["seed"] = seed
        rows.append(board)
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> None:
    import torch

    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 folds, 3 rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    configs = CONFIGS
    if args.quick:
        args.seeds, args.folds = 1, 10
        configs = {k: CONFIGS[k] for k in ("none", "jitter", "mixup")}
    start = time.perf_counter()
    per_seed = run(args.seeds, args.folds, configs)
    table = (per_seed.groupby("model")[COLUMNS].median()
             .reindex([k for k in configs]).round(4))
    seconds = time.perf_counter() - start
    print(table.to_string())
    print(f"\n{args.seeds} seed(s), {args.folds} folds of 5 days, {seconds:.0f} s")
    if not args.quick:
        save("augmentation", {"seeds": args.seeds, "folds": args.folds, "net": NET,
                              "seconds": seconds, "table": table.reset_index().to_dict("records"),
                              "per_seed": per_seed[["model", "seed", *COLUMNS]]
                              .to_dict("records")})


if __name__ == "__main__":
    main()
