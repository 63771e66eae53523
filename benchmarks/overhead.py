"""Wrapper overhead: ``LSTMRegressor.fit`` vs a bare hand-written torch loop.

Same net (skfin.nets.LSTM), same real S&P 500 windows, same batch size, epochs, optimiser
(AdamW) and gradient clipping; validation and early stopping off so both run every epoch.
Each side runs in its own fresh process, one thread, allocator thresholds pinned; sides
alternate and the median of ``--repeats`` runs is reported. Target ratio <= 1.10.

    python -m benchmarks.overhead [--repeats 5] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import time

WINDOW, HIDDEN, BATCH = 32, 32, 64


def _bare(epochs: int) -> float:
    import torch

    from benchmarks._common import sp500_features
    from skfin.nets import LSTM

    torch.set_num_threads(1)
    X, y = sp500_features()
    X, y = torch.from_numpy(X), torch.from_numpy(y).view(-1, 1, 1)
    torch.manual_seed(0)
    start = time.perf_counter()
    net = LSTM(n_features=2, window=WINDOW, horizon=1, n_targets=1, hidden_size=HIDDEN)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2)
    back = torch.arange(WINDOW - 1, -1, -1)
    n = len(X)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(n).split(BATCH):
            rows = (idx[:, None] - back).clamp_min(0)          # same left-padded windows
            opt.zero_grad()
            loss = ((net(X[rows])[..., 0] - y[idx]) ** 2).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
    return time.perf_counter() - start


def _skfin(epochs: int) -> float:
    import torch

    from benchmarks._common import sp500_features
    from skfin.regressors import LSTMRegressor

    torch.set_num_threads(1)
    X, y = sp500_features()
    model = LSTMRegressor(window=WINDOW, hidden_size=HIDDEN, batch_size=BATCH, max_epochs=epochs,
                          valid_fraction=0.0, patience=None, device="cpu", random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--side", choices=["bare", "skfin"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.child:
        seconds = (_bare if args.side == "bare" else _skfin)(args.epochs)
        print(json.dumps({"seconds": seconds}))
        return
    from benchmarks._common import fresh_process, median, save

    times = {"bare": [], "skfin": []}
    for _ in range(args.repeats):
        for side in ("bare", "skfin"):
            times[side].append(fresh_process("overhead", "--side", side,
                                             "--epochs", str(args.epochs))["seconds"])
    result = {side: median(t) for side, t in times.items()}
    result["ratio"] = result["skfin"] / result["bare"]
    result["runs"] = times
    path = save("overhead", result)
    print(f"LSTM fit, {args.epochs} epochs on S&P 500 ({args.repeats} fresh processes each, "
          f"1 thread): bare torch {result['bare']:.2f} s, LSTMRegressor {result['skfin']:.2f} s, "
          f"ratio {result['ratio']:.3f} (target <= 1.10) -> {path}")


if __name__ == "__main__":
    main()
