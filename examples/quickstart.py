"""Walk-forward backtest from Python: an LSTM against naive baselines on S&P 500 returns
=====================================================================================

The same engine as ``skfin backtest`` (which adds the choice of data set, target and
models on the command line), called directly:

1. daily S&P 500 log returns in percent, counted in trading days (the dates are kept for
   the plots);
2. :func:`skfin.model_selection.backtest` walks 12 five-day folds forward over the last
   1,500 days: each model is fitted once, then updated as every new block of days
   arrives, and forecasts 1 to 5 days ahead with 80% and 95% intervals;
3. the leaderboard is printed, and :func:`skfin.plotting.save_backtest_plots` writes the
   forecast fans, the MAE per fold, the interval calibration and the sign strategy.

Daily index returns are close to unpredictable in the mean: the mean forecast is the
honest baseline, and the interesting columns are direction, Sharpe and coverage.

    python examples/quickstart.py [--output DIR] [--epochs 5] [--threads 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.naive import NaiveForecaster

from skfin.datasets import load_sp500
from skfin.forecasting import LSTMForecaster
from skfin.model_selection import backtest
from skfin.plotting import save_backtest_plots


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads: small nets train fastest on one")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    close = load_sp500()["Close"]
    returns = (100 * np.log(close).diff()).dropna().iloc[-1500:]
    dates, y = returns.index, returns.reset_index(drop=True)

    models = {
        "lstm": LSTMForecaster(window=30, max_epochs=args.epochs, output="quantile",
                               quantiles=(0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975),
                               update_epochs=1, random_state=0),
        "naive_mean": NaiveForecaster(strategy="mean"),
        "naive_last": NaiveForecaster(strategy="last"),
    }
    result = backtest(models, y, fh=5, folds=12, coverage=[0.8, 0.95], target="returns")
    board = result.leaderboard()
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160,
                           "display.max_columns", None):
        print(board[["mae", "rmse", "direction", "sharpe", "coverage_80", "coverage_95",
                     "width_95", "total_seconds"]])
    paths = save_backtest_plots(result, args.output, dates=dates, ylabel="log return (%)")
    print("wrote", ", ".join(str(p) for p in paths))
    return board


if __name__ == "__main__":
    main()
