"""Plots of forecasts and of a walk-forward backtest: fans, scores per fold, calibration, strategy.

:func:`plot_forecast` draws one forecast (history, point forecast, interval fan) from what
either face's ``predict`` and ``predict_interval`` return. The other functions take a
:class:`~skfin.model_selection.BacktestResult`. All return a
:class:`matplotlib.figure.Figure`, built with matplotlib's object-oriented API (``Figure``,
not ``pyplot``), so nothing here needs a display or changes the session's backend: saving
renders with Agg. :func:`save_backtest_plots` writes the backtest plots as PNG.

Install matplotlib with ``pip install "skfin[plotting]"``. (sktime's
``sktime.utils.plotting.plot_series`` also draws skfin's forecasts, trading-day index
included, but needs seaborn, which the extra does not install.)

:func:`plot_attributions`, :func:`plot_attention`, :func:`plot_importance` and
:func:`plot_decomposition` draw an :class:`~skfin.explain.Explanation` (what every
estimator's ``explain`` returns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skfin.model_selection._backtest import BacktestResult, coverage_label

__all__ = ["plot_forecast", "plot_forecast_fans", "plot_fold_metric", "plot_coverage",
           "plot_strategy_returns", "save_backtest_plots", "plot_koopman_spectrum",
           "plot_attributions", "plot_attention", "plot_importance", "plot_decomposition",
           "plot_regime_weights"]


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is in the test extra
        raise ImportError('skfin.plotting needs matplotlib: pip install "skfin[plotting]"'
                          ) from exc
    return Figure(**kwargs)


def _x(index: pd.Index) -> np.ndarray:
    """x values of an index: timestamps for periods, the labels otherwise."""
    return np.asarray(index.to_timestamp() if isinstance(index, pd.PeriodIndex) else index)


def _is_time(index: pd.Index) -> bool:
    return isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex))


def _series(values, target, what: str) -> pd.Series:
    """One series out of a Series or a DataFrame (its ``target`` column, or its only one)."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.DataFrame):
        if target is None and values.shape[1] == 1:
            return values.iloc[:, 0]
        if target in values.columns:
            return values[target]
        raise ValueError(
            f"{what} has columns {list(values.columns)}; pass target= to choose the one "
            "to plot."
        )
    raise TypeError(f"{what} must be a pandas Series or DataFrame; got {type(values).__name__}.")


def _intervals(pred_interval: pd.DataFrame, target) -> tuple[object, dict]:
    """The variable to plot and ``{coverage: (lower, upper)}`` from sktime's interval format."""
    columns = getattr(pred_interval, "columns", None)
    if (not isinstance(pred_interval, pd.DataFrame) or columns.nlevels != 3
            or not set(columns.get_level_values(2)) <= {"lower", "upper"}):
        raise ValueError(
            "pred_interval must be a DataFrame in sktime's interval format, with columns "
            "(variable, coverage, 'lower' | 'upper'), as predict_interval returns; got "
            f"columns {list(columns) if columns is not None else type(pred_interval).__name__}."
        )
    variables = list(dict.fromkeys(columns.get_level_values(0)))
    if target is None:
        if len(variables) > 1:
            raise ValueError(f"pred_interval holds the variables {variables}; pass target= to "
                             "choose the one to plot.")
        target = variables[0]
    elif target not in variables:
        raise ValueError(f"target={target!r} is not in pred_interval's variables {variables}.")
    part = pred_interval[target]
    bands = {float(c): (part[(c, "lower")].to_numpy(float), part[(c, "upper")].to_numpy(float))
             for c in dict.fromkeys(part.columns.get_level_values(0))}
    return target, bands


def plot_forecast(y, y_pred=None, pred_interval=None, *, y_true=None, history=250,
                  target=None, ax=None, title=None, ylabel=None):
    """The observed series, the point forecast and its interval fan on one axes.

    Takes what both faces return: ``predict`` (a Series, or a DataFrame with one column
    per target) and ``predict_interval`` (sktime's column format
    ``(variable, coverage, "lower" | "upper")``, one band per coverage, the widest
    palest). Any pandas index works, a trading-day ``DatetimeIndex`` with its
    ``CustomBusinessDay`` frequency (as :mod:`skfin.datasets` load it) included; a
    ``PeriodIndex`` is drawn at its periods' start. Only matplotlib is needed.

    Parameters
    ----------
    y : pandas.Series or DataFrame
        The observed series (the history before the forecasts).
    y_pred : pandas.Series or DataFrame or None, default=None
        Point forecasts.
    pred_interval : pandas.DataFrame or None, default=None
        Prediction intervals from ``predict_interval`` (any number of coverages).
    y_true : pandas.Series or DataFrame or None, default=None
        The realised values over the forecast steps, drawn as dots.
    history : int or None, default=250
        Last observations of ``y`` shown; None shows all.
    target : str or None, default=None
        The variable to plot when ``y``, ``y_pred`` or ``pred_interval`` hold several.
    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on; None makes a new figure.
    title, ylabel : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the axes: one line for ``y``, one for ``y_pred`` and one for
        ``y_true`` (those given), one filled band per coverage.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import LSTMForecaster
    >>> from skfin.plotting import plot_forecast
    >>> close = load_sp500()["Close"].iloc[-800:]          # trading-day freq attached
    >>> f = LSTMForecaster(window=20, hidden_size=8, max_epochs=2, random_state=0)
    >>> f = f.fit(close, fh=[1, 2, 3, 4, 5])
    >>> fig = plot_forecast(close, f.predict(), f.predict_interval(coverage=[0.8, 0.95]),
    ...                     history=60)
    >>> ax = fig.axes[0]
    >>> len(ax.lines), len(ax.collections)                # history, forecast; two bands
    (2, 2)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['observed', '95% interval', '80% interval', 'forecast']
    """
    if history is not None and (not isinstance(history, (int, np.integer)) or history < 1):
        raise ValueError(f"history must be a positive int or None; got {history!r}.")
    if ax is None:
        fig = _figure(figsize=(9, 3.6), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    variable, bands = (target, {}) if pred_interval is None else _intervals(pred_interval,
                                                                             target)
    observed = _series(y, variable, "y")
    shown = observed if history is None else observed.iloc[-history:]
    parts = {"y_pred": y_pred, "y_true": y_true, "pred_interval": pred_interval}
    for what, part in parts.items():
        if part is not None and _is_time(part.index) != _is_time(observed.index):
            raise ValueError(
                f"y is indexed by {type(observed.index).__name__} but {what} by "
                f"{type(part.index).__name__}; pass both with time stamps (or both with "
                "integer positions)."
            )
    ax.plot(_x(shown.index), shown.to_numpy(float), color="black", lw=1.0, label="observed")
    if bands:
        x = _x(pred_interval.index)
        for i, coverage in enumerate(sorted(bands, reverse=True)):
            lower, upper = bands[coverage]
            ax.fill_between(x, lower, upper, color="tab:blue", alpha=min(0.15 + 0.15 * i, 0.6),
                            lw=0, label=f"{coverage_label(coverage)}% interval")
    if y_pred is not None:
        pred = _series(y_pred, variable, "y_pred")
        ax.plot(_x(pred.index), pred.to_numpy(float), color="tab:blue", lw=1.6, marker=".",
                label="forecast")
    if y_true is not None:
        truth = _series(y_true, variable, "y_true")
        ax.plot(_x(truth.index), truth.to_numpy(float), "o", color="black", ms=3.5,
                label="realised")
    if title:
        ax.set_title(title)
    if ylabel or observed.name is not None:
        ax.set_ylabel(ylabel or str(observed.name))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(fontsize=8, loc="upper left")
    return fig


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


def _eigenvalues(eigenvalues) -> np.ndarray:
    """A complex vector out of an explain dict, a tensor (any device) or an array-like."""
    if isinstance(eigenvalues, dict):
        if "eigenvalues" not in eigenvalues:
            raise ValueError("A dict passed as eigenvalues must be the output of a Koopman "
                             "net's explain(x), with an 'eigenvalues' entry; got keys "
                             f"{sorted(eigenvalues)}.")
        eigenvalues = eigenvalues["eigenvalues"]
    if hasattr(eigenvalues, "detach"):                     # a torch tensor, without importing torch
        eigenvalues = eigenvalues.detach().cpu().numpy()
    values = np.asarray(eigenvalues)
    if values.ndim == 2:                                   # [B, L]: the spectrum is shared
        values = values[0]
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.number):
        raise ValueError("eigenvalues must be a non-empty vector of numbers (complex or real), "
                         "or [batch, L] as explain returns it; got an array of shape "
                         f"{values.shape} and dtype {values.dtype}.")
    return values.astype(complex)


def plot_koopman_spectrum(eigenvalues, ax=None, *, annotate=True, title=None):
    """Eigenvalues of a Koopman operator on the complex plane, with the unit circle.

    Each eigenvalue ``lambda`` is a mode of the linear rollout ``z_{t+h} = K^h z_t``: its
    angle gives a period of ``2 pi / |arg lambda|`` steps (colour, log scale), its modulus a
    decay of ``-log |lambda|`` per step, so modes inside the circle die out (half-life
    ``log 2 / -log |lambda|`` steps) and modes outside it grow. Non-oscillating modes
    (positive real eigenvalues) are drawn as black crosses. With ``annotate``, one label
    per conjugate pair gives the period ``T`` and the half-life.

    Parameters
    ----------
    eigenvalues : array-like of complex, Tensor or dict
        The eigenvalues ``[L]``; ``[B, L]`` (the first row is drawn) or the dict of
        :meth:`skfin.nets.DeepKoopman.explain` are accepted as they come.
    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on; None makes a new figure.
    annotate : bool, default=True
        Label the modes with their period and half-life.
    title : str or None, default=None
        None gives "Koopman eigenvalues".

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> from skfin.nets import DeepKoopman
    >>> from skfin.plotting import plot_koopman_spectrum
    >>> v = np.log(load_vix().dropna().to_numpy()[-40:])
    >>> x = torch.tensor((v - v.mean()) / v.std(), dtype=torch.float32).view(2, 20, 1)
    >>> net = DeepKoopman(n_features=1, window=20, horizon=5, n_targets=1).eval()
    >>> fig = plot_koopman_spectrum(net.explain(x))
    >>> ax = fig.axes[0]
    >>> len(ax.collections[0].get_offsets())       # the 8 eigenvalues, all oscillating here
    8
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['unit circle', 'oscillating mode']
    """
    from matplotlib.colors import LogNorm

    values = _eigenvalues(eigenvalues)
    if ax is None:
        fig = _figure(figsize=(5.6, 4.8), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    modulus, angle = np.abs(values), np.abs(np.angle(values))
    with np.errstate(divide="ignore"):
        periods = 2 * np.pi / angle                                  # inf for positive reals
        half_lives = np.log(2) / -np.log(modulus)
    t = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(t), np.sin(t), color="grey", ls="--", lw=1, label="unit circle")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    cycles = np.isfinite(periods)
    if cycles.any():
        low = periods[cycles].min()                                  # >= 2 steps
        norm = LogNorm(vmin=low, vmax=max(periods[cycles].max(), 1.5 * low))
        shown = ax.scatter(values.real[cycles], values.imag[cycles], c=periods[cycles],
                           cmap="viridis", norm=norm, s=40, edgecolors="black",
                           linewidths=0.5, zorder=3, label="oscillating mode")
        fig.colorbar(shown, ax=ax, shrink=0.8, label="period (steps)")
    if (~cycles).any():
        ax.scatter(values.real[~cycles], values.imag[~cycles], marker="x", color="black",
                   s=50, zorder=3, label="non-oscillating mode")
    if annotate:
        labelled: list[complex] = []
        for value, period, half_life in zip(values, periods, half_lives):
            if value.imag < 0 or any(abs(value - v) < 1e-9 for v in labelled):
                continue                                             # one label per pair/value
            labelled.append(value)
            parts = [] if not np.isfinite(period) else [f"T={period:.3g}"]
            if np.isfinite(half_life):
                parts.append(f"t½={half_life:.3g}" if half_life >= 0
                             else f"t×2={-half_life:.3g}")
            ax.annotate(", ".join(parts), (value.real, value.imag), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
    lim = max(1.1, 1.1 * float(modulus.max()))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title(title or "Koopman eigenvalues")
    ax.legend(fontsize=7, loc="lower left")
    return fig


# -- explanations (skfin.explain) --------------------------------------------------------
def _explained(explanation, name: str) -> pd.DataFrame:
    """The ``name`` frame of an :class:`~skfin.explain.Explanation` (or the frame itself)."""
    frame = explanation if isinstance(explanation, pd.DataFrame) else getattr(
        explanation, name, None)
    if frame is None:
        raise ValueError(
            f"The explanation has no {name}: "
            + ("pass method='integrated_gradients' to explain." if name == "attributions"
               else f"the net exposes no {name} (see skfin.explain.Explanation).")
        )
    return frame


def _pick(frame: pd.DataFrame, column: str, value, what: str):
    """Rows of ``frame`` whose ``column`` is ``value`` (None: its first value)."""
    values = list(dict.fromkeys(frame[column]))
    if value is None:
        value = values[0]
    elif value not in values:
        raise ValueError(f"{what}={value!r} is not in the explanation; it has {values[:10]}"
                         + (" ..." if len(values) > 10 else "") + ".")
    return frame[frame[column] == value], value


def _axes(ax, figsize):
    if ax is None:
        fig = _figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots()
    return ax.figure, ax


def plot_attributions(explanation, *, sample=None, step=None, target=None, ax=None,
                      title=None):
    """Attributions over the input window: one line per feature, lag on the x axis.

    Parameters
    ----------
    explanation : skfin.explain.Explanation or pandas.DataFrame
        What ``explain`` returns (or its ``attributions`` frame).
    sample : object or None, default=None
        The forecast origin to draw; None draws the mean over every origin explained.
    step : int or None, default=None
        The horizon step; None takes the first one explained.
    target : str or None, default=None
        The target variable; None takes the first one.
    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on; None makes a new figure.
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import MLPForecaster
    >>> from skfin.plotting import plot_attributions
    >>> sp = load_sp500().iloc[-300:]
    >>> y = (100 * np.log(sp["Close"]).diff()).rename("r").iloc[1:]
    >>> X = (100 * np.log(sp["High"] / sp["Low"])).rename("range").iloc[1:].to_frame()
    >>> f = MLPForecaster(window=10, hidden_size=8, max_epochs=2, future_X=None,
    ...                   random_state=0).fit(y, X=X, fh=[1])
    >>> fig = plot_attributions(f.explain(y.iloc[-20:], X=X.iloc[-20:]))
    >>> [line.get_label() for line in fig.axes[0].lines[:2]]
    ['r', 'range']
    """
    frame = _explained(explanation, "attributions")
    frame, step = _pick(frame, "step", step, "step")
    frame, target = _pick(frame, "target", target, "target")
    if sample is not None:
        frame, _ = _pick(frame, "sample", sample, "sample")
    table = frame.pivot_table(index="lag", columns="feature", values="attribution",
                              aggfunc="mean", sort=False).sort_index()
    fig, ax = _axes(ax, (8, 3.6))
    for feature in table.columns:
        ax.plot(table.index, table[feature].to_numpy(float), marker=".", lw=1.4,
                label=str(feature))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("lag (0 = the forecast origin's row)")
    ax.set_ylabel("attribution (forecast units)")
    which = f"sample {sample}" if sample is not None else (
        f"mean over {frame['sample'].nunique()} origin(s)")
    ax.set_title(title or f"Integrated gradients, step {step} of {target!s} ({which})")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_attention(explanation, *, step=None, ax=None, title=None):
    """Attention weights as a heatmap: forecast origins (or steps) by window position.

    With several forecast origins, one row per origin at ``step``; with one origin, one
    row per horizon step (TFT's decoder positions, after lag 0, included).

    Parameters
    ----------
    explanation : skfin.explain.Explanation or pandas.DataFrame
        What ``explain`` returns (or its ``attention`` frame).
    step : int or None, default=None
        The horizon step drawn when several origins are explained; None: the first.
    ax : matplotlib.axes.Axes or None, default=None
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import AttentionLSTMRegressor
    >>> from skfin.plotting import plot_attention
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    >>> model = AttentionLSTMRegressor(window=10, hidden_size=8, max_epochs=2,
    ...                                random_state=0).fit(X, y)
    >>> fig = plot_attention(model.explain(X.tail(5), method=None))
    >>> fig.axes[0].images[0].get_array().shape           # 5 origins x 10 lags
    (5, 10)
    """
    frame = _explained(explanation, "attention")
    several = frame["sample"].nunique() > 1
    if several:
        frame, step = _pick(frame, "step", step, "step")
        rows = "sample"
    else:
        rows = "step"
    table = frame.pivot_table(index=rows, columns="lag", values="weight", aggfunc="mean",
                              sort=False)
    table = table[sorted(table.columns)]
    fig, ax = _axes(ax, (8, min(1.2 + 0.16 * len(table), 6.0)))
    image = ax.imshow(table.to_numpy(float), aspect="auto", cmap="viridis",
                      interpolation="nearest", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.9, label="attention weight")
    lags = list(table.columns)
    every = max(1, int(np.ceil(len(lags) / 12)))
    ticks = [i for i, lag in enumerate(lags) if lag % every == 0]        # lag 0 included
    ax.set_xticks(ticks, [str(lags[i]) for i in ticks])
    labels = [str(v.date()) if isinstance(v, pd.Timestamp) else str(v) for v in table.index]
    yticks = np.unique(np.linspace(0, len(labels) - 1, min(len(labels), 12)).round()
                       .astype(int))
    ax.set_yticks(yticks, [labels[i] for i in yticks], fontsize=7)
    ax.set_xlabel("lag (0 = the forecast origin's row; > 0: forecast steps)")
    ax.set_ylabel("forecast origin" if several else "horizon step")
    ax.set_title(title or ("Attention" + (f", step {step}" if several else "")))
    return fig


def plot_importance(explanation, *, input="past", ax=None, title=None):
    """Feature importance as horizontal bars, largest on top.

    TFT's variable-selection weights (mean over the origins explained) where the
    explanation has them, otherwise the mean absolute integrated-gradients attribution
    per feature (``Explanation.feature_importance()``).

    Parameters
    ----------
    explanation : skfin.explain.Explanation
    input : {"past", "future", "static"}, default="past"
        Which of TFT's variable selections to draw.
    ax : matplotlib.axes.Axes or None, default=None
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TFTForecaster
    >>> from skfin.plotting import plot_importance
    >>> sp = load_sp500().iloc[-300:]
    >>> y = (100 * np.log(sp["Close"]).diff()).rename("r").iloc[1:]
    >>> X = (100 * np.log(sp["High"] / sp["Low"])).rename("range").iloc[1:].to_frame()
    >>> f = TFTForecaster(window=10, hidden_size=8, n_heads=2, max_epochs=1, future_X=None,
    ...                   random_state=0).fit(y, X=X, fh=[1])
    >>> fig = plot_importance(f.explain(method=None))
    >>> len(fig.axes[0].patches), fig.axes[0].get_xlabel()
    (2, 'variable-selection weight')
    """
    importance = None if isinstance(explanation, pd.DataFrame) else explanation.importance
    if importance is not None:
        part, _ = _pick(importance, "input", input, "input")
        values = part.groupby("feature", sort=False)["importance"].mean()
        label = "variable-selection weight"
        default = f"TFT variable selection ({input} inputs)"
    elif getattr(explanation, "attributions", None) is not None:
        values = explanation.feature_importance()
        label = "mean |attribution| (forecast units)"
        default = "Integrated gradients per feature"
    else:
        raise ValueError("The explanation has neither importance (a TFT) nor attributions: "
                         "explain with method='integrated_gradients'.")
    values = values.sort_values()
    fig, ax = _axes(ax, (6.4, 0.9 + 0.35 * max(len(values), 3)))
    ax.barh([str(v) for v in values.index], values.to_numpy(float), color="tab:blue")
    ax.set_xlabel(label)
    ax.set_title(title or default)
    return fig


def plot_decomposition(explanation, *, sample=None, target=None, ax=None, title=None):
    """The forecast's components (N-BEATS stacks, Autoformer's parts) over the horizon.

    Parameters
    ----------
    explanation : skfin.explain.Explanation or pandas.DataFrame
        What ``explain`` returns (or its ``decomposition`` frame).
    sample : object or None, default=None
        The forecast origin; None takes the last one explained.
    target : str or None, default=None
    ax : matplotlib.axes.Axes or None, default=None
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure
        One line per component and their sum (dashed).

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import NBEATSForecaster
    >>> from skfin.plotting import plot_decomposition
    >>> close = load_sp500()["Close"].iloc[-300:]
    >>> f = NBEATSForecaster(window=10, stacks=("trend", "seasonality"), hidden_size=8,
    ...                      num_blocks=1, max_epochs=1, random_state=0)
    >>> fig = plot_decomposition(f.fit(close, fh=[1, 2, 3]).explain(method=None))
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['trend', 'seasonality', 'level', 'sum']
    """
    frame = _explained(explanation, "decomposition")
    if sample is None:
        sample = frame["sample"].iloc[-1]
    frame, _ = _pick(frame, "sample", sample, "sample")
    frame, target = _pick(frame, "target", target, "target")
    table = frame.pivot_table(index="step", columns="component", values="value",
                              aggfunc="sum", sort=False)
    fig, ax = _axes(ax, (7, 3.6))
    for component in table.columns:
        ax.plot(table.index, table[component].to_numpy(float), marker=".", label=str(component))
    ax.plot(table.index, table.sum(axis=1).to_numpy(float), color="black", ls="--", lw=1.2,
            label="sum")
    ax.set_xlabel("horizon step")
    ax.set_ylabel(str(target))
    ax.set_title(title or f"Forecast decomposition from {sample}")
    ax.legend(fontsize=8)
    return fig


# -- regime ensembles (skfin.ensembles) --------------------------------------------------
def plot_regime_weights(ensemble, *, title=None):
    """A regime ensemble's effective member weights over time, above its regime probabilities.

    The effective weight of a member at ``t`` is ``sum_k p_t(k) w_k``: the regime
    probabilities filtered at ``t`` times the weights learned per regime.

    Parameters
    ----------
    ensemble : RegimeEnsembleRegressor or RegimeEnsembleForecaster
        Fitted; its ``regime_probabilities_`` (over the training rows) and
        ``regime_weights_`` are drawn.
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the time axis: the stacked effective weights (they sum to 1),
        and one line per regime probability.

    Examples
    --------
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.cli import load_target
    >>> from skfin.ensembles import RegimeEnsembleForecaster
    >>> from skfin.plotting import plot_regime_weights
    >>> y, _, dates, _ = load_target("sp500", "realized_vol", last=750)
    >>> ens = RegimeEnsembleForecaster([
    ...     ("last", NaiveForecaster()),
    ...     ("month", NaiveForecaster(strategy="mean", window_length=21))]).fit(
    ...     y.set_axis(dates), fh=[1])
    >>> fig = plot_regime_weights(ens)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['last', 'month']
    """
    probabilities = getattr(ensemble, "regime_probabilities_", None)
    if probabilities is None:
        raise ValueError(f"{type(ensemble).__name__} is not a fitted regime ensemble: fit a "
                         "skfin.ensembles.RegimeEnsembleRegressor or -Forecaster first.")
    weights = ensemble.regime_weights_
    effective = probabilities.to_numpy() @ weights.to_numpy()          # [n, M]
    x = _x(probabilities.index)
    fig = _figure(figsize=(8, 4.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    top.stackplot(x, effective.T, labels=[str(m) for m in weights.columns], alpha=0.8)
    top.set_ylim(0, 1)
    top.set_ylabel("effective weight")
    top.legend(fontsize=8, loc="upper left")
    top.set_title(title or "Member weights by regime")
    for regime in probabilities.columns:
        bottom.plot(x, probabilities[regime].to_numpy(float), lw=0.8, label=str(regime))
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("probability")
    bottom.legend(fontsize=8, loc="upper left")
    return fig
