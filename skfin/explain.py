"""Explanations of a fitted estimator's forecasts, in the user's units and index.

:func:`explain` (also ``est.explain(...)`` on every regressor and forecaster) returns an
:class:`Explanation` of the forecasts that ``predict`` gives for the same data:

* ``attributions``, for every net: integrated gradients (Sundararajan et al., 2017,
  through `captum <https://captum.ai>`_) of each point forecast with respect to each
  input value of its window, per forecast origin, lag and feature, in the units of the
  forecast. They add up to the forecast minus the forecast from the baseline window
  (*completeness*): ``Explanation.outputs`` holds both forecasts and the gap.
* what the net exposes itself (``net.explain``, see :mod:`skfin.nets`), mapped back to
  the user's index and units: ``attention`` (AttentionLSTM, LSTM/GRU with
  ``attention=True``, the multi-task net, TFT, the Transformer's top layer),
  ``importance`` (TFT's variable-selection weights), ``decomposition`` (N-BEATS stacks,
  Autoformer's seasonal and trend parts) and ``spectrum`` (Deep Koopman's eigenvalues).

The forecaster standardises its inputs (``loc_``, ``scale_``) and maps the forecasts back:
the attributions are those of the mapped-back forecast with respect to the raw inputs
(a small module does the standardisation, the net, the head's point and the mapping back
in one differentiable pass), so they are in the units of ``y`` per unit of each input.
:mod:`skfin.plotting` draws them (:func:`~skfin.plotting.plot_attributions`,
:func:`~skfin.plotting.plot_attention`, :func:`~skfin.plotting.plot_importance`,
:func:`~skfin.plotting.plot_decomposition`).

Integrated gradients need ``captum``: ``pip install "skfin[explain]"``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

__all__ = ["METHODS", "Explanation", "explain"]

#: The attribution methods of :func:`explain` (None computes no attributions).
METHODS = ("integrated_gradients",)


@dataclass
class Explanation:
    """What :func:`explain` returns: tidy pandas frames, in the user's units and index.

    Attributes
    ----------
    attributions : pandas.DataFrame or None
        One row per forecast origin, horizon step, target, lag and feature, with columns
        ``sample`` (the index label of the forecast origin: the row of ``X`` for a
        regressor, the cutoff or the window's last time stamp for a forecaster),
        ``step`` (1 = one step ahead; for a regressor, the column of ``y``, from 1),
        ``target`` (the name of ``y`` or of its column), ``lag`` (0 = the origin's row,
        -1 the row before, ...), ``feature`` (the input column) and ``attribution`` (in
        the units of the forecast). None with ``method=None``.
    outputs : pandas.DataFrame or None
        One row per ``sample``, ``step`` and ``target``: ``forecast`` (the net's point
        forecast for the window), ``baseline_forecast`` (for the baseline window),
        ``attribution_sum`` (the attributions summed over lags and features) and ``gap``
        (``attribution_sum - (forecast - baseline_forecast)``: zero for exact integrated
        gradients, small with ``n_steps`` large enough).
    baseline : pandas.DataFrame or None
        The baseline window ``[lag x feature]`` the attributions are measured from.
    attention : pandas.DataFrame or None
        Columns ``sample``, ``step``, ``lag``, ``weight``: how much the forecast for
        ``step`` reads the position ``lag`` of the window (positive lags: TFT's decoder
        positions). The weights of one sample and step sum to 1. A net whose one pooled
        attention serves every step (AttentionLSTM, the multi-task net) has one row per
        step with the same weights; so has the Transformer, whose weights are those of
        its top layer (averaged over heads) for the query its head reads: the last step,
        or the mean over steps with ``readout="mean"``. PatchTST attends over patches of
        each channel, not over lags: it has none here.
    importance : pandas.DataFrame or None
        TFT's variable-selection weights averaged over the positions of the window (or
        of the horizon, or the static inputs): columns ``sample``, ``input``
        ("past", "future" or "static"), ``feature``, ``importance``; they sum to 1 per
        sample and input.
    decomposition : pandas.DataFrame or None
        Columns ``sample``, ``step``, ``target``, ``component``, ``value``, in the units of
        the forecast. N-BEATS: one component per stack, plus ``"level"`` (the
        standardisation's mean, a forecaster's ``loc_``) so that the components add up
        to the point forecast of a point, Gaussian or Student-t head (the median of
        quantiles) without known-future covariates. Autoformer: ``"seasonal"`` and
        ``"trend"`` (the trend carrying the level), the decoder's parts before the head's
        projection. None with ``loss="qlike"``, whose net outputs a log variance.
    spectrum : pandas.DataFrame or None
        Deep Koopman's eigenvalues, one row per mode by decreasing modulus: columns
        ``eigenvalue`` (complex), ``modulus``, ``period`` (steps; inf for a positive real
        eigenvalue), ``decay_rate`` (``-log |lambda|`` per step) and ``half_life``
        (steps).
    method : str or None
        The attribution method.

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import AttentionLSTMRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1].rename("next")
    >>> model = AttentionLSTMRegressor(window=10, hidden_size=8, max_epochs=2,
    ...                                random_state=0).fit(X, y)
    >>> ex = model.explain(X.tail(3))
    >>> sorted(ex.available())
    ['attention', 'attributions', 'baseline', 'outputs']
    >>> ex.attributions.columns.tolist()
    ['sample', 'step', 'target', 'lag', 'feature', 'attribution']
    """

    attributions: pd.DataFrame | None = None
    outputs: pd.DataFrame | None = None
    baseline: pd.DataFrame | None = None
    attention: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None
    decomposition: pd.DataFrame | None = None
    spectrum: pd.DataFrame | None = None
    method: str | None = field(default=None)

    def available(self) -> list[str]:
        """The names of the frames this explanation holds (those not None)."""
        return [name for name in ("attributions", "outputs", "baseline", "attention",
                                  "importance", "decomposition", "spectrum")
                if getattr(self, name) is not None]

    def feature_importance(self) -> pd.Series:
        """Mean absolute attribution per feature (summed over lags, averaged over the rest).

        Returns
        -------
        pandas.Series
            Indexed by feature, largest first, in the units of the forecast.

        Examples
        --------
        >>> from skfin.datasets import load_sp500
        >>> from skfin.forecasting import MLPForecaster
        >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
        >>> f = MLPForecaster(window=5, hidden_size=8, max_epochs=1, random_state=0)
        >>> f.fit(r.rename("r"), fh=[1]).explain().feature_importance().index.tolist()
        ['r']
        """
        if self.attributions is None:
            raise ValueError("This explanation has no attributions (method=None).")
        per = (self.attributions.groupby(["sample", "step", "target", "feature"], sort=False)
               ["attribution"].sum().abs())
        return per.groupby(level="feature", sort=False).mean().sort_values(ascending=False)


class _PointForecast(nn.Module):
    """Raw windows ``[B, W, F]`` -> point forecasts ``[B, H * T]`` in the user's units.

    Standardises with ``loc``/``scale`` (the forecaster's; 0 and 1 for a regressor), runs
    the fitted module and its head's point (``exp(.) * unit`` for ``loss="qlike"``), and
    maps the forecast back with ``out_loc``/``out_scale``: what ``predict`` computes, as
    one differentiable function of the raw window.
    """

    def __init__(self, module: nn.Module, loc, scale, out_loc, out_scale, qlike_unit):
        super().__init__()
        self.module = module
        self.qlike_unit = qlike_unit
        for name, value in (("loc", loc), ("scale", scale), ("out_loc", out_loc),
                            ("out_scale", out_scale)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float32)))

    def forward(self, x, x_future=None, dt=None):               # x: [B, W, F] raw
        inputs = {k: v for k, v in (("x_future", x_future), ("dt", dt)) if v is not None}
        params = self.module(x=(x - self.loc) / self.scale, **inputs)    # [B, H, T, P]
        point = self.module.head.point(params)                           # [B, H, T]
        if self.qlike_unit is not None:
            point = torch.exp(point) * self.qlike_unit
        return (point * self.out_scale + self.out_loc).flatten(1)        # [B, H * T]


@dataclass
class _Windows:
    """The windows one ``predict`` call reads, and how to label and map back its results."""

    x: torch.Tensor                     # [n, W, F] standardised, as the net reads them
    extra: dict                         # x_future / dt, as the net reads them
    samples: pd.Index                   # forecast origins
    features: list
    steps: np.ndarray                   # [H] 1-based
    targets: list                       # [T] the net's target channels
    labels: np.ndarray                  # [H, T] the name of each output (step, target)
    loc: np.ndarray                     # [F] input standardisation
    scale: np.ndarray
    out_loc: np.ndarray                 # [T] output mapping back
    out_scale: np.ndarray
    mean: np.ndarray                    # [F] the training mean of each feature


def _check_fitted(estimator) -> None:
    """sklearn's NotFittedError on both faces (sktime's objects have no sklearn tags)."""
    if getattr(estimator, "net_", None) is None and hasattr(estimator, "forecasters_"):
        raise ValueError(
            f"This {type(estimator).__name__} was fitted on several series, one forecaster "
            "each (sktime's vectorisation): explain one of them, e.g. "
            "est.forecasters_.iloc[0, 0].explain().")
    if getattr(estimator, "net_", None) is None:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using explain.")


def _windows(estimator, data, X) -> _Windows:
    """The face's own windows (those its ``predict`` reads) for ``data``."""
    from skfin.forecasting import NeuralForecaster
    from skfin.regressors import NeuralRegressor

    if isinstance(estimator, NeuralForecaster):
        return _forecaster_windows(estimator, data, X)
    if isinstance(estimator, NeuralRegressor):
        return _regressor_windows(estimator, data if data is not None else X)
    raise TypeError(f"explain takes a fitted skfin regressor or forecaster; got "
                    f"{type(estimator).__name__}.")


def _inputs(dataset) -> tuple[torch.Tensor, dict]:
    inputs, _ = dataset[torch.arange(len(dataset))]
    if isinstance(inputs, dict):
        extra = {k: v for k, v in inputs.items() if k in ("x_future", "dt")}
        return inputs["x"], extra
    return inputs, {}


def _regressor_windows(est, X) -> _Windows:
    if X is None:
        raise ValueError(f"{type(est).__name__}.explain needs X: the rows (or windows) whose "
                         "forecasts to explain, as for predict.")
    from skfin._checks import series_labels

    groups = series_labels(X)                   # a panel: each row in its own series
    X_arr, index = est._validate_X(X, reset=False)
    order = None
    if X_arr.ndim == 3:
        dataset, ready = est._dataset(X_arr), np.ones(len(X_arr), bool)
    elif groups is not None or getattr(est, "_fit_series", None) is not None:
        # the windows predict reads: each series continues its own fitted rows
        dataset, ready, order = est._panel_windows(X_arr, index, groups,
                                                   getattr(est, "_fit_series", None))
    else:
        rows, ends, ready = est._rows_in_context(X_arr, index)
        dataset = est._dataset(rows, ends=ends) if ready.any() else None
    if dataset is None:
        raise ValueError(f"Every row of X is still in warm-up (a column not yet observed): "
                         f"{type(est).__name__} has no window to explain. Pass later rows.")
    x, extra = _inputs(dataset)
    if order is not None:                       # back in the order of X's ready rows
        at = torch.as_tensor(order, device=x.device)
        x, extra = x[at], {k: v[at] for k, v in extra.items()}
    labels = index if index is not None else pd.RangeIndex(len(ready))
    n_features = est.n_features_in_
    names = (list(est.feature_names_in_) if hasattr(est, "feature_names_in_")
             else [f"x{i}" for i in range(n_features)])
    fit_rows = getattr(est, "_fit_rows", None)
    if fit_rows is not None and np.isfinite(fit_rows).any(axis=0).all():
        mean = np.nanmean(fit_rows, axis=0)
    else:                                             # fitted on windows: those explained
        mean = np.nanmean(x.detach().cpu().double().numpy().reshape(-1, n_features), axis=0)
    zeros, ones = np.zeros(n_features), np.ones(n_features)
    outputs = np.empty((est.n_outputs_, 1), dtype=object)
    outputs[:, 0] = list(est.target_names_)             # a regressor's steps: y's columns
    return _Windows(x, extra, labels[ready], names, np.arange(1, est.n_outputs_ + 1),
                    [0], outputs, zeros, ones, np.zeros(1), np.ones(1), mean)


def _forecaster_windows(est, y, X) -> _Windows:
    from skfin.engine.data import WindowDataset
    from skfin.forecasting import _with_calendar

    seen_y, seen_X = est._seen
    if y is None:
        dataset = est._last_window(X)
        samples = pd.Index([seen_y.index[-1]])
    else:
        if isinstance(y, pd.Series) and seen_y.shape[1] == 1:
            y = y.to_frame(seen_y.columns[0])              # a Series is the one target
        y = _with_calendar(y)
        if not isinstance(y, pd.DataFrame) or list(y.columns) != list(seen_y.columns):
            raise ValueError(
                f"y passed to {type(est).__name__}.explain must be a pandas Series or "
                f"DataFrame with the fitted columns {list(seen_y.columns)}; got "
                f"{list(getattr(y, 'columns', [getattr(y, 'name', None)]))}.")
        if len(y) < est.window:
            raise ValueError(f"y passed to {type(est).__name__}.explain has {len(y)} rows, "
                             f"fewer than window={est.window}: it holds no whole window.")
        if seen_X is not None and X is None:
            raise ValueError(f"{type(est).__name__} was fitted with exogenous X: pass the X "
                             "that goes with y to explain as well.")
        past = None
        if seen_X is None:
            X = None                                       # fitted without X: nothing to read
        else:
            X = pd.DataFrame(X)
            missing = y.index.difference(X.index)
            if len(missing):
                raise ValueError(f"X lacks {len(missing)} of y's time stamps (first: "
                                 f"{missing[0]}); pass X with a row for every row of y.")
            past = X.loc[y.index, list(seen_X.columns)]
        values = est._frame(y, past)
        device = est.net_.device
        ends = np.arange(est.window - 1, len(y))
        future, offsets = None, None
        if est.n_future_:
            position = X.index.get_indexer(y.index)
            ends = ends[position[ends] + est.horizon_ < len(X)]
            if not len(ends):
                raise ValueError(
                    f"{type(est).__name__} reads known-future X at the {est.horizon_} steps "
                    "after each window: pass X with those rows after y's windows.")
            cols = est.future_columns_
            positions = est._future_positions()
            rows = ((X[cols].to_numpy(np.float64) - est.loc_[positions]) / est.scale_[positions])
            rows = rows[position[0]:]                     # row i of y is row i here
            future = torch.as_tensor(rows.astype(np.float32), device=device)
            offsets = torch.arange(1, est.horizon_ + 1, device=device)
        dataset = WindowDataset(torch.as_tensor(values, device=device),
                                torch.as_tensor(ends, device=device), est.window,
                                target_offsets=offsets, future=future,
                                dt=est._dt(y.index, device))
        samples = y.index[ends]
    x, extra = _inputs(dataset)
    names = [*seen_y.columns, *([] if seen_X is None else seen_X.columns)]
    T = est.n_targets_
    if est.standardize:
        mean = np.asarray(est.loc_, dtype=np.float64)
        if est.loss == "qlike":                       # targets divided by their mean only
            both = seen_y if seen_X is None else pd.concat([seen_y, seen_X], axis=1)
            mean = np.nanmean(both.to_numpy(np.float64), axis=0)
    else:
        both = seen_y if seen_X is None else pd.concat([seen_y, seen_X], axis=1)
        mean = np.nanmean(both.to_numpy(np.float64), axis=0)
    labels = np.empty((est.horizon_, T), dtype=object)
    labels[:] = list(seen_y.columns)
    return _Windows(x, extra, samples, names, np.arange(1, est.horizon_ + 1),
                    list(seen_y.columns), labels, est.loc_, est.scale_, est.loc_[:T],
                    est.scale_[:T], mean)


def _baseline(baseline, w: _Windows, window: int) -> np.ndarray:
    """The baseline window ``[W, F]`` in the user's units."""
    n_features = len(w.features)
    if isinstance(baseline, str):
        if baseline == "mean":
            return np.broadcast_to(w.mean, (window, n_features)).astype(np.float64)
        if baseline == "zero":
            return np.zeros((window, n_features))
        raise ValueError(f"baseline must be 'mean', 'zero', a number or an array broadcastable "
                         f"to (window, n_features) = ({window}, {n_features}); got {baseline!r}.")
    values = np.asarray(baseline, dtype=np.float64)
    try:
        values = np.broadcast_to(values, (window, n_features))
    except ValueError:
        raise ValueError(f"baseline of shape {values.shape} does not broadcast to (window, "
                         f"n_features) = ({window}, {n_features}).") from None
    if not np.isfinite(values).all():
        raise ValueError("baseline has NaN or inf values; pass finite values.")
    return values


def _steps(target, steps: np.ndarray) -> np.ndarray:
    if target is None:
        return steps
    chosen = np.atleast_1d(np.asarray(target))
    if chosen.dtype.kind not in "iu" or not np.isin(chosen, steps).all():
        raise ValueError(f"target must be None or horizon step(s) among {steps.tolist()} "
                         f"(1 = one step ahead); got {target!r}.")
    return np.unique(chosen)


#: Refinements of integrated gradients: the step count doubles at most this many times.
_REFINE = 4


def _ig(captum_ig, model: _PointForecast, w: _Windows, base: np.ndarray, steps: np.ndarray,
        n_steps: int, batch_size: int, rtol: float | None):
    """Attributions ``[n, K, W, F]``, forecasts and baseline forecasts ``[n, K]``.

    With ``rtol``, the windows whose completeness gap exceeds ``rtol`` of ``|forecast -
    baseline forecast|`` (plus float32 round-off) are attributed again with twice the
    steps, up to ``_REFINE`` times: a net with steep regions along the path (layer norms,
    sharp gates) needs more points there than a smooth one.
    """
    device = w.x.device
    loc = torch.as_tensor(w.loc, dtype=torch.float64, device=device)
    scale = torch.as_tensor(w.scale, dtype=torch.float64, device=device)
    raw = (w.x.double() * scale + loc).float().detach()                # the user's units
    baselines = torch.as_tensor(base, dtype=torch.float32, device=device).expand_as(raw)
    baselines = baselines.contiguous()
    extra = (w.extra.get("x_future"), w.extra.get("dt"))
    T = len(w.targets)
    outputs = [int((s - 1) * T + t) for s in steps for t in range(T)]
    with torch.no_grad():
        forecast = model(raw, *extra)[:, outputs].double()
        at_base = model(baselines, *extra)[:, outputs].double()
    ig = captum_ig(model)

    def run(rows, k, n):
        part = tuple(None if e is None else e[rows] for e in extra)
        return ig.attribute(raw[rows], baselines=baselines[rows], target=k,
                            additional_forward_args=part, n_steps=n,
                            internal_batch_size=max(n, 16 * batch_size)).detach().double()

    chunks = []
    everything = torch.arange(len(raw), device=device)
    for j, k in enumerate(outputs):
        attr, n = run(everything, k, n_steps), n_steps
        change = (forecast[:, j] - at_base[:, j]).abs()
        tolerance = (None if rtol is None else rtol * change
                     + 1e-5 * torch.maximum(forecast[:, j].abs(), at_base[:, j].abs()))
        for _ in range(_REFINE if rtol is not None else 0):
            gap = (attr.sum(dim=(1, 2)) - (forecast[:, j] - at_base[:, j])).abs()
            bad = torch.nonzero(gap > tolerance).flatten()
            if not len(bad):
                break
            n *= 2
            attr[bad] = run(bad, k, n)
        chunks.append(attr)
    attributions = torch.stack(chunks, dim=1).cpu().numpy()             # [n, K, W, F]
    return attributions, forecast.cpu().numpy(), at_base.cpu().numpy()


@contextmanager
def _exact_gradients(module: nn.Module):
    """Let gradients flow through per-window statistics (RevIN, WindowNorm) for a while.

    Both detach them in training (the reference code's choice); the forward values do not
    change, but integrated gradients need the gradient of the function the net computes.
    """
    from skfin.nets import WindowNorm
    from skfin.nets.attention import RevIN

    changed = [m for m in module.modules() if isinstance(m, (RevIN, WindowNorm))]
    for m in changed:
        m.detach_statistics = False
    try:
        yield
    finally:
        for m in changed:
            del m.detach_statistics                   # back to the class's default


def _captum():
    try:
        from captum.attr import IntegratedGradients
    except ImportError as exc:
        raise ImportError('Integrated gradients need captum: pip install "skfin[explain]" '
                          "(or pass method=None for the net's own explanations only)."
                          ) from exc
    return IntegratedGradients


def _inner(module: nn.Module) -> nn.Module:
    """The architecture's own net inside the covariate and window-norm wrappers."""
    from skfin.nets import Covariates, WindowNorm

    while isinstance(module, (Covariates, WindowNorm)):
        module = module.net
    return module


def _transformer_attention(module: nn.Module, inner: nn.Module, w: _Windows) -> torch.Tensor:
    """The attention ``[n, W]`` of the query the Transformer's head reads, in its top layer.

    torch's encoder layer asks its attention for no weights: a hook on the top layer's
    attention recomputes them from the same inputs (averaged over heads) during one
    forward pass of the whole module (wrappers included). The pass runs with gradients
    enabled, which keeps torch off its fused inference path (that skips the hook).
    """
    attention = inner.encoder.layers[-1].self_attn
    caught: dict = {}

    def hook(mod, args, kwargs, output):
        if "weights" in caught:                   # the recomputation below calls mod again
            return
        caught["weights"] = None
        _, caught["weights"] = mod(*args[:3], attn_mask=kwargs.get("attn_mask"),
                                   key_padding_mask=kwargs.get("key_padding_mask"),
                                   need_weights=True, average_attn_weights=True)

    handle = attention.register_forward_hook(hook, with_kwargs=True)
    try:
        with torch.enable_grad():
            module(x=w.x, **w.extra)
    finally:
        handle.remove()
    weights = caught["weights"].detach()                                # [n, W, W]
    return weights[:, -1] if inner.readout == "last" else weights.mean(dim=1)   # [n, W]


def _net_parts(module: nn.Module, w: _Windows) -> dict:
    """``module.explain`` of the standardised windows (empty when the net has none)."""
    from skfin.nets import Transformer

    inner = _inner(module)
    if isinstance(inner, Transformer):
        return {"attention": _transformer_attention(module, inner, w).cpu()}
    if not hasattr(inner, "explain"):
        return {}
    if getattr(inner, "pool", True) is None:          # LSTM / GRU without attention
        return {}
    kwargs = {"x_future": w.extra["x_future"]} if "x_future" in w.extra else {}
    with torch.no_grad():
        return {k: v.detach().cpu() for k, v in module.explain(w.x, **kwargs).items()}


def _window_units(module: nn.Module, w: _Windows) -> tuple[np.ndarray, np.ndarray]:
    """Per-window loc and scale ``[n, T]`` that map the net's target units to the user's."""
    from skfin.nets import WindowNorm
    from skfin.nets.window_norm import window_statistics

    n, T = len(w.x), len(w.targets)
    loc = np.broadcast_to(w.out_loc, (n, T)).astype(np.float64)
    scale = np.broadcast_to(w.out_scale, (n, T)).astype(np.float64)
    if isinstance(module, WindowNorm):
        with torch.no_grad():
            wloc, wscale = window_statistics(w.x, module.eps)
        wloc, wscale = wloc[:, :T].double().cpu().numpy(), wscale[:, :T].double().cpu().numpy()
        loc, scale = wloc * scale + loc, wscale * scale
    return loc, scale


def _tidy_attention(weights: np.ndarray, w: _Windows, window: int) -> pd.DataFrame:
    """``[n, W]`` (one pooled attention) or ``[n, H, P]`` (per step) as a tidy frame."""
    n, steps = len(w.samples), w.steps
    if weights.ndim == 2:
        weights = np.repeat(weights[:, None, :], len(steps), axis=1)     # [n, H, W]
    positions = weights.shape[2]
    lags = np.arange(positions) - (window - 1)                          # past ..., 0, 1.. future
    return pd.DataFrame({
        "sample": np.repeat(w.samples, len(steps) * positions),
        "step": np.tile(np.repeat(steps, positions), n),
        "lag": np.tile(lags, n * len(steps)),
        "weight": weights.reshape(-1).astype(np.float64),
    })


def _tidy_importance(parts: dict, w: _Windows, future_names) -> pd.DataFrame | None:
    frames = []
    for key, kind, names in (("past_weights", "past", w.features),
                             ("future_weights", "future", future_names),
                             ("static_weights", "static", None)):
        if key not in parts:
            continue
        values = parts[key].double().numpy()
        values = values.mean(axis=1) if values.ndim == 3 else values     # [n, F]
        names = names if names is not None and len(names) == values.shape[1] else [
            f"{kind}{i}" for i in range(values.shape[1])]
        frames.append(pd.DataFrame({
            "sample": np.repeat(w.samples, values.shape[1]),
            "input": kind,
            "feature": np.tile(np.asarray(names, dtype=object), len(w.samples)),
            "importance": values.reshape(-1),
        }))
    return pd.concat(frames, ignore_index=True) if frames else None


def _tidy_decomposition(components: dict, w: _Windows) -> pd.DataFrame:
    """``{name: [n, H, T]}`` (already in the user's units) as a tidy frame."""
    n, H, T = next(iter(components.values())).shape
    frames = []
    for name, values in components.items():
        frames.append(pd.DataFrame({
            "sample": np.repeat(w.samples, H * T),
            "step": np.tile(np.repeat(w.steps, T), n),
            "target": np.tile(w.labels.reshape(-1), n),
            "component": name,
            "value": values.reshape(-1),
        }))
    return pd.concat(frames, ignore_index=True)


def _decomposition(module, parts: dict, w: _Windows) -> pd.DataFrame | None:
    from skfin.nets import NBEATS, Autoformer

    inner = _inner(module)
    loc, scale = _window_units(module, w)                               # [n, T]
    T = len(w.targets)
    if isinstance(inner, NBEATS):
        names = [k for k in inner.stack_names]
        comps = {name: parts[name].double().numpy() * scale[:, None] for name in names}
    elif isinstance(inner, Autoformer):
        comps = {"seasonal": parts["forecast_seasonal"][..., :T].double().numpy()
                 * scale[:, None],
                 "trend": parts["forecast_trend"][..., :T].double().numpy() * scale[:, None]}
        comps["trend"] = comps["trend"] + loc[:, None]
        return _tidy_decomposition(comps, w)
    else:
        return None
    H = len(w.steps)
    comps["level"] = np.broadcast_to(loc[:, None], (len(loc), H, T)).copy()
    return _tidy_decomposition(comps, w)


def _spectrum(parts: dict) -> pd.DataFrame | None:
    if "eigenvalues" not in parts:
        return None
    values = parts["eigenvalues"][0].numpy()
    return pd.DataFrame({
        "eigenvalue": values.astype(complex),
        "modulus": parts["eigenvalues"][0].abs().double().numpy(),
        "period": parts["periods"][0].double().numpy(),
        "decay_rate": parts["decay_rates"][0].double().numpy(),
        "half_life": parts["half_lives"][0].double().numpy(),
    }, index=pd.RangeIndex(len(values), name="mode"))


def explain(estimator, data=None, *, X=None, method="integrated_gradients", target=None,
            n_steps=50, baseline="mean", rtol=0.01):
    """Explain the forecasts of a fitted skfin regressor or forecaster.

    Parameters
    ----------
    estimator : NeuralRegressor or NeuralForecaster
        A fitted estimator of :mod:`skfin.regressors` or :mod:`skfin.forecasting`.
    data : array-like, pandas.Series or DataFrame or None, default=None
        Regressor: the rows (or windows) ``X`` whose forecasts to explain, read exactly
        as ``predict`` reads them (a row's window is completed from the fitted rows;
        rows still in an indicator's warm-up have no window and are left out).
        Forecaster: None explains the forecast from the last window (the one
        ``predict`` gives); a ``y`` (the fitted columns, e.g. a later stretch of the
        same series) explains the forecast from each window of ``window`` consecutive
        rows of it, labelled by the window's last time stamp.
    X : pandas.DataFrame or None, default=None
        Forecaster only: the exogenous data, as ``predict`` takes it (rows after the
        cutoff for known-future columns) when ``data`` is None, or the rows of ``data``
        (and, for known-future columns, the ``max(fh)`` rows after each window).
    method : {"integrated_gradients"} or None, default="integrated_gradients"
        How to attribute the forecasts to the inputs; None only collects what the net
        exposes (attention, importance, decomposition, spectrum), without captum.
    target : int, list of int or None, default=None
        The horizon step(s) to attribute (1 = one step ahead; for a regressor, the
        column of ``y`` from 1); None attributes every step. Each step costs one
        integrated-gradients run.
    n_steps : int, default=50
        Points of the Gauss-Legendre rule along the path from the baseline to the
        input; more make the completeness gap smaller.
    rtol : float or None, default=0.01
        Completeness target: a window whose attributions miss ``forecast - baseline
        forecast`` by more than ``rtol`` of it (``Explanation.outputs["gap"]``) is
        attributed again with twice ``n_steps``, up to 16 times ``n_steps``. A net with
        steep regions along the path (sharp gates, layer norms over small vectors) needs
        it; a smooth one stops at ``n_steps``. None runs ``n_steps`` once.
    baseline : {"mean", "zero"}, float or array-like, default="mean"
        The reference window, in the units of the inputs: "mean" is the training mean of
        each feature at every lag (a forecaster with ``standardize=True``: ``loc_``,
        i.e. zero on the scale the net reads; a regressor fitted on pre-built windows:
        the mean of the windows explained), "zero" is zero; an array broadcasts to
        ``(window, n_features)``.

    Returns
    -------
    Explanation
        Tidy pandas frames (see :class:`Explanation`). The attributions are those of the
        net's deterministic point forecast (the mean of a distribution, the median of
        quantiles, ``exp`` of the log variance for ``loss="qlike"``): with
        ``uncertainty="mc_dropout"`` they explain the forecast with dropout off, not the
        mean of the draws. Known-future covariates and ``dt`` stay at their values:
        only the past window is attributed. They are computed in float32 on the
        estimator's device.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        For an unknown ``method``, a ``target`` outside the horizon, or a baseline of
        the wrong shape.
    ImportError
        If captum is missing (``pip install "skfin[explain]"``).

    References
    ----------
    Sundararajan, Taly and Yan (2017), "Axiomatic Attribution for Deep Networks", ICML.

    Examples
    --------
    Attributions of a TFT's 1-day forecast of S&P 500 returns to the returns and the
    daily log range of the last 10 days, and its variable-selection weights:

    >>> from skfin.datasets import load_sp500
    >>> from skfin.explain import explain
    >>> from skfin.forecasting import TFTForecaster
    >>> sp = load_sp500().iloc[-400:]
    >>> y = (100 * np.log(sp["Close"]).diff()).rename("r").iloc[1:]
    >>> X = (100 * np.log(sp["High"] / sp["Low"])).rename("range").iloc[1:].to_frame()
    >>> f = TFTForecaster(window=10, hidden_size=8, n_heads=2, max_epochs=2, future_X=None,
    ...                   random_state=0).fit(y, X=X, fh=[1])
    >>> ex = explain(f)
    >>> ex.attributions.shape                    # 10 lags x 2 features
    (20, 6)
    >>> gap = ex.outputs["gap"].abs().max()
    >>> bool(gap < 0.01 * (ex.outputs["forecast"] - ex.outputs["baseline_forecast"]).abs().max())
    True
    >>> ex.importance.groupby("sample")["importance"].sum().round(6).tolist()
    [1.0]
    """
    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)} or None; got {method!r}.")
    if not (isinstance(n_steps, (int, np.integer)) and n_steps >= 2):
        raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
    if rtol is not None and not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a float in (0, 1) or None; got {rtol!r}.")
    _check_fitted(estimator)
    IntegratedGradients = _captum() if method is not None else None
    w = _windows(estimator, data, X)
    steps = _steps(target, w.steps)
    module = estimator.net_.module_
    window = w.x.shape[1]
    training = module.training
    module.eval()
    try:
        result = Explanation(method=method)
        if method is not None:
            base = _baseline(baseline, w, window)
            qlike = estimator._variance_unit() if estimator.loss == "qlike" else None
            model = _PointForecast(module, w.loc, w.scale, w.out_loc, w.out_scale, qlike)
            model = model.to(w.x.device)
            # cuDNN runs no RNN backward in eval mode; per-window statistics not detached
            with torch.backends.cudnn.flags(enabled=False), _exact_gradients(module):
                attr, forecast, at_base = _ig(IntegratedGradients, model, w, base, steps,
                                              n_steps, estimator.batch_size, rtol)
            result.attributions = _tidy_attributions(attr, w, steps, window)
            total = attr.sum(axis=(2, 3))
            T = len(w.targets)
            n, K = forecast.shape
            result.outputs = pd.DataFrame({
                "sample": np.repeat(w.samples, K),
                "step": np.tile(np.repeat(steps, T), n),
                "target": np.tile(w.labels[steps - 1].reshape(-1), n),
                "forecast": forecast.reshape(-1),
                "baseline_forecast": at_base.reshape(-1),
                "attribution_sum": total.reshape(-1),
                "gap": (total - (forecast - at_base)).reshape(-1),
            })
            result.baseline = pd.DataFrame(base, index=pd.Index(np.arange(-(window - 1), 1),
                                                                name="lag"),
                                           columns=pd.Index(w.features, name="feature"))
        parts = _net_parts(module, w)
        if "attention" in parts:
            result.attention = _tidy_attention(parts["attention"].double().numpy(), w, window)
        future_names = getattr(estimator, "future_columns_", None)
        result.importance = _tidy_importance(parts, w, future_names)
        if parts and estimator.loss != "qlike":    # qlike: parts of a log variance
            result.decomposition = _decomposition(module, parts, w)
        result.spectrum = _spectrum(parts)
    finally:
        module.train(training)
    return result


def _tidy_attributions(attr: np.ndarray, w: _Windows, steps: np.ndarray,
                       window: int) -> pd.DataFrame:
    n, K, W, F = attr.shape
    T = len(w.targets)
    per_output = W * F
    return pd.DataFrame({
        "sample": np.repeat(w.samples, K * per_output),
        "step": np.tile(np.repeat(np.repeat(steps, T), per_output), n),
        "target": np.tile(np.repeat(w.labels[steps - 1].reshape(-1), per_output), n),
        "lag": np.tile(np.repeat(np.arange(-(window - 1), 1), F), n * K),
        "feature": np.tile(np.asarray(w.features, dtype=object), n * K * W),
        "attribution": attr.reshape(-1),
    })
