"""Temporal Fusion Transformer on S&P 500 returns with calendar features known in advance
======================================================================================

1. The last 2,500 daily S&P 500 log returns (in %), counted in trading days; the real
   trading dates give three covariates that are known before the day comes: day of the
   week, month, and trading days left in the month (the exchange calendar is published in
   advance).
2. ``TFTForecaster(output="quantile")`` is fitted on all but the last 5 days, forecasting
   1 to 5 days ahead: the calendar's past rows enter the encoder next to the returns, its
   rows at the forecast days feed the decoder. The last 5 days are then forecast from the
   calendar of those days, with 80% intervals, and printed next to what happened.
3. ``explain`` on every training window gives (a) the past variable-selection weights,
   (b) the future (known-calendar) weights and (c) the attention of each forecast step
   over the window, averaged over the windows. One PNG with the three panels is written
   to ``--output``.

Daily index returns are close to unpredictable in the mean; what a model can learn from
the calendar is at most a small day-of-week or turn-of-month effect, and the weights show
how much the fitted net leans on each input, not that the effect is real.
About half a CPU-minute with the defaults.

    python examples/tft_calendar.py [--output DIR] [--epochs 10] [--window 60] [--threads 1]
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

from skfin.datasets import load_sp500  # noqa: E402
from skfin.engine import WindowDataset  # noqa: E402
from skfin.forecasting import TFTForecaster  # noqa: E402

HORIZON = 5


def returns_and_calendar(days: int) -> tuple[pd.Series, pd.DataFrame, pd.DatetimeIndex]:
    """The last ``days`` log returns (%) and the calendar of their dates, on a RangeIndex."""
    close = load_sp500()["Close"].iloc[-(days + 1):]
    dates = close.index[1:]
    returns = (100 * np.log(close).diff()).iloc[1:].reset_index(drop=True).rename("return")
    month = dates.to_period("M")
    left = pd.Series(1, index=dates).groupby(month).cumcount(ascending=False).to_numpy()
    calendar = pd.DataFrame({"day_of_week": dates.dayofweek, "month": dates.month,
                             "days_left_in_month": left}, dtype=float)
    return returns, calendar, dates


def explain_training_windows(f: TFTForecaster, y: pd.Series, X: pd.DataFrame) -> dict:
    """``explain`` on every training window, with the forecaster's own standardisation."""
    values = (np.column_stack([y, X]) - f.loc_) / f.scale_
    series = torch.tensor(values, dtype=torch.float32)
    ends = torch.arange(f.window - 1, len(series) - f.horizon_)
    windows = WindowDataset(series, ends, window=f.window,
                            target_offsets=torch.arange(1, f.horizon_ + 1),
                            future=series[:, 1:])
    inputs, _ = windows[torch.arange(len(windows))]
    module = f.net_.module_.eval()
    with torch.no_grad():
        return {k: v.numpy() for k, v in module.explain(**inputs).items()}


def plot(parts: dict, names: list[str], window: int, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    past = parts["past_weights"].mean(axis=(0, 1))
    axes[0].bar(names, past, color="tab:blue")
    axes[0].set_title("(a) past inputs: mean selection weight")
    future = parts["future_weights"].mean(axis=0)                      # [H, n_future]
    width = 0.8 / HORIZON
    for step in range(HORIZON):
        axes[1].bar(np.arange(len(names) - 1) + (step - HORIZON / 2 + 0.5) * width,
                    future[step], width, label=f"t+{step + 1}")
    axes[1].set_xticks(np.arange(len(names) - 1), names[1:])
    axes[1].set_title("(b) known-future inputs: mean selection weight")
    axes[1].set_ylim(0, 1.25 * future.max())
    axes[1].legend(fontsize=8, ncol=HORIZON, loc="upper left")
    attention = parts["attention"].mean(axis=0)                        # [H, W + H]
    positions = np.arange(-window + 1, HORIZON + 1)                    # 0 = the last day seen
    for step in range(HORIZON):
        axes[2].plot(positions, attention[step], label=f"t+{step + 1}")
    axes[2].axvline(0.5, color="grey", lw=0.8, ls="--")
    axes[2].set_xlabel("position (trading days; <= 0 past, > 0 forecast days)")
    axes[2].set_title("(c) attention, mean over windows")
    axes[2].legend(fontsize=8)
    axes[0].set_ylim(0, None)
    for ax in axes[:2]:
        ax.tick_params(axis="x", labelrotation=15)
    fig.suptitle("TFT on S&P 500 daily log returns with a known-future calendar")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads: small nets train fastest on one")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    y, X, dates = returns_and_calendar(args.days)
    train_y, train_X = y.iloc[:-HORIZON], X.iloc[:-HORIZON]
    f = TFTForecaster(window=args.window, max_epochs=args.epochs, output="quantile",
                      random_state=0)
    f.fit(train_y, X=train_X, fh=list(range(1, HORIZON + 1)))
    history = f.net_.history
    print(f"fitted {len(history)} epochs; best validation pinball loss "
          f"{min(history[:, 'valid_loss']):.4f}")

    band = f.predict_interval(X=X.iloc[-HORIZON:], coverage=0.8)
    table = pd.DataFrame({"date": dates[-HORIZON:].date, "median": f.predict(X=X.iloc[-HORIZON:]),
                          "lower_80": band.iloc[:, 0], "upper_80": band.iloc[:, 1],
                          "realised": y.iloc[-HORIZON:]})
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(table.to_string(index=False))

    parts = explain_training_windows(f, train_y, train_X)
    names = ["return", *X.columns]
    past = {k: round(float(v), 3) for k, v in zip(names, parts["past_weights"].mean(axis=(0, 1)))}
    future = {k: round(float(v), 3)
              for k, v in zip(X.columns, parts["future_weights"].mean(axis=(0, 1)))}
    attention = parts["attention"].mean(axis=(0, 1))                  # over windows and steps
    recent = attention[args.window - 5:args.window].sum()
    print("past selection weights:", past)
    print("future selection weights:", future)
    print(f"attention on the last 5 past days: {recent:.3f} (uniform would give "
          f"{5 / (args.window + 3):.3f}); on forecast days: {attention[args.window:].sum():.3f}")

    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "tft_calendar.png"
    plot(parts, names, args.window, path)
    print("wrote", path)
    return {"past": past, "future": future, "attention": attention, "forecast": table}


if __name__ == "__main__":
    main()
