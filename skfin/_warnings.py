"""Warnings that point at the user's line, whatever path led into skfin.

A fixed ``stacklevel`` is right for one call path only. ``TimeOrderedSplit.positions``
warned with ``stacklevel=2``, which named ``skfin/engine/estimator.py`` (the engine's
call), not the ``fit`` in the user's script; a warning raised through sktime's
``evaluate`` or scikit-learn's ``GridSearchCV`` is deeper still. :func:`warn` walks the
stack to the first frame outside skfin and the libraries that call into it (scikit-learn,
sktime, skorch, torch, pandas, ...), as pandas' ``find_stack_level`` does for pandas.
Python 3.12's ``warnings.warn(skip_file_prefixes=...)`` does the same, but skfin supports
3.10, so the few lines are written here.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

#: Packages whose frames are skipped: skfin itself, the libraries that call a skfin
#: estimator on the user's behalf (a search, a backtest, a pipeline, a training loop), and
#: mutmut, whose trampolines wrap every skfin function under ``tasks.py mutate``.
LIBRARIES = ("skfin", "sklearn", "sktime", "skorch", "torch", "joblib", "pandas", "numpy",
             "scipy", "optuna", "mutmut")


def _library_paths() -> tuple[str, ...]:
    """The folders of the imported :data:`LIBRARIES` (one not imported has no frames)."""
    paths = []
    for name in LIBRARIES:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file:
            paths.append(os.path.dirname(os.path.abspath(file)) + os.sep)
    return tuple(paths)


def user_stacklevel() -> int:
    """The ``stacklevel`` of :func:`warnings.warn`, called by :func:`warn`, at the user's frame.

    That is the first frame, going out from :func:`warn`'s caller, whose file is not in a
    library of :data:`LIBRARIES`; the outermost frame when every frame is (a worker thread).
    """
    libraries = _library_paths()
    frame = sys._getframe(2)                        # the caller of warn
    level = 2                                       # warnings.warn's level of that frame
    while frame.f_back is not None and os.path.abspath(
            frame.f_code.co_filename).startswith(libraries):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning]) -> None:
    """:func:`warnings.warn` ``message``, attributed to the user's line that led here.

    Parameters
    ----------
    message : str
        What happened and what to do about it.
    category : Warning subclass
        Required (no default), so that each call says which warning it is.

    Examples
    --------
    A warning from deep inside a fit names the script's line, not skfin's:

    >>> import warnings
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import sharpe_ratio
    >>> r = load_sp500()["Close"].pct_change().dropna().iloc[-250:]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = sharpe_ratio(100 * r, r)       # percentages passed as returns
    >>> caught[0].filename.startswith("<doctest")
    True
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
