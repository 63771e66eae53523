"""Tuning an LSTM and a TCN on S&P 500 realized volatility with Optuna, pruning bad trials
========================================================================================

:class:`skfin.model_selection.OptunaSearchCV` searches each net's default space from the
registry (:attr:`skfin.registry.Architecture.space`: widths, depth, dropout, learning
rate, weight decay, batch size) on real data:

1. the target is the 5-day realized volatility of the S&P 500 (square root of the sum of
   five squared daily percent log returns, as ``skfin backtest --target realized_vol``
   builds it with :func:`skfin.cli.load_target`) over the *next* five days; the features
   are today's return and the realized volatility of the last five days;
2. purged walk-forward cross-validation (:class:`skfin.model_selection.PurgedWalkForward`,
   ``horizon=5``: the last four training targets overlap the test block's days, so they
   are purged);
3. after every epoch of every fold the validation loss goes to Optuna; a trial whose loss
   is among the worst quarter of the finished trials' at the same fold and epoch is pruned
   (``PercentilePruner``; the search's default ``MedianPruner`` prunes the worse half,
   which on this target also stops slow starters that end up among the best).

The best trial of each net is printed with the pruned share, beside the persistence
forecast (this week's volatility for next week's) on the same test folds, and the trials
are saved to ``<output>/trials_<net>.csv`` with a plot of each search.

    python examples/tune_realized_vol.py [--output DIR] [--trials 20] [--epochs 20]
        [--days 2500] [--folds 3] [--test-size 250] [--models lstm tcn] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfin import registry
from skfin.cli import load_target
from skfin.model_selection import OptunaSearchCV, PurgedWalkForward

H = 5  # days of realized volatility, and the forecast horizon


def data(days: int) -> tuple[pd.DataFrame, pd.Series]:
    """Features (return, trailing 5-day realized vol) and next week's realized vol."""
    rv, returns, dates, _ = load_target("sp500", "realized_vol", vol_window=H, last=days + H)
    X = pd.DataFrame({"r": returns["returns"], "rv": rv})
    y = rv.shift(-H).rename("rv_next")          # the 5 days after today
    X, y = X.iloc[:-H], y.iloc[:-H]
    X.index = y.index = dates[:-H]
    return X, y


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--test-size", type=int, default=250)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["lstm", "tcn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads: small nets train fastest on one")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import optuna

    X, y = data(args.days)
    cv = PurgedWalkForward(n_splits=args.folds, test_size=args.test_size, horizon=H)
    persistence = np.mean([np.abs(X["rv"].to_numpy()[test] - y.to_numpy()[test]).mean()
                           for _, test in cv.split(X)])
    print(f"S&P 500 {H}-day realized volatility, {len(y)} days "
          f"({y.index[0].date()} .. {y.index[-1].date()}), {args.folds} purged walk-forward "
          f"folds of {args.test_size} days")
    print(f"persistence MAE {persistence:.4f} (this week's vol for next week's)")

    args.output.mkdir(parents=True, exist_ok=True)
    searches = {}
    for name in args.models:
        arch = registry.get(name)
        net = arch.regressor(window=args.window, max_epochs=args.epochs, patience=5,
                             random_state=args.seed)
        pipe = make_pipeline(StandardScaler(), net)
        search = OptunaSearchCV(
            pipe, n_trials=args.trials, cv=cv, scoring="neg_mean_absolute_error",
            # prune the worst quarter, not half: early epochs favour large learning rates
            # that are not better by the end; and let each trial train half a fold first
            pruner=optuna.pruners.PercentilePruner(
                75.0, n_startup_trials=max(2, args.trials // 4),
                n_warmup_steps=args.epochs // 2),
            random_state=args.seed)
        start = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
        searches[name] = search
        trials = search.trials_
        best = {k.split("__", 1)[1]: v for k, v in search.best_params_.items()}
        print(f"\n{name}: {len(trials)} trials in {seconds:.0f} s, "
              f"{(trials['state'] == 'COMPLETE').sum()} complete, {search.n_pruned_} pruned "
              f"(pruned share {search.pruned_share_:.2f})")
        print(f"  best trial #{trials.loc[search.best_index_, 'number']}: "
              f"MAE {-search.best_score_:.4f} "
              f"({-search.best_score_ / persistence:.3f} x persistence)")
        print("  " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in sorted(best.items())))
        trials.drop(columns="params").to_csv(args.output / f"trials_{name}.csv", index=False)
    _plot(searches, persistence, args.output)
    print(f"\nsaved trials_*.csv and tune_realized_vol.png to {args.output}")
    return {"searches": searches, "persistence": persistence}


def _plot(searches: dict, persistence: float, output: Path) -> None:
    """Each trial's cross-validated MAE (pruned trials marked at the top), per net."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(searches), figsize=(5 * len(searches), 3.5),
                             squeeze=False, sharey=True)
    for ax, (name, search) in zip(axes[0], searches.items()):
        t = search.trials_
        done = t["state"] == "COMPLETE"
        ax.plot(t.loc[done, "number"], -t.loc[done, "mean_test_score"], "o", label="complete")
        top = (-t.loc[done, "mean_test_score"]).max() if done.any() else persistence
        ax.plot(t.loc[~done, "number"], np.full((~done).sum(), top), "x", color="grey",
                label="pruned / failed")
        ax.axhline(persistence, color="k", lw=0.8, ls="--", label="persistence")
        ax.set(title=name, xlabel="trial")
    axes[0, 0].set_ylabel("CV MAE (vol points)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(output / "tune_realized_vol.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
