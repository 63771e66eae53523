"""The state-space nets' parallel forms against their recurrences, on the CPU.

Forward + backward time of one batch on real S&P 500 windows (standardised daily log
return and range; 64 windows spread over the sample), for windows of 64 to 2048 days:

* **Mamba's selective scan** (:func:`skfin.nets.state_space.selective_scan`), the odd-even
  parallel scan (``method="parallel"``) against the loop over time (``"sequential"``). The
  scan's inputs ``u, Δ, A, B, C, D`` are those of the first block of a
  ``Mamba(d_model=64)`` (``expand=2``, ``d_state=16``: 128 channels of 16 states) on the
  windows, taken as leaves; the loss is the mean square of the output. At window 512 the
  whole net's training step (both blocks, head, MSE on the next day's return) is timed
  with each method too, and the scan alone at batch 1.
* **S4D's convolution**: the first layer of an ``S4D(d_model=64, d_state=64)`` on the
  embedded windows, the closed-form kernel applied by FFT (``"fft"``) against the
  step-by-step complex recurrence (``"recurrence"``), gradients to the input and to the
  SSM parameters.

Each (operation, method, window) runs in its own fresh process, one torch thread,
allocator thresholds pinned, the two methods alternating in order from one window to the
next; one warm-up step, then the median of ``--repeats`` steps (``--long-repeats`` for a
recurrence at windows >= 1024), in the process's CPU time by default (``--clock wall`` for
wall-clock time; CPU time is steadier on a shared machine). The target is a parallel
Mamba scan at least 10x faster than the loop at window 512.

    python -m benchmarks.state_space_scan [--repeats 5] [--long-repeats 3] [--clock cpu]
                                          [--lengths 64 128 256 512 1024 2048]

Results go to ``benchmarks/results/state_space_scan.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

LENGTHS = (64, 128, 256, 512, 1024, 2048)
BATCH, D_MODEL, HEADLINE, TARGET = 64, 64, 512, 10.0
#: operation -> (parallel method, reference method)
OPS = {"mamba_scan": ("parallel", "sequential"), "s4d_conv": ("fft", "recurrence"),
       "mamba_net": ("parallel", "sequential")}


def _windows(length: int, batch: int):
    """``batch`` real windows ``[batch, length, 2]`` spread over the sample, next-day returns."""
    import torch

    from benchmarks._common import sp500_features

    X, y = sp500_features()
    X, y = torch.from_numpy(X.copy()), torch.from_numpy(y.copy())
    starts = torch.linspace(0, len(X) - length - 1, batch).long()
    rows = starts[:, None] + torch.arange(length)                      # [B, L]
    return X[rows], y[starts + length - 1].view(batch, 1, 1)           # [B, L, 2], [B, 1, 1]


def _step_fn(op: str, method: str, length: int, batch: int):
    """A closure running one forward + backward pass of ``op`` with ``method``."""
    import torch

    from skfin.nets.state_space import (
        S4D,
        Mamba,
        fft_causal_conv,
        s4d_kernel,
        s4d_recurrence,
        selective_scan,
    )

    x, y = _windows(length, batch)
    torch.manual_seed(0)
    if op == "mamba_net":
        net = Mamba(n_features=2, window=length, horizon=1, n_targets=1, d_model=D_MODEL)

        def step():
            net.zero_grad(set_to_none=True)
            out = net.head(net.dropout(net.features(x, method)[:, -1]))
            ((out[..., 0] - y) ** 2).mean().backward()
        return step
    if op == "mamba_scan":
        net = Mamba(n_features=2, window=length, horizon=1, n_targets=1, d_model=D_MODEL)
        with torch.no_grad():
            u, delta, A, B, C, _ = net.mixers[0].ssm_inputs(net.norms[0](net.embed(x)))
        leaves = [t.detach().clone().requires_grad_() for t in (u, delta, A, B, C)]
        leaves.append(net.mixers[0].D.detach().clone().requires_grad_())

        def step():
            for t in leaves:
                t.grad = None
            selective_scan(*leaves, method=method).square().mean().backward()
        return step
    net = S4D(n_features=2, window=length, horizon=1, n_targets=1, d_model=D_MODEL)
    layer = net.layers[0]
    with torch.no_grad():
        u0 = net.embed(x)
    u = u0.clone().requires_grad_()

    def step():
        layer.zero_grad(set_to_none=True)
        u.grad = None
        dtA, CB = layer.discretize()
        if method == "fft":
            out = fft_causal_conv(u, s4d_kernel(dtA, CB, length))
        else:
            out = s4d_recurrence(u, dtA, CB)
        out.square().mean().backward()
    return step


def _child(op: str, method: str, length: int, batch: int, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    step = _step_fn(op, method, length, batch)
    step()                                                            # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"wall": wall, "cpu": cpu}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--op", choices=sorted(OPS))
    parser.add_argument("--method")
    parser.add_argument("--length", type=int)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--long-repeats", type=int, default=3,
                        help="repeats of a recurrence at windows >= 1024")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu",
                        help="report process CPU time (steadier on a busy machine) or wall time")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.op, args.method, args.length, args.batch, args.repeats)))
        return
    from benchmarks._common import fresh_process, median, save

    def run(op, method, length, batch=BATCH):
        reference = method == OPS[op][1]
        repeats = args.long_repeats if reference and length >= 1024 else args.repeats
        print(f"  {op} {method} L={length} batch={batch} ({repeats} repeats)", flush=True)
        return fresh_process("state_space_scan", "--op", op, "--method", method,
                             "--length", str(length), "--batch", str(batch),
                             "--repeats", str(repeats))

    lengths = sorted(args.lengths)
    runs: dict = {op: {m: {} for m in OPS[op]} for op in ("mamba_scan", "s4d_conv")}
    for i, length in enumerate(lengths):
        for op in ("mamba_scan", "s4d_conv"):
            for method in OPS[op] if i % 2 == 0 else OPS[op][::-1]:
                runs[op][method][str(length)] = run(op, method, length)
    extra = {   # at the headline window: the whole net's step, and the scan at batch 1
        "mamba_net": {m: run("mamba_net", m, HEADLINE) for m in OPS["mamba_net"]},
        "mamba_scan_batch1": {m: run("mamba_scan", m, HEADLINE, batch=1)
                              for m in OPS["mamba_scan"]},
    }

    def ms(samples):
        return 1000 * median(samples[args.clock])

    table = {}
    for op, (fast, slow) in (("mamba_scan", OPS["mamba_scan"]), ("s4d_conv", OPS["s4d_conv"])):
        table[op] = {str(L): {fast: ms(runs[op][fast][str(L)]), slow: ms(runs[op][slow][str(L)])}
                     for L in lengths}
        for row in table[op].values():
            row["speedup"] = row[slow] / row[fast]
    extras = {name: {m: ms(r) for m, r in entry.items()} for name, entry in extra.items()}
    for row in extras.values():
        row["speedup"] = row["sequential"] / row["parallel"]
    headline = table["mamba_scan"].get(str(HEADLINE), {}).get("speedup")

    print(f"\nforward+backward ms per batch of {BATCH} real S&P 500 windows, d_model {D_MODEL} "
          f"(median, 1 CPU thread, {args.clock} time)\n")
    print("| window | Mamba scan (parallel) | Mamba loop (sequential) | loop / scan "
          "| S4D FFT conv | S4D recurrence | recurrence / FFT |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for L in lengths:
        m, s = table["mamba_scan"][str(L)], table["s4d_conv"][str(L)]
        print(f"| {L} | {m['parallel']:.1f} | {m['sequential']:.1f} | {m['speedup']:.2f}x "
              f"| {s['fft']:.1f} | {s['recurrence']:.1f} | {s['speedup']:.1f}x |")
    print(f"\n| at window {HEADLINE} | parallel | sequential | sequential / parallel |")
    print("|---|---:|---:|---:|")
    for name, label in (("mamba_net", f"whole Mamba training step, batch {BATCH}"),
                        ("mamba_scan_batch1", "Mamba scan alone, batch 1")):
        row = extras[name]
        print(f"| {label} | {row['parallel']:.1f} ms | {row['sequential']:.1f} ms "
              f"| {row['speedup']:.2f}x |")
    if headline is not None:
        verdict = "met" if headline >= TARGET else "NOT met"
        print(f"\ntarget: Mamba scan >= {TARGET:g}x faster than the loop at window {HEADLINE}: "
              f"{headline:.2f}x, {verdict}")
    path = save("state_space_scan", {
        "what": "forward+backward ms per batch, CPU, 1 thread, real S&P 500 windows",
        "clock": args.clock, "load_average": os.getloadavg(), "batch": BATCH,
        "d_model": D_MODEL, "repeats": args.repeats, "long_repeats": args.long_repeats,
        "lengths": lengths, "target": TARGET, "headline_window": HEADLINE,
        "headline_speedup": headline, "median_ms": table, "at_headline": extras,
        "runs_s": {**runs, **extra},
    })
    print(f"saved {path}")


if __name__ == "__main__":
    main()
