"""The docstring fragments of :mod:`skfin.metrics`, and the one way they are filled in.

A docstring names a fragment by its key in braces on a line of its own, indented like the
text around it (``    {multioutput}``), as the estimators' docstrings do for
:func:`skfin.engine.estimator.fill_doc`. Each fragment is written here once, indented as
it stands in a docstring.
"""

from __future__ import annotations

from skfin._docs import fill

import inspect

__all__ = ["fill_doc"]

_MULTILEVEL_BY_INDEX = """\
    multilevel : {"uniform_average", "uniform_average_time", "raw_values"}, \
default="uniform_average"
        How to combine the instances of panel or hierarchical data.
    by_index : bool, default=False
        Whether calling the metric returns one value per time point (jackknife
        pseudo-values, sktime's default) instead of one overall value."""

_SKTIME_EXAMPLE_IMPORTS = """\
    >>> import numpy as np
    >>> from sktime.forecasting.model_evaluation import evaluate
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500"""

_FRAGMENTS = {
    # -- the functions ---------------------------------------------------------------
    "sample_weight": """\
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.""",
    "trading_data": """\
    y_true : array-like of shape (n_samples,)
        Realised per-period returns, as fractions.
    y_pred : array-like of shape (n_samples,)
        Forecast returns; only their signs are used.""",
    "cost_bps": """\
    cost_bps : float, default=0.0
        Cost per unit of position change, in basis points.""",
    "periods_per_year": """\
    periods_per_year : float, default=252
        Annualisation factor.""",
    "returns": """\
    returns : {"log", "simple"}, default="log"
        Kind of returns in ``y_true``.""",
    "quantile_forecasts": """\
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Quantile forecasts: the DataFrame of ``predict_quantiles`` (columns
        ``(target, alpha)``), or an array of shape ``(n_samples, len(alpha))``.""",
    "interval_forecasts": """\
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Intervals: the DataFrame of ``predict_interval`` (columns
        ``(target, coverage, "lower" | "upper")``), or an array of shape
        ``(n_samples, 2)`` holding lower and upper bounds.""",
    "proba_example": """\
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skfin.datasets import load_sp500
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().rename("r")
    >>> past = r.rolling(250)                     # last year's returns, known at t - 1""",
    # -- the sktime metrics ----------------------------------------------------------
    "multioutput": """\
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables.""",
    "multilevel_by_index": _MULTILEVEL_BY_INDEX,
    "trading_metric_params": """\
    returns : {"log", "simple"}, default="log"
        Kind of returns forecast.
    multioutput : {"uniform_average", "raw_values"} or array-like, default="uniform_average"
        How to combine several variables (each traded on its own).
""" + _MULTILEVEL_BY_INDEX,
    "sktime_example_imports": _SKTIME_EXAMPLE_IMPORTS,
    # each trading metric fills in its own {metric} (class name) and {values} (output)
    "trading_metric_example": """\
    Examples
    --------
    Sign of a 250-day mean return forecast for the next 20 days of S&P 500 returns,
    re-forecast every 250 days:

""" + _SKTIME_EXAMPLE_IMPORTS + """
    >>> from skfin.metrics import {metric}
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = np.log(close).diff().dropna()
    >>> cv = ExpandingWindowSplitter(fh=list(range(1, 21)), initial_window=4000,
    ...                              step_length=250)
    >>> res = evaluate(NaiveForecaster("mean", window_length=250), cv, r,
    ...                scoring={metric}(cost_bps=5))
    >>> res["test_{metric}"].round(2).tolist()
    {values}""",
}



def fill_doc(obj=None, /, **own):
    """Fill the fragments into a function's or a class's docstring, then its defaults.

    A line ``    {key}`` becomes the fragment ``key`` (which carries its indentation), then
    each ``{key}`` of ``own`` (text for this docstring alone, e.g. its class name in a
    shared example) becomes its value; other braces (``{"log", "simple"}``) are left as
    they are, unescaped. The ``default=`` of each documented parameter is then set from
    the signature (of ``__init__`` for a class). Use as ``@fill_doc`` or
    ``@fill_doc(key=value, ...)``.

    Examples
    --------
    >>> @fill_doc
    ... def score(y_true, y_pred, *, sample_weight=None):
    ...     '''Score a forecast.
    ...
    ...     Parameters
    ...     ----------
    ...     {sample_weight}
    ...     '''
    >>> print(inspect.getdoc(score))
    Score a forecast.
    <BLANKLINE>
    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows.
    """
    if obj is None:
        return lambda o: fill_doc(o, **own)
    return fill(obj, _FRAGMENTS, own)


