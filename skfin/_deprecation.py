"""Renamed parameters: the old keyword keeps working for one release, with a FutureWarning.

:func:`rename_parameters` wraps a class's ``__init__`` so that an old keyword is passed on
under its new name. The wrapper carries the original as ``__wrapped__``, so
:func:`inspect.signature` (and with it scikit-learn's and sktime's ``get_params``, ``clone``
and every IDE) sees only the new, explicit signature. The estimator faces also accept the
old names in ``set_params`` (a grid written for an older release keeps working); see
:data:`RENAMED`.

Kept apart from the engine so that the nets (pure torch) can use it too.
"""

from __future__ import annotations

import functools
import inspect

from skfin._warnings import warn

__all__ = ["RENAMED", "rename_parameters", "renamed", "renamed_in"]

#: Parameters every estimator face renamed in 0.2: ``{old: new}``.
RENAMED = {
    # ``n_samples`` is scikit-learn's word for rows; these are Monte-Carlo draws.
    "n_samples": "n_draws",
    # ``scale`` was a switch while ``scale_`` holds standard deviations (as in StandardScaler).
    "scale": "standardize",
}

_SINCE, _UNTIL = "0.2", "0.3"


def renamed_in(cls, kwargs: dict, renames: dict[str, str]) -> dict:
    """``kwargs`` with the old names of ``renames`` replaced by the new ones (warning once each).

    Raises a TypeError when both names are given.

    Examples
    --------
    >>> import warnings
    >>> from skfin.regressors import LSTMRegressor
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_in(LSTMRegressor, {"n_samples": 20}, RENAMED)
    {'n_draws': 20}
    >>> print(caught[0].message)
    LSTMRegressor: the parameter 'n_samples' was renamed 'n_draws' in skfin 0.2; the old name stops working in 0.3.
    """
    out = dict(kwargs)
    for old, new in renames.items():
        if old not in out:
            continue
        if new in out:
            raise TypeError(f"{cls.__name__} got both {old!r} and its new name {new!r}; "
                            f"pass {new!r} only.")
        warn(f"{cls.__name__}: the parameter {old!r} was renamed {new!r} in skfin {_SINCE}; "
             f"the old name stops working in {_UNTIL}.", FutureWarning)
        out[new] = out.pop(old)
    return out


def rename_parameters(cls, renames: dict[str, str], on_unknown=None):
    """Let ``cls(old=value)`` mean ``cls(new=value)``, with a FutureWarning.

    Only the names that ``cls.__init__`` has under their new name are mapped; the signature
    seen by :func:`inspect.signature` is unchanged. The mapping is kept on the class as
    ``_renamed_parameters`` (the faces of a net read its renames from there).
    ``on_unknown(cls, names)``, if given, is called with keywords ``cls`` has under no
    name, to raise a more helpful error than Python's.

    Examples
    --------
    >>> import inspect
    >>> from skfin.nets import TCN
    >>> TCN._renamed_parameters, "hidden_size" in inspect.signature(TCN).parameters
    ({'hidden_size': 'channels'}, False)
    """
    init = cls.__init__
    names = set(inspect.signature(init).parameters)
    renames = {old: new for old, new in renames.items() if new in names and old not in names}
    cls._renamed_parameters = renames
    if (not renames and on_unknown is None) or "__init__" not in vars(cls):
        return cls

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if on_unknown is not None:
            unknown = set(kwargs) - names - set(renames)
            if unknown:
                on_unknown(type(self), sorted(unknown))
        init(self, *args, **renamed_in(type(self), kwargs, renames))

    # also for introspection that does not follow ``__wrapped__`` (sktime's conformance)
    __init__.__signature__ = inspect.signature(init)
    cls.__init__ = __init__
    return cls


def renamed(**renames: str):
    """Class decorator: :func:`rename_parameters` with ``old=new`` keywords."""
    return functools.partial(rename_parameters, renames=renames)
