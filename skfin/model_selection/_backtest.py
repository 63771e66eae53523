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

Parallel (``backend="loky" | "dask" | "ray"``): the loop body is one function,
``_run_task``, that walks one model over its folds (or one fold, with a refit) and returns
its rows, forecasts or failure; the serial loop calls it in turn, and
:mod:`skfin.model_selection._parallel` hands the same calls to joblib, Dask or Ray.
"""

from __future__ import annotations

import contextlib
import time
import traceback
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sktime.forecasting.base import ForecastingHorizon
from sktime.split import ExpandingWindowSplitter

from skfin import metrics
from skfin._warnings import warn
from skfin.model_selection import _parallel

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
def _past_covariates_only(name: str, forecaster):
    """A clone of ``forecaster`` that reads X over the past window only.

    The backtest's X is observed data, known up to each cutoff; skfin forecasters (also
    inside a pipeline) would otherwise ask for its future values (``future_X="all"``).
    """
    names = [k for k, v in forecaster.get_params(deep=True).items()
             if (k == "future_X" or k.endswith("__future_X")) and v is not None]
    if names and getattr(forecaster, "state", "new") == "pretrained":
        # set_params resets a sktime forecaster, which would drop what pretrain learnt
        raise ValueError(
            f"backtest reads X as observed data (future_X=None), but the pretrained "
            f"forecaster {name!r} has {names[0]}={forecaster.get_params()[names[0]]!r}, and "
            "changing it now would discard its pretraining. Construct it with "
            "future_X=None before pretrain."
        )
    return forecaster.clone().set_params(**dict.fromkeys(names)) if names else forecaster


@dataclass
class _Walk:
    """What every task of one backtest shares: the data, the folds and the scoring."""

    y: pd.Series
    X: pd.DataFrame | None
    splits: list
    steps: np.ndarray
    strategy: str
    coverage: tuple
    levels: list
    target: str
    returns_scale: float
    periods_per_year: float
    threads: int


@dataclass
class _Task:
    """One unit of work: a model's walk over ``folds`` (one fold when refitting)."""

    index: int
    name: str
    forecaster: object
    folds: tuple


@dataclass
class _Outcome:
    """A task's rows and forecasts, or the fold it failed on and the exception."""

    index: int
    rows: list
    forecasts: list
    failed_fold: int | None = None
    error: BaseException | None = None
    trace: str = ""


@contextlib.contextmanager
def _torch_threads(threads: int):
    """Run the block on ``threads`` torch CPU threads, then restore the caller's count."""
    import torch

    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _run_task(walk: _Walk, task: _Task, on_fold=None) -> _Outcome:
    """Run one task: fit (or update) and forecast every fold of ``task``, in order.

    The one code path of every backend (serial included). ``on_fold(task, k)`` is called
    before fold ``k`` starts and ``on_fold(task, None)`` after each fold ends (progress
    bar, heartbeats). An exception is caught and returned with the fold it happened in.
    """
    y, X, strategy = walk.y, walk.X, walk.strategy
    fh_rel = ForecastingHorizon(walk.steps, is_relative=True)
    values = y.to_numpy(dtype=float)
    last_observed = y.ffill().to_numpy(dtype=float)
    rows, frames = [], []
    model, seen, k = None, -1, task.folds[0]
    with _torch_threads(walk.threads):
        try:
            for k in task.folds:
                if on_fold is not None:
                    on_fold(task, k)
                train, test = walk.splits[k]
                cutoff = int(train[-1])
                start = time.perf_counter()
                if model is None or strategy == "refit":
                    model = task.forecaster.clone()
                    model.fit(y.iloc[train], fh=fh_rel,
                              X=None if X is None else X.iloc[train])
                else:
                    new = np.arange(seen + 1, cutoff + 1)
                    model.update(y.iloc[new], X=None if X is None else X.iloc[new],
                                 update_params=strategy == "update")
                seen = cutoff
                fit_seconds = time.perf_counter() - start

                start = time.perf_counter()
                pred = model.predict().to_numpy(dtype=float).reshape(-1)
                bands = quantiles = None
                if model.get_tag("capability:pred_int", tag_value_default=False,
                                 raise_error=False):
                    bands = model.predict_interval(coverage=list(walk.coverage))
                    quantiles = model.predict_quantiles(alpha=walk.levels)
                predict_seconds = time.perf_counter() - start

                y_true = values[test]
                # the direction of a level is the move from the last observed one
                ref = 0.0 if walk.target == "returns" else last_observed[cutoff]
                row = {"model": task.name, "fold": k, "cutoff": y.index[cutoff],
                       "train_size": len(train)}
                row.update(_fold_scores(y_true, pred, bands, quantiles, ref, walk.target,
                                        walk.coverage, walk.returns_scale,
                                        walk.periods_per_year))
                row.update(fit_seconds=fit_seconds, predict_seconds=predict_seconds)
                rows.append(row)
                frames.append(pd.DataFrame({
                    "model": task.name, "fold": k, "cutoff": y.index[cutoff],
                    "step": walk.steps, "time": y.index[test], "position": test,
                    "y_true": y_true, "y_pred": pred, **_bounds(bands, walk.coverage)}))
                if on_fold is not None:
                    on_fold(task, None)
        except Exception as exc:
            return _Outcome(task.index, rows, frames, k, exc, traceback.format_exc())
    return _Outcome(task.index, rows, frames)


def _tasks(forecasters: dict, n_folds: int, strategy: str, has_X: bool) -> list[_Task]:
    """One task per model (its walk carries state), or per (model, fold) when refitting."""
    tasks = []
    for name, template in forecasters.items():
        if has_X:
            template = _past_covariates_only(name, template)
        groups = ([(k,) for k in range(n_folds)] if strategy == "refit"
                  else [tuple(range(n_folds))])
        for folds in groups:
            tasks.append(_Task(len(tasks), name, template, folds))
    return tasks


def backtest(forecasters: dict, y, X=None, *, fh=5, folds=5, step=None, min_train_size=1,
             strategy="update", coverage=(0.8, 0.9, 0.95), target="returns",
             returns_scale=100.0, periods_per_year=252, errors="raise",
             progress=True, backend=None, n_jobs=None, scheduler=None,
             threads=1) -> BacktestResult:
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
        Show a tqdm progress bar over (model, fold) on stderr. In parallel it moves when
        a task finishes (by that task's folds).
    backend : {None, "loky", "dask", "ray"}, default=None
        None runs serially. Otherwise the work is split into tasks: one per model with
        ``strategy="update"`` or ``"no-update_params"`` (a model's walk carries its
        state from fold to fold), one per (model, fold) with ``"refit"``; the tasks run
        on processes of this machine through joblib's ``"loky"``, on a
        ``dask.distributed`` cluster (``scheduler``, or a ``LocalCluster`` of ``n_jobs``
        one-thread worker processes on 127.0.0.1, closed afterwards) or on Ray (the
        running Ray, else ``ray.init(num_cpus=n_jobs)``, shut down afterwards). Every
        task runs the serial path's code, so the result is identical to the serial one
        (see Notes). Dask and Ray need ``pip install "skfin[distributed]"``.
    n_jobs : int or None, default=None
        Workers of a local pool or cluster (loky, a local Dask cluster, a Ray started
        here); None or -1: every CPU. Must be None or 1 when ``backend=None``; a running
        Dask scheduler or Ray cluster keeps its own size.
    scheduler : str or None, default=None
        Address of a running ``dask.distributed`` scheduler (``"tcp://10.0.0.1:8786"``)
        with ``backend="dask"``, or of a Ray cluster with ``backend="ray"``. A scheduler
        that does not answer within 5 s raises a ``ConnectionError`` naming the
        address.
    threads : int, default=1
        torch CPU threads of every task, serial or parallel (the caller's setting is
        restored afterwards): one per worker does not oversubscribe the cores, and
        fixing it makes results independent of the backend (see Notes).

    Returns
    -------
    BacktestResult

    Raises
    ------
    WorkerDiedError
        A worker process died (killed, out of memory, a crash in native code) while
        running a task: the message names the model and fold that were running, whatever
        ``errors`` says, since their rows would otherwise be missing.

    Notes
    -----
    Parallel results equal serial ones exactly: every fit is seeded from the
    forecaster's ``random_state`` alone, a task runs the same code in a worker as in
    the serial loop, and it runs on ``threads`` torch threads either way. The thread
    count matters: torch splits CPU reductions across threads, and the same LSTM, TCN
    or Transformer fitted on 1 and on 2 threads forecasts differently in the 8th digit
    (measured on S&P 500 returns: up to 3e-8); an MLP did not differ. Workers on other
    machines (a remote Dask or Ray cluster) reproduce the serial numbers when their CPUs
    and library versions match this machine's.

    With ``n_jobs`` workers of ``threads`` threads each, keep ``n_jobs * threads`` at or
    below the cores. sktime's own ``evaluate(forecaster, cv, y, backend="loky" | "dask"
    | "ray")`` also runs skfin forecasters as they are (tested).

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

    The same on two loky worker processes: the same numbers.

    >>> par = backtest({"last": NaiveForecaster("last"), "mean": NaiveForecaster("mean")},
    ...                r, fh=5, folds=5, progress=False, backend="loky", n_jobs=2)
    >>> par.forecasts.equals(res.forecasts)
    True
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

    backend, n_jobs = _parallel.check_backend(backend, n_jobs, scheduler)
    threads = _check_int(threads, "threads", 1)

    cv = _splitter(len(y), steps, folds, step, min_train_size)
    splits = list(cv.split(y))
    walk = _Walk(y=y, X=X, splits=splits, steps=steps, strategy=strategy, coverage=coverage,
                 levels=_quantile_levels(coverage), target=target,
                 returns_scale=float(returns_scale),
                 periods_per_year=float(periods_per_year), threads=threads)
    tasks = _tasks(forecasters, len(splits), strategy, X is not None)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(forecasters) * len(splits), desc="backtest", unit="fold",
               disable=not progress, leave=False)

    def on_fold(task, k):           # serial: the bar moves fold by fold
        if k is None:
            bar.update(1)
        else:
            bar.set_postfix_str(f"{task.name} fold {k + 1}/{len(splits)}")

    outcomes, failures = {}, {}
    try:
        if backend is None:
            def run():
                for task in tasks:
                    if task.name in failures:         # its rows are left out anyway
                        bar.update(len(task.folds))
                        continue
                    yield _run_task(walk, task, on_fold)
            results = contextlib.nullcontext(run())
        else:
            results = _parallel.execute(backend, n_jobs, scheduler, walk, tasks)
        with results as finished:
            for outcome in finished:
                task = tasks[outcome.index]
                if backend is not None:
                    bar.set_postfix_str(f"{task.name} fold {task.folds[-1] + 1}/"
                                        f"{len(splits)} done")
                    bar.update(len(task.folds))
                elif outcome.error is not None:         # the folds it did not reach
                    bar.update(len(task.folds) - len(outcome.rows))
                outcomes[outcome.index] = outcome
                if outcome.error is None or task.name in failures:
                    continue
                fold = outcome.failed_fold
                if errors == "raise":
                    error = outcome.error
                    error.add_note(f"backtest: raised by model {task.name!r} in fold {fold} "
                                   f"(cutoff {y.index[int(splits[fold][0][-1])]}).")
                    if backend is not None and outcome.trace:
                        error.add_note(f"Traceback in the {backend} worker:\n"
                                       f"{outcome.trace}")
                    raise error
                message = f"{type(outcome.error).__name__}: {outcome.error}"
                failures[task.name] = message
                warn(f"backtest: model {task.name!r} failed in fold {fold} "
                     f"({message}); left out.", UserWarning)
    finally:
        bar.close()

    fold_rows, forecast_rows = [], []
    for task in tasks:                    # the serial order: model by model, fold by fold
        if task.name not in failures:
            fold_rows += outcomes[task.index].rows
            forecast_rows += outcomes[task.index].forecasts

    return BacktestResult(
        folds=pd.DataFrame(fold_rows),
        forecasts=(pd.concat(forecast_rows, ignore_index=True) if forecast_rows
                   else pd.DataFrame()),
        y=y, target=target, coverage=coverage, fh=steps, step=step,
        returns_scale=float(returns_scale), periods_per_year=float(periods_per_year),
        failures=failures,
    )
