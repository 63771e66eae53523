"""Walk-forward comparison of the model zoo against classical baselines, through ``skfin backtest``.

Each seed runs the README's main command (``python -m skfin backtest``) with the same
protocol as sktime's ``evaluate(strategy="update")``: expanding window, first fit on
everything before the first cutoff, then one block of ``--horizon`` new observations per
fold, fine-tuning the nets one epoch each time. The table reports, per model, the median
over seeds of: MAE, QLIKE (volatility targets), empirical coverage of the 80/90/95%
intervals (quantile heads for the nets), the first fit's seconds and the whole walk's
seconds. The baselines are deterministic but rerun with every seed (their timings vary).

Families:

* ``recurrent`` (issue 5): S&P 500 5-day realized volatility, every recurrent and
  convolutional net, naive last value, ETS and GARCH(1,1).
* ``attention`` (issue 6): the same target and protocol for Transformer, PatchTST,
  Autoformer, TFT and N-BEATS beside the same baselines.
* ``state_space`` and ``dynamics`` (issue 12): Mamba and S4D; Deep Koopman, Neural ODE
  and Neural CDE.

    python -m benchmarks.zoo_walkforward --family recurrent [--seeds 3] [--folds 50]

Saves ``results/zoo_walkforward_<family>.json`` and a chart of MAE and QLIKE per model
(``docs/img/zoo_walkforward_<family>.png``, shown in docs/architectures.md);
``--plot-only`` redraws the chart from the saved results.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

#: Benchmark groups, as registry families (skfin.registry.Architecture.family).
GROUPS = {"recurrent": ("recurrent", "convolutional"), "attention": ("attention", "basis"),
          "state_space": ("state-space",), "dynamics": ("dynamics",)}


def _family_models(group: str) -> str:
    from skfin.registry import ARCHITECTURES

    return ",".join(a.name for a in ARCHITECTURES if a.family in GROUPS[group])


FAMILIES = {group: _family_models(group) for group in GROUPS}
COLUMNS = ["mae", "qlike", "coverage_80", "coverage_90", "coverage_95", "fit_seconds",
           "total_seconds"]


def run_seed(models: str, seed: int, args) -> pd.DataFrame:
    """One ``skfin backtest`` run; the leaderboard plus the first fit's seconds per model."""
    from skfin.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["backtest", "--target", args.target, "--models", models,
                "--baselines", args.baselines, "--folds", str(args.folds),
                "--horizon", str(args.horizon), "--epochs", str(args.epochs),
                "--seed", str(seed), "--device", "cpu", "--output", tmp, "--quiet"]
        if main(argv) != 0:
            raise SystemExit(f"skfin backtest failed for seed {seed}: {' '.join(argv)}")
        board = pd.read_csv(Path(tmp) / "leaderboard.csv", index_col="model")
        folds = pd.read_csv(Path(tmp) / "folds.csv")
    first = folds[folds["fold"] == folds["fold"].min()].set_index("model")["fit_seconds"]
    return board.assign(fit_seconds=first)[[c for c in COLUMNS if c in board.columns
                                             or c == "fit_seconds"]]


def plot(table: pd.DataFrame, family: str, path: Path) -> Path:
    """MAE and QLIKE per model, baselines in grey: where each net stands against them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = set(FAMILIES[family].split(","))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.35 * len(table) + 1.5), sharey=True)
    for ax, column, label in zip(axes, ["mae", "qlike"], ["MAE (vol. points)", "QLIKE"]):
        order = table.sort_values("mae", ascending=False)
        colours = ["tab:blue" if m in nets else "tab:grey" for m in order.index]
        ax.barh(order.index, order[column], color=colours)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_title(f"S&P 500 5-day realized volatility, walk-forward ({family} nets in "
                      "blue, baselines in grey)", loc="left", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    from benchmarks._common import RESULTS, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="recurrent")
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw the chart from the saved results and stop")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=50)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--target", default="realized_vol")
    parser.add_argument("--baselines", default="naive,ets,garch")
    args = parser.parse_args(argv)
    chart = RESULTS.parent.parent / "docs" / "img" / f"zoo_walkforward_{args.family}.png"
    chart.parent.mkdir(exist_ok=True)
    if args.plot_only:
        saved = json.loads((RESULTS / f"zoo_walkforward_{args.family}.json").read_text())
        plot(pd.DataFrame.from_dict(saved["median_over_seeds"], orient="index"), args.family,
             chart)
        return

    runs = []
    for seed in range(args.seeds):
        runs.append(run_seed(FAMILIES[args.family], seed, args))
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    stacked = pd.concat(runs, keys=range(len(runs)), names=["seed", "model"])
    table = stacked.groupby(level="model", sort=False).median().sort_values("mae")
    print(table.to_markdown(floatfmt=".3f") if _has_tabulate() else table.round(3))
    save(f"zoo_walkforward_{args.family}", {
        "command": "python -m benchmarks.zoo_walkforward " + " ".join(sys.argv[1:] if argv
                                                                       is None else argv),
        "protocol": {"dataset": "sp500", "target": args.target, "folds": args.folds,
                     "horizon": args.horizon, "step": args.horizon, "epochs": args.epochs,
                     "update": "1 epoch per fold", "seeds": args.seeds},
        "median_over_seeds": table.to_dict(orient="index"),
        "runs": {seed: run.to_dict(orient="index") for seed, run in enumerate(runs)},
    })
    plot(table, args.family, chart)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
