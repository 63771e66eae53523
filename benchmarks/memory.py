"""Peak memory of fitting on WTI: it must not grow with ``series x window``.

In a fresh process per (window, series length), fits ``LSTMRegressor`` (1 epoch) on the
first 2,000 days and on all 8,610 daily WTI log returns (holidays forward-filled) and
reports the growth of peak RSS during ``fit`` beside the raw data size and the size that
materialised windows would take (``n_rows x window x n_features x 4`` bytes). Memory may
grow with the window (a batch's activations are ``batch x window x hidden``) but, at a
fixed window, not with the length of the series.

    python -m benchmarks.memory [--windows 16 256] [--rows 2000 0]   (0 = all rows)
"""

from __future__ import annotations

import argparse
import json
import resource


def _child(window: int, rows: int) -> dict:
    import numpy as np
    import torch

    from skfin.datasets import load_wti
    from skfin.regressors import LSTMRegressor

    torch.set_num_threads(1)
    wti = load_wti().ffill()
    r = (100 * np.log(wti).diff()).dropna()
    X, y = r.to_numpy()[:-1, None].astype(np.float32), r.to_numpy()[1:].astype(np.float32)
    if rows:
        X, y = X[:rows], y[:rows]
    model = LSTMRegressor(window=window, hidden_size=16, max_epochs=1, batch_size=256,
                          device="cpu", random_state=0)
    model.fit(X[:64], y[:64])                                        # warm up allocators
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model.fit(X, y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"window": window, "rows": len(X), "raw_mb": X.nbytes / 2**20,
            "materialised_windows_mb": len(X) * window * X.shape[1] * 4 / 2**20,
            "peak_rss_growth_mb": (after - before) / 1024, "peak_rss_mb": after / 1024}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--windows", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 0])
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.windows[0], args.rows[0])))
        return
    from benchmarks._common import fresh_process, save

    rows = [fresh_process("memory", "--windows", str(w), "--rows", str(n))
            for w in args.windows for n in args.rows]
    path = save("memory", {"rows": rows})
    print(f"{'window':>7} {'rows':>6} {'raw MB':>8} {'windows MB':>11} {'peak RSS growth MB':>19}")
    for row in rows:
        print(f"{row['window']:>7} {row['rows']:>6} {row['raw_mb']:>8.3f} "
              f"{row['materialised_windows_mb']:>11.2f} {row['peak_rss_growth_mb']:>19.2f}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
