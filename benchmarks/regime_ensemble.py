"""Regime-weighted ensemble vs equal weights vs its members, on S&P 500 realized volatility.

The protocol of ``benchmarks/har_baseline.py`` (the table in docs/transformations.md): the
backtest CLI's ``realized_vol`` target (5-day realized volatility, percent) on the last
2,500 trading days (2009-01-27 .. 2018-12-31), ``--folds`` cutoffs ``--step`` days apart
(the HAR table has 100; 50 by default here, to keep the run to a few minutes),
forecasts 1..5 days ahead, :func:`skfin.model_selection.backtest` with its default
``update`` strategy (every member re-estimated at each cutoff).

Members: the HAR-RV baseline on squared returns and as a log-HAR, GARCH(1,1), and the last
value (sktime's ``NaiveForecaster``). Rows: each member alone; their equal-weight
Vincentised combination (:class:`skfin.ensembles.QuantileEnsembleForecaster`); the
regime ensemble (:class:`skfin.ensembles.RegimeEnsembleForecaster`: a 2-regime
Markov-switching filter on the realized volatility itself, one weight vector per regime
learned on the members' out-of-sample forecasts inside the first training window; the
weights stay fixed through the walk-forward, the filter and the members move). Columns:
MAE, QLIKE, and the empirical coverage of the 80% and 90% intervals. Prints the table and
the learned weights and saves ``results/regime_ensemble.json``. A few minutes on two CPU
cores.

    python -m benchmarks.regime_ensemble [--folds 50] [--step 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

COLUMNS = ["mae", "qlike", "coverage_80", "coverage_90"]


def members() -> dict:
    from sktime.forecasting.naive import NaiveForecaster

    from skfin.baselines import HARVolatilityForecaster, make_baseline

    return {
        "har": HARVolatilityForecaster(window=5),
        "har_log": HARVolatilityForecaster(window=5, log=True),
        "garch": make_baseline("garch", target="volatility", random_state=0),
        "last": NaiveForecaster(),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=50)
    parser.add_argument("--step", type=int, default=5)
    args = parser.parse_args(argv)

    from benchmarks._common import save
    from skfin.cli import load_target
    from skfin.ensembles import QuantileEnsembleForecaster, RegimeEnsembleForecaster
    from skfin.model_selection import backtest

    warnings.filterwarnings("ignore")          # statsmodels' and arch's convergence notes
    y, X, dates, _ = load_target("sp500", "realized_vol", vol_window=5, last=2500)
    listed = list(members().items())
    models = {**members(),
              "equal_weight": QuantileEnsembleForecaster(listed),
              "regime": RegimeEnsembleForecaster(listed)}
    start = time.perf_counter()
    result = backtest(models, y, X, fh=5, folds=args.folds, step=args.step,
                      target="volatility", progress=False)
    seconds = time.perf_counter() - start
    board = result.leaderboard()[COLUMNS]
    best = board.loc[list(members())].sort_values("mae").index[0]
    board = board.loc[["regime", "equal_weight", best, *[m for m in members() if m != best]]]
    # the weights the regime ensemble learned at its first fit (on the first training window)
    first_cutoff = len(y) - 5 - (args.folds - 1) * args.step
    regime = RegimeEnsembleForecaster(listed).fit(y.iloc[:first_cutoff],
                                                  X.iloc[:first_cutoff], fh=[1, 2, 3, 4, 5])
    weights = regime.regime_weights_.round(3)
    print(f"S&P 500 5-day realized volatility, {str(dates[0])[:10]} .. "
          f"{str(dates[-1])[:10]}, {args.folds} cutoffs {args.step} days apart, h = 1..5; "
          f"best single member: {best}")
    print(board.round(3).to_string())
    print("\nregime weights at the first cutoff (regime_0 calm, regime_1 volatile):")
    print(weights.to_string())
    print(f"\n{seconds:.0f} s")
    payload = {"folds": args.folds, "step": args.step, "best_member": best,
               "seconds": seconds, "table": board.round(4).reset_index().to_dict("records"),
               "regime_weights": weights.reset_index().to_dict("records"),
               "regime_means": regime.regime_model_.means_.round(3).tolist()}
    save("regime_ensemble", payload)
    return payload


if __name__ == "__main__":
    main()
