"""Deep Koopman on S&P 500 realized volatility: the learned spectrum and a 60-day rollout
======================================================================================

The series is the S&P 500's 21-day realized volatility (rolling standard deviation of daily
log returns, annualised, in %), modelled in logs and counted in trading days. A
:class:`~skfin.nets.DeepKoopman` net (stable ``K``, 8 observables, 60-day windows whose
states are 10-day delay embeddings, so 51 states per window for the Koopman losses) is
fitted on all but the last 750 days, forecasting 10 days ahead through its head while the
Koopman losses (reconstruction, linearity, multi-step prediction in the state space) shape
the observables.

Then, on the held-out 750 days:

* the eigenvalues of ``K``, each a mode with a period and a half-life in trading days,
  drawn on the complex plane (:func:`skfin.plotting.plot_koopman_spectrum`);
* a 60-day rollout ``psi(K^h phi(x_T))`` (the decoder reading the rolled observables, far
  past the 10 steps the head is trained on) from three forecast origins, against the
  realised path, and its error, with the head's, against persistence (the last value) and
  the training mean, at 1, 10 and 60 days, over every origin of the held-out period.

Realized volatility over overlapping 21-day windows moves slowly, so persistence is hard
to beat at a few days; the stable rollout decays towards the training level, which helps
after shocks and hurts in a calm held-out period. The spectrum is the point: its slowest
modes give the half-life of a volatility shock in trading days.

Two PNGs are written to ``--output``. About 30 CPU-seconds.

    python examples/koopman_spectrum.py [--output DIR] [--epochs 12]

The net is trained by a plain torch loop here (the function ``fit``); once the estimator face
exists, ``fit`` becomes ``KoopmanForecaster(window=WINDOW, **NET, max_epochs=...)
.fit(train, fh=range(1, HORIZON + 1))`` and the net is its ``net_.module_`` (the face
standardises the series itself): everything after ``fit`` reads only the net.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from skfin.datasets import load_sp500  # noqa: E402
from skfin.engine import WindowDataset  # noqa: E402
from skfin.nets import DeepKoopman  # noqa: E402
from skfin.plotting import plot_koopman_spectrum  # noqa: E402

WINDOW = 60        # days per input window
HORIZON = 10       # days the head forecasts (the training target)
ROLLOUT = 60       # days of the long rollout through the decoder
TEST = 750         # held-out trading days at the end
NET = {"latent_dim": 8, "hidden_size": 32, "num_layers": 2, "delays": 10, "stable": True}


def realized_volatility() -> pd.Series:
    """S&P 500 21-day realized volatility, annualised %, on its trading-day index."""
    r = np.log(load_sp500()["Close"]).diff()
    return (100 * np.sqrt(252) * r.rolling(21).std()).dropna().rename("rv21")


def fit(train: np.ndarray, epochs: int, seed: int = 0) -> DeepKoopman:
    """A plain torch loop on the standardised log series ``train`` ``[n]``.

    What the engine does for the faces, in brief: AdamW, gradient-norm clipping at 1.0,
    the criterion (MSE on the head's 10-day forecast) plus the net's auxiliary loss.
    Replace this function by the estimator face when it lands.
    """
    torch.manual_seed(seed)
    series = torch.tensor(train, dtype=torch.float32).view(-1, 1)       # [n, 1]
    ends = torch.arange(WINDOW - 1, len(series) - HORIZON)
    ds = WindowDataset(series, ends, window=WINDOW, targets=series,
                       target_offsets=torch.arange(1, HORIZON + 1))
    net = DeepKoopman(n_features=1, window=WINDOW, horizon=HORIZON, n_targets=1, **NET)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    for epoch in range(epochs):
        net.train()
        total = 0.0
        for batch in torch.randperm(len(ds)).split(128):
            x, y = ds[batch]                                             # [b, 60, 1], [b, 10, 1]
            opt.zero_grad()
            main = ((net(x)[..., 0] - y) ** 2).mean()
            loss = main + net.auxiliary_loss(y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += main.item() * len(batch)
        print(f"  epoch {epoch + 1:2d}  forecast MSE (standardised) {total / len(ds):.4f}")
    return net.eval()


def rollouts(net: DeepKoopman, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Decoded ``ROLLOUT``-step paths ``[n_origins, ROLLOUT]`` (standardised) from each origin.

    ``origins`` are the positions of the first forecast day: the window ends the day before.
    """
    x = torch.tensor(np.stack([z[o - WINDOW:o] for o in origins]), dtype=torch.float32)
    with torch.no_grad():
        return net.explain(x[..., None], steps=ROLLOUT)["state_forecast"][..., 0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("skfin-output"))
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(1)      # tiny matrices gain nothing from threads, lose on a busy CPU

    rv = realized_volatility()
    log_rv = np.log(rv.to_numpy())
    loc, scale = log_rv[:-TEST].mean(), log_rv[:-TEST].std()
    z = (log_rv - loc) / scale                                            # standardised
    print(f"S&P 500 21-day realized vol: {len(rv)} days, training on {len(rv) - TEST}")
    net = fit(z[:-TEST], args.epochs)

    # --- the spectrum
    with torch.no_grad():
        parts = net.explain(torch.tensor(z[None, -TEST - WINDOW:-TEST, None],
                                         dtype=torch.float32))
    eig = parts["eigenvalues"][0].numpy()
    print("Koopman eigenvalues (trading days):")
    for value, period, half_life in zip(eig, parts["periods"][0].numpy(),
                                        parts["half_lives"][0].numpy()):
        if value.imag >= 0:
            print(f"  |lambda| {abs(value):.4f}  period {period:8.1f}  half-life {half_life:7.1f}")
    k = net.koopman_matrix().detach().double()
    radius = float(torch.linalg.eigvals(k).abs().max())
    print(f"  spectral radius {radius:.4f} (stable=True keeps it below 1)")

    # --- long rollouts over the held-out period, scored in vol points
    origins = np.arange(len(z) - TEST, len(z) - ROLLOUT + 1)
    paths = rollouts(net, z, origins)                                     # [n, ROLLOUT]
    truth = np.stack([rv.to_numpy()[o:o + ROLLOUT] for o in origins])
    koopman = np.exp(paths * scale + loc)
    x = torch.tensor(np.stack([z[o - WINDOW:o] for o in origins])[..., None],
                     dtype=torch.float32)
    with torch.no_grad():
        head = np.exp(net(x)[:, :, 0, 0].numpy() * scale + loc)          # [n, HORIZON]
    persistence = np.repeat(rv.to_numpy()[origins - 1, None], ROLLOUT, axis=1)
    mean = np.full_like(truth, np.exp(loc))
    print(f"MAE in vol points over {len(origins)} held-out origins:")
    print("  step   rollout    head  persistence  training mean")
    for step in (1, HORIZON, ROLLOUT):
        e = [np.abs(f[:, step - 1] - truth[:, step - 1]).mean() if f.shape[1] >= step
             else np.nan for f in (koopman, head, persistence, mean)]
        print(f"  {step:4d}   {e[0]:7.2f} {e[1]:7.2f}  {e[2]:11.2f}  {e[3]:13.2f}")

    # --- plots
    args.output.mkdir(parents=True, exist_ok=True)
    fig = plot_koopman_spectrum(eig, title="Deep Koopman eigenvalues, S&P 500 realized vol")
    spectrum_path = args.output / "koopman_spectrum.png"
    fig.savefig(spectrum_path, dpi=110)

    shown = origins[[0, len(origins) // 2, len(origins) - 1]]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
    dates = rv.index
    for ax, origin in zip(axes, shown):
        i = int(np.searchsorted(origins, origin))
        hist = slice(origin - 120, origin)
        ax.plot(dates[hist], rv.to_numpy()[hist], color="black", lw=1, label="observed")
        future = dates[origin:origin + ROLLOUT]
        ax.plot(future, truth[i], color="black", ls=":", lw=1.2, label="realised")
        ax.plot(future, koopman[i], color="C3", lw=2, label=f"Koopman rollout ({ROLLOUT} d)")
        ax.plot(future[:HORIZON], head[i], color="C0", lw=2, ls="--",
                label=f"head forecast ({HORIZON} d)")
        ax.axhline(np.exp(loc), color="grey", lw=0.8, ls="--", label="training mean")
        ax.axvline(dates[origin - 1], color="grey", lw=0.8)
        ax.set_title(f"origin {dates[origin - 1]:%Y-%m-%d}")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes[0].set_ylabel("21-day realized vol (annualised %)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    rollout_path = args.output / "koopman_rollout.png"
    fig.savefig(rollout_path, dpi=110)
    plt.close(fig)
    print(f"saved {spectrum_path} and {rollout_path} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
