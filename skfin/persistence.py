"""Saving and loading fitted estimators without pickle: safetensors for arrays, JSON for the rest.

A saved model is one zip archive (written to a temporary file beside the target, then moved
over it with :func:`os.replace`, so a crash mid-save leaves any previous file intact) holding

* ``skfin.json``: the format name and version, the versions of the libraries that wrote it,
  and the estimator as a tree: its class (``"module:QualName"``), its ``get_params()`` and
  its fitted attributes, each encoded by type (see below);
* ``weights.safetensors``: every tensor and numeric array of that tree (the net's weights,
  the optimizer's moments, scalers, residuals, conformal scores, kept training rows), each
  under a key that names where it belongs (``net_/module/rnn.weight_ih_l0``).

Loading imports the class named in the file only from an allow-list (classes of skfin,
scikit-learn and sktime that are estimators), builds it with ``cls(**params)``, rebuilds the
skorch engine the way the estimator builds it at fit
(:meth:`~skfin.engine.estimator.NeuralEstimatorMixin._build_engine`) with the module
arguments recorded at save, and loads the weights into it. Nothing is ever unpickled, so a
file from an untrusted source cannot run code when loaded. (For sktime's ``sktime.base.load``
to open the file too, forecasters also write the ``_metadata`` entry that sktime reads: a
pickle of the class reference. :func:`load` never reads it.)

Why hand-written: ``pickle``/``joblib`` (which keep working, as in scikit-learn) run code
from the file when loading; ``torch.save`` pickles as well; skops' secure format audits
pickles of arbitrary objects and knows neither skorch engines nor sktime forecasters. The
fitted state of a skfin estimator is small and typed (arrays, scalars, pandas indexes,
frames, sktime horizons, nested estimators), so an explicit encoder per type
(:data:`_ENCODERS`) covers it, and an attribute of any other type is refused at save with
its name rather than silently dropped.
"""

from __future__ import annotations

import contextvars
import enum
import importlib
import inspect
import json
import math
import os
import pickle
import sys
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path, PurePath

import numpy as np
import pandas as pd
import torch

from skfin._warnings import warn

__all__ = ["FORMAT_VERSION", "ModelFileError", "FormatVersionError", "save", "load",
           "save_method"]

#: Version of the file layout. Raise it when a change makes older readers misread new
#: files; a reader refuses files whose version is newer than its own.
FORMAT_VERSION = 1

_FORMAT = "skfin-model"
_MANIFEST = "skfin.json"
_WEIGHTS = "weights.safetensors"
#: Packages whose estimator classes a file may name (and whose enums and classes it may use).
_ALLOWED_PACKAGES = ("skfin", "sklearn", "sktime")
_ALLOWED_ENUM_PACKAGES = (*_ALLOWED_PACKAGES, "pandas", "numpy")
_ALLOWED_CLASS_PACKAGES = (*_ALLOWED_PACKAGES, "torch")


class ModelFileError(ValueError):
    """A file that is not a readable skfin model: not one at all, corrupted or incomplete."""


class FormatVersionError(ModelFileError):
    """A skfin model file written in a newer format than this version of skfin reads."""


# -- helpers -------------------------------------------------------------------------
def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


#: Further top-level packages the caller of :func:`load` trusts (``trusted=``, and the
#: package of the class passed as ``cls``), for the duration of that call.
_TRUSTED: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("trusted",
                                                                           default=())


def _import(path: str, packages: tuple[str, ...], what: str):
    """The object ``"module:QualName"`` names, if its module is inside ``packages`` (or a
    package the caller of :func:`load` trusts)."""
    packages = (*packages, *_TRUSTED.get())
    module, _, qualname = path.partition(":")
    if (not qualname or "<" in qualname
            or module.split(".")[0] not in packages):
        raise ModelFileError(
            f"The file names {what} {path!r}, which skfin refuses to import: only "
            f"{', '.join(packages)} objects may appear in a skfin model file. The file was "
            "not written by skfin, or was tampered with."
        )
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ModelFileError(
            f"The file names {what} {path!r}, which this installation does not have "
            f"({exc}). It was probably saved by another version of skfin or of the library "
            "that defines it: install that version to load it."
        ) from None
    return obj


def _estimator_bases() -> tuple[type, ...]:
    from sklearn.base import BaseEstimator

    try:
        from skbase.base import BaseObject
    except ImportError:                            # pragma: no cover - sktime needs skbase
        return (BaseEstimator,)
    return (BaseEstimator, BaseObject)


def _is_estimator(obj) -> bool:
    return isinstance(obj, _estimator_bases())


def _estimator_class(path: str) -> type:
    cls = _import(path, _ALLOWED_PACKAGES, "the estimator class")
    if not (inspect.isclass(cls) and issubclass(cls, _estimator_bases())):
        raise ModelFileError(
            f"The file names {path!r} as an estimator class, but it is not a scikit-learn or "
            "sktime estimator. The file was not written by skfin, or was tampered with."
        )
    return cls


def _versions() -> dict[str, str]:
    import safetensors
    import sklearn
    import skorch

    import skfin

    versions = {"skfin": skfin.__version__, "torch": torch.__version__,
                "scikit-learn": sklearn.__version__, "skorch": skorch.__version__,
                "numpy": np.__version__, "pandas": pd.__version__,
                "safetensors": safetensors.__version__,
                "python": ".".join(map(str, sys.version_info[:3]))}
    try:
        import sktime

        versions["sktime"] = sktime.__version__
    except ImportError:                            # pragma: no cover
        pass
    return versions


def _params(estimator) -> dict:
    return estimator.get_params(deep=False)


# -- encoding ------------------------------------------------------------------------
class _Writer:
    """Encodes values into JSON-able nodes; tensors and numeric arrays go to ``tensors``."""

    def __init__(self):
        self.tensors: dict[str, torch.Tensor] = {}

    def put(self, key: str, tensor: torch.Tensor) -> str:
        if key in self.tensors:                    # pragma: no cover - keys follow paths
            raise RuntimeError(f"duplicate weights key {key!r}")
        self.tensors[key] = tensor.detach().to("cpu").contiguous().clone()
        return key

    def encode(self, value, path: str):
        for kind, test, encoder in _ENCODERS:
            if test(value):
                node = encoder(self, value, path)
                return node if kind is None else {"__type__": kind, **node}
        raise TypeError(
            f"Cannot save {path!r} of type {type(value).__module__}.{type(value).__qualname__}: "
            "skfin.persistence has no encoder for it (it never pickles, so that loading "
            "cannot run code). Convert it to a supported type (arrays, numbers, strings, "
            "lists, dicts, pandas indexes and frames, estimators), or add an encoder to "
            "skfin.persistence._ENCODERS."
        )

    def estimator(self, est, path: str, *, fitted: bool) -> dict:
        params = _params(est)
        node = {"class": _class_path(type(est)),
                "params": {k: self.encode(v, f"{path}.{k}") for k, v in params.items()}}
        if fitted:
            state = est.__getstate__() if hasattr(est, "__getstate__") else vars(est)
            state = dict(vars(est) if state is None else state)
            node["fitted"] = {
                k: self.encode(v, f"{path}/{k}" if path else k) for k, v in state.items()
                if k not in params and k != "_sklearn_version"}
        return node


def _plain(writer, value, path):
    if isinstance(value, float) and not math.isfinite(value):
        return {"__type__": "float", "value": repr(value)}
    return value


def _list(writer, value, path):
    return [writer.encode(v, f"{path}/{i}") for i, v in enumerate(value)]


def _tuple(writer, value, path):
    return {"items": _list(writer, value, path)}


def _dict(writer, value, path):
    if all(isinstance(k, str) for k in value) and "__type__" not in value:
        return {k: writer.encode(v, f"{path}/{k}") for k, v in value.items()}
    return {"__type__": "dict",
            "items": [[writer.encode(k, f"{path}/key{i}"), writer.encode(v, f"{path}/{i}")]
                      for i, (k, v) in enumerate(value.items())]}


def _ndarray(writer, value, path):
    if value.dtype.kind in "biuf" and value.dtype.byteorder != ">":
        try:
            tensor = torch.from_numpy(np.require(value, requirements=["C", "W"]))
        except TypeError:                          # a dtype torch lacks (e.g. uint64)
            tensor = None
        if tensor is not None:
            return {"key": writer.put(path, tensor), "dtype": value.dtype.str}
    if value.dtype.kind in "Mm":
        unit = np.datetime_data(value.dtype)[0]
        return {"key": writer.put(path, torch.from_numpy(
                    np.require(value.view(np.int64), requirements=["C", "W"]))),
                "dtype": value.dtype.str, "unit": unit}
    if value.dtype.kind in "OUSb" or value.dtype.kind in "iuf":
        return {"dtype": value.dtype.str if value.dtype.kind != "O" else "object",
                "shape": list(value.shape),
                "values": [writer.encode(v, f"{path}/{i}")
                           for i, v in enumerate(value.ravel().tolist())]}
    raise TypeError(f"Cannot save {path!r}: arrays of dtype {value.dtype} are not supported.")


def _tensor(writer, value, path):
    return {"key": writer.put(path, value)}


def _npscalar(writer, value, path):
    if value.dtype.kind not in "biufUS":
        raise TypeError(f"Cannot save {path!r}: numpy scalars of dtype {value.dtype} are "
                        "not supported.")
    return {"dtype": value.dtype.str, "value": _plain(writer, value.item(), path)}


def _offset(writer, value, path):
    if isinstance(value, pd.offsets.CustomBusinessDay):
        node = {"kind": "CustomBusinessDay", "n": value.n, "normalize": value.normalize,
                "weekmask": value.weekmask,
                "holidays": [str(np.datetime64(h, "D")) for h in value.holidays]}
    else:
        node = {"kind": "freqstr", "freqstr": value.freqstr}
    if _decode_offset(node) != value:
        raise TypeError(f"Cannot save {path!r}: the frequency {value!r} does not round-trip "
                        "through its description.")
    return node


def _decode_offset(node):
    from pandas.tseries.frequencies import to_offset

    if node["kind"] == "CustomBusinessDay":
        return pd.offsets.CustomBusinessDay(n=node["n"], normalize=node["normalize"],
                                            weekmask=node["weekmask"],
                                            holidays=list(node["holidays"]))
    return to_offset(node["freqstr"])


def _index(writer, value, path):
    name = writer.encode(value.name, f"{path}/name") if not isinstance(
        value, pd.MultiIndex) else None
    if isinstance(value, pd.RangeIndex):
        return {"kind": "range", "start": value.start, "stop": value.stop, "step": value.step,
                "name": name}
    if isinstance(value, pd.MultiIndex):
        return {"kind": "multi",
                "levels": [writer.encode(lv, f"{path}/level{i}")
                           for i, lv in enumerate(value.levels)],
                "codes": [writer.encode(np.asarray(c), f"{path}/codes{i}")
                          for i, c in enumerate(value.codes)],
                "names": writer.encode(list(value.names), f"{path}/names")}
    if isinstance(value, pd.DatetimeIndex):
        return {"kind": "datetime", "values": writer.encode(value.asi8.copy(), f"{path}/values"),
                "unit": value.unit, "tz": None if value.tz is None else str(value.tz),
                "freq": writer.encode(value.freq, f"{path}/freq"), "name": name}
    if isinstance(value, pd.PeriodIndex):
        return {"kind": "period", "values": writer.encode(value.asi8.copy(), f"{path}/values"),
                "freq": value.freqstr, "name": name}
    return {"kind": "index", "dtype": str(value.dtype),
            "values": writer.encode(np.asarray(value), f"{path}/values"), "name": name}


def _column(writer, value, path):
    """A Series without its index (a frame's column, or the body of a Series)."""
    if not isinstance(value.dtype, np.dtype) and str(value.dtype) != "str":
        raise TypeError(f"Cannot save {path!r}: Series of dtype {value.dtype} are not "
                        "supported.")
    return {"name": writer.encode(value.name, f"{path}/name"), "dtype": str(value.dtype),
            "values": writer.encode(np.asarray(value.to_numpy()), f"{path}/values")}


def _series(writer, value, path):
    return {**_column(writer, value, path), "index": writer.encode(value.index, f"{path}/index")}


def _frame(writer, value, path):
    return {"index": writer.encode(value.index, f"{path}/index"),
            "columns": writer.encode(value.columns, f"{path}/columns"),
            "data": [_column(writer, value.iloc[:, i], f"{path}/{i}")
                     for i in range(value.shape[1])]}


def _timestamp(writer, value, path):
    return {"value": value.isoformat(), "class": type(value).__name__}


def _horizon(writer, value, path):
    return {"values": writer.encode(value._values, f"{path}/values"),
            "is_relative": value.is_relative,
            "freq": writer.encode(value._freq, f"{path}/freq")}


def _enum(writer, value, path):
    return {"class": _class_path(type(value)), "value": writer.encode(value.value, path)}


def _class(writer, value, path):
    return {"path": _class_path(value)}


def _random_state(writer, value, path):
    return {"state": writer.encode(value.get_state(), f"{path}/state")}


#: Helper objects that fitted estimators keep, saved as their attributes (``vars``) and
#: rebuilt without calling ``__init__``; only these classes, never one a file names.
_STATE_CLASSES = ("sktime.datatypes._vectorize:VectorizedDF",)


def _is_state_object(value) -> bool:
    return _class_path(type(value)) in _STATE_CLASSES


def _state_object(writer, value, path):
    return {"class": _class_path(type(value)), "state": writer.encode(dict(vars(value)), path)}


def _dec_state_object(reader, node):
    if node["class"] not in _STATE_CLASSES:
        raise ModelFileError(f"The file names {node['class']!r} as a helper object, which "
                             "skfin refuses to rebuild.")
    cls = _import(node["class"], _ALLOWED_PACKAGES, "the helper class")
    obj = object.__new__(cls)
    obj.__dict__.update(reader.decode(node["state"]))
    return obj


def _estimator_node(writer, value, path):
    return writer.estimator(value, path, fitted=True)


def _net(writer, net, path):
    """A fitted skorch engine: what rebuilding it needs, its weights and training state."""
    split = net.train_split
    module = net.module_
    weights = module.state_dict()
    for name, tensor in weights.items():
        writer.put(f"{path}/module/{name}", tensor)
    optimizer = getattr(net, "optimizer_", None)
    return {"module": _class_path(net.module), "prefix": path,
            "module_kwargs": writer.encode(net.get_params_for("module"), f"{path}/kwargs"),
            "weights": list(weights),
            "optimizer": None if optimizer is None else writer.encode(
                optimizer.state_dict(), f"{path}/optimizer"),
            "history": writer.encode(list(net.history or []), f"{path}/history"),
            "seed": int(net.seed),
            "train_split": None if split is None else {
                "valid_fraction": (split.valid_fraction if isinstance(split.valid_fraction, str)
                                   else float(split.valid_fraction)),
                "gap": int(split.gap)},
            "fitted_on": str(net.device)}


def _residuals(writer, value, path):
    if "value" not in vars(value):
        raise TypeError(f"Cannot save {path!r}: its residuals were not computed "
                        "(call the estimator's __getstate__ first).")
    return {"value": writer.encode(value.value, f"{path}/value")}


def _is_net(value) -> bool:
    from skfin.engine.net import SkfinNet

    return isinstance(value, SkfinNet)


def _is_pending(value) -> bool:
    from skfin.engine.estimator import _PendingResiduals

    return isinstance(value, _PendingResiduals)


def _is_accelerator(value) -> bool:
    mod = sys.modules.get("accelerate")
    return mod is not None and isinstance(value, mod.Accelerator)


def _is_horizon(value) -> bool:
    mod = sys.modules.get("sktime.forecasting.base._fh")
    return mod is not None and isinstance(value, mod.ForecastingHorizon)


#: ``(tag, test, encoder)`` per supported type, tried in order: the tag marks the JSON node
#: (``{"__type__": tag, ...}``); None means a plain JSON value. Decoders: :data:`_DECODERS`.
_ENCODERS = [
    (None, lambda v: v is None or isinstance(v, (bool, int, float, str))
     and type(v) in (bool, int, float, str), _plain),
    ("ndarray", lambda v: isinstance(v, np.ndarray), _ndarray),
    ("npscalar", lambda v: isinstance(v, np.generic), _npscalar),
    ("tensor", lambda v: isinstance(v, torch.Tensor), _tensor),
    (None, lambda v: type(v) is list, _list),
    ("tuple", lambda v: type(v) is tuple, _tuple),
    (None, lambda v: type(v) is dict, _dict),
    ("index", lambda v: isinstance(v, pd.Index), _index),
    ("series", lambda v: isinstance(v, pd.Series), _series),
    ("frame", lambda v: isinstance(v, pd.DataFrame), _frame),
    ("offset", lambda v: isinstance(v, pd.DateOffset), _offset),
    ("timestamp", lambda v: isinstance(v, (pd.Timestamp, pd.Timedelta, pd.Period)), _timestamp),
    ("path", lambda v: isinstance(v, PurePath), lambda w, v, p: {"value": str(v)}),
    ("horizon", _is_horizon, _horizon),
    # An estimator's ``accelerator`` is how it was launched, not what it fitted: an
    # instance is saved as "auto" (a default Accelerator, set up by ``accelerate launch``).
    (None, _is_accelerator, lambda w, v, p: "auto"),
    ("enum", lambda v: isinstance(v, enum.Enum), _enum),
    ("class", inspect.isclass, _class),
    ("random_state", lambda v: isinstance(v, np.random.RandomState), _random_state),
    ("skfin_net", _is_net, _net),
    ("residuals", _is_pending, _residuals),
    ("estimator", _is_estimator, _estimator_node),
    ("object", _is_state_object, _state_object),
]


# -- decoding ------------------------------------------------------------------------
class _Reader:
    """Decodes the nodes written by :class:`_Writer`; tensors come from ``tensors``."""

    def __init__(self, tensors: dict[str, torch.Tensor], device: str | None):
        self.tensors = tensors
        self.device = device

    def tensor(self, key: str) -> torch.Tensor:
        try:
            return self.tensors[key]
        except KeyError:
            raise ModelFileError(
                f"The model file's {_WEIGHTS} has no entry {key!r}, which {_MANIFEST} refers "
                "to: the file is incomplete or was edited. Save the model again."
            ) from None

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("__type__")
        if kind is None:
            return {k: self.decode(v) for k, v in node.items()}
        try:
            decoder = _DECODERS[kind]
        except KeyError:
            raise ModelFileError(
                f"The model file holds a value of unknown type {kind!r}: it was written by a "
                "newer skfin, or edited. Upgrade skfin to load it."
            ) from None
        return decoder(self, node)

    def estimator(self, node):
        cls = _estimator_class(node["class"])
        params = {k: self.decode(v) for k, v in node["params"].items()}
        with warnings.catch_warnings():    # the construction's advice was given at save
            warnings.simplefilter("ignore")
            est = cls(**params)
        fitted = node.get("fitted")
        if fitted is None:
            return est
        nets = {}
        for name, value in fitted.items():
            if isinstance(value, dict) and value.get("__type__") == "skfin_net":
                nets[name] = value
            else:
                vars(est)[name] = self.decode(value)
        for name, value in nets.items():
            vars(est)[name] = self.net(est, value)
        return est

    def net(self, owner, node):
        """Rebuild ``owner``'s engine as its fit built it, then load weights and state."""
        from skorch.history import History

        from skfin.engine.data import TimeOrderedSplit

        module = _import(node["module"], ("skfin",), "the net class")
        if not (inspect.isclass(module) and issubclass(module, torch.nn.Module)):
            raise ModelFileError(f"The file names {node['module']!r} as the net class; it is "
                                 "not a torch module. The file was edited.")
        kwargs = self.decode(node["module_kwargs"])
        device = self._device(owner, node)
        shape = {k: kwargs[k] for k in ("n_features", "window", "horizon", "n_targets")}
        requested = owner.device, vars(owner).get("accelerator")
        try:
            # the fitted engine is a plain one, whatever accelerator trained it
            owner.device, owner.accelerator = device, None
            with warnings.catch_warnings():        # mixed precision off CUDA, short data
                warnings.simplefilter("ignore")
                net = owner._build_engine(n_windows=0, **shape)
        finally:
            owner.device, owner.accelerator = requested
        for name in [k for k in vars(net) if k.startswith("module__")]:
            delattr(net, name)
        net.module = module
        for name, value in kwargs.items():
            setattr(net, f"module__{name}", value)
        net.seed = node["seed"]
        split = node["train_split"]
        net.train_split = None if split is None else TimeOrderedSplit(**split)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with net._seeded():
                net.initialize()
        names = list(net.module_.state_dict())
        state = {name: self.tensor(f"{node['prefix']}/module/{name}")
                 for name in node["weights"]}
        if sorted(names) != sorted(state):
            missing = sorted(set(names) - set(state))
            extra = sorted(set(state) - set(names))
            raise ModelFileError(
                f"The weights in the model file do not fit the rebuilt "
                f"{module.__name__}: missing {missing[:5]}, unexpected {extra[:5]}. The file "
                "was saved by another version of the net's code or was edited."
            )
        try:
            net.module_.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(
                f"The weights in the model file do not fit the rebuilt {module.__name__}: "
                f"{str(exc).splitlines()[0]} The file was saved by another version of the "
                "net's code or was edited."
            ) from None
        if node["optimizer"] is not None:
            net.optimizer_.load_state_dict(self.decode(node["optimizer"]))
        net.history_ = History(self.decode(node["history"]))
        return net

    def _device(self, owner, node) -> str:
        from skfin.engine.device import available_devices, resolve_device

        if self.device is not None:
            return resolve_device(self.device)
        try:
            return resolve_device(owner.device)
        except (ValueError, RuntimeError):
            warn(
                f"{type(owner).__name__} was fitted on {node['fitted_on']!r} with "
                f"device={owner.device!r}, which this machine lacks (available: "
                f"{available_devices()}); its net is loaded on the CPU. Pass device= to "
                "load to choose, and set_params(device='cpu') before refitting here.",
                UserWarning,
            )
            return "cpu"


def _dec_ndarray(reader, node):
    dtype = np.dtype(node["dtype"])
    if "key" in node:
        values = reader.tensor(node["key"]).numpy()
        if dtype.kind in "Mm":
            return values.astype(np.int64).view(dtype).copy()
        return values.astype(dtype, copy=True)
    values = [reader.decode(v) for v in node["values"]]
    out = np.empty(len(values), dtype=dtype)
    out[:] = values if dtype != object else _object_items(values)
    return out.reshape(node["shape"])


def _object_items(values):
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _dec_index(reader, node):
    kind = node["kind"]
    name = reader.decode(node.get("name"))
    if kind == "range":
        return pd.RangeIndex(node["start"], node["stop"], node["step"], name=name)
    if kind == "multi":
        return pd.MultiIndex(levels=[reader.decode(v) for v in node["levels"]],
                             codes=[reader.decode(v) for v in node["codes"]],
                             names=reader.decode(node["names"]))
    if kind == "datetime":
        values = reader.decode(node["values"]).view(f"M8[{node['unit']}]")
        index = pd.DatetimeIndex(values, name=name)
        if node["tz"] is not None:
            index = index.tz_localize("UTC").tz_convert(node["tz"])
        freq = reader.decode(node["freq"])
        return index if freq is None else pd.DatetimeIndex(index, freq=freq)
    if kind == "period":
        return pd.PeriodIndex.from_ordinals(reader.decode(node["values"]), freq=node["freq"],
                                            name=name)
    values = reader.decode(node["values"])
    try:
        return pd.Index(values, dtype=node["dtype"], name=name)
    except (TypeError, ValueError):
        return pd.Index(values, name=name)


def _dec_column(reader, node, index) -> pd.Series:
    dtype = None if node["dtype"] == "object" else node["dtype"]
    return pd.Series(reader.decode(node["values"]), index=index,
                     name=reader.decode(node["name"]), dtype=dtype)


def _dec_series(reader, node):
    return _dec_column(reader, node, reader.decode(node["index"]))


def _dec_frame(reader, node):
    index = reader.decode(node["index"])
    data = [_dec_column(reader, column, index) for column in node["data"]]
    frame = pd.DataFrame(dict(enumerate(data)), index=index)
    frame.columns = reader.decode(node["columns"])
    return frame


def _dec_timestamp(reader, node):
    cls = {"Timestamp": pd.Timestamp, "Timedelta": pd.Timedelta, "Period": pd.Period}
    return cls[node["class"]](node["value"])


def _dec_horizon(reader, node):
    from sktime.forecasting.base import ForecastingHorizon

    return ForecastingHorizon(reader.decode(node["values"]), is_relative=node["is_relative"],
                              freq=reader.decode(node["freq"]))


def _dec_enum(reader, node):
    cls = _import(node["class"], _ALLOWED_ENUM_PACKAGES, "the enumeration")
    if not (inspect.isclass(cls) and issubclass(cls, enum.Enum)):
        raise ModelFileError(f"The file names {node['class']!r} as an enumeration; it is not one.")
    return cls(reader.decode(node["value"]))


def _dec_class(reader, node):
    cls = _import(node["path"], _ALLOWED_CLASS_PACKAGES, "the class")
    if not inspect.isclass(cls):
        raise ModelFileError(f"The file names {node['path']!r} as a class; it is not one.")
    return cls


def _dec_random_state(reader, node):
    rs = np.random.RandomState()
    rs.set_state(reader.decode(node["state"]))
    return rs


def _dec_residuals(reader, node):
    from skfin.engine.estimator import _PendingResiduals

    pending = object.__new__(_PendingResiduals)
    pending.__dict__.update(value=reader.decode(node["value"]), inputs=None)
    return pending


def _dec_stray_net(reader, node):
    raise ModelFileError("The model file holds a net outside an estimator (engines are rebuilt "
                         "by the estimator that owns them): the file was edited.")


def _dec_npscalar(reader, node):
    return np.dtype(node["dtype"]).type(reader.decode(node["value"]))


_DECODERS = {
    "float": lambda r, n: float(n["value"]),
    "ndarray": _dec_ndarray,
    "npscalar": _dec_npscalar,
    "tensor": lambda r, n: r.tensor(n["key"]).clone(),
    "tuple": lambda r, n: tuple(r.decode(v) for v in n["items"]),
    "dict": lambda r, n: {_hashable(r.decode(k)): r.decode(v) for k, v in n["items"]},
    "index": _dec_index,
    "series": _dec_series,
    "frame": _dec_frame,
    "offset": lambda r, n: _decode_offset(n),
    "timestamp": _dec_timestamp,
    "path": lambda r, n: Path(n["value"]),
    "horizon": _dec_horizon,
    "enum": _dec_enum,
    "class": _dec_class,
    "random_state": _dec_random_state,
    "residuals": _dec_residuals,
    "estimator": lambda r, n: r.estimator(n),
    "object": _dec_state_object,
    "skfin_net": _dec_stray_net,
}


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# -- files ---------------------------------------------------------------------------
def _check_fitted(estimator) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    name = type(estimator).__name__
    message = (f"This {name} is not fitted yet: there is nothing to save but its "
               "parameters. Call fit before save (to keep an unfitted configuration, keep "
               "its get_params()).")
    fitted = getattr(estimator, "is_fitted", None)
    if isinstance(fitted, bool):                   # sktime
        if not fitted:
            raise NotFittedError(message)
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(message) from None


def _target(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}.")
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + ".zip")


def save(estimator, path) -> Path:
    """Save a fitted skfin estimator (or meta-estimator) to a single zip archive.

    The archive holds ``skfin.json`` (class, parameters, fitted state, library and format
    versions) and ``weights.safetensors`` (the net's weights and every numeric array of the
    fitted state); nothing is pickled. It is written to a temporary file in the same
    directory and then moved over ``path``, so an interrupted save leaves an existing file
    as it was.

    Parameters
    ----------
    estimator : estimator
        A fitted skfin regressor or forecaster, or a conformal wrapper around one (or
        around a scikit-learn or sktime estimator whose fitted state skfin can encode).
    path : str or path-like
        Where to write. A path without a suffix gets ``.zip`` appended, as sktime's
        ``save`` does.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If a fitted attribute has a type that skfin cannot save without pickle (the
        message names the attribute).

    See Also
    --------
    load : Load a saved estimator.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import GRURegressor
    >>> from skfin.persistence import save, load
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-400:]
    >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
    >>> model = GRURegressor(window=10, hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    >>> folder = tempfile.mkdtemp()
    >>> save(model, f"{folder}/gru").name
    'gru.zip'
    >>> bool(np.array_equal(load(f"{folder}/gru.zip").predict(X), model.predict(X)))
    True
    """
    _check_fitted(estimator)
    target = _target(path)
    writer = _Writer()
    tree = writer.estimator(estimator, "", fitted=True)
    manifest = {"format": _FORMAT, "format_version": FORMAT_VERSION,
                "class": tree["class"], "versions": _versions(), "estimator": tree}
    from safetensors.torch import save as save_tensors

    weights = save_tensors(writer.tensors, metadata={"format": _FORMAT,
                                                     "format_version": str(FORMAT_VERSION)})
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"Cannot save to {str(target)!r}: the directory "
                                f"{str(parent)!r} does not exist. Create it first.")
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(_MANIFEST, json.dumps(manifest, indent=1, allow_nan=False))
                archive.writestr(_WEIGHTS, weights)
                if _is_sktime(estimator):
                    # read by sktime.base.load only (a class reference); skfin.load ignores it
                    archive.writestr("_metadata", pickle.dumps(type(estimator)))
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temp, _file_mode(target))        # mkstemp's 0o600 -> what open() gives
        os.replace(temp, target)
    except BaseException:
        with _suppress():
            os.unlink(temp)
        raise
    return target


def _file_mode(target: Path) -> int:
    """The permissions of the file being replaced, or of a new file under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _is_sktime(estimator) -> bool:
    mod = sys.modules.get("sktime.base")
    return mod is not None and isinstance(estimator, mod.BaseObject)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], OSError)


def _read(path: Path) -> tuple[dict, bytes]:
    what = f"{str(path)!r}"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _MANIFEST not in names:
                raise ModelFileError(
                    f"{what} is a zip archive but not a skfin model (it has no {_MANIFEST}). "
                    "Load skfin models saved with est.save(path); files written by pickle or "
                    "joblib load with joblib.load, and only from a trusted source."
                )
            manifest = archive.read(_MANIFEST)
            weights = archive.read(_WEIGHTS) if _WEIGHTS in names else None
    except (zipfile.BadZipFile, zlib.error, EOFError, zipfile.LargeZipFile,
            NotImplementedError) as exc:
        raise ModelFileError(
            f"{what} is not a readable skfin model: {exc} (the file is not a zip archive, "
            "or it is truncated or corrupted, e.g. by an interrupted copy). Save the model "
            "again, or copy the file again."
        ) from None
    except IsADirectoryError:
        raise ModelFileError(f"{what} is a directory; pass the model file saved by "
                             "est.save(path).") from None
    try:
        manifest = json.loads(manifest)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{what} has an unreadable {_MANIFEST} ({exc}): the file is "
                             "corrupted. Save the model again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise ModelFileError(f"{what} is not a skfin model: its {_MANIFEST} does not declare "
                             f"format {_FORMAT!r}.")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{what} has no valid format_version in its {_MANIFEST}.")
    if version > FORMAT_VERSION:
        import skfin

        wrote = manifest.get("versions", {}).get("skfin", "a newer version")
        raise FormatVersionError(
            f"{what} was saved by skfin {wrote} in model format {version}, but this is skfin "
            f"{skfin.__version__}, which reads formats up to {FORMAT_VERSION}. Upgrade skfin "
            "(pip install -U skfin) to load it."
        )
    if weights is None:
        raise ModelFileError(f"{what} has no {_WEIGHTS} entry: the file is incomplete. Save "
                             "the model again.")
    return manifest, weights


def _tensors(weights: bytes, what: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load as load_tensors

    try:
        return load_tensors(weights)
    except Exception as exc:                       # safetensors raises its own error types
        raise ModelFileError(f"{what}'s {_WEIGHTS} is corrupted ({exc}). Save the model "
                             "again.") from None


def load(path, *, device: str | None = None, cls: type | None = None,
         trusted: tuple[str, ...] = ()):
    """Load an estimator saved by ``est.save(path)``, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        The file written by ``save``. A path without a suffix that does not exist is
        also tried with ``.zip`` (what ``save`` wrote for it).
    device : str, default=None
        Where to put the nets: "cpu", "cuda", ... By default, the estimator's own
        ``device`` parameter; if this machine lacks it (a model fitted on a GPU, loaded on a
        CPU-only machine) the CPU, with a warning. The ``device`` parameter itself is
        left as saved.
    cls : type, default=None
        If given, the loaded object must be an instance of it (``Class.load`` passes
        itself); otherwise a TypeError names what the file holds. Its package is trusted
        (see ``trusted``): ``MyForecaster.load(path)`` loads your own subclass.
    trusted : tuple of str, default=()
        Top-level packages besides skfin, scikit-learn and sktime whose classes the file
        may name (your own nets and estimators, e.g. ``trusted=("mydesk",)``). Only these
        are ever imported; nothing is unpickled either way.

    Returns
    -------
    estimator
        The fitted estimator, predicting as the saved one did.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not a skfin model, or is truncated, corrupted or incomplete (a
        missing weights entry), or names a class skfin refuses to import.
    FormatVersionError
        If the file was written in a newer format than this skfin reads (the message
        names both versions).

    See Also
    --------
    save : Save a fitted estimator.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> import skfin
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TCNForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
    >>> f = TCNForecaster(window=10, channels=4, max_epochs=2, random_state=0).fit(r, fh=[1, 2])
    >>> path = f.save(f"{tempfile.mkdtemp()}/tcn.zip")
    >>> g = skfin.load(path)
    >>> g.predict().equals(f.predict())
    True
    >>> [str(day.date()) for day in g.predict().index]
    ['2019-01-02', '2019-01-03']
    """
    target = Path(path) if isinstance(path, (str, os.PathLike)) else None
    if target is None:
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}.")
    zipped = target.with_name(target.name + ".zip")
    if not target.exists() and not target.suffix and zipped.exists():
        target = zipped
    if not target.exists():
        raise FileNotFoundError(f"No skfin model file at {str(path)!r}.")
    if isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted):
        raise TypeError(f"trusted must be a tuple of package names; got {trusted!r}.")
    extra = (*trusted, *(() if cls is None else (cls.__module__.split(".")[0],)))
    token = _TRUSTED.set(tuple(extra))
    try:
        return _load(target, device, cls)
    finally:
        _TRUSTED.reset(token)


def _load(target: Path, device: str | None, cls: type | None):
    if device is not None:
        from skfin.engine.device import resolve_device

        resolve_device(device)     # a device this machine lacks: say so, not "corrupted"
    manifest, weights = _read(target)
    what = f"{str(target)!r}"
    try:
        tree = manifest["estimator"]
        stored = _estimator_class(tree["class"])
    except (KeyError, TypeError):
        raise ModelFileError(f"{what}'s {_MANIFEST} lacks the estimator description: the "
                             "file is corrupted or was edited.") from None
    if cls is not None and not issubclass(stored, cls):
        raise TypeError(
            f"{what} holds a {stored.__name__}, not a {cls.__name__}. Load it with "
            f"skfin.load(path), or with {stored.__name__}.load(path)."
        )
    reader = _Reader(_tensors(weights, what), device)
    try:
        return reader.estimator(tree)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(
            f"{what} could not be rebuilt ({type(exc).__name__}: {exc}). The file is "
            "corrupted, was edited, or was saved by an incompatible version of skfin or of "
            f"its dependencies ({manifest.get('versions')})."
        ) from exc


def save_method(estimator, path=None, serialization_format: str = "skfin"):
    """What the estimators' ``save`` method runs: :func:`save`, or sktime's pickle ``save``.

    sktime's protocol (``est.save()`` for an in-memory pickle, ``serialization_format=
    "pickle"`` or ``"cloudpickle"``) goes to sktime's ``BaseObject.save`` for sktime
    objects; everything else is :func:`save`.
    """
    if path is None or serialization_format != "skfin":
        if _is_sktime(estimator):
            if serialization_format == "skfin":        # sktime's in-memory default
                serialization_format = "pickle"
            from sktime.base import BaseObject

            return BaseObject.save(estimator, path, serialization_format=serialization_format)
        if path is None:
            raise TypeError(f"{type(estimator).__name__}.save needs a path to write to, e.g. "
                            "est.save('model.zip').")
        raise ValueError(f"serialization_format must be 'skfin' for "
                         f"{type(estimator).__name__}; got {serialization_format!r}. Use "
                         "pickle.dump or joblib.dump for pickles.")
    return save(estimator, path)
