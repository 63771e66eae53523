"""Walk-forward backtest of skfin's forecasters on real S&P 500 daily log returns.

What it does, end to end (a few minutes on a 2-core CPU):

1. loads the bundled S&P 500 closes (``skfin.datasets.load_sp500``) and turns them into
   daily log returns in percent, counted in trading days;
2. walks forward over sktime's ``ExpandingWindowSplitter`` the way ``evaluate(...,
   strategy="update")`` does (each net is trained once, then fine-tuned as every new block
   of days arrives) for a naive baseline and every registered architecture, forecasting 1
   to 5 days ahead with 90% intervals;
3. prints a leaderboard (MAE, RMSE, direction accuracy, interval coverage and width, time)
   and saves it as CSV, with a plot of the last fold's forecast fan.

Daily index returns are close to unpredictable in the mean: the naive forecaster is the
honest baseline, and the interesting columns are direction accuracy and coverage.

    python examples/quickstart.py [--folds 8] [--days 2500] [--models mlp lstm gru | all]
                                  [--output DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sktime.forecasting.naive import NaiveForecaster
from sktime.split import ExpandingWindowSplitter
from tqdm.auto import tqdm

from skfin.datasets import load_sp500
from skfin.registry import ARCHITECTURES

FH = [1, 2, 3, 4, 5]
COVERAGE = 0.9


def returns(days: int) -> pd.Series:
    """The last ``days`` daily log returns (%) of the S&P 500, counted in trading days."""
    close = load_sp500()["Close"].reset_index(drop=True)
    return (100 * np.log(close).diff()).dropna().rename("log_return_pct").iloc[-days:]


def walk_forward(forecaster, cv, y: pd.Series) -> list[dict]:
    """Fit on the first fold, then ``update`` with each new block; forecast at each origin."""
    folds = []
    for k, (train, test) in enumerate(cv.split(y)):
        if k == 0:
            forecaster.fit(y.iloc[train], fh=FH)
        else:
            forecaster.update(y.iloc[train[-cv.step_length:]])
        folds.append({"truth": y.iloc[test], "pred": forecaster.predict(),
                      "band": forecaster.predict_interval(coverage=COVERAGE)})
    return folds


def scores(folds: list[dict], seconds: float, name: str) -> dict:
    truth = np.concatenate([f["truth"].to_numpy() for f in folds])
    pred = np.concatenate([f["pred"].to_numpy() for f in folds])
    lower = np.concatenate([f["band"].iloc[:, 0].to_numpy() for f in folds])
    upper = np.concatenate([f["band"].iloc[:, 1].to_numpy() for f in folds])
    first = [(f["truth"].iloc[0], f["pred"].iloc[0]) for f in folds]
    return {
        "model": name,
        "MAE": np.abs(truth - pred).mean(),
        "RMSE": np.sqrt(((truth - pred) ** 2).mean()),
        "direction_acc_1d": np.mean([np.sign(t) == np.sign(p) for t, p in first]),
        f"coverage_{int(COVERAGE * 100)}": ((truth >= lower) & (truth <= upper)).mean(),
        "mean_width": (upper - lower).mean(),
        "seconds": seconds,
    }


def run(models: list[str], folds: int, max_epochs: int, days: int, output: Path) -> pd.DataFrame:
    y = returns(days)
    step = 50
    cv = ExpandingWindowSplitter(fh=FH, initial_window=len(y) - folds * step - max(FH),
                                 step_length=step)
    candidates = {"naive_mean": NaiveForecaster(strategy="mean")}
    for arch in ARCHITECTURES:
        if arch.name in models:
            candidates[arch.name] = arch.forecaster(
                window=30, max_epochs=max_epochs, output="quantile", update_epochs=1,
                random_state=0)
    rows, last_fold = [], {}
    for name, forecaster in tqdm(candidates.items(), desc="walk-forward", unit="model"):
        start = time.perf_counter()
        result = walk_forward(forecaster, cv, y)
        rows.append(scores(result, time.perf_counter() - start, name))
        last_fold[name] = result[-1]
    board = pd.DataFrame(rows).set_index("model").sort_values("MAE")
    output.mkdir(parents=True, exist_ok=True)
    board.to_csv(output / "leaderboard.csv")
    _plot(last_fold, y, output / "last_fold.png")
    return board


def _plot(last_fold: dict, y: pd.Series, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    truth = next(iter(last_fold.values()))["truth"]
    history = y.loc[:truth.index[0] - 1].iloc[-40:]
    ax.plot(history.index, history.to_numpy(), color="black", lw=1, label="observed")
    ax.plot(truth.index, truth.to_numpy(), "o", color="black", label="realised")
    for name, fold in last_fold.items():
        band = fold["band"]
        line, = ax.plot(fold["pred"].index, fold["pred"].to_numpy(), lw=1.5, label=name)
        ax.fill_between(band.index, band.iloc[:, 0], band.iloc[:, 1], alpha=0.12,
                        color=line.get_color())
    ax.set_xlabel("trading day")
    ax.set_ylabel("S&P 500 log return (%)")
    ax.set_title(f"Last walk-forward fold: 1-5 day forecasts with {int(COVERAGE * 100)}% bands")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [a.name for a in ARCHITECTURES]
    parser.add_argument("--models", nargs="+", default=["mlp", "lstm", "gru"],
                        choices=names + ["all"], help="registered architectures, or 'all'")
    parser.add_argument("--folds", type=int, default=8)
    parser.add_argument("--days", type=int, default=2500, help="most recent trading days used")
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    args = parser.parse_args(argv)
    models = names if "all" in args.models else args.models
    board = run(models, args.folds, args.max_epochs, args.days, args.output)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
        print(board)
    print(f"\nSaved {args.output / 'leaderboard.csv'} and {args.output / 'last_fold.png'}")


if __name__ == "__main__":
    main()
