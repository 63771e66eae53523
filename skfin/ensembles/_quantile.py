"""Quantile ensembles: the members' quantile functions averaged (Vincentisation).

Vincentisation (Vincent, 1912; Ratcliff, 1979) averages *quantiles* level by level: the
combined q-quantile is ``sum_m w_m Q_m(q)``. Unlike the mixture of the members'
distributions (:class:`~skfin.uncertainty.DeepEnsembleRegressor`, which averages their
CDFs and widens where they disagree), it keeps the typical shape and width of the members
and moves the location: the right combination when the members are different models of
the same distribution (Lichtendahl, Grushka-Cockayne and Winkler, 2013).

A non-negative combination of non-crossing quantile functions cannot cross, but members
do not all guarantee non-crossing (a separate regressor per level can cross), so each row
is **sorted** across levels. Sorting is the monotone rearrangement of Chernozhukov,
Fernandez-Val and Galichon (2010): it never increases the pinball loss of any row and
leaves already ordered rows unchanged, which an isotonic fit (averaging adjacent levels)
would not guarantee. Written here because neither scikit-learn nor sktime combines
quantiles (``VotingRegressor`` and ``EnsembleForecaster`` average points).

References
----------
Ratcliff (1979), "Group reaction time distributions and an analysis of distribution
statistics", Psychological Bulletin.
Lichtendahl, Grushka-Cockayne and Winkler (2013), "Is it better to average probabilities or
quantiles?", Management Science.
Chernozhukov, Fernandez-Val and Galichon (2010), "Quantile and probability curves without
crossing", Econometrica.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin, clone
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted, validate_data
from sktime.forecasting.base._meta import _HeterogenousEnsembleForecaster

from skfin._checks import ParamValidation
from skfin.engine.estimator import check_levels
from skfin.uncertainty.ensemble import DeepEnsembleRegressor

__all__ = ["QuantileEnsembleForecaster", "QuantileEnsembleRegressor", "vincentise"]


def vincentise(quantiles, levels, weights=None) -> np.ndarray:
    """Weighted average of the members' quantiles, level by level, sorted per row.

    Parameters
    ----------
    quantiles : array-like of shape (n_members, ..., n_levels)
        Each member's quantiles at ``levels`` (last axis).
    levels : array-like of float, shape (n_levels,)
        The levels, in any order: rows are sorted in the order of the levels.
    weights : array-like of shape (n_members,) or (n_rows, n_members), default=None
        Non-negative weights summing to 1, the same for every row or one vector per row
        (the first axis after the members'). None: equal weights.

    Returns
    -------
    ndarray of shape (..., n_levels)
        Non-crossing combined quantiles.

    Examples
    --------
    The 10% and 90% quantiles of two members' forecasts of the S&P 500 return on
    2018-12-24 (-2.7%), as the empirical quantiles of the previous 20 and 60 days:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().loc[:"2018-12-21"]
    >>> q = np.stack([np.quantile(r.iloc[-n:], [0.1, 0.9]) for n in (20, 60)])
    >>> q.round(2)
    array([[-2.13,  1.13],
           [-2.08,  1.42]])
    >>> vincentise(q, [0.1, 0.9], weights=[0.75, 0.25]).round(2)
    array([-2.11,  1.21])
    """
    q = np.asarray(quantiles, dtype=np.float64)
    n_members = q.shape[0]
    w = np.full(n_members, 1.0 / n_members) if weights is None else np.asarray(weights, float)
    if w.shape[-1] != n_members or w.ndim > 2 or (w < 0).any():
        raise ValueError(
            f"weights must be non-negative, of shape (n_members,) or (n_rows, n_members) "
            f"with n_members={n_members}; got shape {w.shape}."
        )
    if w.ndim == 1:
        combined = np.tensordot(w, q, axes=1)
    else:                                                     # one vector per row
        combined = np.einsum("nm,mn...->n...", w, q)
    ranks = np.argsort(np.argsort(np.asarray(levels, dtype=np.float64)))
    return np.sort(combined, axis=-1)[..., ranks]


def _stack(predictions, names, what: str) -> np.ndarray:
    """Members' outputs as one float array ``[n_members, ...]``, or a clear error."""
    arrays = [np.asarray(p, dtype=np.float64) for p in predictions]
    shapes = {name: a.shape for name, a in zip(names, arrays)}
    if len(set(shapes.values())) > 1:
        raise ValueError(
            f"The members' {what} have different shapes {shapes}: they forecast different "
            "horizons or targets. Combine members fitted on the same y (and fh)."
        )
    return np.stack(arrays)


def _columns(prediction) -> np.ndarray:
    """A member's ``predict`` as ``[n, T]`` (1D for one output, as sklearn's regressors)."""
    values = np.asarray(prediction, dtype=np.float64)
    return values.reshape(len(values), -1)


def _vincentised(members, names, quantiles_of, levels, weights) -> pd.DataFrame:
    """The members' quantile frames (``quantiles_of(member)``) combined by :func:`vincentise`."""
    missing = [n for n, m in zip(names, members) if not hasattr(m, "predict_quantiles")]
    if missing:
        raise ValueError(
            f"Members {missing} have no predict_quantiles, so their quantiles cannot be "
            "combined. Use members with quantiles (every skfin estimator, sktime forecasters "
            "with capability:pred_int), or use predict for the combined point forecast."
        )
    frames = [quantiles_of(m) for m in members]
    q = _stack([f.to_numpy() for f in frames], names, "quantiles")      # [M, n, T * L]
    n = q.shape[1]
    combined = vincentise(q.reshape(len(q), n, -1, len(levels)), levels, weights)
    return pd.DataFrame(combined.reshape(n, -1), index=frames[0].index,
                        columns=frames[0].columns)


class _SklearnEnsemble(RegressorMixin, _BaseComposition):
    """sklearn-face plumbing: named members, params, input checks, weighted combination.

    Subclasses set ``_member_weights(X)``: one weight vector, or one per row of ``X``.
    """

    _required_parameters = ["estimators"]

    def get_params(self, deep=True):
        """Parameters, with every member's under ``<name>__`` when ``deep``.

        Parameters
        ----------
        deep : bool, default=True

        Returns
        -------
        dict
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, members' included (``<name>__<param>``, or a whole member).

        Parameters
        ----------
        **params

        Returns
        -------
        self
        """
        self._set_params("estimators", **params)
        return self

    @property
    def named_estimators(self) -> dict:
        """The members by name (unfitted)."""
        return dict(self.estimators)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = [clone(est).__sklearn_tags__() for _, est in self.estimators]
        tags.target_tags.multi_output = all(t.target_tags.multi_output for t in inner)
        tags.regressor_tags.poor_score = any(t.regressor_tags.poor_score for t in inner)
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in inner)
        return tags

    def _expected_failed_checks(self) -> dict[str, str]:
        """sklearn checks that fail by nature: the members' (nets' windows read earlier rows)."""
        failed = {}
        for _, est in self.estimators:
            failed.update(getattr(est, "_expected_failed_checks", dict)())
        return failed

    def _check_members(self) -> list[str]:
        if not self.estimators:
            raise ValueError(f"{type(self).__name__} needs at least one (name, estimator).")
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        return names

    def _check_X(self, X, y=None, *, reset: bool):
        """Shape, feature-name and finiteness checks (NaN only if every member takes it);
        the members receive ``X`` as it was passed."""
        finite = not self.__sklearn_tags__().input_tags.allow_nan
        if not reset:
            return validate_data(self, X, ensure_all_finite=finite, reset=False)
        X_checked, y_checked = validate_data(self, X, y, ensure_all_finite=finite,
                                             multi_output=True, y_numeric=True)
        self._y_1d = np.ndim(y_checked) == 1
        return X_checked, y_checked

    def _output(self, values: np.ndarray) -> np.ndarray:
        """``[n, T]`` as the shape of the training y: 1D for a 1D y."""
        return values[:, 0] if self._y_1d else values

    def _fit_members(self, X, y) -> None:
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self.named_estimators_ = dict(zip(self._check_members(), self.estimators_))

    def predict(self, X):
        """Weighted mean of the members' point forecasts.

        Parameters
        ----------
        X : array-like or DataFrame
            Rows in time order, passed to the members unchanged.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self, "estimators_")
        self._check_X(X, reset=False)
        points = _stack([_columns(m.predict(X)) for m in self.estimators_],
                        self.named_estimators_, "predictions")         # [M, n, T]
        weights = self._member_weights(X)
        if weights.ndim == 1:
            return self._output(np.tensordot(weights, points, axes=1))
        return self._output(np.einsum("nm,mnt->nt", weights, points))

    def predict_quantiles(self, X, alpha=(0.05, 0.95)) -> pd.DataFrame:
        """The members' quantiles, Vincentised with the members' weights (:func:`vincentise`).

        Parameters
        ----------
        X : array-like or DataFrame
        alpha : float or list of float, default=(0.05, 0.95)

        Returns
        -------
        pandas.DataFrame
            Columns ``(target, alpha)``, as the members'.
        """
        check_is_fitted(self, "estimators_")
        self._check_X(X, reset=False)
        levels = check_levels(alpha)
        return _vincentised(self.estimators_, list(self.named_estimators_),
                            lambda m: m.predict_quantiles(X, alpha=levels), levels,
                            self._member_weights(X))

    def predict_interval(self, X, coverage=0.9) -> pd.DataFrame:
        """Central intervals from the combined quantiles, columns ``(target, coverage,
        lower|upper)``.

        Parameters
        ----------
        X : array-like or DataFrame
        coverage : float or list of float, default=0.9

        Returns
        -------
        pandas.DataFrame
        """
        # the deep ensembles' conversion: it reads only predict_quantiles
        return DeepEnsembleRegressor.predict_interval(self, X, coverage)


def _normalised(weights, names, owner: str) -> np.ndarray:
    if weights is None:
        return np.full(len(names), 1.0 / len(names))
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(names),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(
            f"weights of {owner} must be {len(names)} finite non-negative numbers, not all "
            f"zero (one per member of {names}); got {weights!r}."
        )
    return w / w.sum()


class QuantileEnsembleRegressor(_SklearnEnsemble):
    """Quantile ensemble of scikit-learn regressors: their quantiles averaged level by level.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members, fitted on the same data. ``predict_quantiles`` and
        ``predict_interval`` need members with ``predict_quantiles(X, alpha)`` (every skfin
        regressor) and raise a ValueError naming the others; ``predict`` works with any
        regressor.
    weights : array-like of shape (n_members,) or None, default=None
        Non-negative member weights, normalised to sum to 1; None: equal weights.

    Attributes
    ----------
    estimators_ : list of regressors
        The fitted members.
    named_estimators_ : dict
        The fitted members by name.
    weights_ : ndarray of shape (n_members,)
        The normalised weights.

    See Also
    --------
    skfin.ensembles.vincentise : the combination.
    skfin.ensembles.RegimeEnsembleRegressor : weights that follow the volatility regime.

    Examples
    --------
    Two small quantile nets on S&P 500 returns; the combined 10% quantile is the average of
    theirs (weights 0.5 each):

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.ensembles import QuantileEnsembleRegressor
    >>> from skfin.regressors import GRURegressor, MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-600:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1].rename("next")
    >>> tiny = dict(window=10, hidden_size=8, max_epochs=2, output="quantile")
    >>> ens = QuantileEnsembleRegressor([("mlp", MLPRegressor(**tiny)),
    ...                                  ("gru", GRURegressor(**tiny))]).fit(X, y)
    >>> q = ens.predict_quantiles(X.iloc[-5:], alpha=[0.1, 0.9])
    >>> members = [m.predict_quantiles(X.iloc[-5:], alpha=[0.1, 0.9]) for m in ens.estimators_]
    >>> bool(np.allclose(q, (members[0] + members[1]) / 2)), q.shape
    (True, (5, 2))
    """

    _parameter_constraints = {"estimators": [list], "weights": ["array-like", None]}

    def __init__(self, estimators, *, weights=None):
        self.estimators = estimators
        self.weights = weights

    def fit(self, X, y):
        """Fit every member on ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame
            Passed to the members unchanged.
        y : array-like or Series

        Returns
        -------
        self
        """
        self._validate_params()
        names = self._check_members()
        self.weights_ = _normalised(self.weights, names, type(self).__name__)
        self._check_X(X, y, reset=True)
        self._fit_members(X, y)
        return self

    def _member_weights(self, X) -> np.ndarray:
        return self.weights_


class _SktimeEnsemble(ParamValidation, _HeterogenousEnsembleForecaster):
    """sktime-face plumbing: the members' forecasts combined with ``_member_weights()``."""

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:exogenous": True,
        "capability:multivariate": True,
        "capability:missing_values": False,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }

    def __init__(self, forecasters, n_jobs=None):
        super().__init__(forecasters=forecasters, n_jobs=n_jobs)
        # the ensemble needs of its data what its most demanding member needs
        self._anytagis_then_set("requires-fh-in-fit", True, False, self._forecasters)
        self._anytagis_then_set("capability:multivariate", False, True, self._forecasters)
        # skfin forecasters reading known-future X need it contiguous up to max(fh)
        self._anytagis_then_set("capability:non_contiguous_X", False, True, self._forecasters)
        self._anytagis_then_set("X-y-must-have-same-index", True, False, self._forecasters)

    def _predict(self, fh, X=None):
        preds = self._predict_forecasters(fh, X)
        points = _stack(preds, self._get_forecaster_names(), "predictions")   # [M, H, T]
        return pd.DataFrame(np.tensordot(self._member_weights(), points, axes=1),
                            index=preds[0].index, columns=preds[0].columns)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        levels = [float(a) for a in alpha]
        return _vincentised(self._get_forecaster_list(), self._get_forecaster_names(),
                            lambda f: f.predict_quantiles(fh=fh, X=X, alpha=levels),
                            levels, self._member_weights())


class QuantileEnsembleForecaster(_SktimeEnsemble):
    """Quantile ensemble of sktime forecasters: their quantiles averaged level by level.

    Parameters
    ----------
    forecasters : list of (str, forecaster)
        The members, fitted on the same series and ``fh``. Quantiles and intervals need
        members with ``predict_quantiles`` (``capability:pred_int``) and raise a ValueError
        naming the others; ``predict`` works with any forecaster.
    weights : array-like of shape (n_members,) or None, default=None
        Non-negative member weights, normalised to sum to 1; None: equal weights.
    n_jobs : int or None, default=None
        Members fitted in parallel by joblib (as sktime's ``EnsembleForecaster``).

    Attributes
    ----------
    forecasters_ : list of (str, forecaster)
        The fitted members.
    weights_ : ndarray of shape (n_members,)

    See Also
    --------
    skfin.ensembles.vincentise : the combination.
    skfin.ensembles.RegimeEnsembleForecaster : weights that follow the volatility regime.

    Examples
    --------
    A 20-day and a 60-day mean of the S&P 500 5-day realized volatility, combined:

    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import QuantileEnsembleForecaster
    >>> y, _, _, _ = load_target("sp500", "realized_vol", last=500)
    >>> ens = QuantileEnsembleForecaster([
    ...     ("mean20", NaiveForecaster(strategy="mean", window_length=20)),
    ...     ("mean60", NaiveForecaster(strategy="mean", window_length=60))]).fit(y, fh=[1, 2])
    >>> band = ens.predict_interval(coverage=0.8)
    >>> members = [f.predict_interval(coverage=0.8) for _, f in ens.forecasters_]
    >>> bool(np.allclose(band, (members[0] + members[1]) / 2)), band.shape
    (True, (2, 2))
    """

    _parameter_constraints = {"forecasters": [list], "weights": ["array-like", None]}

    def __init__(self, forecasters, *, weights=None, n_jobs=None):
        self.weights = weights
        super().__init__(forecasters=forecasters, n_jobs=n_jobs)

    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        self.weights_ = _normalised(self.weights, self._get_forecaster_names(),
                                    type(self).__name__)
        self._fit_forecasters(None, y, X, fh)
        return self

    def _member_weights(self) -> np.ndarray:
        return self.weights_

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two naive members; a naive member and a tiny skfin net (one epoch)."""
        naive, with_net = _test_members()
        return [{"forecasters": naive}, {"forecasters": with_net, "weights": [0.25, 0.75]}]


def _test_members() -> tuple[list, list]:
    """Members for sktime's suite: two naive forecasters; a naive one and a tiny skfin net."""
    from sktime.forecasting.naive import NaiveForecaster

    from skfin.forecasting import MLPForecaster
    from skfin.registry import tiny_params

    net = MLPForecaster(**{**tiny_params(MLPForecaster)[1], "max_epochs": 1, "batch_size": 8})
    return ([("last", NaiveForecaster()),
             ("mean", NaiveForecaster(strategy="mean", window_length=5))],
            [("last", NaiveForecaster()), ("mlp", net)])
