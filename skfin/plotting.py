"""Plots of a walk-forward backtest: forecast fans, scores per fold, calibration, strategy.

Every function takes a :class:`~skfin.model_selection.BacktestResult` and returns a
:class:`matplotlib.figure.Figure`. Figures are built with matplotlib's object-oriented API
(``Figure``, not ``pyplot``), so nothing here needs a display or changes the session's
backend: saving renders with Agg. :func:`save_backtest_plots` writes them all as PNG.

Install matplotlib with ``pip install "skfin[plotting]"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skfin.model_selection._backtest import BacktestResult, coverage_label

__all__ = ["plot_forecast_fans", "plot_fold_metric", "plot_coverage",
           "plot_strategy_returns", "save_backtest_plots"]


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError('skfin.plotting needs matplotlib: pip install "skfin[plotting]"'
                          ) from exc
    return Figure(**kwargs)


def _times(result: BacktestResult, positions, dates) -> np.ndarray:
    """x values for positions of ``result.y``: the dates if given, else the index labels."""
    positions = np.asarray(positions, dtype=np.int64)
    if dates is None:
        labels = result.y.index
    else:
        labels = pd.Index(dates)
        if len(labels) != len(result.y):
            raise ValueError(f"dates must have one entry per observation of the backtested "
                             f"series ({len(result.y)}); got {len(labels)}.")
    labels = labels[positions]
    if isinstance(labels, pd.PeriodIndex):
        labels = labels.to_timestamp()
    return np.asarray(labels)


def _check_models(result: BacktestResult) -> list[str]:
    if not result.models:
        raise ValueError("The backtest has no results to plot (every model failed?).")
    return result.models


def plot_forecast_fans(result: BacktestResult, *, history=60, dates=None, ncols=3,
                       ylabel=None):
    """Last fold of every model: observed series, forecasts and shaded intervals.

    Parameters
    ----------
    result : BacktestResult
    history : int, default=60
        Observations shown before the last cutoff.
    dates : array-like or None, default=None
        One time stamp per observation of ``result.y`` for the x axis (the backtest counts
        trading days with an integer index); None uses the index of ``result.y``.
    ncols : int, default=3
        Panels per row.
    ylabel : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> from skfin.plotting import plot_forecast_fans
    >>> close = load_sp500()["Close"]
    >>> r = (100 * np.log(close).diff()).dropna()
    >>> res = backtest({"naive": NaiveForecaster("mean")}, r.reset_index(drop=True).iloc[-500:],
    ...                fh=5, folds=3, progress=False)
    >>> fig = plot_forecast_fans(res, dates=r.index[-500:])
    >>> len(fig.axes)
    1
    """
    models = _check_models(result)
    ncols = max(1, min(ncols, len(models)))
    nrows = int(np.ceil(len(models) / ncols))
    fig = _figure(figsize=(4.6 * ncols, 3.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True).ravel()
    widths = sorted(result.coverage, reverse=True)
    for ax, model in zip(axes, models):
        last = result.last_fold(model)
        first = int(last["position"].min())
        past = np.arange(max(0, first - history), first)
        ax.plot(_times(result, past, dates), result.y.to_numpy()[past], color="black", lw=0.9,
                label="observed")
        x = _times(result, last["position"], dates)
        for i, c in enumerate(widths):
            label = coverage_label(c)
            lower, upper = last[f"lower_{label}"], last[f"upper_{label}"]
            if lower.notna().all():
                ax.fill_between(x, lower, upper, color="tab:blue",
                                alpha=0.15 + 0.15 * i, lw=0, label=f"{label}% interval")
        ax.plot(x, last["y_pred"], color="tab:blue", lw=1.6, marker=".", label="forecast")
        ax.plot(x, last["y_true"], "o", color="black", ms=3.5, label="realised")
        ax.set_title(model, fontsize=10)
        if ylabel:
            ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in axes[len(models):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Last walk-forward fold: forecasts and prediction intervals")
    return fig


def plot_fold_metric(result: BacktestResult, metric="mae", *, dates=None):
    """One score per fold and model (``metric`` is a column of ``result.folds``).

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> from skfin.plotting import plot_fold_metric
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-500:]
    >>> res = backtest({"mean": NaiveForecaster("mean"), "last": NaiveForecaster("last")}, r,
    ...                fh=5, folds=4, progress=False)
    >>> plot_fold_metric(res, "mae").axes[0].get_ylabel()
    'mae'
    """
    models = _check_models(result)
    if metric not in result.folds.columns:
        raise ValueError(f"Unknown metric {metric!r}; columns of result.folds: "
                         f"{list(result.folds.columns)}.")
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    positions = result.y.index.get_indexer(result.folds["cutoff"])
    for model in models:
        rows = result.folds["model"] == model
        ax.plot(_times(result, positions[rows.to_numpy()], dates),
                result.folds.loc[rows, metric], marker="o", ms=3, lw=1, label=model)
    ax.set_xlabel("cutoff")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per walk-forward fold")
    ax.legend(fontsize=8, ncol=2)
    return fig


def plot_coverage(result: BacktestResult):
    """Empirical against nominal coverage of every model's intervals, with the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> from skfin.plotting import plot_coverage
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-500:]
    >>> res = backtest({"mean": NaiveForecaster("mean")}, r, fh=5, folds=4, progress=False)
    >>> len(plot_coverage(res).axes[0].lines)          # the diagonal and one model
    2
    """
    models = _check_models(result)
    board = result.leaderboard()
    nominal = np.asarray(result.coverage)
    fig = _figure(figsize=(4.8, 4.6), layout="constrained")
    ax = fig.subplots()
    empirical = {model: np.array([board.loc[model, f"coverage_{coverage_label(c)}"]
                                  for c in nominal], dtype=float) for model in models}
    lowest = np.nanmin([np.nanmin(e) if np.isfinite(e).any() else 1.0
                        for e in empirical.values()])
    lo = max(0.0, min(0.5, float(nominal.min()) - 0.1, lowest - 0.05))
    ax.plot([lo, 1], [lo, 1], color="grey", ls="--", lw=1, label="ideal")
    for model, values in empirical.items():
        if np.isfinite(values).any():
            ax.plot(nominal, values, marker="o", label=model)
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1.01)
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage (all folds)")
    ax.set_title("Interval calibration")
    ax.legend(fontsize=8)
    return fig


def plot_strategy_returns(result: BacktestResult, *, dates=None):
    """Cumulative return of each model's sign strategy, with buy and hold for reference.

    Only for returns targets. The strategy of :meth:`BacktestResult.strategy_path`, no
    costs; wealth compounds the simple returns ``expm1(y / returns_scale)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> from skfin.plotting import plot_strategy_returns
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-500:]
    >>> res = backtest({"last": NaiveForecaster("last")}, r, fh=5, folds=4, progress=False)
    >>> ax = plot_strategy_returns(res).axes[0]
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['buy and hold', 'last']
    """
    models = _check_models(result)
    if result.target != "returns":
        raise ValueError("A sign strategy trades returns; this backtest's target is "
                         f"{result.target!r}.")
    from skfin.metrics import strategy_returns

    fig = _figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    path = result.strategy_path(models[0])
    x = _times(result, path["position"], dates)
    hold = np.cumprod(np.expm1(path["y_true"].to_numpy() / result.returns_scale) + 1) - 1
    ax.plot(x, 100 * hold, color="black", lw=1.4, ls="--", label="buy and hold", zorder=5)
    for model in models:
        path = result.strategy_path(model)
        s = strategy_returns(path["y_true"] / result.returns_scale, path["y_pred"])
        ax.plot(_times(result, path["position"], dates), 100 * (np.cumprod(1 + s) - 1),
                lw=1.2, label=model)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_ylabel("cumulative return (%)")
    ax.set_title("Trading the sign of each forecast (no costs)")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(fontsize=8, ncol=2)
    return fig


def save_backtest_plots(result: BacktestResult, folder, *, dates=None, ylabel=None,
                        dpi=110) -> list[Path]:
    """Save every plot that applies to ``result`` as PNG files in ``folder``.

    Writes ``forecast_fans.png``, ``mae_per_fold.png``, ``coverage.png`` and, for returns
    targets, ``strategy_returns.png``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.model_selection import backtest
    >>> from skfin.plotting import save_backtest_plots
    >>> close = load_sp500()["Close"].reset_index(drop=True)
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-500:]
    >>> res = backtest({"mean": NaiveForecaster("mean")}, r, fh=5, folds=4, progress=False)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_backtest_plots(res, tmp)]
    ['forecast_fans.png', 'mae_per_fold.png', 'coverage.png', 'strategy_returns.png']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "forecast_fans.png": plot_forecast_fans(result, dates=dates, ylabel=ylabel),
        "mae_per_fold.png": plot_fold_metric(result, "mae", dates=dates),
        "coverage.png": plot_coverage(result),
    }
    if result.target == "returns":
        figures["strategy_returns.png"] = plot_strategy_returns(result, dates=dates)
    paths = []
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=dpi)
        paths.append(folder / name)
    return paths
