"""sklearn scorers of the metrics, and factories for quantile and interval scorers."""

from __future__ import annotations

from sklearn.metrics import make_scorer

from skfin.metrics._finance import (directional_accuracy, hit_rate, mase, max_drawdown,
                                    qlike, sharpe_ratio, sortino_ratio, strategy_return)
from skfin.metrics._probabilistic import _levels_checked


hit_rate_scorer = make_scorer(hit_rate, greater_is_better=True)
directional_accuracy_scorer = make_scorer(directional_accuracy, greater_is_better=True)
mase_scorer = make_scorer(mase, greater_is_better=False)
strategy_return_scorer = make_scorer(strategy_return, greater_is_better=True)
sharpe_ratio_scorer = make_scorer(sharpe_ratio, greater_is_better=True)
sortino_ratio_scorer = make_scorer(sortino_ratio, greater_is_better=True)
max_drawdown_scorer = make_scorer(max_drawdown, greater_is_better=False)
qlike_scorer = make_scorer(qlike, greater_is_better=False)


class _LevelsScorer:
    """Call ``predict_quantiles``/``predict_interval`` with given levels, then score."""

    def __init__(self, score_func, method, levels_name, levels, sign, kwargs):
        self._score_func = score_func
        self._method = method
        self._levels_name = levels_name
        self._levels = levels
        self._sign = sign
        self._kwargs = kwargs

    def __call__(self, estimator, X, y_true):
        predict = getattr(estimator, self._method, None)
        if predict is None and hasattr(estimator, "steps"):
            # sklearn's Pipeline forwards only the standard predict* methods.
            X = estimator[:-1].transform(X)
            predict = getattr(estimator[-1], self._method, None)
        if predict is None:
            raise TypeError(
                f"{self!r} needs an estimator with {self._method}(X, "
                f"{self._levels_name}=...); {type(estimator).__name__} has none."
            )
        y_pred = predict(X, **{self._levels_name: self._levels})
        return self._sign * self._score_func(y_true, y_pred, **self._kwargs)

    def __repr__(self):
        factory = ("make_quantile_scorer" if self._method == "predict_quantiles"
                   else "make_interval_scorer")
        extra = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return (f"{factory}({self._score_func.__name__}, {self._levels_name}="
                f"{self._levels!r}, greater_is_better={self._sign > 0}{extra})")


def make_quantile_scorer(score_func, *, alpha, greater_is_better=False, **kwargs):
    """Make an sklearn scorer that predicts quantiles at ``alpha`` and scores them.

    The scorer calls ``estimator.predict_quantiles(X, alpha=alpha)`` (through a
    ``Pipeline``'s transformers if needed) and returns
    ``score_func(y_true, quantiles, **kwargs)``, negated when lower is better, as sklearn
    scorers do. :func:`sklearn.metrics.make_scorer` cannot pass ``alpha``.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, e.g. :func:`pinball_loss` or
        :func:`crps_quantiles`.
    alpha : float or list of float
        Quantile levels to predict.
    greater_is_better : bool, default=False
        False for losses (pinball, CRPS): the scorer returns their negative.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    callable
        ``scorer(estimator, X, y_true) -> float``, usable as ``scoring=`` in
        ``cross_val_score`` and ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import crps_quantiles, make_quantile_scorer
    >>> from skfin.model_selection import PurgedWalkForward
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-1200:]
    >>> X, y = r[:-1, None], r[1:]
    >>> scorer = make_quantile_scorer(crps_quantiles, alpha=(np.arange(10) + 0.5) / 10)
    >>> model = MLPRegressor(window=5, output="gaussian", max_epochs=2, device="cpu",
    ...                      random_state=0)
    >>> scores = cross_val_score(model, X, y, cv=PurgedWalkForward(2), scoring=scorer)
    >>> bool((scores < 0).all())       # negated CRPS, in percent
    True
    """
    return _LevelsScorer(score_func, "predict_quantiles", "alpha",
                         _levels_checked(alpha, "alpha", "make_quantile_scorer").tolist(),
                         1 if greater_is_better else -1, kwargs)


def make_interval_scorer(score_func, *, coverage, greater_is_better=False, **kwargs):
    """Make an sklearn scorer that predicts intervals at ``coverage`` and scores them.

    The scorer calls ``estimator.predict_interval(X, coverage=coverage)`` (through a
    ``Pipeline``'s transformers if needed) and returns
    ``score_func(y_true, intervals, **kwargs)``, negated when lower is better.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)``, e.g. :func:`winkler_score` (select on
        this one), :func:`mean_interval_width` or :func:`empirical_coverage`.
    coverage : float or list of float
        Nominal coverage(s) to predict.
    greater_is_better : bool, default=False
        False for :func:`winkler_score` and :func:`mean_interval_width`. For
        :func:`empirical_coverage` neither is right (the target is the nominal coverage):
        report it, do not select on it.
    **kwargs
        Passed to ``score_func``.

    Returns
    -------
    callable
        ``scorer(estimator, X, y_true) -> float``.

    Examples
    --------
    >>> from skfin.metrics import make_interval_scorer, winkler_score
    >>> make_interval_scorer(winkler_score, coverage=0.9)
    make_interval_scorer(winkler_score, coverage=[0.9], greater_is_better=False)
    """
    return _LevelsScorer(score_func, "predict_interval", "coverage",
                         _levels_checked(coverage, "coverage", "make_interval_scorer").tolist(),
                         1 if greater_is_better else -1, kwargs)
