"""Export a fitted estimator for serving: TorchScript or ONNX, input scaling included.

The exported graph is what ``predict`` and ``predict_quantiles`` compute from a window, as
one function of **raw** windows ``x: [batch, window, n_features]`` (oldest row first, in the
units the estimator was fitted on):

1. the face's input scaling (the forecaster's ``loc_``/``scale_``; the regressor has none),
2. the fitted net (per-window normalisation included, with ``standardize="window"``),
3. the head's point forecast and quantiles at fixed levels (point models add the quantiles
   of their calibration residuals, kept in the graph as constants),
4. the output de-scaling back to the target's units.

It returns ``point: [batch, horizon, n_targets]`` and ``quantiles: [batch, horizon,
n_targets, n_levels]`` (a Student-t head returns ``params: [batch, horizon, n_targets, 3]``,
location, scale and degrees of freedom in the target's units, instead of quantiles: the t
inverse CDF is an operator neither format has). The batch size is dynamic. The levels, the
feature and target names, the window and the horizon travel inside the file
(:func:`read_metadata`). :func:`windows` builds the raw windows that ``predict`` reads, so a
client can feed the served model exactly what the estimator would see.

Which nets export to which format (checked on every registered net by the tests):

- TorchScript (``torch.jit.trace``): all of them. Tracing records one path through the net,
  so nets whose number of steps depends on the data cannot be traced faithfully: a Neural
  ODE/CDE with an adaptive solver (``"dopri5"``, ...) is refused; refit it with a
  fixed-step solver (``"rk4"``, the default).
- ONNX (``torch.onnx.export``, the ``torch.export``-based exporter first, the TorchScript-
  based one as a fallback): all but **S4D**, whose convolution kernel is computed in
  complex arithmetic (ONNX has no complex tensors), and **NeuralCDE**, whose control path
  (``torchcde``) uses ``cummax`` and in-place index updates that have no ONNX operator.
  Both raise :class:`ExportError`; export them to TorchScript.

Not exported: ``uncertainty="mc_dropout"`` (a sampler, not a function of the window: set
``uncertainty="head"``), and forecasters with known-future covariates (their forecast reads
``X`` after the cutoff, a second input the served graph does not take yet).

Every export is checked before it is written: the saved graph is run (by ONNX Runtime when
installed, by ``torch.jit`` otherwise) on real windows from the fitted data at two batch
sizes and must match the eager net within ``1e-4`` relative to the scale of the forecasts.

Written by hand: the wrapper module and the checks. Tracing and conversion are torch's
(``torch.jit``, ``torch.onnx``); running ONNX is ``onnxruntime``'s (``pip install
skfin[export]``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["ExportError", "FORMATS", "export", "read_metadata", "windows"]

#: Serving formats :func:`export` writes, and the file suffix of each.
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}

_METADATA = "skfin.json"
_FORMAT_VERSION = 1


class ExportError(RuntimeError):
    """The estimator cannot be exported to this format (the message says why and what to do)."""


class _Served(nn.Module):
    """Raw windows in, point forecasts and quantiles in the target's units out."""

    def __init__(self, module: nn.Module, kind: str, *, in_loc, in_scale, out_loc, out_scale,
                 levels, offsets=None, mix=None, z=None, unit: float | None = None,
                 reads_time: bool = False):
        super().__init__()
        self.module, self.kind, self.unit, self.reads_time = module, kind, unit, reads_time
        f32 = dict(dtype=torch.float32)
        self.register_buffer("in_loc", torch.as_tensor(in_loc, **f32))
        self.register_buffer("in_scale", torch.as_tensor(in_scale, **f32))
        self.register_buffer("out_loc", torch.as_tensor(out_loc, **f32))
        self.register_buffer("out_scale", torch.as_tensor(out_scale, **f32))
        self.register_buffer("offsets", None if offsets is None else torch.as_tensor(offsets, **f32))
        self.register_buffer("mix", None if mix is None else torch.as_tensor(mix, **f32))
        self.register_buffer("z", None if z is None else torch.as_tensor(z, **f32))
        self.n_levels = len(levels)

    def forward(self, x: Tensor, dt: Tensor | None = None):
        z = (x - self.in_loc) / self.in_scale
        params = self.module(z, dt=dt) if self.reads_time else self.module(z)   # [B, H, T, P]
        loc, scale = self.out_loc, self.out_scale                               # [T]
        if self.kind == "quantile":
            both = params @ self.mix                          # [B, H, T, 1 + L]: median, levels
            point, quantiles = both[..., 0], both[..., 1:]
        else:
            point = params[..., 0]
            if self.unit is not None:                         # loss="qlike": a log variance
                point = torch.exp(point) * self.unit
            if self.kind == "point":
                quantiles = point.unsqueeze(-1) + self.offsets
                if self.unit is not None:
                    quantiles = quantiles.clamp_min(0.0)
            elif self.kind == "gaussian":
                quantiles = params[..., :1] + params[..., 1:2] * self.z
            else:                                             # student_t: loc, scale, df
                out = torch.stack([params[..., 0] * scale + loc, params[..., 1] * scale,
                                   params[..., 2]], dim=-1)
                return point * scale + loc, out
        return point * scale + loc, quantiles * scale.unsqueeze(-1) + loc.unsqueeze(-1)


def _levels(estimator, alpha) -> list[float]:
    from skfin.engine.estimator import check_levels
    from skfin.nets.heads import DEFAULT_QUANTILES

    head = estimator.net_.module_.head
    if alpha is None:
        if estimator.output == "quantile":
            return [float(v) for v in head.levels]
        return [float(v) for v in DEFAULT_QUANTILES]
    return sorted(check_levels(alpha))


def _solver_problem(module: nn.Module) -> str | None:
    """Why tracing cannot reproduce ``module`` (an adaptive ODE solver), or None."""
    from skfin.nets.continuous import _Solve

    for sub in module.modules():
        for value in vars(sub).values():
            if isinstance(value, _Solve) and not value.fixed:
                return (f"its solver {value.solver!r} is adaptive: it picks the number of steps "
                        "from the data, and an exported graph would freeze the steps of the "
                        "example it was traced on. Refit with a fixed-step solver (solver='rk4' "
                        "with step_size) to export it.")
    return None


def _serving_module(estimator, levels: list[float]) -> _Served:
    """The face's scaling, its fitted net and its head's outputs as one module."""
    name = type(estimator).__name__
    if estimator.uncertainty == "mc_dropout":
        raise ExportError(
            f"{name} has uncertainty='mc_dropout': its forecasts average random dropout "
            "passes, which an exported graph does not sample. Export the deterministic net "
            "with est.set_params(uncertainty='head') (predict then gives the same as the "
            "export)."
        )
    if getattr(estimator.net_.module_, "draws_paths", False):
        raise ExportError(
            f"{name} draws autoregressive sample paths for its quantiles "
            f"(n_paths={estimator.net_.module_.n_paths}): an exported graph does not sample. "
            "Refit with n_paths=0 (quantiles from the head's distribution at each step) to "
            "export it."
        )
    if getattr(estimator, "n_future_", 0):
        raise ExportError(
            f"{name} reads known-future covariates (future_X={estimator.future_X!r}): its "
            "forecast needs X after the cutoff, which the served graph does not take. Refit "
            "with future_X=None (X as past covariates) to export it."
        )
    # a frozen CPU copy: the fitted net is left as it is, and the graph's outputs need no
    # torch.no_grad() on the serving side
    module = copy.deepcopy(estimator.net_.module_).cpu().eval().requires_grad_(False)
    head = module.head
    spec = estimator._serving_spec()
    kind = estimator.output
    unit = estimator._variance_unit() if estimator.loss == "qlike" else None
    extra = {}
    if kind == "quantile":
        n = len(head.levels)
        head.quantiles(torch.zeros(1, 1, 1, n), levels)                     # range check
        eye = torch.eye(n, dtype=torch.float64)[None, None]                 # [1, 1, Q, Q]
        extra["mix"] = head.quantiles(eye, [0.5, *levels])[0, 0]           # [Q, 1 + L]
    elif kind == "gaussian":
        extra["z"] = torch.special.ndtri(torch.tensor(levels, dtype=torch.float64))
    elif kind == "point":
        offsets = np.quantile(estimator.residuals_, levels, axis=0)          # [L, H, T]
        extra["offsets"] = np.moveaxis(offsets, 0, -1)                       # [H, T, L]
    served = _Served(module, kind, levels=levels, unit=unit,
                     reads_time=spec["dt"], **spec["scaling"], **extra)
    return served.eval()


def windows(estimator, X=None):
    """The raw windows ``[n, window, n_features]`` that the estimator's ``predict`` reads.

    What to feed a served model (:func:`export`) to get the estimator's forecasts: for a
    regressor, one window per row of ``X`` that has features (leading warm-up rows have
    none), completed from the fitted rows and forward-filled exactly as ``predict`` does;
    for a forecaster, the last window of the data it has seen (``X`` is not used).

    Parameters
    ----------
    estimator : fitted skfin regressor or forecaster
    X : array-like, default=None
        A regressor's rows, as for its ``predict``.

    Returns
    -------
    ndarray of float32, or tuple of two ndarrays
        The windows; for a forecaster whose net reads time (Neural ODE/CDE) also ``dt``
        ``[n, window]``, the elapsed time before each row, its second input.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    >>> model = MLPRegressor(window=5, max_epochs=1, random_state=0).fit(X, y)
    >>> w = windows(model, X.iloc[-3:])
    >>> w.shape, bool(np.array_equal(w[-1, :, 0], X["r"].iloc[-5:].to_numpy(np.float32)))
    ((3, 5, 1), True)
    """
    _check_fitted(estimator, "windows")
    return estimator._serving_windows(X)


def _check_fitted(estimator, what: str) -> None:
    """scikit-learn's NotFittedError, for both faces, naming what needs the fit."""
    from sklearn.exceptions import NotFittedError

    if not hasattr(estimator, "_serving_spec"):
        raise TypeError(f"{what} takes a fitted skfin neural estimator; got "
                        f"{type(estimator).__name__}.")
    if getattr(estimator, "net_", None) is None:
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet: "
                             f"call fit before {what}.")


def _example(estimator):
    """Real windows from the fitted data (or zeros when none are kept) to trace and check."""
    try:
        x = estimator._serving_windows(None, n=32)
    except (AttributeError, ValueError, TypeError):
        x = None
    if x is None or (isinstance(x, np.ndarray) and len(x) == 0):
        spec = estimator._serving_spec()
        x = np.zeros((2, spec["window"], len(spec["features"])), dtype=np.float32)
    if isinstance(x, tuple):
        return x
    return (x,)


def _batches(example: tuple) -> list[tuple]:
    """Two other batches than the traced one: its windows in reverse order (at least 3),
    and the last window alone (a value frozen into the graph at tracing then shows)."""
    n = len(example[0])
    reps = max(1, -(-3 // n))
    full = tuple(np.ascontiguousarray(np.concatenate([part] * reps)[::-1]) for part in example)
    return [full, tuple(part[:1] for part in full)]


def _metadata(estimator, fmt: str, levels, outputs, inputs) -> dict:
    import skfin

    spec = estimator._serving_spec()
    return {
        "format": "skfin-served", "format_version": _FORMAT_VERSION, "serving_format": fmt,
        "skfin_version": skfin.__version__, "torch_version": torch.__version__,
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "inputs": inputs, "outputs": outputs, "levels": levels,
        "window": int(spec["window"]), "horizon": int(spec["horizon"]),
        "features": [str(c) for c in spec["features"]],
        "targets": [str(c) for c in spec["targets"]],
        "units": "raw windows in the units the estimator was fitted on; forecasts in the "
                 "target's units",
    }


def _write_atomic(target: Path, write) -> None:
    """``write(temp_path)`` beside ``target``, then move it over ``target``."""
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    os.close(handle)
    try:
        write(temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _torchscript(served: _Served, example: tuple, target: Path, meta: dict) -> None:
    inputs = tuple(torch.as_tensor(part) for part in example)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # tracer warnings, jit deprecation
        traced = torch.jit.trace(served, inputs, check_trace=False)
    _write_atomic(target, lambda temp: torch.jit.save(
        traced, temp, _extra_files={_METADATA: json.dumps(meta)}))


def _onnx(served: _Served, example: tuple, target: Path, meta: dict, names: list[str],
          outputs: list[str], opset: int | None) -> None:
    try:
        import onnx
    except ImportError as err:
        raise ImportError("ONNX export needs onnx and onnxscript (and onnxruntime to check "
                          "and serve): pip install skfin[export]") from err
    inputs = tuple(torch.as_tensor(part) for part in example)
    batch = torch.export.Dim("batch", min=1)
    errors = []

    def dynamo(temp):
        shapes = tuple({0: batch} for _ in inputs)
        torch.onnx.export(served, inputs, temp, dynamo=True, input_names=names,
                          output_names=outputs, dynamic_shapes=shapes, opset_version=opset,
                          external_data=False, verbose=False)

    def legacy(temp):
        axes = {n: {0: "batch"} for n in [*names, *outputs]}
        torch.onnx.export(served, inputs, temp, dynamo=False, input_names=names,
                          output_names=outputs, dynamic_axes=axes,
                          opset_version=opset or 17)

    for exporter in (dynamo, legacy):
        with tempfile.TemporaryDirectory() as folder:
            temp = os.path.join(folder, "model.onnx")
            try:
                with _quiet():
                    exporter(temp)
                model = onnx.load(temp)
            except Exception as err:      # noqa: BLE001 - reported below, with the cause
                errors.append(_first_line(err))
                continue
        entry = model.metadata_props.add()
        entry.key, entry.value = _METADATA, json.dumps(meta)
        _write_atomic(target, lambda temp: onnx.save(model, temp))
        return
    raise ExportError(
        f"{type(served.module).__name__} cannot be exported to ONNX: {errors[-1]} (the "
        f"torch.export-based exporter: {errors[0]}). Export it with format='torchscript'."
    )


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' progress prints, warnings and log lines (errors still raise)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.fx", "torch.export",
                                                    "torch._dynamo", "onnxscript")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _first_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    for marker in ("is not supported", "not supported"):
        if marker in text:
            return text[:text.index(marker) + len(marker)][-200:]
    return f"{type(err).__name__}: {text[:200]}"


def _run(path: Path, fmt: str, batch: tuple) -> list[np.ndarray]:
    """Run a saved export on ``batch``: ONNX Runtime (when installed) or ``torch.jit``."""
    if fmt == "onnx":
        try:
            import onnxruntime
        except ImportError:
            return None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return session.run(None, dict(zip(names, batch)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)      # torch.jit, deprecated
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return [t.numpy() for t in loaded(*(torch.as_tensor(part) for part in batch))]


def _check(served: _Served, path: Path, fmt: str, example: tuple) -> None:
    """The saved graph reproduces the eager module on real windows at two batch sizes."""
    for batch in _batches(example):
        got = _run(path, fmt, batch)
        if got is None:
            return
        with torch.inference_mode():
            want = [t.numpy() for t in served(*(torch.as_tensor(part) for part in batch))]
        for g, w in zip(got, want):
            tol = 1e-4 * max(1.0, float(np.abs(w).max()))
            if g.shape != w.shape or not np.allclose(g, w, rtol=0, atol=tol):
                diff = (float(np.abs(g - w).max()) if g.shape == w.shape
                        else f"shape {g.shape} != {w.shape}")
                raise ExportError(
                    f"The {fmt} graph of {type(served.module).__name__} does not reproduce "
                    f"the net on a batch of {len(batch[0])} windows (max abs difference "
                    f"{diff}): the net takes a data-dependent path that the exporter froze. "
                    "Try the other format."
                )


def export(estimator, path, format: str = "onnx", *, alpha=None, opset: int | None = None,
           check: bool = True) -> Path:
    """Write a fitted estimator as a TorchScript or ONNX graph of raw windows (see module doc).

    Parameters
    ----------
    estimator : fitted skfin regressor or forecaster
    path : str or path-like
        Where to write; a path without a suffix gets ``.onnx`` or ``.pt``. Written to a
        temporary file beside it and moved over it.
    format : {"onnx", "torchscript"}, default="onnx"
    alpha : list of float, default=None
        Quantile levels of the ``quantiles`` output. None: the levels a quantile head
        learned, else :data:`skfin.nets.DEFAULT_QUANTILES`.
    opset : int, default=None
        ONNX opset (None: the exporter's default).
    check : bool, default=True
        Run the written graph on real windows of the fitted data at two batch sizes
        (ONNX Runtime for ONNX when installed) and raise :class:`ExportError` when it does
        not reproduce the net.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    ExportError
        The net cannot be exported to ``format`` (the message says why and what works).

    Examples
    --------
    >>> import tempfile, numpy as np, onnxruntime
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import TCNRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-400:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    >>> model = TCNRegressor(window=10, channels=4, num_blocks=2, max_epochs=2,
    ...                      random_state=0).fit(X, y)
    >>> path = export(model, f"{tempfile.mkdtemp()}/tcn", "onnx", alpha=[0.05, 0.95])
    >>> session = onnxruntime.InferenceSession(path)
    >>> point, quantiles = session.run(None, {"x": windows(model, X.iloc[-5:])})
    >>> point.shape, quantiles.shape
    ((5, 1, 1), (5, 1, 1, 2))
    >>> bool(np.allclose(point[:, 0, 0], model.predict(X.iloc[-5:]), atol=1e-5))
    True
    >>> read_metadata(path)["levels"]
    [0.05, 0.95]
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not one of {sorted(FORMATS)}.")
    _check_fitted(estimator, "export")
    target = Path(os.fspath(path))
    if not target.suffix:
        target = target.with_suffix(FORMATS[format])
    if not target.parent.is_dir():
        raise FileNotFoundError(f"Cannot export to {str(target)!r}: the directory "
                                f"{str(target.parent)!r} does not exist. Create it first.")
    problem = _solver_problem(estimator.net_.module_)
    if problem:
        raise ExportError(f"{type(estimator).__name__} cannot be exported: {problem}")
    for sub in estimator.net_.module_.modules():
        reason = getattr(type(sub), "_export_unsupported", {}).get(format)
        if reason:
            other = next(f for f in FORMATS if f != format)
            raise ExportError(f"{type(sub).__name__} cannot be exported to {format}: "
                              f"{reason}. Export it with format={other!r}.")
    levels = _levels(estimator, alpha)
    served = _serving_module(estimator, levels)
    example = _example(estimator)
    names = ["x", "dt"][:len(example)] if served.reads_time else ["x"]
    example = example[:len(names)]
    outputs = ["point", "params" if served.kind == "student_t" else "quantiles"]
    meta = _metadata(estimator, format, levels if served.kind != "student_t" else [],
                     outputs, names)
    if format == "torchscript":
        _torchscript(served, example, target, meta)
    else:
        _onnx(served, example, target, meta, names, outputs, opset)
    if check:
        _check(served, target, format, example)
    return target


def read_metadata(path) -> dict:
    """What :func:`export` recorded in a served file: inputs, outputs, levels, names, shapes.

    Parameters
    ----------
    path : str or path-like
        An ``.onnx`` or TorchScript file written by :func:`export`.

    Returns
    -------
    dict

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import LSTMForecaster
    >>> close = load_sp500()["Close"].iloc[-300:]
    >>> f = LSTMForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0)
    >>> path = f.fit(close, fh=[1, 2]).export(f"{tempfile.mkdtemp()}/lstm.pt", "torchscript")
    >>> meta = read_metadata(path)
    >>> meta["inputs"], meta["outputs"], meta["window"], meta["targets"]
    (['x'], ['point', 'quantiles'], 10, ['Close'])
    """
    path = Path(os.fspath(path))
    data = path.read_bytes()
    if data[:2] == b"PK":                                       # a TorchScript zip
        extra = {_METADATA: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit, deprecated
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        text = extra[_METADATA]
    else:
        import onnx

        model = onnx.load_from_string(data)
        text = next((p.value for p in model.metadata_props if p.key == _METADATA), None)
    if not text:
        raise ValueError(f"{str(path)!r} was not written by skfin.export (no {_METADATA}).")
    return json.loads(text)
