"""Regime-weighted ensembles: member weights that follow the volatility regime.

Which forecaster is best changes with the market: a slow average of volatility wins in calm
periods, the last value after a shock. A regime ensemble keeps **one weight vector per
regime** and, at each forecast origin ``t``, combines the members with the weights
``sum_k p_t(k) w_k``, where ``p_t`` are the regime probabilities at ``t``.

* **Regimes** come from a pluggable model with ``fit(signal)`` and ``predict_proba(signal)``
  (rows: time; columns: regimes). The default, :class:`MarkovSwitchingRegimes`, is a
  Markov-switching model with a regime-dependent mean and variance (statsmodels'
  ``MarkovRegression``, Hamilton 1989) on a volatility signal (realized volatility, say).
  Its regime probabilities are the **filtered** ones, ``P(s_t | signal_1..t)``, never the
  smoothed ones, so a probability at ``t`` reads the signal up to ``t`` only; on new rows
  the filter runs forward with the parameters fitted on the training signal. (The
  parameters themselves are estimated on the whole training signal: inside the training
  period the states are causal, the means and variances of the regimes are not.)
* **Weights**: ``w_k = softmax(z_k)`` (>= 0, sum 1), learned by minimising the
  regime-probability-weighted mean squared error ``sum_t p_t(k) |y_t - F_t w_k|^2`` of the
  members' **out-of-sample** forecasts ``F_t`` (:func:`fit_regime_weights`, with
  scipy's L-BFGS-B). The out-of-sample forecasts come from a walk-forward inside the
  training data: on the sklearn face, members refitted on the training folds of a
  time-ordered splitter (``TimeSeriesSplit(cv)``) forecast its test folds; on the sktime
  face, members fitted on the first half of the series are moved forward through the
  second half without refitting (sktime's ``evaluate(strategy="no-update_params")``) and
  forecast ``fh`` from up to ``n_origins`` (50) origins. Then the members are refitted on all the data.
  A regime the training data never visit keeps equal weights (its loss has no weight).
* **Quantiles and intervals** use the same effective weights on the members' quantiles
  (:func:`~skfin.ensembles.vincentise`), so they need members with quantiles; members
  without raise a ValueError naming them, and ``predict`` still works.

Written here: scikit-learn's ``VotingRegressor`` and sktime's ``EnsembleForecaster`` take
fixed weights, sktime's ``AutoEnsembleForecaster`` learns one vector for all periods, and
no library conditions them on a filtered regime.

References
----------
Hamilton (1989), "A new approach to the economic analysis of nonstationary time series and
the business cycle", Econometrica.
Guidolin and Timmermann (2009), "Forecasts of US short-term interest rates: a flexible
forecast combination approach", Journal of Econometrics.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import softmax
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import TimeSeriesSplit
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from skfin._checks import check_finite
from skfin.ensembles._quantile import (
    _columns,
    _SklearnEnsemble,
    _SktimeEnsemble,
    _stack,
    _test_members,
)

__all__ = ["MarkovSwitchingRegimes", "RegimeEnsembleForecaster", "RegimeEnsembleRegressor",
           "fit_regime_weights"]


class MarkovSwitchingRegimes(BaseEstimator):
    """Volatility regimes from a Markov-switching model, as causal (filtered) probabilities.

    A Gaussian Markov-switching model whose mean and variance depend on the regime
    (statsmodels' ``MarkovRegression(..., switching_variance=True)``), fitted by maximum
    likelihood on the standardised signal. Regimes are numbered by their mean, from the
    calmest (0) to the most volatile.

    Parameters
    ----------
    n_regimes : int, default=2
        Number of regimes, 2 to 4.
    min_samples_per_regime : int, default=5
        ``fit`` refuses a signal shorter than ``n_regimes * min_samples_per_regime`` (a
        floor against degenerate fits; a useful estimate needs hundreds of observations).
    method : {"mle", "em"}, default="mle"
        How the parameters are estimated. "mle": statsmodels' default, a few EM steps then
        quasi-Newton maximum likelihood (numerical gradients: about a second for 3 regimes
        on 500 days). "em": EM steps only (Hamilton's filter and Kim's smoother with
        closed-form updates), 5 to 25 times faster; it can stop at a lower local maximum
        of the likelihood, mostly with 3 or 4 regimes.
    max_iter : int, default=50
        Most EM steps of ``method="em"`` (it stops earlier once the log-likelihood
        changes by less than 1e-8).

    Attributes
    ----------
    params_ : ndarray
        The fitted parameters, in statsmodels' order (on the standardised signal).
    means_ : ndarray of shape (n_regimes,)
        Mean of the signal in each regime (signal units), increasing.
    transition_ : ndarray of shape (n_regimes, n_regimes)
        ``transition_[i, j]``: probability of moving from regime ``i`` to regime ``j``.

    Examples
    --------
    The S&P 500 5-day realized volatility in 2007-2008: calm until the summer of 2007, the
    volatile regime in October 2008.

    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import MarkovSwitchingRegimes
    >>> y, _, dates, _ = load_target("sp500", "realized_vol")
    >>> vol = y.set_axis(dates).loc["2007":"2008"]
    >>> regimes = MarkovSwitchingRegimes().fit(vol)
    >>> p = regimes.predict_proba(vol)
    >>> p.shape, bool(p[vol.index.get_loc("2008-10-10"), 1] > 0.99)
    ((504, 2), True)
    >>> regimes.means_.round(1)
    array([2.3, 8.7])
    """

    _parameter_constraints = {
        "n_regimes": [Interval(Integral, 2, 4, closed="both")],
        "min_samples_per_regime": [Interval(Integral, 2, None, closed="left")],
        "method": [StrOptions({"mle", "em"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, n_regimes=2, *, min_samples_per_regime=5, method="mle", max_iter=50):
        self.n_regimes = n_regimes
        self.min_samples_per_regime = min_samples_per_regime
        self.method = method
        self.max_iter = max_iter

    def _model(self, signal):
        try:
            from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression
        except ImportError as err:
            raise ImportError(
                f"{type(self).__name__} (the default regime model of the regime ensembles) "
                'needs statsmodels, which is not installed: pip install "skfin[regimes]", '
                "or pass your own regime_model= with fit and predict_proba."
            ) from err
        values = np.asarray(signal, dtype=np.float64).ravel()
        check_finite(values, f"The regime signal of {type(self).__name__}")
        return MarkovRegression((values - self._center) / self._scale,
                                k_regimes=self.n_regimes, switching_variance=True)

    def fit(self, signal, y=None):
        """Fit the model's parameters on a volatility signal.

        Parameters
        ----------
        signal : array-like of shape (n_samples,)
            In time order, finite (e.g. realized volatility).
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        values = np.asarray(signal, dtype=np.float64).ravel()
        need = self.n_regimes * self.min_samples_per_regime
        if len(values) < need:
            raise ValueError(
                f"The regime signal is too short (n_samples={len(values)}) for a "
                f"{self.n_regimes}-regime Markov-switching model: it needs at least {need} "
                f"(n_regimes * min_samples_per_regime). Pass a longer series or fewer regimes."
            )
        self._center, self._scale = float(np.mean(values)), float(np.std(values)) or 1.0
        model = self._model(values)
        try:
            if self.method == "em":
                # statsmodels' own EM steps (its fit runs a few before quasi-Newton), until
                # the log-likelihood moves by less than 1e-8 or max_iter
                params = model._fit_em(maxiter=self.max_iter, tolerance=1e-8,
                                       return_params=True)
            else:
                params = model.fit(disp=False).params
        except (np.linalg.LinAlgError, ValueError) as err:
            # statsmodels' EM divides by a regime's mass, which collapses on a signal of a
            # few distinct values, or ends on a transition probability of exactly 0 or 1,
            # which its quasi-Newton stage cannot start from: maximise without EM
            if not isinstance(err, np.linalg.LinAlgError) and "untransform" not in str(err):
                raise
            params = model.fit(disp=False, em_iter=0).params
        self.params_ = np.asarray(params)
        names = model.param_names
        means = self.params_[[names.index(f"const[{k}]") for k in range(self.n_regimes)]]
        self._order = np.argsort(means)
        self.means_ = self._center + self._scale * means[self._order]
        # statsmodels' regime_transition[i, j] is P(s_t = i | s_{t-1} = j): transpose it
        transition = model.regime_transition_matrix(self.params_)[..., 0].T
        self.transition_ = transition[np.ix_(self._order, self._order)]
        return self

    def predict_proba(self, signal) -> np.ndarray:
        """Filtered regime probabilities: row ``t`` uses ``signal[: t + 1]`` only.

        Parameters
        ----------
        signal : array-like of shape (n_samples,)
            The signal from the start of the period to filter (for new data, the training
            signal followed by the new observations).

        Returns
        -------
        ndarray of shape (n_samples, n_regimes)
        """
        check_is_fitted(self, "params_")
        result = self._model(signal).filter(self.params_)
        return np.asarray(result.filtered_marginal_probabilities)[:, self._order]


def fit_regime_weights(forecasts, y, probabilities) -> np.ndarray:
    """One softmax weight vector per regime, minimising the regime-weighted squared error.

    For regime ``k``: ``w_k = softmax(z_k)`` minimises
    ``sum_t p_t(k) mean_j (y_tj - sum_m w_km F_tjm)^2`` (scipy's L-BFGS-B from equal
    weights). A regime with no probability mass keeps equal weights.

    Parameters
    ----------
    forecasts : array-like of shape (n_samples, n_members) or (n_samples, n_outputs, n_members)
        The members' out-of-sample forecasts.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        What they forecast.
    probabilities : array-like of shape (n_samples, n_regimes)
        Regime probabilities at each forecast's origin.

    Returns
    -------
    ndarray of shape (n_regimes, n_members)
        Non-negative rows summing to 1.

    Examples
    --------
    Two forecasts of the S&P 500 5-day realized volatility (yesterday's value and the
    1-year mean), with the regime known (probability 1) and split at its median:

    >>> import numpy as np
    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import fit_regime_weights
    >>> y, _, _, _ = load_target("sp500", "realized_vol")
    >>> v = y.to_numpy()
    >>> F = np.c_[v[251:-1], np.convolve(v, np.ones(252) / 252, "valid")[:-1]]
    >>> high = F[:, 0] > np.median(F[:, 0])
    >>> w = fit_regime_weights(F, v[252:], np.c_[~high, high].astype(float))
    >>> w.sum(axis=1), bool((w >= 0).all())
    (array([1., 1.]), True)
    """
    F = np.asarray(forecasts, dtype=np.float64)
    Y = np.asarray(y, dtype=np.float64).reshape(len(F), -1)          # [n, T]
    F = F.reshape(len(F), Y.shape[1], -1)                             # [n, T, M]
    P = np.asarray(probabilities, dtype=np.float64)
    n_members = F.shape[-1]
    scale = float(np.mean((Y - Y.mean()) ** 2)) or 1.0    # loss of order 1 for the optimiser

    def loss(z, gram, cross, total):
        # the weighted squared error as a quadratic form in w: each step costs M^2, not n
        w = softmax(z)
        grad_w = 2 * (gram @ w - cross)
        return w @ gram @ w - 2 * cross @ w + total, w * (grad_w - w @ grad_w)

    weights = np.full((P.shape[1], n_members), 1.0 / n_members)
    for k in range(P.shape[1]):
        p = P[:, k]
        if p.sum() > 1e-8:
            norm = p.sum() * Y.shape[1] * scale
            gram = np.einsum("n,ntm,ntl->ml", p, F, F) / norm               # [M, M]
            cross = np.einsum("n,ntm,nt->m", p, F, Y) / norm                # [M]
            total = float(np.einsum("n,nt,nt->", p, Y, Y)) / norm
            with threadpool_limits(1, user_api="blas"):   # M-sized steps: threads only spin
                z = minimize(loss, np.zeros(n_members), args=(gram, cross, total), jac=True,
                             method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-10}).x
            weights[k] = softmax(z)
    return weights


def _regime_model(owner) -> BaseEstimator:
    if owner.regime_model is None:
        return MarkovSwitchingRegimes(owner.n_regimes)
    return clone(owner.regime_model)


def _regime_frames(owner, probabilities, index, names) -> None:
    """``regime_weights_`` and ``regime_probabilities_`` from the fitted arrays."""
    regimes = pd.Index([f"regime_{k}" for k in range(probabilities.shape[1])], name="regime")
    owner.regime_weights_ = pd.DataFrame(owner._weights, index=regimes,
                                         columns=pd.Index(names, name="member"))
    owner.regime_probabilities_ = pd.DataFrame(probabilities, index=index, columns=regimes)


_PARAMS = {
    "regime_model": [HasMethods(["fit", "predict_proba"]), None],
    "n_regimes": [Interval(Integral, 2, 4, closed="both")],
    "regime_column": [str, Interval(Integral, 0, None, closed="left"), None],
}


class RegimeEnsembleRegressor(_SklearnEnsemble):
    """Regime-weighted ensemble of scikit-learn regressors (the sklearn face).

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members: any scikit-learn regressors (skfin's included), fitted on the same
        ``(X, y)``. Quantiles and intervals need members with ``predict_quantiles``.
    regime_model : estimator or None, default=None
        Has ``fit(signal)`` and a causal ``predict_proba(signal)`` (rows: time, columns:
        regimes). None: :class:`MarkovSwitchingRegimes` with ``n_regimes``.
    n_regimes : int, default=2
        Regimes of the default regime model, 2 to 4 (a given ``regime_model`` sets its own).
    regime_column : str, int or None, default=None
        The column of ``X`` the regime model reads (a volatility measure observed at the
        row's time: realized volatility, a range, VIX); a name or a position. None: the
        first column.
    cv : int or splitter, default=5
        Time-ordered splits of the training rows for the members' out-of-sample forecasts:
        ``TimeSeriesSplit(cv)`` for an int, or any splitter whose test rows come after
        their training rows (``skfin.model_selection``'s purged splitters, say).

    Attributes
    ----------
    estimators_ : list of regressors
        The members, fitted on all the rows.
    named_estimators_ : dict
    regime_model_ : estimator
        The fitted regime model.
    regime_weights_ : pandas.DataFrame
        Regimes x members: each row's weights are >= 0 and sum to 1.
    regime_probabilities_ : pandas.DataFrame
        Filtered regime probabilities of the training rows.

    Notes
    -----
    A row's regime probability is filtered from the rows before it: ``predict(X)`` runs
    the filter over the training rows first when ``X`` continues or repeats them (pandas
    input whose first label is in, or after, the training index), otherwise from the
    model's initial state at ``X``'s first row. So, as for the nets' windows, rows are a
    time series: reordering them changes the forecasts.

    See Also
    --------
    skfin.ensembles.RegimeEnsembleForecaster : the sktime face.
    skfin.plotting.plot_regime_weights : the effective weights over time.

    Examples
    --------
    Tomorrow's S&P 500 5-day realized volatility from today's and its 1-month mean, by a
    ridge regression and a nearest-neighbours regressor, weighted by the regime of today's
    volatility:

    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.neighbors import KNeighborsRegressor
    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import RegimeEnsembleRegressor
    >>> vol, _, _, _ = load_target("sp500", "realized_vol", last=1500)
    >>> X = pd.DataFrame({"vol": vol, "month": vol.rolling(21).mean()}).iloc[20:-1]
    >>> y = vol.shift(-1).iloc[20:-1]
    >>> ens = RegimeEnsembleRegressor([("ridge", Ridge()),
    ...                                ("knn", KNeighborsRegressor(50))]).fit(X, y)
    >>> ens.regime_weights_.sum(axis=1).round(6).tolist(), ens.predict(X.tail(3)).shape
    ([1.0, 1.0], (3,))
    """

    _parameter_constraints = {"estimators": [list], **_PARAMS, "cv": ["cv_object"]}

    def __init__(self, estimators, *, regime_model=None, n_regimes=2, regime_column=None,
                 cv=5):
        self.estimators = estimators
        self.regime_model = regime_model
        self.n_regimes = n_regimes
        self.regime_column = regime_column
        self.cv = cv

    def _signal(self, X_checked) -> np.ndarray:
        column = 0 if self.regime_column is None else self.regime_column
        if isinstance(column, str):
            names = list(getattr(self, "feature_names_in_", []))
            if column not in names:
                raise ValueError(
                    f"regime_column={column!r} is not a column of X (columns: {names}). "
                    "Name a column of the DataFrame passed to fit, or give a position."
                )
            column = names.index(column)
        if column >= X_checked.shape[1]:
            raise ValueError(
                f"regime_column={column} is out of range for X with {X_checked.shape[1]} "
                "columns."
            )
        signal = np.asarray(X_checked[:, column], dtype=np.float64)
        check_finite(signal, f"The regime column of X ({type(self).__name__})")
        return signal

    def _out_of_sample(self, X, y, n_outputs: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows forecast out of sample and the members' forecasts there ``[r, T, M]``.

        ``X`` and ``y`` are the pandas objects passed to fit (the members may read their
        index and names), else the checked arrays."""
        cv = TimeSeriesSplit(self.cv) if isinstance(self.cv, Integral) else self.cv
        names = list(self.named_estimators)
        rows, forecasts = [], []
        for train, test in cv.split(np.empty((len(y), 1))):
            X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
            y_train = _safe_indexing(y, train)
            preds = _stack([_columns(clone(est).fit(X_train, y_train).predict(X_test))
                            for _, est in self.estimators], names, "predictions")  # [M, r, T]
            if preds.shape[-1] != n_outputs:
                raise ValueError(
                    f"The members forecast {preds.shape[-1]} output(s) per row but y has "
                    f"{n_outputs}: combine members fitted for the same horizon."
                )
            rows.append(test)
            forecasts.append(np.moveaxis(preds, 0, -1))
        if not rows:
            raise ValueError(f"cv={self.cv!r} gave no split: the weights need out-of-sample "
                             "forecasts. Pass more rows or another splitter.")
        return np.concatenate(rows), np.concatenate(forecasts)

    def fit(self, X, y):
        """Fit the regime model, learn the weights out of sample, refit the members.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows in time order, passed to the members unchanged.
        y : array-like or Series of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        self._validate_params()
        names = self._check_members()
        X_checked, y_checked = self._check_X(X, y, reset=True)
        signal = self._signal(X_checked)
        self.regime_model_ = _regime_model(self).fit(signal)
        probabilities = self.regime_model_.predict_proba(signal)
        Y = np.asarray(y_checked, dtype=np.float64).reshape(len(X_checked), -1)
        rows, forecasts = self._out_of_sample(
            X if isinstance(X, pd.DataFrame) else X_checked,
            y if isinstance(y, (pd.Series, pd.DataFrame)) else y_checked, Y.shape[1])
        self._weights = fit_regime_weights(forecasts, Y[rows], probabilities[rows])
        self._context = (signal, X.index if isinstance(X, pd.DataFrame) else None)
        _regime_frames(self, probabilities, self._context[1], names)
        self._fit_members(X, y)
        return self

    def _probabilities(self, X) -> np.ndarray:
        """Filtered regime probabilities of ``X``'s rows (see the class's Notes)."""
        signal = self._signal(self._check_X(X, reset=False))
        context, index = self._context
        start = 0
        if index is not None and isinstance(X, pd.DataFrame) and len(X):
            position = index.get_indexer(X.index[:1])[0]
            try:
                start = position if position >= 0 else (len(index) if X.index[0] > index[-1]
                                                         else 0)
            except TypeError:                   # labels of another kind: not a continuation
                start = 0
        signal = np.concatenate([context[:start], signal])
        return self.regime_model_.predict_proba(signal)[start:]

    def _member_weights(self, X) -> np.ndarray:
        return self._probabilities(X) @ self._weights                  # [n, M]


class RegimeEnsembleForecaster(_SktimeEnsemble):
    """Regime-weighted ensemble of sktime forecasters (the sktime face).

    Parameters
    ----------
    forecasters : list of (str, forecaster)
        The members: any sktime forecasters (skfin's included), fitted on the same ``y``,
        ``X`` and ``fh``. Quantiles and intervals need members with ``predict_quantiles``.
    regime_model : estimator or None, default=None
        Has ``fit(signal)`` and a causal ``predict_proba(signal)``. None:
        :class:`MarkovSwitchingRegimes` with ``n_regimes``.
    n_regimes : int, default=2
        Regimes of the default regime model, 2 to 4.
    regime_column : str or None, default=None
        The column (of ``X``, else of ``y``) the regime model reads. None: the first column
        of ``y`` (say, the realized volatility being forecast).
    cv : sktime splitter or None, default=None
        Walk-forward inside the training series for the members' out-of-sample forecasts
        (members fitted on its first window, then only updated). None: an expanding window
        from half the series, up to ``n_origins`` origins evenly spaced over the second half.
    n_origins : int, default=50
        Most origins of the default walk-forward (``cv=None``): each costs one forecast
        per member, so fewer make the fit cheaper and the weights noisier.
    n_jobs : int or None, default=None
        Members fitted in parallel by joblib.

    Attributes
    ----------
    forecasters_ : list of (str, forecaster)
        The members, fitted on the whole series.
    regime_model_ : estimator
    regime_weights_ : pandas.DataFrame
        Regimes x members: each row's weights are >= 0 and sum to 1.
    regime_probabilities_ : pandas.DataFrame
        Filtered regime probabilities over the training series.

    Notes
    -----
    A forecast from cutoff ``t`` weights the members with the regime probabilities filtered
    up to ``t`` (for every step of ``fh``). ``update`` moves the members (as sktime's
    ``EnsembleForecaster``) and the filter forward; the weights stay as fitted.

    See Also
    --------
    skfin.ensembles.RegimeEnsembleRegressor : the sklearn face.
    skfin.plotting.plot_regime_weights : the effective weights over time.

    Examples
    --------
    The S&P 500 5-day realized volatility one to five days ahead, from the last value and
    the 1-month mean, weighted by the regime of the volatility itself:

    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import RegimeEnsembleForecaster
    >>> y, _, _, _ = load_target("sp500", "realized_vol", last=1000)
    >>> ens = RegimeEnsembleForecaster([
    ...     ("last", NaiveForecaster()),
    ...     ("month", NaiveForecaster(strategy="mean", window_length=21))]).fit(y, fh=[1, 5])
    >>> ens.regime_weights_.sum(axis=1).round(6).tolist(), ens.predict().shape
    ([1.0, 1.0], (2,))
    """

    _tags = {**_SktimeEnsemble._tags, "requires-fh-in-fit": True}
    # the regime filter reads all the data seen at predict time (fit and update)
    _config = {"remember_data": True}
    _parameter_constraints = {"forecasters": [list], **_PARAMS, "cv": [object],
                              "n_origins": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, forecasters, *, regime_model=None, n_regimes=2, regime_column=None,
                 cv=None, n_origins=50, n_jobs=None):
        self.regime_model = regime_model
        self.n_regimes = n_regimes
        self.regime_column = regime_column
        self.cv = cv
        self.n_origins = n_origins
        super().__init__(forecasters=forecasters, n_jobs=n_jobs)
        self.set_tags(**{"requires-fh-in-fit": True})      # the weights are learned per fh

    def _signal(self, y, X) -> pd.Series:
        column = self.regime_column
        if column is None:
            return y.iloc[:, 0]
        for frame in (X, y):
            if frame is not None and column in frame.columns:
                return frame[column]
        raise ValueError(
            f"regime_column={column!r} is neither a column of X nor of y. Name one of "
            f"{[*(X.columns if X is not None else []), *y.columns]}, or None for y's first."
        )

    def _out_of_sample(self, y, X, fh):
        """Members' forecasts ``[origins, H * T, M]``, the truth and the origins' positions."""
        from sktime.forecasting.model_evaluation import evaluate
        from sktime.split import ExpandingWindowSplitter

        steps = fh.to_relative(self.cutoff)
        cv = self.cv
        if cv is None:
            first = len(y) // 2
            cv = ExpandingWindowSplitter(fh=steps, initial_window=first,
                                         step_length=max(1, (len(y) - first) // self.n_origins))
        if cv.get_n_splits(y) < 1:
            raise ValueError(
                f"The series ({len(y)} observations) is too short for fh={list(steps)}: the "
                "weights need out-of-sample forecasts from origins inside it. Pass a longer "
                "series or a cv with a shorter initial window."
            )
        forecasts, names = [], self._get_forecaster_names()
        for forecaster in self._get_forecaster_list():
            result = evaluate(forecaster.clone(), cv, y, X, strategy="no-update_params",
                              return_data=True, error_score="raise")
            forecasts.append([np.asarray(p, dtype=np.float64).ravel()
                              for p in result["y_pred"]])
        F = _stack(forecasts, names, "out-of-sample forecasts")        # [M, origins, H*T]
        truth = np.stack([np.asarray(t, dtype=np.float64).ravel() for t in result["y_test"]])
        origins = y.index.get_indexer(pd.Index([c[0] if hasattr(c, "__len__") else c
                                                for c in result["cutoff"]]))
        return np.moveaxis(F, 0, -1), truth, origins

    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        signal = self._signal(y, X)
        self.regime_model_ = _regime_model(self).fit(signal)
        probabilities = self.regime_model_.predict_proba(signal)
        forecasts, truth, origins = self._out_of_sample(y, X, fh)
        self._weights = fit_regime_weights(forecasts, truth, probabilities[origins])
        _regime_frames(self, probabilities, y.index, self._get_forecaster_names())
        self._fit_forecasters(None, y, X, fh)
        return self

    def _member_weights(self) -> np.ndarray:
        """Weights at the cutoff: the regime probabilities filtered over all data seen."""
        signal = self._signal(self._y, self._X)
        return self.regime_model_.predict_proba(signal)[-1] @ self._weights

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two naive members; a naive member and a tiny skfin net (one epoch), 3 regimes.

        Two origins for the weights (the fewest that still pool forecasts from different
        cutoffs) and EM-only regime fits: sktime's suite fits hundreds of times, each
        origin is an evaluate() fold per member (the suite ran 240 s with three origins,
        181 s with two), and statsmodels' default maximum-likelihood fit of 3 regimes takes
        seconds.
        """
        naive, with_net = _test_members()
        return [{"forecasters": naive, "n_origins": 2,
                 "regime_model": MarkovSwitchingRegimes(method="em")},
                {"forecasters": with_net, "n_origins": 2,
                 "regime_model": MarkovSwitchingRegimes(3, method="em")}]
