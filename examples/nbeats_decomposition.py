"""Interpretable N-BEATS: trend and seasonality stacks on two real series
======================================================================

1. **Airline passengers** (log, monthly): fit on 1949-1959, forecast the 12 months of 1960
   from a 36-month window, and compare with the seasonal naive forecast (same month a
   year earlier).
2. **S&P 500 5-day realized volatility** (sqrt of the rolling 5-day sum of squared daily
   log returns, in %, counted in trading days): fit on all but the last 250 days, then
   roll the forecast origin through those 250 days (``update`` without refitting) and
   compare the 10-day-ahead forecasts with persistence (the last value).

For each series the last forecast is split into the trend and seasonality stacks'
forecasts (``net_.module_.explain``); they add up to the model's forecast. The
seasonality backcast has its own coefficients (as in the paper): it is what the stack
removed from the input window, not the forecast's pattern run backwards, so its size says
nothing about the forecast's. One PNG with both series is written to ``--output``.
About 6 CPU-minutes, most of it the volatility fit.

    python examples/nbeats_decomposition.py [--output DIR] [--epochs 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from skfin.datasets import load_airline, load_sp500  # noqa: E402
from skfin.forecasting import NBEATSForecaster  # noqa: E402

STACKS = ("trend", "seasonality")


def realized_volatility() -> pd.Series:
    """S&P 500 5-day realized volatility (%), counted in trading days."""
    r = 100 * np.log(load_sp500()["Close"]).diff()
    rv = np.sqrt((r ** 2).rolling(5).sum()).dropna()
    return rv.reset_index(drop=True).rename("rv5")


def decompose(f: NBEATSForecaster, y: pd.Series) -> dict[str, np.ndarray]:
    """The stacks' forecasts from the last window of ``y``, on the scale of ``y``.

    The trend carries the level (``loc``); the seasonality is a deviation around it.
    """
    loc, scale = f.loc_[0], f.scale_[0]
    x = torch.tensor(((y.to_numpy() - loc) / scale)[None, -f.window:, None], dtype=torch.float32)
    with torch.no_grad():
        parts = f.net_.module_.explain(x)
    return {"trend": parts["trend"][0, :, 0].numpy() * scale + loc,
            "seasonality": parts["seasonality"][0, :, 0].numpy() * scale,
            "backcast_seasonality": parts["backcast_seasonality"][0, :, 0].numpy() * scale}


def airline(epochs: int) -> dict:
    y = np.log(load_airline())
    train, test = y.iloc[:-12], y.iloc[-12:]
    f = NBEATSForecaster(window=36, stacks=STACKS, hidden_size=64, max_epochs=epochs,
                         valid_fraction=0.0, patience=None, lr=1e-3, random_state=0)
    f.fit(train, fh=list(range(1, 13)))
    pred = f.predict()
    naive = y.iloc[-24:-12].to_numpy()                       # same month, a year earlier

    def mape(p):
        return 100 * np.mean(np.abs(np.exp(p) - np.exp(test.to_numpy())) / np.exp(test.to_numpy()))

    parts = decompose(f, train)
    return {"name": "Airline passengers (log), 1960 forecast", "history": train.iloc[-36:],
            "test": test, "pred": pred, "parts": parts,
            "scores": {"N-BEATS-I MAPE %": mape(pred.to_numpy()),
                       "seasonal naive MAPE %": mape(naive)},
            "identity_gap": float(np.abs(parts["trend"] + parts["seasonality"]
                                         - pred.to_numpy()).max())}


def volatility(epochs: int, tail: int = 250, horizon: int = 10) -> dict:
    y = realized_volatility()
    train = y.iloc[:-tail]
    f = NBEATSForecaster(window=4 * horizon, stacks=STACKS, max_epochs=epochs, patience=10,
                         random_state=0)
    f.fit(train, fh=list(range(1, horizon + 1)))
    last_parts, last_pred, last_history = decompose(f, train), f.predict(), train.iloc[-40:]
    errors, naive_errors = [], []
    for origin in range(len(y) - tail, len(y) - horizon + 1):
        if origin > len(y) - tail:
            f.update(y.iloc[origin - 1:origin], update_params=False)   # move the origin only
        truth = y.iloc[origin:origin + horizon].to_numpy()
        errors.append(np.abs(f.predict().to_numpy() - truth))
        naive_errors.append(np.abs(y.iloc[origin - 1] - truth))
    errors, naive_errors = np.array(errors), np.array(naive_errors)
    return {"name": f"S&P 500 5-day realized vol (%), {horizon}-day forecast",
            "history": last_history, "test": y.iloc[len(train):len(train) + horizon],
            "pred": last_pred, "parts": last_parts,
            "scores": {"N-BEATS-I MAE (all steps)": errors.mean(),
                       "persistence MAE (all steps)": naive_errors.mean(),
                       "N-BEATS-I MAE (step 10)": errors[:, -1].mean(),
                       "persistence MAE (step 10)": naive_errors[:, -1].mean(),
                       "origins": len(errors)},
            "identity_gap": float(np.abs(last_parts["trend"] + last_parts["seasonality"]
                                         - last_pred.to_numpy()).max())}


def plot(results: list[dict], path: Path) -> Path:
    fig, axes = plt.subplots(len(results), 2, figsize=(13, 4.2 * len(results)))
    for (left, right), res in zip(axes, results):
        hist, test, pred, parts = res["history"], res["test"], res["pred"], res["parts"]
        t_hist = np.arange(-len(hist), 0)
        t_fut = np.arange(len(pred))
        left.plot(t_hist, hist.to_numpy(), color="black", lw=1.2, label="input window")
        left.plot(t_fut, test.to_numpy()[:len(pred)], color="black", ls=":", label="actual")
        left.plot(t_fut, pred.to_numpy(), color="C3", lw=2, label="forecast = trend + season")
        left.plot(t_fut, parts["trend"], color="C0", lw=2, ls="--", label="trend stack")
        left.axvline(-0.5, color="grey", lw=0.8)
        left.set_title(res["name"])
        left.set_xlabel("steps relative to the forecast origin")
        left.legend(fontsize=8)
        window = len(parts["backcast_seasonality"])
        right.plot(np.arange(-window, 0), parts["backcast_seasonality"], color="C2", alpha=0.6,
                   label="seasonality backcast (window)")
        right.plot(t_fut, parts["seasonality"], color="C2", lw=2,
                   label="seasonality stack forecast")
        right.axhline(0, color="grey", lw=0.8)
        right.axvline(-0.5, color="grey", lw=0.8)
        right.set_title("seasonality stack (deviation around the trend)")
        right.set_xlabel("steps relative to the forecast origin")
        right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--epochs", type=int, default=300,
                        help="epochs for the airline fit (the volatility fit early-stops)")
    args = parser.parse_args()
    results = [airline(args.epochs), volatility(min(args.epochs, 100))]
    for res in results:
        print(res["name"])
        for key, value in res["scores"].items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"  {key:32s} {shown}")
        print(f"  max |trend + seasonality - forecast| {res['identity_gap']:.2e}")
    path = plot(results, args.output / "nbeats_decomposition.png")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
