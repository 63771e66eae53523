"""Walk-forward backtest of several sktime forecasters on the same expanding-window folds.

:func:`backtest` runs every forecaster through the same folds of sktime's
:class:`~sktime.split.ExpandingWindowSplitter` (``folds`` test windows at the end of the
series), the protocol of :func:`sktime.forecasting.model_evaluation.evaluate`: fit a
clone on the first training window, then ``update`` it with each new block of
observations (``strategy="update"``; ``"refit"`` and ``"no-update_params"`` as in
``evaluate``), and forecast ``fh`` steps ahead from every cutoff. It scores each fold with
:mod:`skfin.metrics` and returns a :class:`BacktestResult` with a per-fold table, every
forecast with its intervals, and a leaderboard.

What is hand-written, and why: the loop over folds is ``evaluate``'s own protocol
(the tests check that the cutoffs and forecasts are identical), written out because the
backtest needs what one ``evaluate`` call does not give: a progress bar over (model,
fold), intervals at several coverages and quantiles from one ``predict_interval`` and one
``predict_quantiles`` call per fold (sktime 1.2's ``evaluate(return_data=True)`` fails on
two interval metrics with different coverages), and separate fit and predict times. The
metrics are skfin's and sktime's.

No look-ahead: each forecaster sees ``y`` and ``X`` up to the fold's cutoff only, and
``predict`` is never given ``X``: exogenous data are treated as observed, not known in
advance (daily returns feeding a volatility forecaster are not known for tomorrow).
Forecasters that read ``X`` as *known-future* covariates (TFT's decoder inputs) would
need ``X`` at the forecast steps, so they are fitted on ``y`` alone here.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sktime.forecasting.base import ForecastingHorizon
from sktime.split import ExpandingWindowSplitter

from skfin import metrics

__all__ = ["backtest", "BacktestResult", "coverage_label"]

_TARGETS = ("returns", "level", "volatility")
_STRATEGIES = ("update", "refit", "no-update_params")


def coverage_label(coverage: float) -> str:
    """Column suffix of a nominal coverage: ``0.9 -> "90"``, ``0.975 -> "97.5"``.

    Examples
    --------
    >>> coverage_label(0.9), coverage_label(0.975)
    ('90', '97.5')
    """
    return f"{100 * coverage:.10g}"


def _quantile_levels(coverage) -> list[float]:
    """The bounds of every central interval, and the median."""
    levels = {0.5}
    for c in coverage:
        levels |= {round((1 - c) / 2, 10), round((1 + c) / 2, 10)}
    return sorted(levels)


@dataclass
class BacktestResult:
    """What :func:`backtest` returns: per-fold scores, every forecast, and a leaderboard.

    Attributes
    ----------
    folds : pandas.DataFrame
        One row per (model, fold): ``model``, ``fold``, ``cutoff`` (the last training
        index label), ``train_size``, then the fold's metrics: ``mae``, ``rmse``,
        ``direction`` (share of forecasts moving the right way: the sign of a return, or
        the move from the cutoff's level), ``sharpe`` (returns targets: the sign strategy
        traded over the fold's window, NaN for fewer than 2 steps), ``qlike``
        (volatility targets, on squared volatilities; NaN if a forecast is not positive),
        ``pinball`` (over the interval bounds and the median), for each coverage ``c``
        ``coverage_c``, ``width_c`` and ``winkler_c``, then ``fit_seconds`` (fit or
        update) and ``predict_seconds`` (point, intervals and quantiles).
    forecasts : pandas.DataFrame
        One row per (model, fold, step): ``model``, ``fold``, ``cutoff``, ``step``,
        ``time`` (index label of the forecast point), ``position`` (its position in
        ``y``), ``y_true``, ``y_pred`` and ``lower_c`` / ``upper_c`` per coverage.
    y : pandas.Series
        The series backtested.
    target : {"returns", "level", "volatility"}
        Kind of series, which decides the direction reference and the finance metrics.
    coverage : tuple of float
        Nominal coverages of the intervals.
    fh : numpy.ndarray
        Steps ahead forecast from each cutoff.
    step : int
        Observations between consecutive cutoffs.
    returns_scale : float
        ``y`` is returns times this (100 for percent), for the trading metrics.
    periods_per_year : float
        Annualisation of the Sharpe ratio.
    failures : dict
        ``{model: message}`` for models that failed (with ``errors="warn"``); their rows
        are left out.
    """

    folds: pd.DataFrame
    forecasts: pd.DataFrame
    y: pd.Series
    target: str
    coverage: tuple
    fh: np.ndarray
    step: int
    returns_scale: float = 100.0
    periods_per_year: float = 252.0
    failures: dict = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        """Models with results, in the order they ran."""
        return list(pd.unique(self.folds["model"])) if len(self.folds) else []

    def leaderboard(self, reference: str | None = None) -> pd.DataFrame:
        """Scores over all folds, one row per model, best MAE first.

        Each column is the mean of the per-fold column over folds, except ``rmse`` (the
        root of the mean squared error over all forecasts) and ``sharpe`` (the Sharpe
        ratio of one sign strategy over the whole test period: at each cutoff it takes the
        positions given by the forecasts of steps ``1 .. step``, so that every test day is
        traded once on its most recent forecast). ``folds`` counts the folds and
        ``total_seconds`` adds all fit and predict times.

        Parameters
        ----------
        reference : str or None, default=None
            A model to test every other against (:meth:`significance`): adds
            ``dm_pvalue`` and ``vs_reference`` (``"better"``, ``"worse"`` or
            ``"not significant"`` at 5%; ``"reference"`` on its own row).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``model``.
        """
        if not len(self.folds):
            return pd.DataFrame()
        metric_cols = [c for c in self.folds.columns
                       if c not in ("model", "fold", "cutoff", "train_size")]
        board = self.folds.groupby("model", sort=False)[metric_cols].mean()
        sq = self.forecasts.assign(se=(self.forecasts["y_true"] - self.forecasts["y_pred"]) ** 2)
        board["rmse"] = np.sqrt(sq.groupby("model", sort=False)["se"].mean())
        if "sharpe" in board:
            board["sharpe"] = [self._path_sharpe(m) for m in board.index]
        board["folds"] = self.folds.groupby("model", sort=False)["fold"].count()
        board["total_seconds"] = (self.folds.groupby("model", sort=False)
                                  [["fit_seconds", "predict_seconds"]].sum().sum(axis=1))
        if reference is not None:
            tests = self.significance(reference)
            board["dm_pvalue"] = tests["dm_pvalue"]
            board["vs_reference"] = tests["verdict"]
            board.loc[reference, "vs_reference"] = "reference"
        return board.sort_values("mae", kind="stable")

    def strategy_path(self, model: str) -> pd.DataFrame:
        """The test days traded by the sign strategy of ``model``, in time order.

        At each cutoff the strategy holds ``sign(forecast)`` for the steps
        ``1 .. step`` that follow, so every traded day uses its most recent forecast.

        Returns
        -------
        pandas.DataFrame
            Columns ``position`` (in ``y``), ``time``, ``y_true``, ``y_pred``.
        """
        if self.target != "returns":
            raise ValueError(f"A sign strategy trades returns; this backtest's target is "
                             f"{self.target!r}.")
        return (self._latest(model)[["position", "time", "y_true", "y_pred"]]
                .reset_index(drop=True))

    def _latest(self, model: str) -> pd.DataFrame:
        """Each test point once, on its most recent forecast (steps ``1 .. step``)."""
        rows = self.forecasts[(self.forecasts["model"] == model)
                              & (self.forecasts["step"] <= self.step)]
        return rows.sort_values("position").drop_duplicates("position", keep="last")

    def _path_sharpe(self, model: str) -> float:
        path = self.strategy_path(model).dropna(subset=["y_true"])   # days without a price
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return metrics.sharpe_ratio(path["y_true"] / self.returns_scale, path["y_pred"],
                                        periods_per_year=self.periods_per_year)

    def _path(self, model: str) -> pd.DataFrame:
        """:meth:`_latest`, observed points only, indexed by position; with the bounds."""
        return self._latest(model).dropna(subset=["y_true"]).set_index("position")

    def _losses(self, model: str, loss: str) -> pd.Series:
        path = self._path(model)
        err = path["y_true"] - path["y_pred"]
        if loss == "squared":
            return err ** 2
        if loss == "absolute":
            return err.abs()
        ratio = (path["y_true"] / path["y_pred"]) ** 2           # QLIKE on variances
        if (path["y_pred"] <= 0).any() or (path["y_true"] <= 0).any():
            raise ValueError(f"QLIKE needs positive forecasts and outcomes; {model!r} has "
                             "some that are not. Use loss='squared'.")
        return ratio - np.log(ratio) - 1

    def significance(self, reference: str, *, loss: str | None = None,
                     level: float = 0.05) -> pd.DataFrame:
        """Diebold-Mariano test of every model's losses against ``reference``'s.

        The losses are those of the test points each traded once on its most recent
        forecast (as :meth:`strategy_path`: steps ``1 .. step`` of each cutoff, observed
        points only), aligned in time; the test (:func:`skfin.metrics.diebold_mariano`,
        HLN-corrected) takes autocovariances up to lag ``step - 1``, since the forecasts of
        one cutoff share its information.

        Parameters
        ----------
        reference : str
            A model of this backtest, e.g. ``"garch"``.
        loss : {"squared", "absolute", "qlike"} or None, default=None
            Per-point loss; None is ``"qlike"`` for volatility targets, else ``"squared"``.
        level : float, default=0.05
            Significance level of the ``verdict`` column.

        Returns
        -------
        pandas.DataFrame
            Indexed by model (the reference left out): ``loss`` and ``loss_reference``
            (mean losses), ``dm_statistic`` (negative when the model's losses are lower),
            ``dm_pvalue`` (two-sided), ``verdict``: ``"better"`` or ``"worse"`` than the
            reference at ``level``, else ``"not significant"``.

        Examples
        --------
        >>> import numpy as np
        >>> from sktime.forecasting.naive import NaiveForecaster
        >>> from skfin.datasets import load_sp500
        >>> from skfin.model_selection import backtest
        >>> close = load_sp500()["Close"].reset_index(drop=True)
        >>> r = (100 * np.log(close).diff()).dropna().iloc[-1000:]
        >>> res = backtest({"last": NaiveForecaster("last"), "mean": NaiveForecaster("mean")},
        ...                r, fh=5, folds=40, progress=False)
        >>> res.significance("mean")[["dm_pvalue", "verdict"]].round(4)
               dm_pvalue verdict
        model
        last      0.0029   worse
        """
        from skfin.metrics import diebold_mariano

        if reference not in self.models:
            raise ValueError(f"reference {reference!r} is not a model of this backtest; "
                             f"models: {self.models}.")
        loss = loss or ("qlike" if self.target == "volatility" else "squared")
        if loss not in ("squared", "absolute", "qlike"):
            raise ValueError(f"loss must be 'squared', 'absolute' or 'qlike'; got {loss!r}.")
        base = self._losses(reference, loss)
        rows = {}
        for model in self.models:
            if model == reference:
                continue
            mine = self._losses(model, loss)
            common = mine.index.intersection(base.index)
            a, b = mine.loc[common], base.loc[common]
            try:
                test = diebold_mariano(a, b, h=min(self.step, len(common) - 1))
            except ValueError:                       # identical losses: nothing to test
                test = (np.nan, np.nan)
            verdict = ("not significant" if not test[1] < level
                       else "better" if test[0] < 0 else "worse")
            rows[model] = {"loss": a.mean(), "loss_reference": b.mean(),
                           "dm_statistic": test[0], "dm_pvalue": test[1], "verdict": verdict}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")

    def coverage_tests(self) -> pd.DataFrame:
        """Kupiec and Christoffersen tests of each model's intervals, at each coverage.

        On the same path as :meth:`significance` (each test point once, in time order).

        Returns
        -------
        pandas.DataFrame
            One row per (model, coverage): ``observed`` coverage, ``kupiec_pvalue`` (is the
            miss rate nominal?) and ``christoffersen_pvalue`` (nominal and independent
            misses?). Models without intervals are left out.

        Examples
        --------
        >>> import numpy as np
        >>> from sktime.forecasting.naive import NaiveForecaster
        >>> from skfin.datasets import load_sp500
        >>> from skfin.model_selection import backtest
        >>> close = load_sp500()["Close"].reset_index(drop=True)
        >>> r = (100 * np.log(close).diff()).dropna().iloc[-1000:]
        >>> res = backtest({"mean": NaiveForecaster("mean")}, r, fh=5, folds=40,
        ...                coverage=0.9, progress=False)
        >>> res.coverage_tests().round(3)             # the naive interval is too narrow
                        observed  kupiec_pvalue  christoffersen_pvalue
        model coverage
        mean  0.9          0.825          0.001                    0.0
        """
        from skfin.metrics import christoffersen_test, kupiec_test

        rows = []
        for model in self.models:
            path = self._path(model)
            for c in self.coverage:
                label = coverage_label(c)
                lower, upper = path[f"lower_{label}"], path[f"upper_{label}"]
                if lower.isna().any() or upper.isna().any():
                    continue
                misses = ((path["y_true"] < lower) | (path["y_true"] > upper)).to_numpy()
                rows.append({"model": model, "coverage": c, "observed": 1 - misses.mean(),
                             "kupiec_pvalue": kupiec_test(misses, c).pvalue,
                             "christoffersen_pvalue": christoffersen_test(misses, c).pvalue})
        return pd.DataFrame(rows).set_index(["model", "coverage"]) if rows else pd.DataFrame()

    def last_fold(self, model: str) -> pd.DataFrame:
        """Forecasts and intervals of the last fold of ``model``."""
        rows = self.forecasts[self.forecasts["model"] == model]
        if not len(rows):
            raise ValueError(f"No forecasts for model {model!r}; models: {self.models}.")
        return rows[rows["fold"] == rows["fold"].max()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------
def _check_int(value, name: str, low: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"backtest: {name} must be an int >= {low}; got {name}={value!r}.")
    return int(value)


def _check_fh(fh) -> np.ndarray:
    if isinstance(fh, Integral) and not isinstance(fh, bool):
        steps = np.arange(1, _check_int(fh, "fh", 1) + 1)
    else:
        steps = np.asarray(fh)
        if (steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer)
                or (steps < 1).any() or len(np.unique(steps)) != steps.size):
            raise ValueError("backtest: fh must be an int >= 1 (steps 1..fh) or a list of "
                             f"distinct ints >= 1; got fh={fh!r}.")
        steps = np.sort(steps)
    return steps.astype(np.int64)


def _check_coverage(coverage) -> tuple:
    values = np.atleast_1d(np.asarray(coverage, dtype=float)) if coverage is not None else []
    if len(values) == 0 or not ((values > 0) & (values < 1)).all():
        raise ValueError("backtest: coverage must be one or more values in the open interval "
                         f"(0, 1); got coverage={coverage!r}.")
    return tuple(sorted(set(float(c) for c in values)))


def _check_y(y, X, forecasters: dict):
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"backtest scores one series; y has {y.shape[1]} columns. Pass "
                             "one column, e.g. y['Close'].")
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        raise TypeError(f"backtest: y must be a pandas Series; got {type(y).__name__}.")
    if y.isna().any():
        first = y.index[int(np.argmax(y.isna().to_numpy()))]
        refuse = [name for name, f in forecasters.items()
                  if not f.get_tag("capability:missing_values", tag_value_default=False,
                                   raise_error=False)]
        if refuse:
            raise ValueError(
                f"backtest: y has {int(y.isna().sum())} missing value(s), first at {first}, "
                f"and {refuse} cannot read them (only forecasters with sktime's "
                "capability:missing_values tag can, e.g. NeuralCDEForecaster). Drop or fill "
                "them first (y.dropna(), y.ffill()), or backtest those models apart.")
        if y.isna().all():
            raise ValueError("backtest: every value of y is missing.")
    if X is not None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("backtest: X must be a pandas DataFrame (or None); got "
                            f"{type(X).__name__}.")
        if len(X) != len(y) or not X.index.equals(y.index):
            raise ValueError("backtest: X must have the same index as y (one row per "
                             f"observation); got {len(X)} rows for {len(y)} in y.")
    return y


def _splitter(n: int, steps: np.ndarray, folds: int, step: int, min_train_size: int):
    horizon = int(steps.max())
    first = n - (folds - 1) * step - horizon
    if first < min_train_size:
        need = min_train_size + (folds - 1) * step + horizon
        raise ValueError(
            f"backtest: {folds} fold(s) {step} apart, forecasting up to {horizon} step(s) "
            f"ahead, after at least {min_train_size} training observations need a series "
            f"of {need} observations; got {n}. Use fewer folds, a smaller step or horizon, "
            "or a longer series."
        )
    return ExpandingWindowSplitter(fh=steps, initial_window=first, step_length=step)


# ---------------------------------------------------------------------------------------
# scoring one fold
# ---------------------------------------------------------------------------------------
def _fold_scores(y_true, pred, bands, quantiles, ref, target, coverage, returns_scale,
                 periods_per_year) -> dict:
    observed = ~np.isnan(y_true)              # a missing value (NaN in y) is not scored
    if not observed.any():
        return {}                             # the fold's columns stay NaN
    if not observed.all():
        y_true, pred = y_true[observed], pred[observed]
        bands = None if bands is None else bands[observed]
        quantiles = None if quantiles is None else quantiles[observed]
    err = y_true - pred
    row = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
           "direction": metrics.directional_accuracy(y_true, pred, y_ref=ref)}
    if target == "returns":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            row["sharpe"] = metrics.sharpe_ratio(y_true / returns_scale, pred,
                                                 periods_per_year=periods_per_year)
    if target == "volatility":
        ok = (pred > 0).all() and (y_true > 0).all()
        row["qlike"] = metrics.qlike(y_true, pred, volatility=True) if ok else np.nan
    row["pinball"] = (metrics.pinball_loss(y_true, quantiles) if quantiles is not None
                      else np.nan)
    for c in coverage:
        label = coverage_label(c)
        if bands is None:
            row.update({f"coverage_{label}": np.nan, f"width_{label}": np.nan,
                        f"winkler_{label}": np.nan})
            continue
        row[f"coverage_{label}"] = metrics.empirical_coverage(y_true, bands, coverage=c)
        row[f"width_{label}"] = metrics.mean_interval_width(y_true, bands, coverage=c)
        row[f"winkler_{label}"] = metrics.winkler_score(y_true, bands, coverage=c)
    return row


def _bounds(bands: pd.DataFrame | None, coverage) -> dict:
    out = {}
    for c in coverage:
        label = coverage_label(c)
        if bands is None:
            out[f"lower_{label}"] = out[f"upper_{label}"] = np.nan
            continue
        keys = bands.columns.get_level_values(1).to_numpy(dtype=float)
        pos = int(np.argmin(np.abs(keys - c)))
        key = bands.columns[pos][1]
        var = bands.columns[pos][0]
        out[f"lower_{label}"] = bands[(var, key, "lower")].to_numpy(dtype=float)
        out[f"upper_{label}"] = bands[(var, key, "upper")].to_numpy(dtype=float)
    return out


# ---------------------------------------------------------------------------------------
# the backtest
# ---------------------------------------------------------------------------------------
def _past_covariates_only(forecaster):
    """A clone of ``forecaster`` that reads X over the past window only.

    The backtest's X is observed data, known up to each cutoff; skfin forecasters (also
    inside a pipeline) would otherwise ask for its future values (``future_X="all"``).
    """
    names = [k for k in forecaster.get_params(deep=True)
             if k == "future_X" or k.endswith("__future_X")]
    return forecaster.clone().set_params(**dict.fromkeys(names)) if names else forecaster


def backtest(forecasters: dict, y, X=None, *, fh=5, folds=5, step=None, min_train_size=1,
             strategy="update", coverage=(0.8, 0.9, 0.95), target="returns",
             returns_scale=100.0, periods_per_year=252, errors="raise",
             progress=True) -> BacktestResult:
    """Walk-forward backtest of several forecasters on the same expanding-window folds.

    The last ``folds`` cutoffs are ``step`` observations apart and the last one leaves
    ``max(fh)`` observations to forecast; fold ``k`` trains on everything up to its cutoff.
    Every forecaster is cloned, fitted on the first fold and then, with
    ``strategy="update"``, updated with each new block of ``step`` observations, as
    :func:`sktime.forecasting.model_evaluation.evaluate` does.

    Parameters
    ----------
    forecasters : dict of str to sktime forecaster
        Models by name. They are cloned, never fitted in place.
    y : pandas.Series
        The series, in time order. Count trading days with an integer index
        (``y.reset_index(drop=True)``), or pass a ``DatetimeIndex`` that skfin's
        forecasters read time from. Missing values (NaN) are allowed only when every
        forecaster declares sktime's ``capability:missing_values`` tag (e.g.
        :class:`~skfin.forecasting.NeuralCDEForecaster`); they are then never scored
        (each fold's metrics use its observed points only).
    X : pandas.DataFrame or None, default=None
        Exogenous data on the index of ``y``, observed up to each cutoff only; never
        passed to ``predict``. skfin forecasters read it over their past window
        (``future_X=None`` is set on a clone, also inside pipelines).
    fh : int or list of int, default=5
        Steps ahead: ``1 .. fh``, or the listed steps.
    folds : int, default=5
        Number of cutoffs (test windows).
    step : int or None, default=None
        Observations between cutoffs; None means ``max(fh)``, so that the test windows
        tile the end of the series without overlap.
    min_train_size : int, default=1
        Fewest observations the first fold may train on; a shorter series raises a
        ValueError that says how long it must be.
    strategy : {"update", "refit", "no-update_params"}, default="update"
        As in ``evaluate``: update the fitted model with new data, refit a clone on every
        fold, or move the cutoff without changing the parameters.
    coverage : float or sequence of float, default=(0.8, 0.9, 0.95)
        Nominal coverages of the prediction intervals scored. Forecasters without
        the ``capability:pred_int`` tag get NaN in the interval columns.
    target : {"returns", "level", "volatility"}, default="returns"
        What ``y`` is. ``"returns"``: direction is the sign of the return, and the sign
        strategy's Sharpe ratio is scored. ``"level"`` (prices) and ``"volatility"``:
        direction is the move from the level at the cutoff; ``"volatility"`` adds QLIKE
        on squared volatilities.
    returns_scale : float, default=100.0
        ``y`` holds returns times this (100 for percent), for the trading metrics.
    periods_per_year : float, default=252
        Annualisation of the Sharpe ratio (12 for monthly data).
    errors : {"raise", "warn"}, default="raise"
        What a failing forecaster does: raise, or warn, drop its rows and go on with the
        next model (the message is kept in ``result.failures``).
    progress : bool, default=True
        Show a tqdm progress bar over (model, fold) on stderr.

    Returns
    -------
    BacktestResult

    Examples
    --------
    Two naive baselines on the last 1,000 daily S&P 500 log returns (percent), 5 folds
    of 5 days:

    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-1000:]
    >>> res = backtest({"last": NaiveForecaster("last"), "mean": NaiveForecaster("mean")},
    ...                r, fh=5, folds=5, progress=False)
    >>> res.leaderboard()[["mae", "direction", "coverage_90", "folds"]].round(3)
             mae  direction  coverage_90  folds
    model
    mean   1.291       0.44         0.56      5
    last   1.650       0.60         0.92      5
    """
    if not isinstance(forecasters, dict) or not forecasters:
        raise TypeError("backtest: forecasters must be a non-empty dict {name: forecaster}; "
                        f"got {type(forecasters).__name__}.")
    y = _check_y(y, X, forecasters)
    steps = _check_fh(fh)
    folds = _check_int(folds, "folds", 1)
    step = int(steps.max()) if step is None else _check_int(step, "step", 1)
    min_train_size = _check_int(min_train_size, "min_train_size", 1)
    coverage = _check_coverage(coverage)
    if strategy not in _STRATEGIES:
        raise ValueError(f"backtest: strategy must be one of {_STRATEGIES}; got {strategy!r}.")
    if target not in _TARGETS:
        raise ValueError(f"backtest: target must be one of {_TARGETS}; got {target!r}.")
    if errors not in ("raise", "warn"):
        raise ValueError(f"backtest: errors must be 'raise' or 'warn'; got {errors!r}.")
    if not isinstance(returns_scale, Real) or not returns_scale > 0:
        raise ValueError(f"backtest: returns_scale must be > 0; got {returns_scale!r}.")

    cv = _splitter(len(y), steps, folds, step, min_train_size)
    splits = list(cv.split(y))
    fh_rel = ForecastingHorizon(steps, is_relative=True)
    levels = _quantile_levels(coverage)
    values = y.to_numpy(dtype=float)
    last_observed = y.ffill().to_numpy(dtype=float)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(forecasters) * len(splits), desc="backtest", unit="fold",
               disable=not progress, leave=False)
    fold_rows, forecast_rows, failures = [], [], {}
    try:
        for name, template in forecasters.items():
            model_rows, model_forecasts = [], []
            model, seen = None, -1
            template = _past_covariates_only(template)
            try:
                for k, (train, test) in enumerate(splits):
                    bar.set_postfix_str(f"{name} fold {k + 1}/{len(splits)}")
                    cutoff = int(train[-1])
                    start = time.perf_counter()
                    if model is None or strategy == "refit":
                        model = template.clone()
                        model.fit(y.iloc[train], fh=fh_rel,
                                  X=None if X is None else X.iloc[train])
                    else:
                        new = np.arange(seen + 1, cutoff + 1)
                        model.update(y.iloc[new],
                                     X=None if X is None else X.iloc[new],
                                     update_params=strategy == "update")
                    seen = cutoff
                    fit_seconds = time.perf_counter() - start

                    start = time.perf_counter()
                    pred = model.predict().to_numpy(dtype=float).reshape(-1)
                    bands = quantiles = None
                    if model.get_tag("capability:pred_int", tag_value_default=False,
                                     raise_error=False):
                        bands = model.predict_interval(coverage=list(coverage))
                        quantiles = model.predict_quantiles(alpha=levels)
                    predict_seconds = time.perf_counter() - start

                    y_true = values[test]
                    # the direction of a level is the move from the last observed one
                    ref = 0.0 if target == "returns" else last_observed[cutoff]
                    row = {"model": name, "fold": k, "cutoff": y.index[cutoff],
                           "train_size": len(train)}
                    row.update(_fold_scores(y_true, pred, bands, quantiles, ref, target,
                                            coverage, returns_scale, periods_per_year))
                    row.update(fit_seconds=fit_seconds, predict_seconds=predict_seconds)
                    model_rows.append(row)
                    model_forecasts.append(pd.DataFrame({
                        "model": name, "fold": k, "cutoff": y.index[cutoff], "step": steps,
                        "time": y.index[test], "position": test, "y_true": y_true,
                        "y_pred": pred, **_bounds(bands, coverage)}))
                    bar.update(1)
            except Exception as exc:
                if errors == "raise":
                    raise
                message = f"{type(exc).__name__}: {exc}"
                failures[name] = message
                warnings.warn(f"backtest: model {name!r} failed ({message}); left out.",
                              UserWarning, stacklevel=2)
                bar.update(len(splits) - len(model_rows))
                continue
            fold_rows += model_rows
            forecast_rows += model_forecasts
    finally:
        bar.close()

    return BacktestResult(
        folds=pd.DataFrame(fold_rows),
        forecasts=(pd.concat(forecast_rows, ignore_index=True) if forecast_rows
                   else pd.DataFrame()),
        y=y, target=target, coverage=coverage, fh=steps, step=step,
        returns_scale=float(returns_scale), periods_per_year=float(periods_per_year),
        failures=failures,
    )
