"""Data-parallel training with Hugging Face Accelerate: an LSTM on S&P 500 volatility
==================================================================================

An :class:`~skfin.regressors.LSTMRegressor` forecasts tomorrow's absolute S&P 500 log
return (a daily volatility proxy, in percent) from today's return and high-low range, over
windows of 20 days. It trains through ``accelerate.Accelerator`` (``accelerator=``): the
same script runs in one process, or on several GPUs under ``accelerate launch``, where
every process trains on its share of each batch of ``batch_size`` (the global batch) and
the fitted model is the one a single process gives, up to float rounding. After ``fit`` the
engine is a plain one: every process holds the same model and predicts on its own.

The last 250 of ``--days`` trading days are held out; the forecasts are scored by MAE next
to the naive forecast, the trailing 20-day mean of ``|r|``. The forecasts of all processes
are gathered and compared (they are equal). One process on the CPU takes about a minute::

    python examples/accelerate_lstm.py [--days 3000] [--epochs 20]
    accelerate launch --multi_gpu --num_processes 4 examples/accelerate_lstm.py
    torchrun --nproc_per_node 2 examples/accelerate_lstm.py     # 2 CPU processes (gloo)

Only the main process prints (``accelerator.print``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator

from skfin.datasets import load_sp500
from skfin.regressors import LSTMRegressor

TEST = 250


def data(days: int) -> tuple[pd.DataFrame, pd.Series]:
    """Today's log return and range (%), and tomorrow's ``|r|``: the last ``days`` rows."""
    sp = load_sp500()
    r = 100 * np.log(sp["Close"]).diff()
    X = pd.DataFrame({"r": r, "range": 100 * (sp["High"] - sp["Low"]) / sp["Close"]})
    y = r.abs().shift(-1).rename("next_abs_r")
    keep = X.notna().all(axis=1) & y.notna()
    return X[keep].iloc[-days:], y[keep].iloc[-days:]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--output", default=None,
                        help="folder to write the held-out forecasts to (forecasts.csv)")
    args = parser.parse_args(argv)

    # CPU when no GPU is visible, one GPU per process under `accelerate launch`.
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    X, y = data(args.days)
    model = LSTMRegressor(window=20, hidden_size=32, max_epochs=args.epochs, batch_size=256,
                          random_state=0, accelerator=accelerator)
    model.fit(X.iloc[:-TEST], y.iloc[:-TEST])

    # Forecasts for the held-out days: rows before them give the first windows' context.
    forecast = model.predict(X.iloc[-TEST:])
    truth = y.iloc[-TEST:].to_numpy()
    naive = X["r"].abs().rolling(20).mean().iloc[-TEST:].to_numpy()
    every = accelerator.gather(torch.as_tensor(forecast).view(1, -1)).cpu().numpy()
    spread = float(np.abs(every - every[0]).max())
    scores = {"lstm": float(np.abs(forecast - truth).mean()),
              "naive": float(np.abs(naive - truth).mean())}
    accelerator.print(
        f"trained on {accelerator.num_processes} process(es) "
        f"({accelerator.distributed_type.value}, {accelerator.device}): fitted "
        f"{len(model.net_.history)} epochs on {args.days - TEST} days, "
        f"batch_size=256 split between the processes")
    accelerator.print(f"held-out {TEST} days: LSTM MAE {scores['lstm']:.4f} pp; "
                      f"trailing 20-day mean of |r|: MAE {scores['naive']:.4f} pp")
    accelerator.print(f"the processes' forecasts differ by at most {spread:.3g}")
    if args.output is not None and accelerator.is_main_process:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"forecast": forecast, "actual": truth, "naive": naive},
                     index=X.index[-TEST:]).to_csv(out / "forecasts.csv")
    return {"model": model, "scores": scores, "spread": spread}


if __name__ == "__main__":
    main()
