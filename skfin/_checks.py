"""The checks every part of skfin shares: one validation idiom, one finite-value check.

* **Parameters**: every class declares ``_parameter_constraints`` (scikit-learn's
  vocabulary) and calls ``self._validate_params()`` where it starts to work (``fit``, a
  splitter's ``split``). scikit-learn's ``BaseEstimator`` has that method; skfin's sktime
  forecasters and its splitters, which are not scikit-learn estimators, take the same
  method from :class:`ParamValidation`, so every error reads the same
  (``InvalidParameterError``, a ``ValueError``). :class:`Described` is a constraint given
  by a predicate and its wording, for the few values no built-in constraint expresses.
  Cross-parameter rules (``d_model`` divisible by ``n_heads``) stay where they are used.
* **Values**: :func:`check_finite` names the first NaN/inf of estimators' inputs, metrics'
  arguments and the baselines' series.

Kept apart from the engine so that the metrics, transformers and the classical baselines
can use it without importing torch.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import Options, validate_parameter_constraints

__all__ = ["Described", "ParamValidation", "check_finite"]


class ParamValidation:
    """``_validate_params()`` for skfin classes that are not scikit-learn estimators.

    The same method as scikit-learn's ``BaseEstimator._validate_params``: the attributes
    named in ``_parameter_constraints`` are checked against their constraints.

    Examples
    --------
    >>> from skfin.model_selection import PurgedKFold
    >>> PurgedKFold(n_splits=1)._validate_params()
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'n_splits' parameter of PurgedKFold must be an int in the range [2, inf). Got 1 instead.
    """

    _parameter_constraints: dict = {}

    def _validate_params(self) -> None:
        constraints = self._parameter_constraints
        params = {name: getattr(self, name) for name in constraints if hasattr(self, name)}
        validate_parameter_constraints(constraints, params, caller_name=type(self).__name__)


class Described(Options):
    """A scikit-learn parameter constraint given by a predicate and its description.

    ``validate_parameter_constraints`` only accepts constraint objects of scikit-learn's
    own classes, hence the subclass of ``Options``; membership is redefined here. The
    message then reads "The 'x' parameter of Est must be <description>. Got ... instead."

    Examples
    --------
    >>> even = Described(lambda v: v % 2 == 0, "an even int")
    >>> even.is_satisfied_by(4), even.is_satisfied_by(3), str(even)
    (True, False, 'an even int')
    """

    def __init__(self, predicate, description):
        super().__init__(object, set())
        self.predicate = predicate
        self.description = description

    def is_satisfied_by(self, val):
        try:
            return bool(self.predicate(val))
        except (TypeError, ValueError):
            return False

    def __str__(self):
        return self.description


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


def series_labels(X) -> np.ndarray | None:
    """Each row's series in a (series, time) ``MultiIndex`` frame; None for one series.

    The series is every level but the last (time); what the regressors and
    :class:`skfin.pipeline.Pipeline` read as a panel's ``groups``.
    """
    import pandas as pd

    index = getattr(X, "index", None)
    if isinstance(index, pd.MultiIndex) and index.nlevels >= 2:
        return np.asarray(index.droplevel(-1).to_flat_index())
    return None
