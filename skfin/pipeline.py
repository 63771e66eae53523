"""scikit-learn's ``Pipeline``, forwarding skfin's interval methods to its final step.

sklearn's :class:`~sklearn.pipeline.Pipeline` exposes ``predict`` of its last step but not
``predict_interval`` / ``predict_quantiles``, which sklearn does not know. The subclass
here adds exactly those two, with the same contract as ``predict``: ``X`` goes through
every transformer's ``transform`` (fitted on the training data only), then the final
estimator's method. Everything else is sklearn's (``GridSearchCV`` clones keep the class,
so ``search.best_estimator_.predict_interval(...)`` works).

It also keeps a **panel** a panel: given ``X`` with a (series, time) ``MultiIndex``, it
passes each row's series to a final step that takes ``groups`` (every skfin regressor),
even after a step such as ``StandardScaler`` has returned a bare array. (In sklearn's own
``Pipeline`` that array reaches the net as one long series; pass
``<step>__groups=`` to ``fit`` and ``groups=`` to ``predict`` there, or
``set_output(transform="pandas")``.)

Examples
--------
>>> import numpy as np
>>> from sklearn.preprocessing import StandardScaler
>>> from skfin.datasets import load_sp500
>>> from skfin.regressors import LSTMRegressor
>>> from skfin.transformations import TechnicalIndicators
>>> ohlcv = load_sp500().iloc[-700:]
>>> y = (100 * np.log(ohlcv["Close"]).diff()).shift(-1).iloc[:-1]   # tomorrow's return
>>> pipe = make_pipeline(TechnicalIndicators(), StandardScaler(),
...                      LSTMRegressor(window=20, max_epochs=2, random_state=0))
>>> pipe = pipe.fit(ohlcv.iloc[:-1], y)
>>> pipe.predict_interval(ohlcv.tail(1), coverage=0.9).shape      # tomorrow's 90% band
(1, 2)
"""

from __future__ import annotations

import inspect

from sklearn import get_config
from sklearn import pipeline as _sklearn
from sklearn.utils.metaestimators import available_if

from skfin._checks import series_labels

__all__ = ["Pipeline", "make_pipeline"]


def _final_has(method: str):
    def check(self) -> bool:
        return self._final_estimator == "passthrough" or hasattr(self._final_estimator, method)
    return check


class Pipeline(_sklearn.Pipeline):
    """:class:`sklearn.pipeline.Pipeline` with ``predict_interval`` and ``predict_quantiles``.

    Parameters
    ----------
    steps, memory, transform_input, verbose
        As for :class:`sklearn.pipeline.Pipeline`.

    See Also
    --------
    make_pipeline : build one from estimators, names derived from their classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import MLPRegressor
    >>> close = load_sp500()["Close"].iloc[-600:]
    >>> r = (100 * np.log(close).diff()).dropna()
    >>> X, y = r.iloc[:-1].to_frame(), r.shift(-1).iloc[:-1]
    >>> pipe = Pipeline([("scale", StandardScaler()),
    ...                  ("mlp", MLPRegressor(window=10, max_epochs=2, output="quantile",
    ...                                       random_state=0))]).fit(X, y)
    >>> q = pipe.predict_quantiles(X.tail(5), alpha=[0.1, 0.5, 0.9])
    >>> q.shape, bool((q.diff(axis=1).iloc[:, 1:] >= 0).all().all())
    ((5, 3), True)
    """

    def _groups(self, X, params: dict, method: str, key: str = "groups") -> dict:
        """``params`` with the panel's series labels for the final step, when it takes them.

        A transformer that returns numpy (``StandardScaler``, say) drops ``X``'s (series,
        time) ``MultiIndex``, and the final step would then read the panel as one long
        series. The labels are taken from ``X`` before the first step instead (steps keep
        the rows: y is not transformed). Labels passed by the caller win; with metadata
        routing on, routing them is the caller's choice.
        """
        final, labels = self._final_estimator, series_labels(X)
        if (labels is None or key in params or final == "passthrough"
                or get_config().get("enable_metadata_routing", False)
                or "groups" not in inspect.signature(getattr(final, method)).parameters):
            return params
        return {**params, key: labels}

    def fit(self, X, y=None, **params):
        """Fit the steps, then the final one (given a panel, with its series as ``groups``).

        Parameters
        ----------
        X : array-like or DataFrame
            With a (series, time) ``MultiIndex``, a panel: the series labels are passed to
            the final step as ``groups`` (unless ``<final step>__groups`` is given), so the
            net trains one global model whose windows never cross two series.
        y : array-like, default=None
        **params
            As for :meth:`sklearn.pipeline.Pipeline.fit` (``step__param``).

        Returns
        -------
        self
        """
        key = f"{self.steps[-1][0]}__groups"
        return super().fit(X, y, **self._groups(X, params, "fit", key))

    def predict(self, X, **params):
        """Transform ``X`` through the fitted steps, then the final step's ``predict``.

        Parameters
        ----------
        X : array-like or DataFrame
            With a (series, time) ``MultiIndex``: each row continues its own series.
        **params
            Passed to the final step's ``predict`` (e.g. ``groups=``).

        Returns
        -------
        ndarray
        """
        return super().predict(X, **self._groups(X, params, "predict"))

    def _transform(self, X):
        for _, _, transformer in self._iter(with_final=False):
            X = transformer.transform(X)
        return X

    @staticmethod
    def _labelled(out, X):
        """Rows labelled like ``X`` when a step returned numpy (e.g. ``StandardScaler``)."""
        index = getattr(X, "index", None)
        if index is not None and len(index) == len(out) and not out.index.equals(index):
            out = out.set_axis(index, axis=0)
        return out

    @available_if(_final_has("predict_interval"))
    def predict_interval(self, X, coverage=0.9, **params):
        """Transform ``X`` through the fitted steps, then the final step's ``predict_interval``.

        Parameters
        ----------
        X : array-like or DataFrame
            Rows to forecast, in the pipeline's input format.
        coverage : float or list of float, default=0.9
        **params
            Passed to the final step (e.g. ``groups=``; a panel's are taken from ``X``).

        Returns
        -------
        pandas.DataFrame
            As the final estimator returns it (sktime's interval column format), with the
            rows labelled by ``X``'s index when ``X`` is pandas and no step dropped rows.
        """
        out = self._final_estimator.predict_interval(
            self._transform(X), coverage=coverage,
            **self._groups(X, params, "predict_interval"))
        return self._labelled(out, X)

    @available_if(_final_has("predict_quantiles"))
    def predict_quantiles(self, X, alpha=None, **params):
        """Transform ``X`` through the fitted steps, then the final step's ``predict_quantiles``.

        Parameters
        ----------
        X : array-like or DataFrame
        alpha : float or list of float, default=None
            Levels; the final estimator's default when None.
        **params
            Passed to the final step (e.g. ``groups=``; a panel's are taken from ``X``).

        Returns
        -------
        pandas.DataFrame
            Columns ``(target, alpha)``; rows labelled as in :meth:`predict_interval`.
        """
        levels = {} if alpha is None else {"alpha": alpha}
        out = self._final_estimator.predict_quantiles(
            self._transform(X), **levels, **self._groups(X, params, "predict_quantiles"))
        return self._labelled(out, X)


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False) -> Pipeline:
    """:func:`sklearn.pipeline.make_pipeline`, returning a skfin :class:`Pipeline`.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfin.regressors import LSTMRegressor
    >>> make_pipeline(StandardScaler(), LSTMRegressor()).steps[-1][0]
    'lstmregressor'
    """
    built = _sklearn.make_pipeline(*steps, memory=memory, transform_input=transform_input,
                                   verbose=verbose)
    return Pipeline(built.steps, memory=memory, transform_input=transform_input,
                    verbose=verbose)
