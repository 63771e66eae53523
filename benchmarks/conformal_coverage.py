"""Interval calibration on S&P 500 daily log returns: heads, MC dropout, split conformal, ACI.

Walk-forward, one trading day at a time: every model is fitted on the 1,000 trading days
before the test period (conformal wrappers: the net on the first 750, the last 250 as
calibration tail), then issues 80/90/95% intervals for the next day's return, sees that
day's return (``update``) and moves on; the nets fine-tune on everything seen so far every
250 days (``update_epochs=2``). The test period is the last ``--test`` days of the data
(default 1,000: 2015-01 .. 2018-12, which holds the August 2015, February 2018 and
Q4 2018 volatility spikes). Reports empirical coverage and mean width per nominal level,
median over ``--seeds`` seeds, and saves ``results/conformal_coverage.json``.

    python -m benchmarks.conformal_coverage [--seeds 3] [--test 1000] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

COVERAGES = (0.8, 0.9, 0.95)
REFIT_EVERY = 250


def _models(seed: int) -> dict:
    from skfin.forecasting import BayesianLSTMForecaster, LSTMForecaster
    from skfin.uncertainty import ConformalForecaster

    def lstm(**kw):
        return LSTMForecaster(window=32, max_epochs=30, update_epochs=2, device="cpu",
                              random_state=seed, **kw)

    return {
        "lstm point (validation residuals)": lstm(),
        "lstm gaussian head": lstm(output="gaussian"),
        "lstm quantile head": lstm(output="quantile", quantiles=(0.025, 0.05, 0.1, 0.5, 0.9,
                                                                 0.95, 0.975)),
        "bayesian_lstm (MC dropout)": BayesianLSTMForecaster(
            window=32, max_epochs=30, update_epochs=2, n_draws=30, device="cpu",
            random_state=seed),
        "lstm + split conformal": ConformalForecaster(lstm(), method="split", scaling="none",
                                                      calibration_size=250),
        "lstm + ACI (gamma=0.005)": ConformalForecaster(lstm(), method="aci", gamma=0.005,
                                                        scaling="none",
                                                        calibration_size=250),
        "lstm + ACI (gamma=0.02)": ConformalForecaster(lstm(), method="aci", gamma=0.02,
                                                       scaling="none",
                                                       calibration_size=250),
        "lstm + split conformal, EWMA-scaled": ConformalForecaster(
            lstm(), method="split", scaling="ewma", calibration_size=250),
        "lstm + ACI (gamma=0.005), EWMA-scaled": ConformalForecaster(
            lstm(), method="aci", gamma=0.005, scaling="ewma", calibration_size=250),
    }


def run(seed: int, n_test: int, n_train: int = 1000, only: str | None = None) -> dict:
    import torch

    from skfin.datasets import load_sp500

    torch.set_num_threads(1)
    close = load_sp500()["Close"].reset_index(drop=True)
    y = (100 * np.log(close).diff()).dropna().iloc[-(n_train + n_test):]
    out = {}
    for name, model in _models(seed).items():
        if only is not None and only not in name:
            continue
        start = time.perf_counter()
        model.fit(y.iloc[:n_train], fh=[1])
        hits = {c: [] for c in COVERAGES}
        widths = {c: [] for c in COVERAGES}
        for t in range(n_train, len(y)):
            band = model.predict_interval(coverage=list(COVERAGES)).to_numpy()[0]
            for k, c in enumerate(COVERAGES):
                lo, hi = band[2 * k], band[2 * k + 1]
                hits[c].append(lo <= y.iloc[t] <= hi)
                widths[c].append(hi - lo)
            model.update(y.iloc[t:t + 1], update_params=(t - n_train) % REFIT_EVERY
                         == REFIT_EVERY - 1)
        out[name] = {"seconds": time.perf_counter() - start,
                     **{f"coverage_{c}": float(np.mean(hits[c])) for c in COVERAGES},
                     **{f"width_{c}": float(np.mean(widths[c])) for c in COVERAGES}}
        print(seed, name, {k: round(v, 3) for k, v in out[name].items()}, flush=True)
    return out


def main() -> None:
    from benchmarks._common import RESULTS, median, save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--only", default=None,
                        help="run only the models whose name contains this text and merge "
                             "them into the saved results (same seeds and test period)")
    args = parser.parse_args()
    runs = [run(seed, args.test, only=args.only) for seed in range(args.seeds)]
    table = {name: {key: median(r[name][key] for r in runs) for key in runs[0][name]}
             for name in runs[0]}
    if args.only is not None:
        saved = json.loads((RESULTS / "conformal_coverage.json").read_text())
        if (saved["seeds"], saved["test_days"]) != (args.seeds, args.test):
            raise SystemExit("--only merges into results of the same --seeds and --test")
        table = {**saved["median_over_seeds"], **table}
        runs = [{**old, **new} for old, new in zip(saved["runs"], runs)]
    header = f"{'model':36s}" + "".join(f"  cov{int(c * 100)}  width{int(c * 100)}"
                                        for c in COVERAGES)
    print(header)
    for name, row in table.items():
        print(f"{name:36s}" + "".join(
            f"  {row[f'coverage_{c}']:.3f}  {row[f'width_{c}']:6.3f}" for c in COVERAGES))
    save("conformal_coverage", {"seeds": args.seeds, "test_days": args.test,
                                "refit_every": REFIT_EVERY, "median_over_seeds": table,
                                "runs": runs})


if __name__ == "__main__":
    main()
