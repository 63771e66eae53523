"""Classical baselines for the backtest: naive forecasts, exponential smoothing, GARCH(1,1).

A deep model earns its place only by beating these on the same folds:

* ``naive`` (the last value: the random walk, honest for prices) and ``naive_mean`` (the
  mean so far: honest for returns) are sktime's ``NaiveForecaster``, with its own
  ``predict_interval``;
* ``ets`` is simple exponential smoothing, ETS(A,N,N), as sktime's
  ``AutoETS(error="add", trend=None)`` (statsmodels): an exponentially weighted mean, the
  classical smoothing baseline, with analytic intervals. It refits 2,500 daily
  observations in about 0.1-0.3 s. The automatic model search (``AutoETS(auto=True)``)
  was ten times slower per fold, picked the same model on returns, and on positive series
  (volatility) chose multiplicative models whose simulated intervals fail with the
  installed statsmodels; an automatic ARIMA search costs tens of seconds per fit;
* ``garch`` is :class:`GARCHVolatilityForecaster`, the classical baseline for realized
  volatility; ``gjr_garch_t`` the same with GJR's leverage term and Student-t shocks
  (the harder baseline for equity indices, whose variance rises more after a fall), and
  ``ewma`` RiskMetrics' exponentially weighted variance (decay 0.94, nothing to estimate);
* ``har`` is :class:`HARVolatilityForecaster`, Corsi's HAR-RV: least squares of the
  realized variance on its daily, weekly and monthly averages, the standard benchmark of
  the realized-volatility literature;
* ``garch_t`` is :class:`GARCHReturnsForecaster`: it forecasts the *returns* themselves, a
  constant mean with GARCH(1,1) variance and Student-t shocks (each step's quantiles are
  the fitted Student-t's, scaled by that step's conditional volatility), the distribution
  forecast a net's return intervals must beat.

What is hand-written, and why: sktime's ``ARCH`` forecaster (``sktime.forecasting.arch``)
forecasts the *returns* it is fitted on; nothing maps a GARCH model of daily returns to
forecasts of a *realized volatility* series over a window of days, which is what a
volatility target in the backtest needs. :class:`GARCHVolatilityForecaster` fits
``arch.arch_model`` (the ``arch`` package does all the estimation, forecasting and
simulation) and only adds that mapping.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sktime.forecasting.base import BaseForecaster

from skfin._checks import Described, ParamValidation, check_finite
from skfin._warnings import warn

__all__ = ["GARCHVolatilityForecaster", "GARCHReturnsForecaster", "HARVolatilityForecaster",
           "BASELINES", "make_baseline"]


def _arch_model(returns: np.ndarray, mean: str, dist: str, seed=None, vol: str = "GARCH"):
    """``arch_model(returns, mean=mean, vol=..., dist=dist)``, seeded: GARCH(1,1),
    GJR-GARCH(1,1) (``o=1``) or RiskMetrics' EWMA variance (``lam=0.94``)."""
    from arch.univariate import (GARCH, ConstantMean, EWMAVariance, Normal, StudentsT,
                                 ZeroMean)

    model = (ConstantMean if mean == "Constant" else ZeroMean)(returns, rescale=False)
    model.volatility = (EWMAVariance(0.94) if vol == "EWMA"
                        else GARCH(p=1, o=int(vol == "GJR"), q=1))
    model.distribution = (Normal if dist == "normal" else StudentsT)(seed=seed)
    return model


def _fit_arch(owner, returns: np.ndarray, mean: str) -> pd.Series:
    """Fit ``owner``'s GARCH-family model (its ``dist``, ``vol``, ``tol``) to ``returns``;
    the fitted parameters. Both GARCH baselines estimate through here."""
    if len(returns) < 10:
        raise ValueError(
            f"{type(owner).__name__} needs at least 10 returns to estimate a GARCH(1,1); "
            f"got {len(returns)}."
        )
    return _arch_model(returns, mean, owner.dist, vol=owner.vol).fit(
        disp="off", show_warning=False, tol=owner.tol).params


def _column_of(X: pd.DataFrame, col, what: str) -> pd.Series:
    """Column ``col`` of ``X`` (a label, or a position when no label matches), as finite
    floats; ``what`` names it in errors (``returns_column=``, ``variance_column=``)."""
    if isinstance(col, Integral) and not isinstance(col, bool) and col not in X.columns:
        if not -X.shape[1] <= col < X.shape[1]:
            raise ValueError(f"{what}_column={col} is out of range for X with "
                             f"{X.shape[1]} column(s).")
        column = X.iloc[:, col]
    elif col in X.columns:
        column = X[col]
    else:
        raise ValueError(f"{what}_column={col!r} is not a column of X; X has "
                         f"{list(X.columns)}.")
    values = pd.to_numeric(column, errors="coerce").astype(float)
    check_finite(values.to_numpy(), f"X's {what} column", [column.name], values.index)
    return values


class GARCHVolatilityForecaster(ParamValidation, BaseForecaster):
    """GARCH(1,1), GJR-GARCH(1,1) or EWMA forecasts of realized volatility, from the daily
    returns in ``X``.

    ``y`` is a realized volatility over ``window`` days,
    ``y[t] = sqrt(r[t - window + 1]**2 + ... + r[t]**2)``, and ``X`` holds the daily
    returns ``r`` (in the same units, e.g. percent) on the same index. ``fit`` estimates
    ``arch_model(r, mean=mean, vol="GARCH", p=1, q=1, dist=dist)`` on the returns up to
    the cutoff ``t`` (``o=1`` for ``vol="GJR"``, Glosten, Jagannathan and Runkle's
    asymmetric GARCH, in which negative returns raise the variance more; RiskMetrics'
    ``sigma2[t+1] = 0.94 sigma2[t] + 0.06 r[t]**2`` for ``vol="EWMA"``, nothing estimated
    but the mean). The forecast of ``y[t + h]`` is

    ``sqrt(sum of the known r[s]**2, s <= t, inside the window + sum of E[r[s]**2], s > t)``

    with ``E[r[s]**2] = mu**2 + sigma2[s]`` from the GARCH variance forecasts
    ``sigma2`` (``mu = 0`` for ``mean="Zero"``), in the units of ``y``. This is the
    square root of the expected realized variance (slightly above the expected realized
    volatility, by Jensen's inequality).

    Prediction intervals and quantiles come from ``n_simulations`` simulated return
    paths (``arch``'s ``method="simulation"``): each path gives a realized volatility,
    and the quantiles are taken over paths. They are exact up to simulation noise,
    seeded by ``random_state``.

    Only returns up to the cutoff are ever read: an ``X`` passed to ``predict`` (e.g. by
    sktime's ``evaluate``) is ignored, since future returns are not known in advance.

    Without ``X`` (a fallback, with a ``UserWarning``), the average daily squared return
    inside each window, ``y[t]**2 / window``, stands in for ``r[t]**2`` in the estimation
    and in the known part of the window, with a zero mean: a GARCH driven by the realized
    variance, in the spirit of the HEAVY model (Shephard & Sheppard, 2010). Pass the
    returns whenever you have them.

    Parameters
    ----------
    window : int, default=5
        Days in the realized volatility ``y`` (the same window that built ``y``).
    mean : {"Constant", "Zero"}, default="Constant"
        Mean model of the returns.
    dist : {"normal", "t"}, default="normal"
        Distribution of the standardised innovations.
    vol : {"GARCH", "GJR", "EWMA"}, default="GARCH"
        Variance model: GARCH(1,1), GJR-GARCH(1,1) (leverage: a negative return raises
        the next variance more than a positive one), or RiskMetrics' EWMA with decay
        0.94 (J.P. Morgan, 1996), whose forecast of every future day's variance is
        today's.
    returns_column : int or str, default=0
        Position (int) or label (str) of the returns column in ``X``.
    n_simulations : int, default=1000
        Simulated paths behind ``predict_quantiles`` and ``predict_interval``.
    tol : float or None, default=None
        Tolerance of ``arch``'s optimiser (``fit(tol=...)``); None keeps arch's default.
    random_state : int or None, default=None
        Seed of the simulations.

    Attributes
    ----------
    params_ : pandas.Series
        Estimated parameters (``mu`` if ``mean="Constant"``, ``omega``, ``alpha[1]``,
        ``gamma[1]`` for ``vol="GJR"``, ``beta[1]``, and ``nu`` for ``dist="t"``; only
        ``mu`` and ``nu`` for ``vol="EWMA"``), re-estimated on every ``update`` unless
        ``update_params=False``.
    uses_returns_ : bool
        Whether the returns came from ``X`` (else the ``y / sqrt(window)`` fallback).

    See Also
    --------
    sktime.forecasting.arch.ARCH : GARCH forecasts of the returns themselves.

    References
    ----------
    .. [1] T. Bollerslev, "Generalized autoregressive conditional heteroskedasticity",
       *Journal of Econometrics* 31(3), 1986.
    .. [2] N. Shephard and K. Sheppard, "Realising the future: forecasting with
       high-frequency-based volatility (HEAVY) models", *Journal of Applied Econometrics*
       25(2), 2010.

    Examples
    --------
    Five-day realized volatility of the S&P 500 (percent), forecast 1 to 5 days ahead:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from skfin.baselines import GARCHVolatilityForecaster
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().rename("r")
    >>> rv = np.sqrt((r ** 2).rolling(5).sum()).dropna().rename("rv")
    >>> r = r.loc[rv.index].to_frame()
    >>> f = GARCHVolatilityForecaster(window=5, random_state=0)
    >>> f.fit(rv.iloc[-1500:], X=r.iloc[-1500:], fh=[1, 2, 3, 4, 5]).predict().round(3).tolist()
    [5.291, 2.741, 3.097, 3.499, 3.751]
    >>> f.predict_interval(coverage=0.9).shape
    (5, 2)
    """

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "python_dependencies": ["arch"],
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": False,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:random_state": True,
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
    }
    # The returns are kept by the forecaster itself (``_returns``).
    _config = {"remember_data": False}
    _parameter_constraints = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "mean": [StrOptions({"Constant", "Zero"})],
        "dist": [StrOptions({"normal", "t"})],
        "vol": [StrOptions({"GARCH", "GJR", "EWMA"})],
        "n_simulations": [Interval(Integral, 2, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, window=5, mean="Constant", dist="normal", returns_column=0,
                 n_simulations=1000, tol=None, random_state=None, vol="GARCH"):
        self.window = window
        self.mean = mean
        self.dist = dist
        self.vol = vol
        self.returns_column = returns_column
        self.n_simulations = n_simulations
        self.tol = tol
        self.random_state = random_state
        super().__init__()
        self._y, self._X = None, None

    def _returns_of(self, X: pd.DataFrame | None, y: pd.Series) -> pd.Series:
        """The daily returns: a column of ``X``, or the proxy ``y / sqrt(window)``."""
        if X is None:
            return (y.astype(float) / np.sqrt(self.window)).rename(None)
        return _column_of(X, self.returns_column, "returns")

    # -- sktime hooks ----------------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        self._name = y.name
        self.uses_returns_ = X is not None
        if X is None:
            warn(
                f"{type(self).__name__} got no returns X, so y**2 / window stands in for "
                "the daily squared returns (a GARCH driven by the realized variance, with a "
                "zero mean). Pass the daily returns as X for the GARCH(1,1) of the returns.",
                UserWarning,
            )
        self._returns = self._returns_of(X, y)
        self._estimate()
        return self

    def _update(self, y, X=None, update_params=True):
        if self.uses_returns_ and X is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with the returns as X; pass the returns "
                "that go with the new y to update as well."
            )
        new = self._returns_of(X if self.uses_returns_ else None, y)
        self._returns = new.combine_first(self._returns)
        if update_params:
            self._estimate()
        return self

    def _estimate(self) -> None:
        self.params_ = _fit_arch(self, self._returns.to_numpy(), self._mean())

    def _mean(self) -> str:
        return self.mean if self.uses_returns_ else "Zero"

    def _steps(self, fh) -> np.ndarray:
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if (steps < 1).any():
            raise ValueError(
                f"{type(self).__name__} forecasts out of sample only; fh has in-sample "
                f"steps {steps[steps < 1].tolist()}. Use fh >= 1."
            )
        return steps

    def _windows(self, horizon: int):
        """Known squared returns per step ``[H]`` and the mask of forecast days ``[H, H]``."""
        k, r2 = self.window, self._returns.to_numpy() ** 2
        h = np.arange(1, horizon + 1)
        known = np.array([r2[max(len(r2) - (k - step), 0):].sum() if k > step else 0.0
                          for step in h])
        days = np.arange(1, horizon + 1)                   # forecast day j = t + j
        unknown = (days[None, :] <= h[:, None]) & (days[None, :] > h[:, None] - k)
        return known, unknown

    def _forecast(self, horizon: int, **kwargs):
        seed = np.random.default_rng(self.random_state)
        model = _arch_model(self._returns.to_numpy(), self._mean(), self.dist, seed=seed,
                            vol=self.vol)
        return model.forecast(self.params_.to_numpy(), horizon=horizon, reindex=False,
                              **kwargs)

    def _predict(self, fh, X=None):
        steps = self._steps(fh)
        horizon = int(steps.max())
        forecast = self._forecast(horizon)
        mu = forecast.mean.to_numpy()[-1]                                      # [H]
        second_moment = mu ** 2 + forecast.variance.to_numpy()[-1]             # E[r_{t+j}^2]
        known, unknown = self._windows(horizon)
        rv = np.sqrt(known + unknown @ second_moment)                          # [H]
        return pd.Series(rv[steps - 1], index=fh.to_absolute_index(self.cutoff),
                         name=self._y_name())

    def _predict_quantiles(self, fh, X=None, alpha=None):
        steps = self._steps(fh)
        horizon = int(steps.max())
        forecast = self._forecast(horizon, method="simulation",
                                  simulations=self.n_simulations)
        paths = forecast.simulations.values[-1]                                # [S, H]
        known, unknown = self._windows(horizon)
        rv = np.sqrt(known[None, :] + (paths ** 2) @ unknown.T)                # [S, H]
        q = np.quantile(rv[:, steps - 1], alpha, axis=0).T                     # [len(fh), L]
        return pd.DataFrame(q, index=fh.to_absolute_index(self.cutoff),
                            columns=self._get_columns("predict_quantiles", alpha=alpha))

    def _y_name(self):
        return self._name

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two small configurations: the default, and RiskMetrics' EWMA with a zero mean
        and Student-t shocks (only the degrees of freedom to estimate)."""
        return [
            {"n_simulations": 100, "tol": 1e-2, "random_state": 0},
            {"window": 3, "mean": "Zero", "dist": "t", "vol": "EWMA", "returns_column": 0,
             "n_simulations": 50, "tol": 1e-2, "random_state": 1},
        ]


class GARCHReturnsForecaster(ParamValidation, BaseForecaster):
    """GARCH(1,1) forecasts of daily returns: the mean and the Student-t (or Normal) quantiles.

    ``y`` holds the returns themselves (percent log returns, say). At each step ``h`` the
    forecast distribution is ``mu + sigma_h * z``, ``sigma_h^2`` the analytic ``h``-step
    conditional variance and ``z`` the model's standardised shock (unit variance), so the
    quantiles are ``mu + sigma_h * ppf(q)`` with the fitted degrees of freedom. ``arch`` does
    the estimation, the variance forecasts and the ``ppf``. (sktime's ``ARCH`` forecaster
    takes Normal quantiles whatever ``dist`` is: 5% too narrow at 95% with the ``nu`` of
    about 5 fitted on S&P 500 returns.)

    Parameters
    ----------
    mean : {"Constant", "Zero"}, default="Constant"
    dist : {"t", "normal"}, default="t"
    vol : {"GARCH", "GJR"}, default="GARCH"
        GARCH(1,1), or GJR-GARCH(1,1) with the leverage term.
    tol : float or None, default=None
        Optimiser tolerance (None: ``arch``'s default).

    Attributes
    ----------
    params_ : pandas.Series
        The fitted parameters (``mu``, ``omega``, ``alpha[1]``, ``beta[1]``, ``nu``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.baselines import GARCHReturnsForecaster
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-1500:]    # % returns, 2013-2018
    >>> f = GARCHReturnsForecaster().fit(r, fh=[1, 2])
    >>> band = f.predict_interval(coverage=0.9).to_numpy()
    >>> bool((band[:, 0] < 0).all() and (band[:, 1] > 0).all()), round(float(f.params_["nu"]), 1)
    (True, 5.0)
    """

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "capability:exogenous": False,
        "capability:pred_int": True,
        "capability:insample": False,
        "capability:pred_int:insample": False,
        "requires-fh-in-fit": False,
        "python_dependencies": "arch",
    }
    _config = {"remember_data": False}
    _parameter_constraints = {
        "mean": [StrOptions({"Constant", "Zero"})],
        "dist": [StrOptions({"normal", "t"})],
        "vol": [StrOptions({"GARCH", "GJR"})],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, mean="Constant", dist="t", vol="GARCH", tol=None):
        self.mean = mean
        self.dist = dist
        self.vol = vol
        self.tol = tol
        super().__init__()
        self._y, self._X = None, None                # as sktime's remember_data expects

    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        self._name = y.name
        self._returns = y.astype(float)
        self._estimate()
        return self

    def _update(self, y, X=None, update_params=True):
        self._returns = y.astype(float).combine_first(self._returns)
        if update_params:
            self._estimate()
        return self

    def _estimate(self) -> None:
        r = self._returns.to_numpy()
        check_finite(r, "y", [self._name], self._returns.index)
        self.params_ = _fit_arch(self, r, self.mean)

    _steps = GARCHVolatilityForecaster._steps

    def _moments(self, steps) -> tuple[np.ndarray, np.ndarray]:
        """Mean and conditional standard deviation at each step of ``steps``."""
        model = _arch_model(self._returns.to_numpy(), self.mean, self.dist, vol=self.vol)
        forecast = model.forecast(self.params_.to_numpy(), horizon=int(steps.max()),
                                  reindex=False)
        mu = forecast.mean.to_numpy()[-1][steps - 1]
        return mu, np.sqrt(forecast.variance.to_numpy()[-1][steps - 1])

    def _predict(self, fh, X=None):
        mu, _ = self._moments(self._steps(fh))
        return pd.Series(mu, index=fh.to_absolute_index(self.cutoff), name=self._name)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        mu, sigma = self._moments(self._steps(fh))
        model = _arch_model(self._returns.to_numpy(), self.mean, self.dist, vol=self.vol)
        shape = self.params_[model.distribution.parameter_names()].to_numpy()
        z = model.distribution.ppf(np.asarray(alpha, dtype=float), shape)      # [L]
        return pd.DataFrame(mu[:, None] + sigma[:, None] * z[None, :],
                            index=fh.to_absolute_index(self.cutoff),
                            columns=self._get_columns("predict_quantiles", alpha=alpha))

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Student-t GARCH, and a zero-mean Normal GJR-GARCH (loose tolerances: sktime's
        test series are not returns)."""
        return [{"tol": 1e-2}, {"mean": "Zero", "dist": "normal", "vol": "GJR", "tol": 1e-2}]


class HARVolatilityForecaster(ParamValidation, BaseForecaster):
    """HAR-RV forecasts of realized volatility (Corsi, 2009): ordinary least squares on the
    daily, weekly and monthly averages of the squared daily returns in ``X``.

    ``y`` and ``X`` are those of :class:`GARCHVolatilityForecaster`: ``y`` is a realized
    volatility over ``window`` days, ``y[t] = sqrt(r[t - window + 1]**2 + ... + r[t]**2)``,
    and ``X`` holds the daily returns ``r`` on the same index. The HAR features at ``t``
    are the averages of ``r**2`` over the ``windows`` days ending at ``t``
    (:class:`~skfin.transformations.HARFeatures` with ``estimator="close"``, on returns
    instead of prices). For each forecast step ``h``, a separate (direct) regression

    ``y[t + h]**2 = b0 + b1 rv_1[t] + b2 rv_5[t] + b3 rv_22[t] + e[t + h]``

    is fitted by least squares (``numpy.linalg.lstsq``) on every ``t`` up to the cutoff
    whose target ``y[t + h]`` is observed; the forecast is ``sqrt`` of the fitted
    realized variance, in the units of ``y``, like GARCH's (the square root of the
    expected realized variance). The squared returns already inside the target window
    at the cutoff (``h < window``) enter through the regression, not exactly as in
    GARCH's forecast.

    With ``log=True`` the regression is on logs (``log y[t + h]**2`` on ``log rv_n[t]``),
    which suits the skewed, heteroskedastic variance better, and the forecast is brought
    back to variance with the log-normal correction ``exp(mu + s2 / 2)``
    (:func:`~skfin.transformations.variance_from_log`), ``s2`` the variance of the
    regression's residuals (degrees of freedom ``n - k``). A day with a zero return
    (an unchanged close, which the S&P 500 has: 2003-01-10) would make ``log rv_1``
    infinite; zeros are raised to the smallest positive value of the same series
    before the logarithm.

    Quantiles and intervals come from the empirical quantiles of each step's in-sample
    residuals, added to the fitted value (in variance, or in log variance with
    ``log=True``) and mapped through the square root (a monotone map keeps quantiles):
    ``sqrt(max(mu_h + q_alpha(e_h), 0))``, or ``sqrt(exp(mu_h + q_alpha(e_h)))``. This
    costs nothing beyond the fit, but ignores parameter uncertainty and assumes the
    residuals' spread does not depend on the level (closer to true for ``log=True``).

    As for GARCH, only returns up to the cutoff are read (an ``X`` passed to ``predict``
    is ignored), and without ``X`` (a fallback, with a ``UserWarning``) ``y[t]**2 /
    window`` stands in for ``r[t]**2``. A negative fitted variance (possible on levels)
    is raised to the smallest positive target seen in ``fit``.

    Parameters
    ----------
    window : int, default=5
        Days in the realized volatility ``y`` (the same window that built ``y``).
    windows : tuple of int, default=(1, 5, 22)
        Days averaged in the HAR features: Corsi's daily, weekly and monthly components.
    log : bool, default=False
        Regress log realized variance on log features, as above.
    returns_column : int or str, default=0
        Position (int) or label (str) of the returns column in ``X``.
    variance_column : int, str or None, default=None
        Position or label of a column of ``X`` holding a per-day variance to average
        instead of ``r**2``, e.g. a range estimator such as
        :func:`~skfin.transformations.garman_klass_variance` (in the squared units of
        ``y``: times ``1e4`` for percent returns). None averages the squared returns.

    Attributes
    ----------
    coef_ : pandas.DataFrame
        Least-squares coefficients, one row per step ``h`` fitted at ``fit``/``update``
        (``1 .. max(fh)``, or 1 without ``fh``), columns ``const`` and ``rv_n`` (or
        ``log_rv_n``).
    residual_variance_ : pandas.Series
        Variance of each step's residuals (``n - k`` degrees of freedom).
    uses_returns_ : bool
        Whether the returns came from ``X`` (else the ``y / sqrt(window)`` fallback).

    See Also
    --------
    GARCHVolatilityForecaster : the GARCH(1,1), GJR-GARCH and EWMA baselines.
    skfin.transformations.HARFeatures : the features, from prices or range estimators.

    References
    ----------
    .. [1] F. Corsi, "A simple approximate long-memory model of realized volatility",
       *Journal of Financial Econometrics* 7(2), 2009.

    Examples
    --------
    Five-day realized volatility of the S&P 500 (percent), forecast 1 to 5 days ahead:

    >>> import numpy as np
    >>> from skfin.baselines import HARVolatilityForecaster
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().rename("r")
    >>> rv = np.sqrt((r ** 2).rolling(5).sum()).dropna().rename("rv")
    >>> r = r.loc[rv.index].to_frame()
    >>> f = HARVolatilityForecaster(window=5)
    >>> f.fit(rv.iloc[-1500:], X=r.iloc[-1500:], fh=[1, 2, 3, 4, 5]).predict().round(3).tolist()
    [5.315, 4.858, 4.234, 3.442, 3.699]
    >>> f.coef_.round(3).loc[5].tolist()     # const, rv_1, rv_5, rv_22 for h = 5
    [1.451, 0.512, 1.201, 1.217]
    >>> f.predict_interval(coverage=0.9).shape
    (5, 2)
    """

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": False,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
    }
    _config = {"remember_data": False}
    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "windows": [Described(
            lambda v: isinstance(v, (list, tuple)) and len(v) > 0
            and all(isinstance(k, Integral) and not isinstance(k, bool) and k >= 1
                    for k in v),
            "a non-empty tuple of ints >= 1")],
        "log": ["boolean"],
    }

    def __init__(self, window=5, windows=(1, 5, 22), log=False, returns_column=0,
                 variance_column=None):
        self.window = window
        self.windows = windows
        self.log = log
        self.returns_column = returns_column
        self.variance_column = variance_column
        super().__init__()
        self._y, self._X = None, None

    _returns_of = GARCHVolatilityForecaster._returns_of

    def _daily_of(self, X: pd.DataFrame | None, y: pd.Series) -> pd.Series:
        """The per-day variance averaged by the features: ``r**2`` or ``variance_column``."""
        if self.variance_column is None or X is None:
            return self._returns_of(X, y) ** 2
        values = _column_of(X, self.variance_column, "variance")
        if (values < 0).any():
            where = values.index[int(np.argmax((values < 0).to_numpy()))]
            raise ValueError(f"X's variance column {values.name!r} is negative at {where!r}; "
                             "a variance cannot be. Check the column.")
        return values

    # -- sktime hooks ----------------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        self._name = y.name
        if self.variance_column is not None and X is None:
            raise ValueError(
                f"{type(self).__name__}(variance_column={self.variance_column!r}) reads "
                "the per-day variance from X, but X is None. Pass X, or variance_column=None."
            )
        self.uses_returns_ = X is not None
        if X is None:
            warn(
                f"{type(self).__name__} got no returns X, so y**2 / window stands in for "
                "the daily squared returns. Pass the daily returns as X for the HAR-RV "
                "regression on squared returns.",
                UserWarning,
            )
        self._daily = self._daily_of(X, y)
        self._rv = y.astype(float) ** 2
        steps = self._steps(fh) if fh is not None else np.array([1])
        self._estimate(int(steps.max()))
        return self

    def _update(self, y, X=None, update_params=True):
        if self.uses_returns_ and X is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with the returns as X; pass the returns "
                "that go with the new y to update as well."
            )
        new = self._daily_of(X if self.uses_returns_ else None, y)
        self._daily = new.combine_first(self._daily)
        self._rv = (y.astype(float) ** 2).combine_first(self._rv)
        if update_params:
            self._estimate(len(self.coef_))
        return self

    def _features(self) -> tuple[np.ndarray, list[str]]:
        """Design matrix ``[T, 1 + len(windows)]`` (NaN on the warm-up rows) and names."""
        daily = pd.Series(self._daily.to_numpy())
        columns = [daily.rolling(n, min_periods=n).mean().to_numpy() for n in self.windows]
        names = [f"rv_{n}" for n in self.windows]
        features = np.column_stack([np.ones(len(daily)), *columns])
        if self.log:
            features[:, 1:] = self._log(features[:, 1:], "a HAR feature")
            names = [f"log_{n}" for n in names]
        return features, ["const", *names]

    def _log(self, values, what):
        """``log(values)``, zeros raised to the smallest positive value of their column."""
        values = np.asarray(values, dtype=float)
        columns = values.reshape(len(values), -1).copy()
        for j in range(columns.shape[1]):
            column = columns[:, j]
            positive = column[column > 0]
            if not len(positive):
                raise ValueError(
                    f"{type(self).__name__}(log=True) takes logarithms, but {what} has no "
                    "positive value. Use log=False."
                )
            columns[:, j] = np.where(column <= 0, positive.min(), column)  # NaN stays NaN
        return np.log(columns).reshape(values.shape)

    def _regression(self, features, step):
        """Least squares of the target ``step`` days ahead: (coef, residuals)."""
        target = self._rv.to_numpy()
        if self.log:
            target = self._log(target, "the realized variance y**2")
        rows = np.arange(len(target) - step)                 # t with a target at t + step
        rows = rows[~np.isnan(features[rows]).any(axis=1)]
        k = features.shape[1]
        if len(rows) < 2 * k:
            raise ValueError(
                f"{type(self).__name__} needs at least {2 * k} complete rows to regress "
                f"the realized variance {step} day(s) ahead on the HAR features "
                f"(windows={tuple(self.windows)}); got {len(rows)} from {len(target)} "
                f"observations. Pass a longer series or shorter windows."
            )
        coef, *_ = np.linalg.lstsq(features[rows], target[rows + step], rcond=None)
        return coef, target[rows + step] - features[rows] @ coef

    def _estimate(self, horizon: int) -> None:
        features, names = self._features()
        fits = [self._regression(features, h) for h in range(1, horizon + 1)]
        steps = pd.Index(range(1, horizon + 1), name="step")
        self.coef_ = pd.DataFrame([c for c, _ in fits], index=steps, columns=names)
        k = features.shape[1]
        self.residual_variance_ = pd.Series(
            [float(e @ e) / (len(e) - k) for _, e in fits], index=steps)
        self._residuals = [e for _, e in fits]
        positive = self._rv.to_numpy()
        self._floor = float(positive[positive > 0].min()) if (positive > 0).any() else 0.0

    def _fits(self, steps):
        """(fitted mean of the target, residuals) per step, from the last features."""
        features, _ = self._features()
        last = features[-1]
        if np.isnan(last).any():
            raise ValueError(
                f"{type(self).__name__} needs {max(self.windows)} returns up to the cutoff "
                f"for the HAR features; got {len(self._daily)}.")
        out = []
        for h in steps:
            if h <= len(self.coef_):                          # fitted at fit/update
                coef, e = self.coef_.loc[h].to_numpy(), self._residuals[h - 1]
            else:                                             # a longer fh than at fit
                coef, e = self._regression(features, h)
            out.append((float(last @ coef), e))
        return out

    _steps = GARCHVolatilityForecaster._steps

    def _predict(self, fh, X=None):
        steps = self._steps(fh)
        variance = []
        for mu, e in self._fits(steps):
            if self.log:
                s2 = float(e @ e) / (len(e) - len(self.coef_.columns))
                variance.append(float(np.exp(mu + s2 / 2)))
            else:
                variance.append(max(mu, self._floor))
        return pd.Series(np.sqrt(variance), index=fh.to_absolute_index(self.cutoff),
                         name=self._name)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        steps = self._steps(fh)
        rows = []
        for mu, e in self._fits(steps):
            q = mu + np.quantile(e, alpha)
            rows.append(np.sqrt(np.exp(q) if self.log else np.maximum(q, 0.0)))
        return pd.DataFrame(np.array(rows), index=fh.to_absolute_index(self.cutoff),
                            columns=self._get_columns("predict_quantiles", alpha=alpha))

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two small configurations: short windows on levels, and a log-HAR."""
        return [
            {"windows": (1, 2, 3)},
            {"window": 3, "windows": (1, 4), "log": True},
        ]


def _naive_last():
    from sktime.forecasting.naive import NaiveForecaster

    return NaiveForecaster(strategy="last")


def _naive_mean():
    from sktime.forecasting.naive import NaiveForecaster

    return NaiveForecaster(strategy="mean")


def _ets():
    from sktime.forecasting.ets import AutoETS

    return AutoETS(error="add", trend=None, seasonal=None)


def _garch(vol_window=5, random_state=None):
    return GARCHVolatilityForecaster(window=vol_window, random_state=random_state)


def _gjr_garch_t(vol_window=5, random_state=None):
    return GARCHVolatilityForecaster(window=vol_window, vol="GJR", dist="t",
                                     random_state=random_state)


def _ewma(vol_window=5, random_state=None):
    return GARCHVolatilityForecaster(window=vol_window, vol="EWMA",
                                     random_state=random_state)


def _har(vol_window=5, random_state=None):
    return HARVolatilityForecaster(window=vol_window)


def _garch_t():
    return GARCHReturnsForecaster(dist="t")


#: Baselines by name, with the targets each one suits.
BASELINES = {
    "naive": (_naive_last, ("returns", "level", "volatility")),
    "naive_mean": (_naive_mean, ("returns", "level", "volatility")),
    "ets": (_ets, ("returns", "level", "volatility")),
    "garch": (_garch, ("volatility",)),
    "gjr_garch_t": (_gjr_garch_t, ("volatility",)),
    "ewma": (_ewma, ("volatility",)),
    "har": (_har, ("volatility",)),
    "garch_t": (_garch_t, ("returns",)),
}
#: The baselines that read the daily returns from X and take ``vol_window``.
_VOLATILITY_BASELINES = ("garch", "gjr_garch_t", "ewma", "har")


def make_baseline(name: str, *, target: str = "returns", vol_window: int = 5,
                  random_state=None) -> BaseForecaster:
    """Build the baseline ``name`` for a target of kind ``target``.

    Parameters
    ----------
    name : {"naive", "naive_mean", "ets", "garch", "gjr_garch_t", "ewma", "har", "garch_t"}
        See the module docstring.
    target : {"returns", "level", "volatility"}, default="returns"
        Kind of series forecast; ``"garch"``, ``"gjr_garch_t"`` (GJR-GARCH(1,1) with
        Student-t shocks), ``"ewma"`` (RiskMetrics) and ``"har"`` (HAR-RV by least
        squares) suit ``"volatility"`` only (they read the returns from ``X``);
        ``"garch_t"`` (GARCH(1,1)-t of the returns) suits ``"returns"`` only.
    vol_window : int, default=5
        Days in the realized volatility, for the volatility baselines.
    random_state : int or None, default=None
        Seed of the volatility baselines' simulated intervals.

    Returns
    -------
    sktime.forecasting.base.BaseForecaster
        A fresh, unfitted forecaster.

    Examples
    --------
    >>> from skfin.baselines import make_baseline
    >>> from skfin.datasets import load_airline
    >>> make_baseline("naive").fit(load_airline(), fh=[1, 2]).predict().tolist()
    [432.0, 432.0]
    """
    if name not in BASELINES:
        raise ValueError(f"Unknown baseline {name!r}; available: {sorted(BASELINES)}.")
    factory, targets = BASELINES[name]
    if target not in targets:
        raise ValueError(f"Baseline {name!r} forecasts {' or '.join(targets)} targets, not "
                         f"{target!r}.")
    if name in _VOLATILITY_BASELINES:
        return factory(vol_window=vol_window, random_state=random_state)
    return factory()
