"""The sktime counterpart of :class:`~skfin.model_selection.PurgedWalkForward`.

sktime's :class:`~sktime.split.ExpandingWindowSplitter` already cannot leak for
forecasting: ``evaluate`` fits the forecaster on ``y`` up to the cutoff only, so every
(window, target) pair a direct multi-step forecaster builds internally ends at or before
the cutoff, and the test points ``cutoff + fh`` all lie after it. Nothing needs purging.

What it lacks is a name for a *gap* between the end of training and the first test
point, which sktime expresses by shifting ``fh``. The subclass here adds only that, as
``gap``; its folds are those of ``ExpandingWindowSplitter(fh=gap + [1..horizon], ...)``.

:func:`evaluate` is sktime's ``evaluate`` with a progress bar over the folds.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval
from sktime.split import ExpandingWindowSplitter

from skfin._checks import Described, ParamValidation

__all__ = ["PurgedExpandingWindowSplitter", "evaluate"]


def _is_steps(horizon) -> bool:
    """An int >= 1, or a list of distinct ints >= 1."""
    if isinstance(horizon, bool):
        return False
    if isinstance(horizon, Integral):
        return horizon >= 1
    steps = np.asarray(horizon)
    return (steps.ndim == 1 and steps.size > 0 and np.issubdtype(steps.dtype, np.integer)
            and bool((steps >= 1).all()) and len(np.unique(steps)) == steps.size)


def _steps(horizon, gap) -> np.ndarray:
    """Forecast steps relative to the cutoff: ``gap + 1 .. gap + horizon`` (or a list)."""
    if isinstance(horizon, Integral):
        return np.arange(1, horizon + 1) + gap
    return np.sort(np.asarray(horizon)) + gap


class PurgedExpandingWindowSplitter(ParamValidation, ExpandingWindowSplitter):
    """Expanding-window splitter with a gap between training and test, for sktime.

    Fold ``k`` trains on the first ``initial_window + k * step_length`` points; its
    forecaster's cutoff is the last of them. The test points are ``gap + 1 ..
    gap + horizon`` steps after the cutoff (or ``gap + h`` for each ``h`` in a list), so
    the ``gap`` points right after training are used by no fold for fitting before the
    fold's test period and are never scored in it.

    Use it in :func:`sktime.forecasting.model_evaluation.evaluate`; ``cv.fh`` carries the
    shifted steps, so ``evaluate`` asks the forecaster for the right points.

    Parameters
    ----------
    horizon : int or list of int, default=1
        Steps forecast after the gap: ``1 .. horizon``, or the listed steps.
    initial_window : int, default=10
        Training points in the first fold.
    step_length : int, default=1
        Points the cutoff moves between folds.
    gap : int, default=0
        Points between the cutoff and the first test point. Needed when ``y`` itself is
        forward-looking (a value at ``t`` summarising ``t+1 .. t+L``, e.g. a forward
        realised volatility: use ``gap = L - 1``) or to model a publication or execution
        lag. Not needed for ordinary series: see the module notes.

    Attributes
    ----------
    fh : numpy.ndarray
        Steps ahead of the cutoff that each fold tests, ``gap`` included; what
        ``evaluate`` passes to the forecaster.

    See Also
    --------
    sktime.split.ExpandingWindowSplitter : the same folds with ``fh`` shifted by hand.
    skfin.model_selection.PurgedWalkForward : the sklearn counterpart.

    Examples
    --------
    Forecast days 3 to 7 after each cutoff of S&P 500 closes (two days of lag):

    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import PurgedExpandingWindowSplitter
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> cv = PurgedExpandingWindowSplitter(horizon=5, initial_window=4500, step_length=250,
    ...                                    gap=2)
    >>> cv.fh
    array([3, 4, 5, 6, 7])
    >>> cv.get_n_splits(close)
    3
    >>> train, test = next(cv.split(close))
    >>> int(train[-1]), test.tolist()
    (4499, [4502, 4503, 4504, 4505, 4506])
    """

    _parameter_constraints = {
        "horizon": [Described(_is_steps, "an int >= 1 or a list of distinct ints >= 1 "
                                         "(steps after the gap)")],
        "gap": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, horizon=1, initial_window=10, step_length=1, gap=0):
        self.horizon = horizon
        self.gap = gap
        self._validate_params()     # here: sktime computes the folds' fh at construction
        super().__init__(
            fh=_steps(horizon, gap), initial_window=initial_window, step_length=step_length
        )

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the splitter.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters; only ``"default"`` exists.

        Returns
        -------
        params : list of dict
            Two small configurations, with and without a gap.
        """
        return [
            {},
            {"horizon": [1, 3], "initial_window": 5, "step_length": 2, "gap": 2},
        ]


def evaluate(forecaster, cv, y, X=None, *, progress: bool = True, **kwargs):
    """sktime's :func:`~sktime.forecasting.model_evaluation.evaluate`, with a progress bar.

    Same arguments and result as sktime's ``evaluate`` (``strategy``, ``scoring``,
    ``return_data``, ``backend``, ... pass through ``kwargs``); a ``tqdm`` bar counts the
    folds as they finish (sktime's own has none, and a walk-forward of a neural forecaster
    can take minutes).

    Parameters
    ----------
    forecaster : sktime forecaster
    cv : sktime splitter
        E.g. :class:`~sktime.split.ExpandingWindowSplitter`.
    y : pandas.Series or pandas.DataFrame
    X : pandas.DataFrame, default=None
    progress : bool, default=True
        Show the bar (on stderr; it disappears when done).
    **kwargs
        Passed to sktime's ``evaluate``.

    Returns
    -------
    pandas.DataFrame
        One row per fold, as sktime's ``evaluate`` returns.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"]
    >>> r = (100 * np.log(close).diff()).iloc[1:]
    >>> cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=4500, step_length=250)
    >>> res = evaluate(NaiveForecaster(), cv, r, progress=False)
    >>> len(res), str(res["cutoff"].iloc[0].date())
    (3, '2016-11-18')
    """
    from sktime.forecasting.model_evaluation import evaluate as sktime_evaluate
    from tqdm.auto import tqdm

    counted = cv.clone()
    folds = counted.split_series

    with tqdm(total=cv.get_n_splits(y), desc=f"evaluate {type(forecaster).__name__}",
              unit="fold", disable=not progress, leave=False) as bar:
        def split_series(data):
            # sktime reads the folds lazily, one per fitted window: the next request
            # means the previous fold is done.
            for fold in folds(data):
                yield fold
                bar.update(1)

        counted.split_series = split_series
        return sktime_evaluate(forecaster, counted, y, X=X, **kwargs)
