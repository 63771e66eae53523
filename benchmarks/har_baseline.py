"""HAR-RV against GARCH on the S&P 500's 5-day realized volatility (the table in
docs/transformations.md).

The backtest CLI's ``realized_vol`` target on the last 2,500 trading days (2009-01-27 ..
2018-12-31): ``--folds`` cutoffs ``--step`` days apart, forecasts 1..5 days ahead, every
model re-estimated at each cutoff (``skfin.model_selection.backtest``'s default
``update`` strategy). Models: GARCH(1,1), GJR-GARCH(1,1)-t (the reference of the
Diebold-Mariano test), and the HAR-RV baseline on squared returns, as a log-HAR, and on
two range estimators (Garman-Klass levels, Parkinson logs) passed as ``variance_column``.
Prints the leaderboard and saves ``results/har_baseline.json``. About a minute on two
CPU cores.

    python -m benchmarks.har_baseline [--folds 100] [--step 5]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

COLUMNS = ["mae", "rmse", "qlike", "pinball", "coverage_80", "coverage_90", "winkler_90",
           "dm_pvalue", "vs_reference"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=100)
    parser.add_argument("--step", type=int, default=5)
    args = parser.parse_args(argv)

    from skfin.baselines import HARVolatilityForecaster, make_baseline
    from skfin.cli import load_target
    from skfin.datasets import load_sp500
    from skfin.model_selection import backtest
    from skfin.transformations import garman_klass_variance, parkinson_variance

    warnings.filterwarnings("ignore", category=FutureWarning)
    y, X, dates, _ = load_target("sp500", "realized_vol", vol_window=5, last=2500)
    ohlc = load_sp500()
    X = X.assign(gk=1e4 * garman_klass_variance(ohlc).loc[dates].to_numpy(),   # percent^2
                 pk=1e4 * parkinson_variance(ohlc).loc[dates].to_numpy())
    models = {
        "gjr_garch_t": make_baseline("gjr_garch_t", target="volatility", random_state=0),
        "garch": make_baseline("garch", target="volatility", random_state=0),
        "har": HARVolatilityForecaster(window=5),
        "har_log": HARVolatilityForecaster(window=5, log=True),
        "har_garman_klass": HARVolatilityForecaster(window=5, variance_column="gk"),
        "har_parkinson_log": HARVolatilityForecaster(window=5, variance_column="pk",
                                                     log=True),
    }
    result = backtest(models, y, X, fh=5, folds=args.folds, step=args.step,
                      target="volatility", progress=False)
    board = result.leaderboard(reference="gjr_garch_t")[COLUMNS]
    print(f"S&P 500 5-day realized volatility, {str(dates[0])[:10]} .. "
          f"{str(dates[-1])[:10]}, {args.folds} cutoffs {args.step} days apart, h = 1..5")
    print(board.round(3).to_string())
    out = Path(__file__).parent / "results" / "har_baseline.json"
    records = json.loads(board.round(4).to_json(orient="index"))
    out.write_text(json.dumps({"folds": args.folds, "step": args.step, "models": records},
                              indent=1))
    return records


if __name__ == "__main__":
    main()
