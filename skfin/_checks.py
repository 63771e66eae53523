"""The one finite-value check of skfin: estimators, metrics and baselines raise the same error.

Kept apart from the engine so that the metrics and the classical baselines can use it
without importing torch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_finite"]


def check_finite(values: np.ndarray, what: str, columns=None, index=None) -> None:
    """Raise a ValueError naming the first NaN/inf: its column and row (or date).

    Examples
    --------
    >>> from skfin.datasets import load_wti
    >>> wti = load_wti()
    >>> check_finite(wti.to_frame().to_numpy(), "y", ["WTI"], wti.index)
    Traceback (most recent call last):
    ...
    ValueError: y contains NaN or inf: 290 value(s), first in column 'WTI' at row 32 (1986-02-17). ...
    """
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    flat = bad.reshape(len(values), -1)
    row = int(np.argmax(flat.any(axis=1)))
    col = int(np.argmax(flat[row]))
    name = columns[col] if columns is not None and col < len(columns) else col
    when = f" ({index[row].date() if hasattr(index[row], 'date') else index[row]})" if index is not None else ""
    raise ValueError(
        f"{what} contains NaN or inf: {int(bad.sum())} value(s), first in column {name!r} at "
        f"row {row}{when}. Fill or drop them first (e.g. .ffill(), or a transformer's "
        "fill= option); skfin never fills silently."
    )
