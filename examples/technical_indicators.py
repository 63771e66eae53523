"""Technical indicators from real S&P 500 OHLCV data: price, RSI and MACD panels
=============================================================================

Builds causal features with :class:`skfin.transformations.TechnicalIndicators` on the
S&P 500 data bundled with ``arch`` and saves a three-panel chart:

* close with its 20- and 50-day simple moving averages,
* Wilder's 14-day RSI with the usual 30/70 bands,
* MACD (12, 26, 9): line, signal and histogram.

Run::

    python examples/technical_indicators.py                  # saves to a new temp dir
    python examples/technical_indicators.py --output-dir skfin-output --days 500

Nothing is written to the working directory unless ``--output-dir`` says so.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt

from skfin.datasets import load_sp500
from skfin.transformations import TechnicalIndicators


def build_features(ohlcv):
    """Causal indicators for every day; the warm-up rows are dropped."""
    indicators = TechnicalIndicators(
        sma_windows=(20, 50), rsi_windows=(14,), macd=(12, 26, 9), warmup="drop"
    )
    return indicators.fit_transform(ohlcv)


def plot(ohlcv, features, path):
    """Save price, RSI and MACD panels for the rows of ``features`` to ``path``."""
    close = ohlcv["Close"].loc[features.index]
    fig, (ax_price, ax_rsi, ax_macd) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1, 1.2]}
    )
    ax_price.plot(close.index, close, color="black", linewidth=1, label="S&P 500 close")
    ax_price.plot(features.index, features["sma_20"], linewidth=1, label="SMA 20")
    ax_price.plot(features.index, features["sma_50"], linewidth=1, label="SMA 50")
    ax_price.set_ylabel("index level")
    ax_price.legend(loc="upper left")
    ax_price.set_title("S&P 500 with causal technical indicators (skfin)")

    ax_rsi.plot(features.index, features["rsi_14"], color="tab:purple", linewidth=1)
    for level in (30, 70):
        ax_rsi.axhline(level, color="grey", linestyle="--", linewidth=0.8)
    ax_rsi.set_ylim(0, 100)
    ax_rsi.set_ylabel("RSI 14")

    ax_macd.bar(
        features.index,
        features["macd_hist_12_26_9"],
        color="lightgrey",
        width=1.0,
        label="histogram",
    )
    ax_macd.plot(features.index, features["macd_12_26"], linewidth=1, label="MACD")
    ax_macd.plot(features.index, features["macd_signal_12_26_9"], linewidth=1, label="signal")
    ax_macd.axhline(0, color="grey", linewidth=0.8)
    ax_macd.set_ylabel("MACD 12/26/9")
    ax_macd.legend(loc="upper left")

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="folder for the PNG (created if needed; default: a new temporary folder)",
    )
    parser.add_argument("--days", type=int, default=750, help="trading days to plot (default 750)")
    args = parser.parse_args(argv)

    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="skfin-output-"))
    output_dir.mkdir(parents=True, exist_ok=True)

    ohlcv = load_sp500()
    features = build_features(ohlcv)
    print(f"{features.shape[1]} features for {len(features)} days: {', '.join(features.columns)}")
    path = plot(ohlcv, features.tail(args.days), output_dir / "sp500_technical_indicators.png")
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    main()
