"""Wrapper overhead: ``XRegressor.fit`` vs a bare hand-written torch loop, per architecture.

For each of LSTM, TCN and N-BEATS: the same net (built from the regressor's own
parameters), the same real S&P 500 windows, batch size, epochs, optimiser (AdamW, with
the multi-tensor step the engine uses on CPU) and gradient clipping; validation and early
stopping off so both sides run every epoch, the same number of steps. The skfin side is
timed over the whole ``fit`` (input checks, building the engine, training, anything after
it). Each side runs in its own fresh process, one thread, allocator thresholds pinned.
Sides alternate in pairs (bare then skfin, then skfin then bare, ...), so that a load
that drifts over the run weighs on both alike. Reported: the median over ``--repeats``
runs of the CPU time per step (``time.process_time``) of each side and their ratio, the
median of the ratios within pairs (steadier on a shared machine), and the wall-time
ratio. Target ratio <= 1.03 in CPU time per step.

    python -m benchmarks.overhead [--repeats 5] [--epochs 5] [--nets lstm,tcn,nbeats]
"""

from __future__ import annotations

import argparse
import json
import math
import time

WINDOW, BATCH = 32, 64
TARGET = 1.03

#: name -> (net class in skfin.nets, regressor class in skfin.regressors, parameters)
NETS = {
    "lstm": ("LSTM", "LSTMRegressor", {"hidden_size": 32}),
    "tcn": ("TCN", "TCNRegressor", {}),
    "nbeats": ("NBEATS", "NBEATSRegressor", {}),
}


def _regressor(name: str, epochs: int):
    import skfin.regressors

    _, cls, params = NETS[name]
    return getattr(skfin.regressors, cls)(
        window=WINDOW, batch_size=BATCH, max_epochs=epochs, valid_fraction=0.0, patience=None,
        device="cpu", random_state=0, **params)


def _bare(name: str, epochs: int) -> tuple[float, float, int]:
    import inspect

    import torch

    import skfin.nets
    from benchmarks._common import sp500_features

    torch.set_num_threads(1)
    X, y = sp500_features()
    X, y = torch.from_numpy(X), torch.from_numpy(y).view(-1, 1, 1)
    net_cls = getattr(skfin.nets, NETS[name][0])
    # The regressor's own values of the net's parameters: the same architecture as its fit.
    params = {k: v for k, v in _regressor(name, epochs).get_params().items()
              if k in inspect.signature(net_cls).parameters and k != "window"}
    torch.manual_seed(0)
    cpu, wall = time.process_time(), time.perf_counter()
    net = net_cls(n_features=X.shape[1], window=WINDOW, horizon=1, n_targets=1, **params)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2, foreach=True)
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
    return time.process_time() - cpu, time.perf_counter() - wall, epochs * math.ceil(n / BATCH)


def _skfin(name: str, epochs: int) -> tuple[float, float, int]:
    import torch

    from benchmarks._common import sp500_features

    torch.set_num_threads(1)
    X, y = sp500_features()
    model = _regressor(name, epochs)
    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(X, y)
    return (time.process_time() - cpu, time.perf_counter() - wall,
            epochs * math.ceil(len(X) / BATCH))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--side", choices=["bare", "skfin"])
    parser.add_argument("--net", choices=sorted(NETS), default="lstm")
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.child:
        cpu, wall, steps = (_bare if args.side == "bare" else _skfin)(args.net, args.epochs)
        print(json.dumps({"cpu": cpu, "wall": wall, "steps": steps}))
        return
    from benchmarks._common import fresh_process, median, save

    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    runs = {net: {"bare": [], "skfin": []} for net in nets}
    for repeat in range(args.repeats):
        for net in nets:
            for side in ("bare", "skfin") if repeat % 2 == 0 else ("skfin", "bare"):
                runs[net][side].append(fresh_process(
                    "overhead", "--side", side, "--net", net, "--epochs", str(args.epochs)))
    result = {"epochs": args.epochs, "repeats": args.repeats, "target": TARGET, "nets": {}}
    lines = []
    for net in nets:
        entry = {}
        for side in ("bare", "skfin"):
            steps = runs[net][side][0]["steps"]
            entry[side] = {
                "cpu_ms_per_step": 1e3 * median(r["cpu"] / r["steps"] for r in runs[net][side]),
                "wall_s": median(r["wall"] for r in runs[net][side]),
                "steps": steps,
            }
        entry["ratio_cpu_per_step"] = (entry["skfin"]["cpu_ms_per_step"]
                                       / entry["bare"]["cpu_ms_per_step"])
        entry["ratio_cpu_per_step_paired"] = median(
            (s["cpu"] / s["steps"]) / (b["cpu"] / b["steps"])
            for s, b in zip(runs[net]["skfin"], runs[net]["bare"]))
        entry["ratio_wall"] = entry["skfin"]["wall_s"] / entry["bare"]["wall_s"]
        entry["runs"] = runs[net]
        result["nets"][net] = entry
        lines.append(
            f"  {NETS[net][1]:16s} CPU/step bare {entry['bare']['cpu_ms_per_step']:.3f} ms, "
            f"skfin {entry['skfin']['cpu_ms_per_step']:.3f} ms, ratio "
            f"{entry['ratio_cpu_per_step']:.3f} (within pairs "
            f"{entry['ratio_cpu_per_step_paired']:.3f}, wall {entry['ratio_wall']:.3f})")
    path = save("overhead", result)
    print(f"fit overhead vs a bare torch loop, {args.epochs} epochs on S&P 500 "
          f"({args.repeats} fresh processes per side, 1 thread, target <= {TARGET}):")
    print("\n".join(lines))
    print(f"-> {path}")


if __name__ == "__main__":
    main()
