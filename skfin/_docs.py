"""One docstring mechanism for skfin: shared fragments, then each parameter's own default.

Used by the estimator faces (:func:`skfin.engine.estimator.fill_doc`) and the metrics
(:func:`skfin.metrics._docs.fill_doc`), each with its own fragments. Hand-written: numpydoc
renders docstrings but does not compose them.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["fill"]

_UNFILLED = re.compile(r"^ *\{\w+\}$", re.MULTILINE)
_PARAM_LINE = re.compile(r"^(    (\w+) : .*, default=)(.+)$", re.MULTILINE)


def _default_text(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def fill(obj, fragments: dict, own: dict | None = None):
    """Fill ``fragments`` into ``obj``'s docstring, then set each ``default=`` from its signature.

    A line ``    {key}`` becomes the fragment ``key`` (which carries its indentation), then
    each ``{key}`` of ``own`` (text for this docstring alone) becomes its value; a line
    ``    {key}`` left unfilled is an error. ``obj`` is a function or a class (its
    ``__init__``'s signature gives the defaults).

    Examples
    --------
    >>> def f(x, *, k=3):
    ...     '''Toy.
    ...
    ...     Parameters
    ...     ----------
    ...     {k_param}
    ...     '''
    >>> print(fill(f, {"k_param": "    k : int, default=1"}).__doc__.splitlines()[4])
        k : int, default=3
    """
    doc = obj.__doc__
    for key, text in fragments.items():
        doc = doc.replace("    {" + key + "}", text)
    for key, text in (own or {}).items():
        doc = doc.replace("{" + key + "}", text)
    unfilled = _UNFILLED.search(doc)
    if unfilled:
        raise ValueError(f"{obj.__qualname__}'s docstring names no known fragment: "
                         f"{unfilled.group().strip()}.")
    signature = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    defaults = {name: p.default for name, p in signature.parameters.items()
                if p.default is not inspect.Parameter.empty}

    def own_default(match: re.Match) -> str:
        name = match.group(2)
        if name not in defaults:
            return match.group(0)
        return match.group(1) + _default_text(defaults[name])

    obj.__doc__ = _PARAM_LINE.sub(own_default, doc)
    return obj
