"""Explaining a TFT's S&P 500 forecasts: attributions, attention and variable selection
=====================================================================================

1. Daily S&P 500 data for the last ``--days`` trading days: the log return (%) is the
   target; the daily log range ``log(High / Low)`` (%) and the log change in volume (%)
   are observed covariates (known only up to the forecast origin, ``future_X=None``).
2. ``TFTForecaster`` is fitted on all but the last ``--origins`` days, forecasting 1 to 3
   days ahead.
3. ``f.explain(y_later, X=X_later)`` explains the forecast from each of the last
   ``--origins`` days' windows (days the net was not trained on): integrated gradients
   of each forecast with respect to every input value of its window, in percentage points
   of return, plus the TFT's attention and variable-selection weights. The attributions
   add up to the forecast minus the forecast from the training-mean window
   (completeness); the script prints the largest gap.
4. ``skfin.plotting`` draws the mean attribution per lag and feature, the attention of
   the 1-day forecast across origins and the variable-selection weights; three PNG files
   are written to ``--output``.

Daily index returns are close to unpredictable in the mean: the explanation shows how
the fitted net uses its inputs, not that the effect is real. About a CPU-minute with the
defaults.

    python examples/explain_sp500.py [--output DIR] [--epochs 10] [--window 30]
                                     [--days 2500] [--origins 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from skfin.datasets import load_sp500  # noqa: E402
from skfin.forecasting import TFTForecaster  # noqa: E402
from skfin.plotting import plot_attention, plot_attributions, plot_importance  # noqa: E402

HORIZON = 3


def returns_and_covariates(days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log return (the target), log range and log volume change, all in %."""
    sp = load_sp500()
    y = (100 * np.log(sp["Close"]).diff()).rename("return").to_frame()
    X = pd.DataFrame({"range": 100 * np.log(sp["High"] / sp["Low"]),
                      "volume": 100 * np.log(sp["Volume"]).diff()})
    keep = y.notna().all(axis=1) & X.notna().all(axis=1)
    return y[keep].iloc[-days:], X[keep].iloc[-days:]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--origins", type=int, default=60,
                        help="held-out forecast origins to explain")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads: small nets train fastest on one")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    y, X = returns_and_covariates(args.days)
    split = len(y) - args.origins
    f = TFTForecaster(window=args.window, max_epochs=args.epochs, future_X=None,
                      random_state=0)
    f.fit(y.iloc[:split], X=X.iloc[:split], fh=list(range(1, HORIZON + 1)))
    print(f"fitted {len(f.net_.history)} epochs on {split} days")

    # every window that ends on a held-out day: its first rows come from before the split
    later = slice(split - args.window + 1, None)
    ex = f.explain(y.iloc[later], X=X.iloc[later])
    out = ex.outputs
    change = (out["forecast"] - out["baseline_forecast"]).abs()
    print(f"explained {out['sample'].nunique()} origins x {HORIZON} steps; completeness: "
          f"largest |gap| {out['gap'].abs().max():.2e} pp, largest |forecast - baseline| "
          f"{change.max():.2e} pp")

    importance = ex.feature_importance()
    selection = (ex.importance[ex.importance["input"] == "past"]
                 .groupby("feature", sort=False)["importance"].mean())
    print("feature      mean |attribution| (pp)   selection weight")
    for name in selection.index:
        print(f"{name:12s} {importance[name]:22.4f} {selection[name]:18.3f}")
    recent = ex.attention[ex.attention["step"] == 1].groupby("lag")["weight"].mean()
    print(f"attention of the 1-day forecast on the last 5 days: {recent.loc[-4:0].sum():.3f}")

    args.output.mkdir(parents=True, exist_ok=True)
    figures = {"explain_attributions.png": plot_attributions(ex, step=1),
               "explain_attention.png": plot_attention(ex, step=1),
               "explain_importance.png": plot_importance(ex)}
    for name, fig in figures.items():
        fig.savefig(args.output / name, dpi=110)
        print(f"saved {args.output / name}")
    return {"explanation": ex, "selection": selection.to_dict(),
            "importance": importance.to_dict()}


if __name__ == "__main__":
    main()
