"""The vocabulary of the nets' ``_parameter_constraints``, as plain data.

Each net owns its hyperparameters: the signature, the numpydoc Parameters section and a
class attribute ``_parameter_constraints`` beside them, ``{name: [spec, ...]}``, a value
being valid when it satisfies one spec. The specs use scikit-learn's vocabulary without
importing scikit-learn (the nets are pure torch): ``"boolean"``, ``None``, a type such as
``tuple``, or one of the tuples built below. The engine turns them into scikit-learn
constraint objects and validates the faces' parameters with them
(:func:`skfin.engine.estimator.check_parameters`). Cross-parameter rules (``d_model``
divisible by ``n_heads``, N-BEATS' stack names) stay in the nets' ``__init__``.

Examples
--------
>>> from skfin.nets import LSTM
>>> LSTM._parameter_constraints["dropout"]
[('real', 0, 1, 'left')]
"""

from __future__ import annotations

from skfin._docs import fill

__all__ = ["integer", "real", "options", "POSITIVE", "DROPOUT", "CONTRACT_DOC", "contract_doc"]


def integer(low: int | None = None, high: int | None = None, closed: str = "left") -> tuple:
    """An int in ``[low, high]`` (``closed`` as in sklearn's ``Interval``: which ends count)."""
    return ("integer", low, high, closed)


def real(low: float | None = None, high: float | None = None, closed: str = "left") -> tuple:
    """A real number in the interval from ``low`` to ``high``."""
    return ("real", low, high, closed)


def options(*values: str) -> tuple:
    """One of the given strings."""
    return ("options", frozenset(values))


#: A count: widths, layers, blocks, heads, kernel sizes.
POSITIVE = [integer(1)]
#: A dropout probability.
DROPOUT = [real(0, 1)]


#: The Parameters entries of the tensor contract, the same in every net's docstring.
CONTRACT_DOC = """\
    n_features, window, horizon, n_targets : int
        The tensor contract: input ``[B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]``.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``."""


def contract_doc(cls=None, **fragments: str):
    """Class decorator: the line ``    {contract}`` of a net's docstring becomes :data:`CONTRACT_DOC`.

    ``@contract_doc(name=text)`` also fills the lines ``    {name}``, for entries that
    several nets of a module share. The ``default=`` of each entry is then the net's own
    (:func:`skfin._docs.fill`).

    Examples
    --------
    >>> from skfin.nets import BayesianLSTM
    >>> 'output : str, default="gaussian"' in BayesianLSTM.__doc__
    True
    """
    if cls is None:
        return lambda cls: fill(cls, {"contract": CONTRACT_DOC, **fragments})
    return fill(cls, {"contract": CONTRACT_DOC, **fragments})
