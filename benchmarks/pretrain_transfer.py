"""Pretrain on other markets, then forecast the S&P 500 from 250 days of its history.

Does a net that has seen other daily markets forecast a new one better than a net trained
on the new one's short history alone? The question of issue 13, on the bundled real data:

* **Panel** (pretraining): the daily percent log returns of the NASDAQ Composite, WTI crude
  (holidays forward-filled), the VIX and MSFT (:mod:`skfin.datasets`), the
  ``--panel-days`` trading days (default 2,000, about 8 years) that end on the day before
  the S&P 500 history below starts: nothing the panel holds is later than the S&P 500
  days the models are fitted on. Each series is standardised by its own mean and standard
  deviation (``pretrain`` does it). The Fama-French factors, also bundled, are monthly:
  ``pretrain`` refuses to mix sampling frequencies, so they are left out.
* **Target**: the S&P 500 percent log return, 1..5 days ahead. Every model is first fitted
  on the same 250 days (2016-01-05 .. 2016-12-30 with the defaults), then walked forward
  over the next ``--folds`` x 5 days (:func:`skfin.model_selection.backtest`,
  ``strategy="update"`` with ``update_epochs=0``: each new block of 5 days moves the
  forecast origin, the weights stay those of the first fit, so the rows differ only in how
  that fit started).
* **Rows**: ``scratch`` (a GRU fitted on the 250 days from a random initialisation),
  ``zero-shot`` (pretrained on the panel, ``freeze="all"``: only the S&P 500 scaling and
  the residual quantiles come from its 250 days), ``fine-tune`` (pretrained, then every
  weight trained on the 250 days), ``fine-tune head`` (``freeze="body"``) and ``maml``
  (pretrained by MAML, :class:`skfin.engine.MAML` defaults, 10 meta-epochs; ``fit`` is
  MAML's adaptation: one gradient step on the last 32 windows before the validation
  tail). Same net for all: GRU, window 20, hidden 16, quantile head, early stopping
  (patience 5).

Columns: medians over ``--seeds`` of MAE, mean pinball loss (over the 5%, 50% and 95%
quantiles... the backtest's bounds and median), coverage of the 80% and 90% intervals,
and the share of days whose direction was right. Daily index returns are close to unpredictable: expect
differences in MAE in the third decimal, and read coverage and pinball first.

    python -m benchmarks.pretrain_transfer [--seeds 3] [--folds 100] [--quick]

``--quick``: 1 seed, 10 folds, 300 panel days (a smoke test). Saves
``results/pretrain_transfer.json``. One torch thread (set here).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

NET = dict(window=20, hidden_size=16, max_epochs=40, patience=5, batch_size=64,
           output="quantile", update_epochs=0, device="cpu")
HISTORY, FH = 250, 5
ROWS = ("scratch", "zero-shot", "fine-tune", "fine-tune head", "maml")
#: MAML: 10 meta-epochs of tasks of 32 support and 32 query windows, 8 per meta-step; fit
#: is then 1 gradient step at 0.01 on the last 32 training windows (its paper's recipe).
MAML_EPOCHS = 10
COLUMNS = ["mae", "pinball", "coverage_80", "coverage_90", "direction"]


def _log_returns(price: pd.Series) -> pd.Series:
    return (100 * np.log(price).diff()).dropna()


def data(folds: int, panel_days: int):
    """``(y, panel)``: the S&P 500 returns to fit and walk over, and the pretraining panel."""
    from skfin.datasets import load_msft, load_nasdaq, load_sp500, load_vix, load_wti

    sp = _log_returns(load_sp500()["Close"])
    y = sp.iloc[-(HISTORY + folds * FH):]
    first = y.index[0]
    sources = {"NASDAQ": load_nasdaq()["Close"], "WTI": load_wti().ffill(),
               "VIX": load_vix().ffill(), "MSFT": load_msft()["Close"]}
    panel = {}
    for name, price in sources.items():
        r = _log_returns(price)
        panel[name] = r[r.index < first].iloc[-panel_days:]
    panel = pd.concat(panel, names=["ticker", "date"]).to_frame("r")
    return y.reset_index(drop=True).rename("r"), panel


def models(panel: pd.DataFrame, seed: int) -> dict:
    from skfin.forecasting import GRUForecaster

    fh = list(range(1, FH + 1))
    out = {"scratch": GRUForecaster(**NET, random_state=seed)}
    for name, freeze in (("zero-shot", "all"), ("fine-tune", None), ("fine-tune head", "body")):
        out[name] = GRUForecaster(**NET, freeze=freeze, random_state=seed).pretrain(panel, fh=fh)
    maml = GRUForecaster(**{**NET, "max_epochs": MAML_EPOCHS}, meta="maml", random_state=seed)
    out["maml"] = maml.pretrain(panel, fh=fh)
    return out


def run(seeds: int, folds: int, panel_days: int) -> pd.DataFrame:
    from skfin.model_selection import backtest

    y, panel = data(folds, panel_days)
    rows = []
    for seed in range(seeds):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chosen = models(panel, seed)
            result = backtest(chosen, y, fh=FH, folds=folds, min_train_size=HISTORY,
                              coverage=(0.8, 0.9), target="returns", progress=False)
        board = result.leaderboard()
        board = board.reset_index() if "model" not in board.columns else board
        board["seed"] = seed
        rows.append(board)
        print(f"seed {seed} done in {time.perf_counter() - start:.0f} s", file=sys.stderr,
              flush=True)
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> None:
    import torch

    from benchmarks._common import save

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, default=100)
    parser.add_argument("--panel-days", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.folds, args.panel_days = 1, 10, 300
    torch.set_num_threads(1)
    raw = run(args.seeds, args.folds, args.panel_days)
    present = [c for c in COLUMNS if c in raw.columns]
    table = raw.groupby("model")[present].median().reindex(list(ROWS))
    print(table.round(4).to_string())
    y, panel = data(args.folds, args.panel_days)
    save("pretrain_transfer", {
        "command": "python -m benchmarks.pretrain_transfer " + " ".join(argv or sys.argv[1:]),
        "seeds": args.seeds, "folds": args.folds, "panel_days": args.panel_days,
        "panel": sorted(panel.index.get_level_values(0).unique()),
        "median": table.to_dict(orient="index"),
        "per_seed": raw.to_dict(orient="records"),
    })


if __name__ == "__main__":
    main()
