"""Hyperparameter search with Optuna: default spaces from the registry, pruning per epoch.

What is hand-written, and why: Optuna's own scikit-learn search (``OptunaSearchCV``)
lives in the separate ``optuna-integration`` package and prunes only estimators with
``partial_fit``; sktime's ``ForecastingOptunaSearchCV`` asks and tells whole trials, with
no way to stop one mid-fit. Pruning a neural net needs the validation loss of each epoch,
from inside skorch's training loop: :class:`OptunaSearchCV` hands each fold's fit an
:class:`skfin.engine.OptunaPruning` callback through
:func:`skfin.engine.extra_callbacks` (no constructor parameter, so clones and
pickles are untouched) and records a trial whose loss falls behind as pruned. Sampling,
pruning and the study are Optuna's; the loop over folds and trials is a few lines.
"""

from __future__ import annotations

import time
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skfin._warnings import warn
from skfin.engine.callbacks import OptunaPruning, extra_callbacks

__all__ = ["OptunaSearchCV", "default_search_space"]


def _as_distribution(value):
    """An Optuna distribution from a registry range, a list of choices, or a distribution."""
    from optuna.distributions import (BaseDistribution, CategoricalDistribution,
                                      FloatDistribution, IntDistribution)

    from skfin.registry import Choice, FloatRange, IntRange

    if isinstance(value, BaseDistribution):
        return value
    if isinstance(value, IntRange):
        return IntDistribution(value.low, value.high, log=value.log)
    if isinstance(value, FloatRange):
        return FloatDistribution(value.low, value.high, log=value.log)
    if isinstance(value, Choice):
        return CategoricalDistribution(value.values)
    if isinstance(value, (list, tuple)):
        return CategoricalDistribution(tuple(value))
    raise TypeError(f"Cannot search over {value!r}: give an optuna distribution, a "
                    "skfin.registry IntRange, FloatRange or Choice, or a list of values.")


def _find_faces(estimator) -> list[tuple[str, object]]:
    """``(prefix, face)`` for every registered skfin face in ``estimator`` (itself included)."""
    from skfin.registry import ARCHITECTURES

    faces = {a.regressor: a for a in ARCHITECTURES} | {a.forecaster: a for a in ARCHITECTURES}
    found = [("", estimator)] if type(estimator) in faces else []
    if hasattr(estimator, "get_params"):
        for name, value in estimator.get_params(deep=True).items():
            if type(value) in faces and not isinstance(value, type):
                found.append((f"{name}__", value))
    return [(prefix, face, faces[type(face)]) for prefix, face in found]


def default_search_space(estimator) -> dict:
    """The registry's default Optuna search space for the skfin net in ``estimator``.

    Parameters
    ----------
    estimator : estimator
        A skfin regressor or forecaster, or a meta-estimator holding exactly one
        (``Pipeline``, ``TransformedTargetRegressor``, sktime's
        ``TransformedTargetForecaster``...).

    Returns
    -------
    dict
        ``{parameter: optuna distribution}``: the architecture's
        ``space`` of its :class:`skfin.registry.Architecture`, with the parameter names prefixed by
        the path to the net (``lstmregressor__hidden_size`` in a pipeline), ready for
        :class:`OptunaSearchCV` or sktime's ``ForecastingOptunaSearchCV``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfin.regressors import TCNRegressor
    >>> space = default_search_space(make_pipeline(StandardScaler(), TCNRegressor()))
    >>> sorted(space)[:3]
    ['tcnregressor__batch_size', 'tcnregressor__channels', 'tcnregressor__dropout']
    >>> space["tcnregressor__lr"]
    FloatDistribution(high=0.01, log=True, low=0.0001, step=None)
    """
    found = _find_faces(estimator)
    if len(found) != 1:
        names = [type(face).__name__ for _, face, _ in found]
        raise ValueError(
            f"default_search_space needs exactly one skfin net in {type(estimator).__name__}; "
            f"found {len(found)} ({names}). Pass param_distributions explicitly.")
    prefix, _, arch = found[0]
    return {f"{prefix}{name}": _as_distribution(value) for name, value in arch.space.items()}


class OptunaSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Optuna search over a skfin estimator's hyperparameters, pruning bad trials per epoch.

    Each trial samples a configuration (``study.ask``), fits a clone of ``estimator`` on
    every training fold of ``cv`` in turn and scores it on the test fold; the trial's value
    is the mean test score. During each fold's fit an
    :class:`skfin.engine.OptunaPruning` callback reports the engine's validation
    loss after every epoch at step ``fold * max_epochs + epoch - 1`` (a step is the same
    fold and epoch in every trial), and the pruner may stop the trial there: it is then
    recorded as pruned, with the folds it finished. The best configuration is refit on all
    the data (without pruning) as ``best_estimator_``.

    The study *minimises* the negated mean score, because its pruner compares validation
    losses, where lower is better; ``trials_``, ``cv_results_`` and ``best_score_`` show
    scores with scikit-learn's sign (greater is better).

    Parameters
    ----------
    estimator : estimator
        A skfin regressor, or a meta-estimator (``Pipeline``...) holding one. Other
        scikit-learn regressors are searched too, without pruning.
    param_distributions : dict or None, default=None
        ``{parameter: distribution}``; a distribution is an Optuna distribution, a
        :class:`skfin.registry.IntRange`, ``FloatRange`` or ``Choice``, or a list of
        values. None searches the registry's default space of the estimator's
        architecture (:func:`default_search_space`).
    n_trials : int, default=20
        Trials to run (fewer if ``timeout`` ends the search first).
    cv : int, cross-validation generator or iterable, default=None
        Any scikit-learn splitter, e.g. :class:`skfin.model_selection.PurgedWalkForward`
        (None: ``PurgedWalkForward(n_splits=5)``; an int: that many walk-forward folds).
        Folds run one after the other, in ``split`` order.
    scoring : str, callable or None, default=None
        A scikit-learn scorer (greater is better); None uses ``estimator.score``.
    pruner : optuna.pruners.BasePruner or None, default=None
        None: ``MedianPruner(n_startup_trials=5)``, which prunes a trial whose loss at a step
        is worse than the median of earlier trials' at that step, once five trials have
        finished. ``optuna.pruners.NopPruner()`` switches pruning off.
    sampler : optuna.samplers.BaseSampler or None, default=None
        None: ``TPESampler(seed=random_state)``.
    timeout : float or None, default=None
        Stop starting new trials after this many seconds.
    refit : bool, default=True
        Refit the best configuration on the whole data as ``best_estimator_``.
    error_score : "raise" or float, default=np.nan
        A fit or score that raises: re-raise, or record the trial as failed ("FAIL"), with
        this score for that fold and the folds after it. Failed trials are never best.
    random_state : int, RandomState instance or None, default=None
        Seeds the default sampler (an int; a RandomState draws one).
    verbose : int, default=0
        0 keeps Optuna's per-trial log lines quiet during ``fit``.

    Attributes
    ----------
    study_ : optuna.study.Study
        The study (in memory).
    trials_ : pandas.DataFrame
        One row per trial: ``number``, ``state`` ("COMPLETE", "PRUNED" or "FAIL"),
        ``params_<name>``, ``mean_test_score``, ``std_test_score`` (NaN for a pruned
        trial), ``split<k>_test_score`` (NaN for folds not reached), ``last_step`` (the last step
        reported to the pruner) and ``duration`` in seconds.
    cv_results_ : dict of numpy arrays
        ``trials_`` in scikit-learn's format (``params``, ``mean_test_score``,
        ``rank_test_score``, ``split<k>_test_score``...).
    best_params_ : dict
        The best completed trial's parameters.
    best_score_ : float
        Its mean test score.
    best_index_ : int
        Its row in ``trials_``.
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, refit on all the data (if ``refit``).
    n_pruned_ : int
        Trials pruned.
    pruned_share_ : float
        ``n_pruned_`` over the trials run.

    See Also
    --------
    default_search_space : The registry's space for an estimator.
    sklearn.model_selection.GridSearchCV : Exhaustive search; runs on joblib's Dask and Ray
        backends.

    Notes
    -----
    Pruning needs the engine's validation tail (``valid_fraction > 0``); without one the
    callback reports the training loss. With early stopping a fold may end before
    ``max_epochs``: its later steps are simply not reported. A pruned trial's last step
    says how far it got, so ``fold = last_step // max_epochs``.

    Examples
    --------
    >>> import numpy as np
    >>> import optuna
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import OptunaSearchCV, PurgedWalkForward
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-400:]
    >>> X, y = np.abs(r[:-1, None]), np.abs(r[1:])            # |return| today -> tomorrow
    >>> search = OptunaSearchCV(
    ...     MLPRegressor(window=5, max_epochs=2, random_state=0),
    ...     {"hidden_size": [4, 8], "lr": optuna.distributions.FloatDistribution(1e-3, 1e-2)},
    ...     n_trials=3, cv=PurgedWalkForward(n_splits=2, test_size=50),
    ...     scoring="neg_mean_absolute_error", random_state=0).fit(X, y)
    >>> len(search.trials_), sorted(search.best_params_)
    (3, ['hidden_size', 'lr'])
    >>> search.best_estimator_.predict(X[-1:]).shape
    (1,)
    """

    def __init__(self, estimator, param_distributions=None, *, n_trials=20, cv=None,
                 scoring=None, pruner=None, sampler=None, timeout=None, refit=True,
                 error_score=np.nan, random_state=None, verbose=0):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.pruner = pruner
        self.sampler = sampler
        self.timeout = timeout
        self.refit = refit
        self.error_score = error_score
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.regressor_tags = inner.regressor_tags
        return tags

    # -- set-up ---------------------------------------------------------------------
    def _distributions(self) -> dict:
        if self.param_distributions is None:
            return default_search_space(self.estimator)
        if not isinstance(self.param_distributions, dict):
            raise TypeError("param_distributions must be a dict {parameter: distribution} or "
                            f"None; got {type(self.param_distributions).__name__}.")
        return {k: _as_distribution(v) for k, v in self.param_distributions.items()}

    def _sampler(self):
        import optuna

        if self.sampler is not None:
            return self.sampler
        seed = self.random_state
        if seed is not None and not isinstance(seed, Integral):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        return optuna.samplers.TPESampler(seed=seed)

    def _cv(self):
        from skfin.model_selection._split import PurgedWalkForward

        if self.cv is None:
            return PurgedWalkForward(n_splits=5)
        if isinstance(self.cv, Integral):
            return PurgedWalkForward(n_splits=int(self.cv))
        return check_cv(self.cv)

    # -- the search -----------------------------------------------------------------
    def fit(self, X, y=None, *, groups=None, **fit_params):
        """Run ``n_trials`` trials, then refit the best configuration.

        Parameters
        ----------
        X : array-like or DataFrame
            Rows in time order, as the estimator takes them.
        y : array-like or Series
        groups : array-like, default=None
            Passed to ``cv.split``.
        **fit_params
            Passed to the estimator's ``fit`` on every fold (e.g. a pipeline step's
            ``lstmregressor__sample_weight``), indexed by fold when they have one row per
            sample.

        Returns
        -------
        self
        """
        import optuna

        if not isinstance(self.n_trials, Integral) or self.n_trials < 1:
            raise ValueError(f"n_trials must be a positive int; got {self.n_trials!r}.")
        if not (self.error_score == "raise" or isinstance(self.error_score, (int, float))):
            raise ValueError("error_score must be 'raise' or a number; got "
                             f"{self.error_score!r}.")
        distributions = self._distributions()
        cv = self._cv()
        folds = list(cv.split(X, y, groups))
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5) if self.pruner is None \
            else self.pruner
        verbosity = optuna.logging.get_verbosity()
        if not self.verbose:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(direction="minimize", sampler=self._sampler(),
                                        pruner=pruner)
            rows = []
            start = time.monotonic()
            for _ in range(self.n_trials):
                if self.timeout is not None and time.monotonic() - start > self.timeout:
                    break
                rows.append(self._run_trial(study, distributions, folds, scorer, X, y,
                                            fit_params))
        finally:
            optuna.logging.set_verbosity(verbosity)
        self.study_ = study
        self.trials_ = self._table(rows, len(folds))
        self.cv_results_ = self._cv_results(self.trials_, len(folds))
        self.n_pruned_ = int((self.trials_["state"] == "PRUNED").sum())
        self.pruned_share_ = self.n_pruned_ / len(self.trials_)
        complete = self.trials_.index[self.trials_["state"] == "COMPLETE"]
        if len(complete) == 0:
            raise ValueError(
                f"No trial of {len(self.trials_)} completed ({self.n_pruned_} pruned, the rest "
                "failed): run more trials, raise the pruner's n_startup_trials, or set "
                "error_score='raise' to see why the fits fail.")
        self.best_index_ = int(self.trials_.loc[complete, "mean_test_score"].idxmax())
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        self.best_score_ = float(self.trials_.loc[self.best_index_, "mean_test_score"])
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(X, y, **fit_params)
        return self

    def _run_trial(self, study, distributions, folds, scorer, X, y, fit_params) -> dict:
        import optuna
        from optuna.trial import TrialState

        trial = study.ask(distributions)
        params = {name: trial.params[name] for name in distributions}
        row = {"number": trial.number, "params": params, "scores": []}
        began = time.monotonic()
        n_samples = len(X)
        state, value = TrialState.COMPLETE, None
        try:
            for k, (train, test) in enumerate(folds):
                est = clone(self.estimator).set_params(**params)
                kwargs = {key: _safe_indexing(v, train)
                          if hasattr(v, "__len__") and len(v) == n_samples else v
                          for key, v in fit_params.items()}
                with extra_callbacks(("optuna_pruning", OptunaPruning(trial, fold=k))):
                    est.fit(_safe_indexing(X, train),
                            None if y is None else _safe_indexing(y, train), **kwargs)
                row["scores"].append(float(scorer(est, _safe_indexing(X, test),
                                                  None if y is None else _safe_indexing(y, test))))
            value = -float(np.mean(row["scores"]))
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except Exception as exc:
            if self.error_score == "raise":
                study.tell(trial, state=TrialState.FAIL)
                raise
            warn(f"Trial {trial.number} failed with {params}: "
                 f"{type(exc).__name__}: {exc}", UserWarning)
            state = TrialState.FAIL
            row["scores"].append(float(self.error_score))
        study.tell(trial, value, state=state)
        frozen = study.trials[trial.number]
        steps = frozen.intermediate_values
        row.update(state=state.name, duration=time.monotonic() - began,
                   last_step=max(steps) if steps else np.nan)
        return row

    @staticmethod
    def _table(rows, n_folds) -> pd.DataFrame:
        records = []
        for row in rows:
            failed = row["state"] == "FAIL"           # its last score is error_score
            pad = row["scores"][-1] if failed else np.nan
            scores = row["scores"] + [pad] * (n_folds - len(row["scores"]))
            scored = row["state"] == "COMPLETE" or failed
            record = {"number": row["number"], "state": row["state"]}
            record.update({f"params_{k}": v for k, v in row["params"].items()})
            record["mean_test_score"] = float(np.mean(scores)) if scored else np.nan
            record["std_test_score"] = float(np.std(scores)) if scored else np.nan
            record.update({f"split{k}_test_score": s for k, s in enumerate(scores)})
            record.update(last_step=row["last_step"], duration=row["duration"],
                          params=row["params"])
            records.append(record)
        return pd.DataFrame.from_records(records)

    @staticmethod
    def _cv_results(table, n_folds) -> dict:
        scores = table["mean_test_score"]
        rank = scores.rank(ascending=False, method="min", na_option="bottom").astype(int)
        results = {"params": list(table["params"]),
                   "state": table["state"].to_numpy(),
                   "mean_test_score": scores.to_numpy(),
                   "std_test_score": table["std_test_score"].to_numpy(),
                   "rank_test_score": rank.to_numpy(),
                   "mean_fit_time": table["duration"].to_numpy() / max(n_folds, 1)}
        for k in range(n_folds):
            results[f"split{k}_test_score"] = table[f"split{k}_test_score"].to_numpy()
        for column in table.columns:
            if column.startswith("params_"):
                results[f"param_{column[len('params_'):]}"] = table[column].to_numpy()
        return results

    # -- the best estimator ---------------------------------------------------------
    def _has(name):
        def check(self):
            if hasattr(self, "best_estimator_"):
                return hasattr(self.best_estimator_, name)
            return hasattr(self.estimator, name)
        return check

    @available_if(_has("predict"))
    def predict(self, X, **kwargs):
        """``best_estimator_.predict``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X, **kwargs)

    @available_if(_has("predict_interval"))
    def predict_interval(self, X, **kwargs):
        """``best_estimator_.predict_interval``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_interval(X, **kwargs)

    @available_if(_has("predict_quantiles"))
    def predict_quantiles(self, X, **kwargs):
        """``best_estimator_.predict_quantiles``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_quantiles(X, **kwargs)

    def score(self, X, y=None):
        """The search's scorer on ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return check_scoring(self.estimator, scoring=self.scoring)(self.best_estimator_, X, y)

    del _has
