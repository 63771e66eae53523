"""Input checks shared by the metric functions: numbers, shapes, finite values, weights.

Each error names the metric (``func``) and the argument, so that a scorer deep inside a
cross-validation says which input of which metric is wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skfin._checks import check_finite


def _values(y, name: str, func: str) -> np.ndarray:
    """``y`` as a float array (pandas unwrapped), with a clear error for non-numbers."""
    raw = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y
    if getattr(raw, "dtype", np.dtype(float)).kind in "mM":
        # NumPy would turn dates and durations into nanoseconds and score those
        raise TypeError(
            f"{func}: {name} must hold numbers; got dates or durations ({raw.dtype}). "
            "Pass the values (prices, returns), not the index."
        )
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{func}: {name} must hold numbers; got {type(y).__name__} that does not "
            f"convert to float ({exc})."
        ) from exc


def _labels(y):
    """The column names and row index of a pandas ``y``, to name a bad value by them."""
    if isinstance(y, pd.DataFrame):
        return list(y.columns), y.index
    if isinstance(y, pd.Series):
        return (None if y.name is None else [y.name]), y.index
    return None, None


def _as_2d(y, name: str, func: str) -> np.ndarray:
    a = _values(y, name, func)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(
            f"{func}: {name} must be 1D (n_samples,) or 2D (n_samples, n_outputs); got "
            f"shape {a.shape}."
        )
    if a.shape[0] == 0:
        raise ValueError(f"{func}: {name} is empty; it needs at least one row.")
    check_finite(a, f"{func}: {name}", *_labels(y))
    return a


def _point_pair(y_true, y_pred, func: str) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as 2D float arrays of the same shape."""
    yt = _as_2d(y_true, "y_true", func)
    yp = _as_2d(y_pred, "y_pred", func)
    if yt.shape != yp.shape:
        raise ValueError(
            f"{func}: y_true has shape {np.shape(y_true)} but y_pred has shape "
            f"{np.shape(y_pred)}. Pass forecasts and outcomes for the same rows and outputs."
        )
    return yt, yp


def _row_weights(sample_weight, n_rows: int, func: str):
    """``sample_weight`` as a checked 1D array of ``n_rows`` non-negative weights, or None."""
    if sample_weight is None:
        return None
    w = _values(sample_weight, "sample_weight", func)
    if w.shape != (n_rows,):
        raise ValueError(
            f"{func}: sample_weight must have one weight per row ({n_rows}); got shape "
            f"{w.shape}."
        )
    check_finite(w, f"{func}: sample_weight")
    if (w < 0).any() or w.sum() == 0:
        raise ValueError(f"{func}: sample_weight must be >= 0 and not all 0.")
    return w
