"""Walk-forward of the continuous-time nets on WTI crude: missing days and calendar gaps.

WTI's spot price (FRED ``DCOILWTICO``, bundled with ``arch``) is missing on 290 US
holidays. Two questions, each answered on daily log returns (percent) by
:func:`skfin.model_selection.backtest` (expanding window, fine-tuning each fold):

* ``--study cde``: does reading the missing days as missing help? The Neural CDE on the
  raw returns (a holiday's price is missing, so the returns of the holiday and of the day
  after are NaN, and the net reads them as missing) against the same net on forward-filled
  prices (a holiday's return is 0, the day after carries two days' move), against the
  random walk (a zero return forecast) and the historical mean (sktime's
  ``NaiveForecaster("mean")``).
* ``--study ode``: does the elapsed time help? The Neural ODE on the observed days only
  (returns between consecutive published prices) with the true calendar gaps read from
  the ``DatetimeIndex`` (1 day, 3 over a weekend, 4 over a long weekend) against the same
  net with equal spacing (``y.reset_index(drop=True)``), and the same two baselines.

Every model of a study is scored on the same days: the test days whose raw return is
observed (holidays and the days after them have no raw return, so no model is scored
there). Columns: MAE, RMSE, share of days whose sign is right (days with a zero return
left out), empirical coverage of the 80% and 90% intervals (quantile head), and seconds.
Median over seeds.

    python -m benchmarks.continuous_time --study cde [--seeds 3] [--folds 100] [--last 2000]

Saves ``results/continuous_time_<study>.json``. The nets run smaller than their defaults
(window 20, ``hidden_size=16``, one RK4 step per gap), to keep a seed of a study to a few
minutes on a 2-core CPU. The walk: the last 2,000 business days (2011-05 .. 2019-01), 100
folds of 5 days (the last 500 test days, 2017-02 .. 2019-01).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

#: Net sizes for both studies (see the module docstring).
NET = dict(window=20, hidden_size=16, step_size=1.0, max_epochs=10, update_epochs=1,
           output="quantile", quantiles=(0.05, 0.1, 0.5, 0.9, 0.95))


def _data(last: int):
    """Raw returns (NaN kept), returns of forward-filled prices, returns of observed days."""
    from skfin.datasets import load_wti

    wti = load_wti().iloc[-last - 1:]
    raw = (100 * np.log(wti).diff()).iloc[1:].rename("r")
    filled = (100 * np.log(wti.ffill()).diff()).iloc[1:].rename("r")
    observed = (100 * np.log(wti.dropna()).diff()).dropna().rename("r")
    return raw, filled, observed


def _models(study: str, seed: int) -> dict:
    from sktime.forecasting.naive import NaiveForecaster

    from skfin.forecasting import NeuralCDEForecaster, NeuralODEForecaster

    cls = NeuralCDEForecaster if study == "cde" else NeuralODEForecaster
    width = {"vf_hidden": 32} if study == "cde" else {"ode_hidden": 32}
    return {"net": cls(**NET, **width, random_state=seed), "mean": NaiveForecaster("mean")}


def _score(forecasts: pd.DataFrame, days: pd.Index) -> dict:
    """The table's columns over the forecasts of ``days`` (every step, every fold)."""
    f = forecasts[forecasts["time"].isin(days)]
    err = f["y_true"] - f["y_pred"]
    moved = f["y_true"] != 0
    row = {"mae": err.abs().mean(), "rmse": float(np.sqrt((err ** 2).mean())),
           "direction": (np.sign(f["y_pred"][moved]) == np.sign(f["y_true"][moved])).mean(),
           "n_scored": len(f)}
    for label in ("80", "90"):
        if f"lower_{label}" in f and f[f"lower_{label}"].notna().all():
            row[f"coverage_{label}"] = ((f[f"lower_{label}"] <= f["y_true"])
                                        & (f["y_true"] <= f[f"upper_{label}"])).mean()
        else:
            row[f"coverage_{label}"] = np.nan
    return row


def run_seed(study: str, seed: int, args) -> pd.DataFrame:
    """One seed of a study: every variant backtested, scored on the common days."""
    from skfin.model_selection import backtest

    raw, filled, observed = _data(args.last)
    if study == "cde":
        variants = {"Neural CDE, NaN kept": raw, "Neural CDE, forward-filled": filled}
        mean_on = raw
    else:
        variants = {"Neural ODE, calendar gaps": observed,
                    "Neural ODE, equal spacing": observed.reset_index(drop=True)}
        mean_on = observed.reset_index(drop=True)    # sktime's naive needs a frequency
    kw = dict(fh=args.horizon, folds=args.folds, coverage=(0.8, 0.9), progress=False)
    rows, frames = {}, {}
    for name, y in variants.items():
        start = time.perf_counter()
        res = backtest({"net": _models(study, seed)["net"]}, y, **kw)
        seconds = time.perf_counter() - start
        f = res.forecasts.copy()
        if not isinstance(y.index, pd.DatetimeIndex):       # back to dates, to align
            f["time"] = observed.index[f["position"].to_numpy()]
        frames[name] = (f, seconds)
    base = backtest({"mean": _models(study, seed)["mean"]}, mean_on, **kw).forecasts
    if not isinstance(mean_on.index, pd.DatetimeIndex):
        base["time"] = observed.index[base["position"].to_numpy()]
    first = next(iter(frames.values()))[0]
    # the common days: the test days whose raw return is observed
    test_days = pd.Index(first["time"].unique())
    scored_on = test_days[raw.reindex(test_days).notna().to_numpy()]
    for name, (f, seconds) in frames.items():
        rows[name] = {**_score(f, scored_on), "seconds": seconds}
    rows["historical mean"] = {**_score(base, scored_on), "seconds": np.nan}
    walk = first.assign(y_pred=0.0)
    for label in ("80", "90"):
        walk[f"lower_{label}"] = np.nan
    rows["random walk (zero return)"] = {**_score(walk, scored_on), "seconds": 0.0}
    rows["random walk (zero return)"]["direction"] = np.nan     # no sign to be right
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv=None) -> None:
    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=["cde", "ode"], default="cde")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=100)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--last", type=int, default=2000,
                        help="business days of WTI used (the end of the series)")
    args = parser.parse_args(argv)

    runs = []
    for seed in range(args.seeds):
        runs.append(run_seed(args.study, seed, args))
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    stacked = pd.concat(runs, keys=range(len(runs)), names=["seed", "model"])
    table = stacked.groupby(level="model", sort=False).median()
    print(table.round(3).to_string())
    save(f"continuous_time_{args.study}", {
        "command": "python -m benchmarks.continuous_time " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "protocol": {"dataset": "wti", "last_business_days": args.last,
                     "folds": args.folds, "horizon": args.horizon, "step": args.horizon,
                     "net": {k: list(v) if isinstance(v, tuple) else v
                             for k, v in NET.items()},
                     "update": "1 epoch per fold", "seeds": args.seeds},
        "median_over_seeds": table.to_dict(orient="index"),
        "runs": {seed: run.to_dict(orient="index") for seed, run in enumerate(runs)},
    })


if __name__ == "__main__":
    main()
