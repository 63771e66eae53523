"""Deep ensembles (Lakshminarayanan, Pritzel and Blundell, 2017) around any skfin estimator.

``n_members`` clones of one estimator are trained from different seeds (initialisation,
dropout and batch order differ; data and hyperparameters do not). The ensemble's point
forecast is the members' mean; its predictive distribution is the equal-weight **mixture**
of theirs, so where the members disagree (the part of the uncertainty one net cannot see in
itself: which weights the data really supports) the intervals widen. Quantiles of the mixture
come from pooling the members' quantiles on a common grid
(:func:`skfin.engine.sampling.mixture_quantiles`, the same route MC dropout takes).

* :class:`DeepEnsembleRegressor` wraps a scikit-learn regressor with ``random_state``,
  ``predict`` and (for intervals) ``predict_quantiles`` — every skfin regressor.
* :class:`DeepEnsembleForecaster` wraps an sktime forecaster with ``random_state`` and
  ``predict_quantiles`` — every skfin forecaster; ``update`` updates every member.

Members are trained one after another (the nets' own threads already use the CPU cores; a
batched multi-member net would have to be written per architecture). The seeds are drawn from
``random_state`` by :class:`numpy.random.SeedSequence`, so an int makes the whole ensemble
repeatable. Written here: sktime's and scikit-learn's ensembles average points only
(``EnsembleForecaster``, ``VotingRegressor``) and do not mix predictive distributions.

References
----------
Lakshminarayanan, Pritzel and Blundell (2017), "Simple and scalable predictive uncertainty
estimation using deep ensembles", NeurIPS.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from sktime.forecasting.base import BaseForecaster

from skfin._checks import ParamValidation
from skfin.engine.estimator import check_levels
from skfin.engine.sampling import mixture_quantiles
from skfin.nets.heads import DEFAULT_QUANTILES
from skfin.uncertainty.conformal import _Persistence

__all__ = ["DeepEnsembleRegressor", "DeepEnsembleForecaster", "member_seeds"]

_PARAMS = {
    "n_members": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}


def member_seeds(random_state, n_members: int) -> list[int]:
    """``n_members`` independent seeds drawn from ``random_state`` (int, RandomState, None).

    Examples
    --------
    >>> member_seeds(0, 3) == member_seeds(0, 3), len(set(member_seeds(0, 5)))
    (True, 5)
    """
    entropy = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    children = np.random.SeedSequence(entropy).generate_state(n_members)
    return [int(s) for s in children]


def _check_member(estimator, owner: str) -> None:
    if "random_state" not in estimator.get_params(deep=False):
        raise ValueError(
            f"{owner} trains its members from different seeds, but "
            f"{type(estimator).__name__} has no random_state parameter, so its members "
            "would all be the same model. Wrap an estimator with random_state (every skfin "
            "estimator has one)."
        )


def _grid_range(member) -> tuple[float, float]:
    """Levels a member can give quantiles at: a quantile head knows only its learned range."""
    if getattr(member, "output", None) != "quantile":
        return 0.0, 1.0
    levels = member.quantiles if member.quantiles is not None else DEFAULT_QUANTILES
    return float(min(levels)), float(max(levels))


def _mixture(members, quantiles_at, levels, grid_size: int) -> np.ndarray:
    """Mixture quantiles ``[..., len(levels)]``; ``quantiles_at(member, grid) -> [..., M]``."""
    ranges = [_grid_range(m) for m in members]
    span = (max(r[0] for r in ranges), min(r[1] for r in ranges))

    def components(grid):
        # a quantile head's range clips the grid's ends to repeated levels, and sktime
        # refuses repeated alphas: ask each member once per distinct level
        distinct, position = np.unique(grid, return_inverse=True)
        values = np.stack([quantiles_at(m, [float(a) for a in distinct]) for m in members])
        return values[..., position]

    return mixture_quantiles(components, levels, grid_size=grid_size, grid_range=span)


class DeepEnsembleRegressor(_Persistence, MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Deep ensemble of a scikit-learn regressor: members from different seeds, mixed.

    Parameters
    ----------
    estimator : sklearn regressor
        Cloned ``n_members`` times, each with its own ``random_state``.
    n_members : int, default=5
        Members (5 in the paper; 1 is the estimator alone).
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (:func:`member_seeds`).
    grid_size : int, default=100
        Levels per member when mixing quantiles.

    Attributes
    ----------
    estimators_ : list of regressors
        The fitted members, in seed order.
    seeds_ : list of int
        Their ``random_state``.

    Examples
    --------
    Three small LSTMs on S&P 500 returns; the mixture's 90% interval is at least as wide as
    its narrowest member's, on average:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import LSTMRegressor
    >>> from skfin.uncertainty import DeepEnsembleRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-800:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1].rename("next")
    >>> member = LSTMRegressor(window=10, hidden_size=8, max_epochs=3, output="quantile")
    >>> ens = DeepEnsembleRegressor(member, n_members=3, random_state=0).fit(X, y)
    >>> band = ens.predict_interval(X.iloc[-20:], coverage=0.9).to_numpy()
    >>> widths = [np.diff(m.predict_interval(X.iloc[-20:], coverage=0.9).to_numpy()).mean()
    ...           for m in ens.estimators_]
    >>> bool(np.diff(band).mean() >= min(widths)), len(ens.estimators_)
    (True, 3)
    """

    _parameter_constraints = {"estimator": [object], **_PARAMS,
                              "grid_size": [Interval(Integral, 2, None, closed="left")]}

    def __init__(self, estimator, *, n_members=5, random_state=None, grid_size=100):
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state
        self.grid_size = grid_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.input_tags = inner.input_tags
        tags.regressor_tags = inner.regressor_tags        # e.g. poor_score: as good as a member
        return tags

    def fit(self, X, y, **fit_params):
        """Fit every member on the same data.

        Parameters
        ----------
        X : array-like or DataFrame
            As the wrapped estimator takes it (passed on unchanged).
        y : array-like or Series
        **fit_params
            Passed to every member's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self
        """
        self._validate_params()
        _check_member(self.estimator, type(self).__name__)
        self.seeds_ = member_seeds(self.random_state, self.n_members)
        self.estimators_ = [clone(self.estimator).set_params(random_state=seed)
                            .fit(X, y, **fit_params) for seed in self.seeds_]
        first = self.estimators_[0]
        self.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_
        return self

    def predict(self, X):
        """The members' mean prediction.

        Parameters
        ----------
        X : array-like or DataFrame

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self, "estimators_")
        return np.mean([np.asarray(m.predict(X), dtype=np.float64) for m in self.estimators_],
                       axis=0)

    def predict_quantiles(self, X, alpha=(0.05, 0.95)) -> pd.DataFrame:
        """Quantiles of the members' equal-weight mixture, in sktime's column format.

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
        levels = check_levels(alpha)
        if not hasattr(self.estimators_[0], "predict_quantiles"):
            raise ValueError(
                f"{type(self.estimators_[0]).__name__} has no predict_quantiles: the "
                "ensemble mixes its members' predictive distributions. Wrap a skfin regressor."
            )
        template = self.estimators_[0].predict_quantiles(X, alpha=levels)
        n, n_targets = len(template), template.shape[1] // len(levels)

        def quantiles_at(member, grid):
            q = member.predict_quantiles(X, alpha=grid).to_numpy(np.float64)
            return q.reshape(n, n_targets, len(grid))

        mixed = _mixture(self.estimators_, quantiles_at, levels, self.grid_size)
        return pd.DataFrame(mixed.reshape(n, -1), index=template.index,
                            columns=template.columns)

    def predict_interval(self, X, coverage=0.9) -> pd.DataFrame:
        """Central intervals of the mixture, columns ``(target, coverage, lower|upper)``.

        Parameters
        ----------
        X : array-like or DataFrame
        coverage : float or list of float, default=0.9

        Returns
        -------
        pandas.DataFrame
        """
        coverages = check_levels(coverage, name="coverage")
        bounds = [b for c in coverages for b in ((1 - c) / 2, (1 + c) / 2)]
        q = self.predict_quantiles(X, alpha=bounds)
        targets = list(dict.fromkeys(q.columns.get_level_values(0)))
        out = {}
        for target in targets:
            for c in coverages:
                out[(target, c, "lower")] = q[(target, (1 - c) / 2)]
                out[(target, c, "upper")] = q[(target, (1 + c) / 2)]
        return pd.DataFrame(out, index=q.index)


class DeepEnsembleForecaster(_Persistence, ParamValidation, BaseForecaster):
    """Deep ensemble of an sktime forecaster: members from different seeds, mixed.

    Parameters
    ----------
    forecaster : sktime forecaster
        Cloned ``n_members`` times, each with its own ``random_state``.
    n_members : int, default=5
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (:func:`member_seeds`).
    grid_size : int, default=100
        Levels per member when mixing quantiles.

    Attributes
    ----------
    forecasters_ : list of forecasters
        The fitted members, in seed order.
    seeds_ : list of int

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import MLPForecaster
    >>> from skfin.uncertainty import DeepEnsembleForecaster
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-600:]
    >>> member = MLPForecaster(window=10, max_epochs=3, output="gaussian")
    >>> ens = DeepEnsembleForecaster(member, n_members=3, random_state=0).fit(r, fh=[1, 2])
    >>> ens.predict_interval(coverage=0.9).shape, len(ens.forecasters_)
    ((2, 2), 3)
    """

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "requires-fh-in-fit": True,
        "X-y-must-have-same-index": True,
        "fit_is_empty": False,
        "capability:random_state": True,
        "capability:update": True,
    }
    _parameter_constraints = {"forecaster": [object], **_PARAMS,
                              "grid_size": [Interval(Integral, 2, None, closed="left")]}

    def __init__(self, forecaster, *, n_members=5, random_state=None, grid_size=100):
        self.forecaster = forecaster
        self.n_members = n_members
        self.random_state = random_state
        self.grid_size = grid_size
        super().__init__()
        # what X and y the members accept, so sktime hands the ensemble what they need
        # (skfin forecasters reading known-future X need it contiguous up to max(fh))
        self.clone_tags(forecaster, ["capability:exogenous", "capability:missing_values",
                                     "requires-fh-in-fit", "capability:multivariate",
                                     "capability:non_contiguous_X",
                                     "X-y-must-have-same-index"])

    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        _check_member(self.forecaster, type(self).__name__)
        self.seeds_ = member_seeds(self.random_state, self.n_members)
        self.forecasters_ = []
        for seed in self.seeds_:
            member = self.forecaster.clone().set_params(random_state=seed)
            self.forecasters_.append(member.fit(y, X=X, fh=fh))
        self._columns = y.columns
        return self

    def _update(self, y, X=None, update_params=True):
        for member in self.forecasters_:
            member.update(y, X=X, update_params=update_params)
        return self

    def _predict(self, fh, X=None):
        preds = [m.predict(fh=fh, X=X) for m in self.forecasters_]
        values = np.mean([np.asarray(p, dtype=np.float64).reshape(len(p), -1) for p in preds],
                         axis=0)
        return pd.DataFrame(values, index=preds[0].index, columns=self._columns)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        levels = [float(a) for a in alpha]
        template = self.forecasters_[0].predict_quantiles(fh=fh, X=X, alpha=levels)
        n, n_targets = len(template), len(self._columns)

        def quantiles_at(member, grid):
            q = member.predict_quantiles(fh=fh, X=X, alpha=grid).to_numpy(np.float64)
            return q.reshape(n, n_targets, len(grid))

        mixed = _mixture(self.forecasters_, quantiles_at, levels, self.grid_size)
        columns = pd.MultiIndex.from_product([self._columns, levels])
        return pd.DataFrame(mixed.reshape(n, -1), index=template.index, columns=columns)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two tiny ensembles of skfin's MLP forecaster (sktime's suite uses short series)."""
        from skfin.forecasting import MLPForecaster
        from skfin.registry import tiny_params

        member = {**tiny_params(MLPForecaster)[1], "max_epochs": 1, "batch_size": 8}
        return [
            {"forecaster": MLPForecaster(**member), "n_members": 2, "random_state": 0},
            {"forecaster": MLPForecaster(**member, output="quantile", valid_fraction=0.0),
             "n_members": 1, "random_state": 1, "grid_size": 20},
        ]
