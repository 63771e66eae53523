"""Callbacks the engine adds to skorch's: divergence guard, epoch progress bar, LR warm-up,
resumable checkpoints, Optuna pruning (and :func:`extra_callbacks`, which hands callbacks
to every engine built in a ``with`` block).

skorch already provides early stopping, gradient clipping and LR scheduling; what is here
is what it lacks: stopping with an error (and the best weights restored) when the loss
becomes non-finite, a tqdm bar over epochs, and a
checkpoint that resumes an interrupted fit to the very weights of an uninterrupted one
(skorch's ``Checkpoint`` and ``LoadInitState`` save the weights, optimizer and history
with pickle, but not the callbacks' state nor the RNG states that the rest of the fit
draws from, and ``LoadInitState`` would restart the epoch count at ``max_epochs``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import os
import tempfile
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.history import History

from skfin._warnings import warn
# re-exported: WarmupCosine lived here before skfin.engine.schedules gathered the schedules
from skfin.engine.schedules import WarmupCosine

__all__ = ["TrainingDivergedError", "DivergenceGuard", "EpochProgressBar", "WarmupCosine",
           "TrainingCheckpoint", "OptunaPruning", "extra_callbacks"]


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite.

    The engine has already restored the best weights seen before the divergence.
    """


class DivergenceGuard(Callback):
    """Stop on a non-finite loss, restore the best (or initial) weights, raise an error."""

    def on_train_begin(self, net, **kwargs):
        self.initial_weights_ = deepcopy(net.module_.state_dict())

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if loss is not None and not math.isfinite(loss.item()):
            self._stop(net, "train" if training else "valid")

    def on_epoch_end(self, net, **kwargs):
        for key in ("train_loss", "valid_loss"):
            value = net.history[-1].get(key)
            if value is not None and not np.isfinite(value):
                self._stop(net, key.split("_")[0])

    def _stop(self, net, phase: str):
        best = next((cb for _, cb in net.callbacks_ if isinstance(cb, EarlyStopping)), None)
        if best is not None and best.best_model_weights_ is not None:
            net.module_.load_state_dict(best.best_model_weights_)
            kept = f"the weights of epoch {best.best_epoch_} ({best.monitor}={best.best_score_:.6g})"
        else:
            net.module_.load_state_dict(self.initial_weights_)
            kept = "the initial weights (no epoch had finished)"
        epoch = len(net.history)
        raise TrainingDivergedError(
            f"Training diverged: the {phase} loss became NaN or infinite in epoch {epoch}. "
            f"{kept[0].upper() + kept[1:]} were restored. Try a lower lr (now {net.lr:g}), "
            "scaled inputs and targets (e.g. StandardScaler, LogRatio), or loss='huber'."
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("initial_weights_", None)
        return state


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the latest train and validation loss."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=type(net.module_).__name__, unit="epoch",
                         leave=False)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix({k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row})
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state


_CHECKPOINT_FORMAT = "skfin-checkpoint"
_CHECKPOINT_VERSION = 1


def data_fingerprint(dataset) -> str:
    """A SHA-256 of the tensors a fit trains on (values, shapes and dtypes).

    For a :class:`~skfin.engine.data.WindowDataset`: its features, window ends, window
    length, targets and their offsets, known-future covariates, time steps and sample
    weights; for anything else, the tensors and arrays it is or holds.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> from skfin.engine.data import WindowDataset
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[:, None], dtype=torch.float32)
    >>> a = WindowDataset(close, torch.arange(59, 5026), 60, close, torch.arange(1, 6))
    >>> b = WindowDataset(close, torch.arange(59, 5025), 60, close, torch.arange(1, 6))
    >>> same = data_fingerprint(a) == data_fingerprint(a.subset(torch.arange(len(a))))
    >>> same, data_fingerprint(a) == data_fingerprint(b)
    (True, False)
    """
    from skfin.engine.data import WindowDataset

    digest = hashlib.sha256()

    def add(name, value):
        digest.update(name.encode())
        if value is None:
            digest.update(b"none")
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            array = (value.detach().cpu().contiguous().numpy() if isinstance(value, torch.Tensor)
                     else np.ascontiguousarray(value))
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        elif isinstance(value, dict):
            for key in sorted(value):
                add(f"{name}.{key}", value[key])
        else:
            digest.update(repr(value).encode())

    if isinstance(dataset, WindowDataset):
        for name in ("features", "ends", "window", "targets", "target_offsets", "future",
                     "weights", "dt"):
            add(name, getattr(dataset, name))
        if dataset.starts is not None:        # a panel (kept out of one series' digest)
            add("starts", dataset.starts)
    else:
        add("X", dataset)
    return digest.hexdigest()


def _atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it over ``target``.

    A crash before the rename leaves ``target`` as it was (and no temporary file), as
    :func:`skfin.persistence.save` does.
    """
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as raw:
            raw.write(data)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _encode(tree: dict, name: str) -> bytes:
    """``tree`` as safetensors bytes: tensors as tensors, the rest as JSON metadata."""
    from safetensors.torch import save

    from skfin.persistence import _Writer

    writer = _Writer()
    node = writer.encode(tree, name)
    return save(writer.tensors, metadata={_CHECKPOINT_FORMAT: json.dumps(node, allow_nan=False)})


def read_checkpoint(path) -> dict:
    """The state saved in a checkpoint file of :class:`TrainingCheckpoint` (no unpickling).

    Parameters
    ----------
    path : str or path-like
        ``last.safetensors`` or ``best.safetensors`` in a ``checkpoint_dir``.

    Returns
    -------
    dict
        ``last``: ``format``, ``version``, ``config``, ``data``, ``finished``, ``epoch``,
        ``module`` (the weights), ``optimizer``, ``history``, ``callbacks`` and ``rng``.
        ``best``: ``epoch``, ``monitor``, ``score`` and ``module``.
    """
    from safetensors import safe_open

    from skfin.persistence import _Reader

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    if _CHECKPOINT_FORMAT not in metadata:
        raise ValueError(f"{str(path)!r} is not a skfin training checkpoint.")
    return _Reader(tensors, device=None).decode(json.loads(metadata[_CHECKPOINT_FORMAT]))


class TrainingCheckpoint(Callback):
    """Write the training state after every epoch; resume an interrupted fit from it.

    After each epoch of a fit, ``last.safetensors`` in ``dirname`` gets everything the
    rest of the fit depends on: the weights, the optimizer's state, the history, the state
    of early stopping (counters, best score and best weights) and of the LR schedule, and
    the RNG states (:meth:`skfin.engine.SkfinNet.training_rng_states`: the shuffling and
    augmentation generators, the torch RNG behind dropout). When the monitored loss
    (``valid_loss``, else ``train_loss``) is the lowest so far, ``best.safetensors`` gets
    the weights. Both are safetensors files (tensors, plus JSON metadata; nothing is
    pickled), written to a temporary file and renamed, so an interruption mid-write leaves
    the previous file whole. Only fits from scratch (:meth:`skfin.engine.SkfinNet.fit`) are
    checkpointed; ``partial_fit`` and warm starts are not.

    At the start of a fit, a ``last.safetensors`` of an unfinished fit with the same
    ``config`` on the same data (``data_fingerprint``) is loaded, and the engine runs
    only the epochs left: the fit ends with the weights an uninterrupted fit would have
    (bit for bit on the CPU). A checkpoint of another configuration or other data is not
    used: a warning says what differs and the fit starts from scratch, overwriting it. A
    finished fit's checkpoint (all epochs run, or early stopping triggered) is not resumed
    either: fitting again starts anew.

    Parameters
    ----------
    dirname : str or path-like
        The directory (created if needed).
    config : str, default=""
        A fingerprint of the settings that shape training; a checkpoint resumes only a fit
        with the same.
    """

    def __init__(self, dirname, config: str = ""):
        self.dirname = dirname
        self.config = config

    @property
    def last_path(self) -> Path:
        return Path(self.dirname) / "last.safetensors"

    @property
    def best_path(self) -> Path:
        return Path(self.dirname) / "best.safetensors"

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.active_ = bool(getattr(net, "_fresh_fit", False))
        self.written_ = 0
        if not self.active_:
            return
        Path(self.dirname).mkdir(parents=True, exist_ok=True)
        self.data_ = data_fingerprint(X if y is None else {"X": X, "y": y})
        if not self.last_path.exists():
            return
        try:
            state = read_checkpoint(self.last_path)
        except Exception as exc:                   # unreadable: say so, and start anew
            warn(f"Could not read the checkpoint {str(self.last_path)!r} ({exc}); "
                 "training from scratch and overwriting it.", UserWarning)
            return
        if state.get("version") != _CHECKPOINT_VERSION or state.get("finished", True):
            return
        differs = [what for what, key, mine in (("configuration", "config", self.config),
                                                ("training data", "data", self.data_))
                   if state.get(key) != mine]
        if differs:
            warn(
                f"The checkpoint in {str(self.dirname)!r} is of a fit with another "
                f"{' and other '.join(differs)}, so it is not resumed: training from scratch "
                "and overwriting it. Use another checkpoint_dir to keep it.",
                UserWarning,
            )
            return
        self._restore(net, state)

    def on_epoch_end(self, net, **kwargs):
        if not getattr(self, "active_", False):
            return
        self._write_last(net, finished=False)
        self.written_ = len(net.history)
        row = net.history[-1]
        monitor = "valid_loss" if "valid_loss" in row else "train_loss"
        score = row.get(monitor)
        scores = [r.get(monitor) for r in net.history[:-1]]
        scores = [s for s in scores if s is not None and np.isfinite(s)]
        if score is not None and np.isfinite(score) and all(score <= s for s in scores):
            _atomic_write(self.best_path, _encode(
                {"format": _CHECKPOINT_FORMAT, "version": _CHECKPOINT_VERSION,
                 "epoch": len(net.history), "monitor": monitor, "score": float(score),
                 "module": dict(net.module_.state_dict())}, "best"))

    def on_train_end(self, net, **kwargs):
        if not getattr(self, "active_", False):
            return
        stopped = any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                      for _, cb in net.callbacks_)
        ran_all = self.written_ == len(net.history) >= net.max_epochs
        if stopped or ran_all:
            self._write_last(net, finished=True)

    # -- state ----------------------------------------------------------------------
    def _write_last(self, net, *, finished: bool) -> None:
        callbacks = {}
        for name, cb in net.callbacks_:
            if isinstance(cb, EarlyStopping):
                callbacks[name] = {
                    "misses_": int(cb.misses_), "best_epoch_": int(cb.best_epoch_),
                    "dynamic_threshold_": float(cb.dynamic_threshold_),
                    "best_model_weights_": None if cb.best_model_weights_ is None
                    else dict(cb.best_model_weights_)}
            elif isinstance(cb, LRScheduler) and getattr(cb, "lr_scheduler_", None) is not None:
                callbacks[name] = {"lr_scheduler_": {
                                       k: v for k, v in cb.lr_scheduler_.state_dict().items()
                                       if not callable(v)},
                                   "batch_idx_": int(getattr(cb, "batch_idx_", 0))}
        tree = {"format": _CHECKPOINT_FORMAT, "version": _CHECKPOINT_VERSION,
                "config": self.config, "data": self.data_, "finished": finished,
                "epoch": len(net.history), "module": dict(net.module_.state_dict()),
                "optimizer": net.optimizer_.state_dict(),
                "history": [dict(row) for row in net.history],
                "callbacks": callbacks, "rng": net.training_rng_states()}
        _atomic_write(self.last_path, _encode(tree, "last"))

    def _restore(self, net, state: dict) -> None:
        device = net.device
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(state["history"])
        for name, cb in net.callbacks_:
            saved = state["callbacks"].get(name)
            if saved is None:
                continue
            if isinstance(cb, EarlyStopping):
                weights = saved["best_model_weights_"]
                cb.misses_ = saved["misses_"]
                cb.best_epoch_ = saved["best_epoch_"]
                cb.dynamic_threshold_ = saved["dynamic_threshold_"]
                cb.best_model_weights_ = None if weights is None else {
                    k: v.to(device) for k, v in weights.items()}
            elif isinstance(cb, LRScheduler):
                cb.lr_scheduler_.load_state_dict(saved["lr_scheduler_"])
                cb.batch_idx_ = saved["batch_idx_"]
        net.resume_rng_states(state["rng"])
        net._resumed = True
        self.written_ = len(net.history)



def config_fingerprint(config: dict) -> str:
    """A SHA-256 of a fit's settings ``{name: value}`` (through their ``repr``), for
    :class:`TrainingCheckpoint`'s ``config``.

    Examples
    --------
    >>> config_fingerprint({"lr": 1e-3, "window": 20}) == config_fingerprint(
    ...     {"window": 20, "lr": 0.001})
    True
    """
    items = sorted((str(k), repr(v)) for k, v in config.items())
    return hashlib.sha256(repr(items).encode()).hexdigest()


# -- callbacks from the caller's context ------------------------------------------------
_EXTRA_CALLBACKS: contextvars.ContextVar[tuple] = contextvars.ContextVar(
    "skfin_extra_callbacks", default=())


@contextlib.contextmanager
def extra_callbacks(*callbacks):
    """Add skorch callbacks to every engine that a skfin estimator builds in this block.

    A search or a monitoring tool can so reach the training loop of an estimator it did
    not construct (a clone inside a ``Pipeline`` or a cross-validation), without a
    constructor parameter: ``clone``, ``get_params`` and pickles are unaffected. The
    callbacks are read when an engine is built (``NeuralEstimatorMixin._build_engine``) and
    appended after the engine's own, in the order given; blocks nest (the inner block's
    callbacks come after the outer's). The context is that of ``contextvars``: it
    follows the current thread (and asyncio task), not other threads or processes, so set
    it where the fit runs.

    Parameters
    ----------
    *callbacks : skorch.callbacks.Callback or (str, Callback)
        Callbacks, named or not (an unnamed one is named ``extra_<i>``). The same instance
        is given to every engine built in the block.

    Examples
    --------
    >>> from skorch.callbacks import Callback
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-300:]
    >>> X, y = r[:-1, None], r[1:]
    >>> calls = []
    >>> class Count(Callback):
    ...     def on_epoch_end(self, net, **kwargs):
    ...         calls.append(len(net.history))
    >>> with extra_callbacks(("count", Count())):
    ...     est = MLPRegressor(window=5, hidden_size=4, max_epochs=2,
    ...                        random_state=0).fit(X, y)
    >>> calls
    [1, 2]
    >>> "count" in dict(MLPRegressor(window=5, max_epochs=1).fit(X, y).net_.callbacks_)
    False
    """
    named = tuple(cb if isinstance(cb, tuple) else (None, cb) for cb in callbacks)
    token = _EXTRA_CALLBACKS.set(_EXTRA_CALLBACKS.get() + named)
    try:
        yield
    finally:
        _EXTRA_CALLBACKS.reset(token)


def context_callbacks(taken=()) -> list:
    """The callbacks of the enclosing :func:`extra_callbacks` blocks, named, for the engine.

    ``taken`` are the names already used by the engine's own callbacks; an unnamed extra
    gets ``extra_<i>``, and a name clashing with one of the engine's or skorch's defaults
    (``train_loss``, ``valid_loss``...) raises a ``ValueError``.
    """
    # skorch's own callbacks (NeuralNet._default_callbacks) are named too
    out, names = [], {"epoch_timer", "train_loss", "valid_loss", "print_log", *taken}
    for i, (name, cb) in enumerate(_EXTRA_CALLBACKS.get()):
        name = f"extra_{i}" if name is None else name
        if name in names:
            raise ValueError(f"extra_callbacks: the name {name!r} is already used by the "
                             f"engine's callbacks {sorted(names)}; pick another name.")
        names.add(name)
        out.append((name, cb))
    return out


class OptunaPruning(Callback):
    """Report the validation loss to an Optuna trial after each epoch; prune bad trials.

    After every epoch the monitored loss (``valid_loss``, else ``train_loss`` when the
    engine holds out no validation tail) is reported with ``trial.report(value, step)``,
    ``step = offset + epoch - 1`` (``epoch`` counted from 1). When ``trial.should_prune()``
    the fit stops by raising ``optuna.TrialPruned``; skorch catches only
    ``KeyboardInterrupt`` in its training loop, so the exception leaves ``fit`` (and any
    ``Pipeline`` around it) for the caller, e.g.
    :class:`skfin.model_selection.OptunaSearchCV`, to record the trial as pruned.

    Cross-validation: to compare trials at the same step, fold ``k`` of a search reports
    from ``offset = k * max_epochs`` on (``fold=k``; the offset is read from the engine's
    ``max_epochs`` when training starts), so a step always means the same fold and epoch
    in every trial, and a pruner compares a trial's fold-2 epoch-3 loss with the other
    trials' fold-2 epoch-3 losses.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial to report to.
    fold : int, default=0
        Index of the cross-validation fold being fitted.
    monitor : str or None, default=None
        The history key to report; None means ``valid_loss``, else ``train_loss``.

    Attributes
    ----------
    reported_ : list of (int, float)
        The ``(step, value)`` pairs reported in the last fit.

    Examples
    --------
    >>> import optuna
    >>> from skfin.datasets import load_sp500
    >>> from skfin.regressors import MLPRegressor
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().to_numpy()[-300:]
    >>> study = optuna.create_study()
    >>> trial = study.ask()
    >>> with extra_callbacks(("pruning", OptunaPruning(trial))):
    ...     est = MLPRegressor(window=5, hidden_size=4, max_epochs=3,
    ...                        random_state=0).fit(r[:-1, None], r[1:])
    >>> sorted(trial.storage.get_trial(trial._trial_id).intermediate_values)
    [0, 1, 2]
    """

    def __init__(self, trial, fold: int = 0, monitor: str | None = None):
        self.trial = trial
        self.fold = fold
        self.monitor = monitor

    def on_train_begin(self, net, **kwargs):
        self.offset_ = self.fold * int(net.max_epochs)
        self.reported_ = []

    def on_epoch_end(self, net, **kwargs):
        import optuna

        row = net.history[-1]
        key = self.monitor or ("valid_loss" if "valid_loss" in row else "train_loss")
        value = float(row[key])
        step = self.offset_ + len(net.history) - 1
        self.trial.report(value, step)
        self.reported_.append((step, value))
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"Trial {self.trial.number} pruned at fold {self.fold}, epoch "
                f"{len(net.history)} ({key}={value:.6g}).")

    def __getstate__(self):
        # a trial holds its study's storage (locks, connections): never pickle it
        state = self.__dict__.copy()
        state["trial"] = None
        return state
