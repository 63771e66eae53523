"""Level series: per-window normalisation against global standardisation and the classics.

Issue 16: nets fitted on globally standardised *levels* learn the levels of their fit
period, and their forecasts drift back to that period's mean once a series trends out of
it. ``standardize="window"`` (:class:`skfin.nets.WindowNorm`, RevIN-style) normalises each
window by its own statistics instead. Two real level series, each walked forward by
:func:`skfin.model_selection.backtest` (expanding window):

* ``--series airline``: monthly airline passengers 1949-1960 (sktime's copy of Box &
  Jenkins), **4 yearly folds**: the last four years forecast one year (12 months) at a
  time, every model refitted on all data before each year (``strategy="refit"``).
* ``--series wti``: WTI crude, dollars per barrel, the last ``--last`` business days with
  the holidays forward-filled (the nets and ARIMA read no NaN), ``--folds`` folds of 5 days
  (``strategy="update"``: one epoch of fine-tuning per fold for the nets).

Models: LSTM and N-BEATS, each with ``standardize=True`` (global) and ``"window"``; sktime's
``AutoARIMA`` (pmdarima; seasonal with period 12 for the airline series); the random walk
(last value) and, for the airline series, the seasonal naive forecast (same month last
year). Columns: MAPE (percent) and MASE (the mean absolute error over the in-sample mean
absolute seasonal difference, period 12 for the airline, 1 for WTI, of each fold's training
data), median over seeds; seconds for the whole walk.

    python -m benchmarks.normalisation --series airline [--seeds 3]
    python -m benchmarks.normalisation --series wti [--seeds 3] [--folds 40] [--last 1500]

Saves ``results/normalisation_<series>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

#: Net settings shared by both series: a year of months, or about two months of days.
NETS = {"airline": dict(window=24, max_epochs=100, valid_fraction="auto"),
        "wti": dict(window=40, max_epochs=20, update_epochs=1)}


def _series(name: str, last: int) -> tuple[pd.Series, dict]:
    from skfin.datasets import load_airline, load_wti

    if name == "airline":
        y = load_airline()
        return y, dict(fh=12, folds=4, step=12, strategy="refit", season=12)
    wti = load_wti().ffill().iloc[-last:]
    return wti.reset_index(drop=True).rename("wti"), dict(fh=5, folds=None, step=5,
                                                          strategy="update", season=1)


def _models(name: str, seed: int, season: int) -> dict:
    from sktime.forecasting.arima import AutoARIMA
    from sktime.forecasting.naive import NaiveForecaster

    from skfin.forecasting import LSTMForecaster, NBEATSForecaster

    net = NETS[name]
    models = {}
    for label, cls in (("LSTM", LSTMForecaster), ("N-BEATS", NBEATSForecaster)):
        for std, how in ((True, "global"), ("window", "per window")):
            models[f"{label}, {how}"] = cls(**net, standardize=std, random_state=seed)
    models["AutoARIMA"] = AutoARIMA(sp=season, seasonal=season > 1, suppress_warnings=True,
                                    error_action="ignore")
    models["random walk"] = NaiveForecaster("last")
    if season > 1:
        models["seasonal naive"] = NaiveForecaster("last", sp=season)
    return models


def _score(forecasts: pd.DataFrame, y: pd.Series, season: int) -> dict:
    """MAPE (percent) and MASE over every (fold, step), MASE scaled per fold."""
    values = y.to_numpy()
    scales = {}
    for cutoff_pos in forecasts["position"].to_numpy() - forecasts["step"].to_numpy():
        if cutoff_pos not in scales:
            train = values[:cutoff_pos + 1]
            scales[cutoff_pos] = np.mean(np.abs(train[season:] - train[:-season]))
    scale = np.array([scales[p] for p in forecasts["position"] - forecasts["step"]])
    err = np.abs(forecasts["y_true"] - forecasts["y_pred"]).to_numpy()
    return {"mape": 100 * float(np.mean(err / np.abs(forecasts["y_true"].to_numpy()))),
            "mase": float(np.mean(err / scale))}


def run_seed(name: str, seed: int, args) -> pd.DataFrame:
    from skfin.model_selection import backtest

    y, walk = _series(name, args.last)
    folds = walk["folds"] or args.folds
    rows = {}
    for label, model in _models(name, seed, walk["season"]).items():
        start = time.perf_counter()
        res = backtest({label: model}, y, fh=walk["fh"], folds=folds, step=walk["step"],
                       strategy=walk["strategy"], target="level", coverage=0.9,
                       progress=False)
        seconds = time.perf_counter() - start
        rows[label] = {**_score(res.forecasts, y, walk["season"]), "seconds": seconds}
        print(f"  {label}: {rows[label]}", file=sys.stderr, flush=True)
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv=None) -> None:
    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", choices=sorted(NETS), default="airline")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=40, help="WTI only")
    parser.add_argument("--last", type=int, default=1500, help="WTI business days used")
    args = parser.parse_args(argv)

    runs = []
    for seed in range(args.seeds):
        runs.append(run_seed(args.series, seed, args))
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    stacked = pd.concat(runs, keys=range(len(runs)), names=["seed", "model"])
    table = stacked.groupby(level="model", sort=False).median().sort_values("mase")
    print(table.round(3).to_string())
    save(f"normalisation_{args.series}", {
        "command": "python -m benchmarks.normalisation " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "protocol": {"series": args.series, **{k: v for k, v in
                                               _series(args.series, args.last)[1].items()},
                     "folds": _series(args.series, args.last)[1]["folds"] or args.folds,
                     "nets": NETS[args.series], "seeds": args.seeds},
        "median_over_seeds": table.to_dict(orient="index"),
        "runs": {seed: run.to_dict(orient="index") for seed, run in enumerate(runs)},
    })


if __name__ == "__main__":
    main()
