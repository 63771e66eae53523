"""MultiTaskForecaster on a real two-asset panel: S&P 500 and NASDAQ daily log returns
===================================================================================

The panel is the last ``--days`` trading days of both indices (same calendar), in percent,
counted in trading days; ``y`` has two columns, so the net forecasts both assets at once
(``n_targets=2``), 1 to 5 days ahead, with its auxiliary volatility and confidence heads.
It is fitted on all but the last 250 days; the forecast origin then rolls through those
250 days (``update`` without refitting), and the 1-day-ahead forecasts are scored:

* MAE against the zero forecast and the training mean;
* directional accuracy against "always up" (the sign of the training mean);
* the correlation of the predicted volatility with the realised ``|r|``, next to the
  correlation of a trailing 20-day mean of ``|r|`` (the naive volatility forecast);
* the confidence head: mean predicted confidence against the realised hit rate.

Daily index returns are close to unpredictable in the mean, so expect no gain in MAE or
direction; volatility is where the signal is. A PNG with both assets is written to
``--output``. About 2 CPU-minutes.

    python examples/multitask_panel.py [--output DIR] [--days 2500] [--epochs 40]
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

from skfin.datasets import load_nasdaq, load_sp500  # noqa: E402
from skfin.forecasting import MultiTaskForecaster  # noqa: E402

FH = [1, 2, 3, 4, 5]
TAIL = 250


def panel(days: int) -> pd.DataFrame:
    """Daily log returns (%) of the S&P 500 and NASDAQ, the last ``days``, in trading days."""
    close = pd.DataFrame({"sp500": load_sp500()["Close"], "nasdaq": load_nasdaq()["Close"]})
    return (100 * np.log(close).diff()).dropna().iloc[-days:].reset_index(drop=True)


def run(days: int, epochs: int) -> dict:
    y = panel(days)
    train = y.iloc[:-TAIL]
    f = MultiTaskForecaster(window=20, hidden_size=32, max_epochs=epochs, patience=8,
                            random_state=0)
    f.fit(train, fh=FH)
    # Roll the origin through the tail: each step brings one new day, no refit.
    forecasts = []
    for origin in range(len(train), len(y)):
        if origin > len(train):
            f.update(y.iloc[origin - 1:origin], update_params=False)
        forecasts.append(f.predict().iloc[0].to_numpy())           # 1 day ahead, both assets
    pred = pd.DataFrame(forecasts, index=y.index[len(train):], columns=y.columns)
    # Auxiliary heads for the same origins, one batch: windows ending the day before.
    standardised = ((y - f.loc_) / f.scale_).to_numpy(np.float32)
    x = torch.tensor(np.stack([standardised[o - f.window:o] for o in range(len(train), len(y))]))
    module = f.net_.module_.eval()
    with torch.no_grad():
        parts = module.explain(x)
    vol = parts["volatility"][:, 0].numpy() * f.scale_            # [TAIL, 2], in % (|y| scale)
    confidence = parts["confidence"][:, 0].numpy()                 # [TAIL, 2]
    return {"y": y, "train": train, "pred": pred, "vol": vol, "confidence": confidence,
            "history": f.net_.history}


def report(res: dict) -> pd.DataFrame:
    y, train, pred = res["y"], res["train"], res["pred"]
    truth = y.iloc[len(train):]
    trailing = y.abs().rolling(20).mean().shift(1).iloc[len(train):]   # naive vol forecast
    rows = {}
    for k, asset in enumerate(y.columns):
        t, p, mean = truth[asset].to_numpy(), pred[asset].to_numpy(), train[asset].mean()
        hit = np.sign(p) == np.sign(t)
        rows[asset] = {
            "MAE model": np.abs(t - p).mean(),
            "MAE zero": np.abs(t).mean(),
            "MAE train mean": np.abs(t - mean).mean(),
            "direction model": hit.mean(),
            "direction always-up": (np.sign(t) == np.sign(mean)).mean(),
            "share of up-forecasts": (p > 0).mean(),
            "corr(pred vol, |r|)": np.corrcoef(res["vol"][:, k], np.abs(t))[0, 1],
            "corr(trailing 20d |r|, |r|)": np.corrcoef(trailing[asset], np.abs(t))[0, 1],
            "mean pred vol": res["vol"][:, k].mean(),
            "mean |r|": np.abs(t).mean(),
            "mean confidence": res["confidence"][:, k].mean(),
            "hit rate": hit.mean(),
        }
    return pd.DataFrame(rows)


def plot(res: dict, path: Path) -> Path:
    y, train, pred = res["y"], res["train"], res["pred"]
    truth = y.iloc[len(train):]
    fig, axes = plt.subplots(2, 2, figsize=(13, 7.5), sharex=True)
    for k, asset in enumerate(y.columns):
        left, right = axes[k]
        left.plot(truth.index, truth[asset], color="black", lw=0.8, label="actual return")
        left.plot(pred.index, pred[asset], color="C3", lw=1.4, label="1-day forecast")
        left.axhline(0, color="grey", lw=0.6)
        left.set_title(f"{asset}: daily log return (%), held-out {TAIL} days")
        left.legend(fontsize=8)
        right.plot(truth.index, truth[asset].abs(), color="black", lw=0.8, alpha=0.6,
                   label="|r| realised")
        right.plot(truth.index, res["vol"][:, k], color="C0", lw=1.6,
                   label="predicted volatility (aux head)")
        right.set_title(f"{asset}: volatility head vs |r|")
        right.legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("trading day")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    res = run(args.days, args.epochs)
    history = res["history"]
    print(f"trained {len(history)} epochs; best valid_loss {min(history[:, 'valid_loss']):.4f} "
          f"(main loss only), last train_loss {history[-1, 'train_loss']:.4f} (with auxiliary)")
    with pd.option_context("display.float_format", "{:.4f}".format):
        print(report(res))
    print(f"saved {plot(res, args.output / 'multitask_panel.png')}")


if __name__ == "__main__":
    main()
