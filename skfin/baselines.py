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
  ``ewma`` RiskMetrics' exponentially weighted variance (decay 0.94, nothing to estimate).

What is hand-written, and why: sktime's ``ARCH`` forecaster (``sktime.forecasting.arch``)
forecasts the *returns* it is fitted on; nothing maps a GARCH model of daily returns to
forecasts of a *realized volatility* series over a window of days, which is what a
volatility target in the backtest needs. :class:`GARCHVolatilityForecaster` fits
``arch.arch_model`` (the ``arch`` package does all the estimation, forecasting and
simulation) and only adds that mapping.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sktime.forecasting.base import BaseForecaster

from skfin._checks import ParamValidation, check_finite

__all__ = ["GARCHVolatilityForecaster", "BASELINES", "make_baseline"]


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
        col = self.returns_column
        if isinstance(col, Integral) and not isinstance(col, bool) and col not in X.columns:
            if not -X.shape[1] <= col < X.shape[1]:
                raise ValueError(f"returns_column={col} is out of range for X with "
                                 f"{X.shape[1]} column(s).")
            r = X.iloc[:, col]
        elif col in X.columns:
            r = X[col]
        else:
            raise ValueError(f"returns_column={col!r} is not a column of X; X has "
                             f"{list(X.columns)}.")
        values = pd.to_numeric(r, errors="coerce").astype(float)
        check_finite(values.to_numpy(), "X's returns column", [r.name], values.index)
        return values

    # -- sktime hooks ----------------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        self._validate_params()
        self._name = y.name
        self.uses_returns_ = X is not None
        if X is None:
            warnings.warn(
                f"{type(self).__name__} got no returns X, so y**2 / window stands in for "
                "the daily squared returns (a GARCH driven by the realized variance, with a "
                "zero mean). Pass the daily returns as X for the GARCH(1,1) of the returns.",
                UserWarning, stacklevel=3,
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
        r = self._returns.to_numpy()
        if len(r) < 10:
            raise ValueError(
                f"{type(self).__name__} needs at least 10 returns to estimate a GARCH(1,1); "
                f"got {len(r)}."
            )
        result = _arch_model(r, self._mean(), self.dist, vol=self.vol).fit(
            disp="off", show_warning=False, tol=self.tol)
        self.params_ = result.params

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


#: Baselines by name, with the targets each one suits.
BASELINES = {
    "naive": (_naive_last, ("returns", "level", "volatility")),
    "naive_mean": (_naive_mean, ("returns", "level", "volatility")),
    "ets": (_ets, ("returns", "level", "volatility")),
    "garch": (_garch, ("volatility",)),
    "gjr_garch_t": (_gjr_garch_t, ("volatility",)),
    "ewma": (_ewma, ("volatility",)),
}
#: The baselines that read the daily returns from X and take ``vol_window``.
_VOLATILITY_BASELINES = ("garch", "gjr_garch_t", "ewma")


def make_baseline(name: str, *, target: str = "returns", vol_window: int = 5,
                  random_state=None) -> BaseForecaster:
    """Build the baseline ``name`` for a target of kind ``target``.

    Parameters
    ----------
    name : {"naive", "naive_mean", "ets", "garch", "gjr_garch_t", "ewma"}
        See the module docstring.
    target : {"returns", "level", "volatility"}, default="returns"
        Kind of series forecast; ``"garch"``, ``"gjr_garch_t"`` (GJR-GARCH(1,1) with
        Student-t shocks) and ``"ewma"`` (RiskMetrics) suit ``"volatility"`` only (they
        read the returns from ``X``).
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
