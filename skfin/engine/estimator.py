"""What both estimator faces share: hyperparameters, input checks, building and running the engine.

The faces (:mod:`skfin.regressors`, :mod:`skfin.forecasting`) stay thin: they turn their
inputs into a :class:`~skfin.engine.data.WindowDataset` and call :class:`NeuralEstimatorMixin`
to train and predict. Flat public hyperparameters are translated to skorch's prefixed
settings here, in :meth:`NeuralEstimatorMixin._build_engine`, and nowhere else.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import EarlyStopping, GradientNormClipping
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from skfin._warnings import warn
from skfin.engine.augment import check_augment
from skfin.engine.callbacks import (DivergenceGuard, EpochProgressBar, TrainingCheckpoint,
                                    TrainingDivergedError, config_fingerprint,
                                    context_callbacks)
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.meta import MAML
from skfin.engine.transfer import freezes_all
from skfin.engine.device import resolve_device
from skfin.engine.net import AcceleratedSkfinNet, SkfinNet, resolve_accelerator
from skfin.engine.sampling import (dropout_rate, mc_dropout, mixture_quantiles,
                                   with_sample_paths)
from skfin.engine.schedules import SCHEDULES, lr_scheduler
from skfin.losses import LOSSES, check_loss, loss_for
from skfin._checks import ParamValidation, check_finite
from skfin._deprecation import RENAMED, rename_parameters, renamed_in
from skfin._docs import fill
from skfin.nets.covariates import Covariates, handles_missing, reads_covariates
from skfin.nets.window_norm import WindowNorm
from skfin.nets.heads import OUTPUTS

__all__ = ["NeuralEstimatorMixin", "COMMON_PARAMS_DOC", "fill_doc", "check_finite", "as_numeric",
           "check_float32_range", "check_levels", "check_output", "check_parameters",
           "parameter_constraints"]

#: Arguments of every net that the engine fills in from the data, not from the user.
#: ``n_future`` and ``n_static`` (known-future and static covariates) are passed by the face
#: to :meth:`NeuralEstimatorMixin._train` as extra ``module_args``; a net without its own
#: covariate inputs is then wrapped in :class:`skfin.nets.Covariates`.
_CONTRACT_ARGS = {"n_features", "window", "horizon", "n_targets", "output", "quantiles",
                  "n_future", "n_static"}

#: The hyperparameters every face shares. Each architecture's own (widths, layers, dropout,
#: ...) are declared by its net, in ``_parameter_constraints`` beside its signature
#: (:mod:`skfin.nets._params`), and merged in by :func:`check_parameters`.
PARAMETER_CONSTRAINTS = {
    "window": [Interval(Integral, 1, None, closed="left")],
    "output": [StrOptions(set(OUTPUTS))],
    "quantiles": ["array-like", None],
    "uncertainty": [StrOptions({"head", "mc_dropout"})],
    "n_draws": [Interval(Integral, 2, None, closed="left")],
    "loss": [StrOptions(set(LOSSES)), None],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    "lr_schedule": [StrOptions(set(SCHEDULES)), None],
    "valid_fraction": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "mixed_precision": ["boolean", StrOptions({"auto"})],
    "device": [str],
    "freeze": [str, list, tuple, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "update_epochs": [Interval(Integral, 0, None, closed="left")],
    "standardize": ["boolean", StrOptions({"window"})],
    "missing": [StrOptions({"ffill", "raise", "keep"})],
    "warm_start": ["boolean"],
    "future_X": [StrOptions({"all"}), list, tuple, None],
    "meta": [None, StrOptions({"maml"}), MAML],
    "augment": [str, list, tuple, dict, None],
    "accumulate": [Interval(Integral, 1, None, closed="left")],
    "checkpoint_dir": [str, os.PathLike, None],
    "accelerator": [None, StrOptions({"auto"}),
                    HasMethods(["prepare", "backward", "unwrap_model"])],
}

COMMON_PARAMS_DOC = """\
    output : {"point", "quantile", "gaussian", "student_t"}, default="point"
        What the net predicts: a point (trained with ``loss``), non-crossing quantiles
        (pinball loss), or a Gaussian / Student-t distribution (negative log-likelihood).
        Point models take their intervals from the residuals on the validation tail.
    quantiles : array-like of float, default=None
        Levels learned by ``output="quantile"``; None means 0.025, 0.05, 0.10, ..., 0.95,
        0.975 (:data:`skfin.nets.DEFAULT_QUANTILES`: the 80%, 90% and 95% intervals).
    uncertainty : {"head", "mc_dropout"}, default="head"
        "head" takes intervals from the head alone (deterministic forward pass).
        "mc_dropout" keeps dropout on at prediction time and runs ``n_draws`` passes:
        the point forecast is their mean and the predictive distribution the mixture of
        the passes' distributions, so the spread between passes widens the intervals.
    n_draws : int, default=50
        Forward passes with ``uncertainty="mc_dropout"`` (seeded by ``random_state``).
        Formerly ``n_samples`` (still accepted, with a FutureWarning, until 0.3).
    loss : {"mse", "mae", "huber", "directional", "sharpe", "qlike", "crps"}, default=None
        None trains each head by its own scoring rule: "mse" for a point, pinball for
        quantiles, the negative log-likelihood for a distribution. "qlike" (a point head on a
        variance target: realized variance, squared returns; see
        :class:`skfin.losses.QLIKELoss`) reads the output as a log variance, so forecasts
        are positive. "crps" (quantile, Gaussian and Student-t heads) scores the whole
        distribution with the CRPS. Which to use when: :mod:`skfin.losses`.
    max_epochs : int, default=100
        Upper bound on training epochs (early stopping usually ends sooner).
    batch_size : int, default=64
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW decoupled weight decay.
    grad_clip : float or None, default=1.0
        Clip the global gradient norm to this value; None disables clipping.
    lr_schedule : {"cosine", "plateau", "onecycle"} or None, default=None
        Per-epoch schedule: cosine with a linear warm-up (5% of epochs), reduce on plateau
        of the monitored loss, or one-cycle.
    valid_fraction : float or "auto", default=0.2
        Most recent share of the training samples held out (after a gap of
        ``window + horizon - 1`` samples) to early-stop on and to calibrate point-model
        intervals. 0 trains on everything and early-stops on the training loss. A fit
        warns, with the numbers, when the tail and gap leave less than half of the samples
        for training. ``"auto"`` suits short series: 20%, shrunk to leave at least half for
        training, or no validation when fewer than 10 samples would remain for it.
    patience : int or None, default=10
        Epochs without improvement before stopping; the best weights are restored.
        None trains for ``max_epochs``.
    mixed_precision : bool or "auto", default="auto"
        bf16 autocast of the forward passes. "auto" turns it on where it pays and is
        safe: on a CUDA device that supports bf16 (Ampere and later), and never on the
        CPU or MPS. True asks for it (a warning and float32 off CUDA); False keeps
        float32 everywhere. Outputs, losses and the weights stay in float32.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where to train and predict; "auto" picks CUDA, then MPS, then the CPU.
        Predictions always come back as numpy on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout and shuffling; an int makes CPU fits bit-for-bit
        repeatable.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs; 2 also prints skorch's epoch table.
    augment : str, list of str, dict or None, default=None
        Data augmentation of the training batches, off by default: "jitter" (Gaussian
        noise, 0.05 of each feature's std), "scaling" (one N(1, 0.1²) factor per window
        and feature), "magnitude_warp" (a smooth random curve around 1, std 0.2),
        "window_slice" (crop 10% and stretch back), "mixup" (convex combinations of pairs
        of samples, inputs and targets, Beta(0.2, 0.2) weights); several in a list, or a
        dict of name to strength. Validation, calibration and prediction windows are never
        augmented; known-future covariates are mixed by mixup only. Seeded by
        ``random_state`` (fits repeat bit for bit on the CPU). What each does and where
        it comes from: :mod:`skfin.engine.augment`.
    accumulate : int, default=1
        Gradient accumulation: the gradients of ``accumulate`` consecutive batches are
        summed (each batch weighted by its size, or its total sample weight) and averaged
        before one optimizer step, clipped as a whole by ``grad_clip``; the last group of
        an epoch may be shorter and still steps. ``batch_size=b, accumulate=k`` trains like
        ``batch_size=k*b`` (the same samples in each step, up to float rounding) in the
        memory of a batch of ``b``.
    checkpoint_dir : str, path-like or None, default=None
        Directory (created if needed) where every epoch of ``fit`` writes the training
        state to ``last.safetensors`` (weights, optimizer, history, early-stopping and LR
        schedule state, RNG states) and, when the monitored loss is the lowest so far, the
        weights to ``best.safetensors``, each atomically (temporary file, then rename). A
        ``fit`` whose directory holds an interrupted fit (e.g. by Ctrl-C) of the same
        configuration on the same data resumes it and ends with the weights an
        uninterrupted fit would have (bit for bit on the CPU). Same configuration: every
        hyperparameter but ``device``, ``verbose``, ``checkpoint_dir`` and those of
        prediction and ``update``; ``max_epochs`` only with a "cosine" or "onecycle"
        schedule (so a resumed fit may be given more epochs); ``random_state`` only when
        an int. Another configuration or other data: a warning, and the fit starts
        afresh, overwriting the checkpoint. A finished fit's checkpoint is not resumed:
        fitting again starts anew. ``partial_fit``, ``update`` and ``warm_start`` fits are
        not checkpointed.
    accelerator : accelerate.Accelerator, "auto" or None, default=None
        Train through Hugging Face Accelerate (:class:`skfin.engine.net.AcceleratedSkfinNet`),
        so that ``accelerate launch script.py`` trains data-parallel on several GPUs:
        every process draws the same batches and trains on its share of each, and a step
        is the one a single process takes on the whole batch (``batch_size`` is the
        global batch), up to float rounding. "auto" creates ``Accelerator()``, which takes
        its settings from ``accelerate launch`` / ``accelerate config``. The accelerator
        places the net (leave ``device="auto"``, or give its device) and sets the mixed
        precision (``Accelerator(mixed_precision="bf16")``; ``mixed_precision=True`` is
        refused). Not combinable with ``accumulate`` > 1 or ``checkpoint_dir``. After
        ``fit`` the engine is a plain one on the accelerator's device: predictions,
        ``update``, pickling and :meth:`save` do not involve the accelerator (a saved
        file stores an instance as "auto"). None trains in this process on ``device``.
    freeze : str, list of str or None, default=None
        Parameters that training leaves as they start, for fine-tuning a pretrained net
        (a forecaster's ``pretrain``, or ``warm_start=True`` after a fit on other series):
        names of the net's submodules (``"rnn"``, ``"head"``: see
        :func:`skfin.engine.parameter_groups`), ``"body"`` (everything but the
        output head) or ``"all"`` (zero-shot: the pretrained weights as they are; only the
        scaling and intervals are fitted to the new data). A name that matches no
        parameter raises and lists those that exist. None trains every weight."""


FORECASTER_PARAMS_DOC = """\
    update_epochs : int, default=2
        Epochs of fine-tuning on all data seen so far when ``update`` brings new
        observations; 0 keeps the weights and only moves the forecast origin.
    standardize : bool or "window", default=True
        Standardise ``y`` and ``X`` with the mean and standard deviation of the data
        seen in ``fit``, kept as ``loc_`` and ``scale_`` (not re-estimated on ``update``).
        "window" also normalises every window by its own mean and standard deviation and
        maps the forecasts back with the window's statistics of ``y``
        (:class:`skfin.nets.WindowNorm`, RevIN-style): for level series that trend out of
        the range of the fit period (prices, index levels), whose forecasts would
        otherwise drift back to the training mean. Returns, spreads and volatilities,
        which have no trend, do not need it.
        Formerly ``scale`` (still accepted, with a FutureWarning, until 0.3).
    future_X : "all", list of str or None, default="all"
        Which columns of ``X`` are known ahead (a calendar, scheduled events): their values
        at the forecast steps feed the net (:class:`skfin.nets.Covariates`, or the TFT's
        decoder), so ``predict`` needs ``X`` for every step ``1..max(fh)`` after the cutoff.
        Every column of ``X`` is also read over the past window. None: ``X`` is observed
        data known only up to the cutoff (past covariates, e.g. VIX to forecast the S&P
        500); ``predict`` then needs no ``X``, and ignores rows after the cutoff.
    meta : None, "maml" or skfin.engine.MAML, default=None
        How ``pretrain`` learns from a panel. None: one global net trained on every
        series' windows (the engine's usual training). "maml" (or
        :class:`~skfin.engine.MAML` with its settings): model-agnostic
        meta-learning, weights from which ``inner_steps`` gradient steps on a few windows
        of a new series adapt well; ``fit`` after such a ``pretrain`` is that
        adaptation (on the last ``support`` windows before the validation tail) instead
        of a fine-tuning. ``max_epochs`` counts meta-epochs. No effect without
        ``pretrain``."""

REGRESSOR_PARAMS_DOC = """\
    missing : {"ffill", "raise", "keep"}, default="ffill"
        NaN in ``X``: "ffill" carries each column's last observation forward; rows before
        every column is observed (an indicator's warm-up) are left out of training and
        predicted by the training targets' mean and quantiles. "raise" refuses any NaN.
        "keep" hands NaN to a net that reads it as missing (``NeuralCDE``); other nets
        refuse it.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted estimator continues training the fitted net (its
        weights, optimizer state and ``net_.history``) on the new data, for up to
        ``max_epochs`` more epochs with early stopping as configured, instead of starting
        from a new initialisation. The architecture, the window, the number of features
        and of horizon steps must stay those of the fitted net. ``partial_fit`` always
        continues (one epoch per call). The sktime face fine-tunes through ``update``."""

REGRESSOR_ATTRIBUTES_DOC = """\
    net_ : skfin.engine.SkfinNet
        The fitted skorch engine; ``net_.history`` holds the losses per epoch.
    n_features_in_ : int
    n_outputs_ : int
        Horizon steps (columns of ``y``).
    residuals_ : ndarray or None
        Validation-tail residuals behind point-model intervals.
    window_ : int
        The window the net was fitted with (``set_params(window=...)`` applies at the
        next ``fit``).
    n_warmup_ : int
        Leading rows of the training ``X`` left out as warm-up (``missing="ffill"``;
        for a panel, summed over its series).
    n_series_ : int
        Series of the panel fitted with ``groups`` (only set by such a fit)."""

_DOC_FRAGMENTS = {
    "common_params": COMMON_PARAMS_DOC,
    "forecaster_params": FORECASTER_PARAMS_DOC,
    "regressor_attributes": REGRESSOR_ATTRIBUTES_DOC,
    "regressor_params": REGRESSOR_PARAMS_DOC,
}


_ENTRY = re.compile(r"^    (\w+(?:, \w+)*) :")


def net_parameters_doc(net: type[torch.nn.Module]) -> str:
    """The entries of ``net``'s numpydoc Parameters section for its own hyperparameters.

    Everything but the tensor contract (``n_features``, ``window``, ``output``, ...), in the
    net's order: what a face documents as ``{net_params}``.

    Examples
    --------
    >>> from skfin.nets import MLP
    >>> print(net_parameters_doc(MLP))
        hidden_size : int, default=32
            Width of each hidden layer.
        num_layers : int, default=1
            Number of hidden layers.
        dropout : float, default=0.1
            Dropout after each hidden layer.
    """
    own = set(inspect.signature(net).parameters) - _CONTRACT_ARGS
    doc = net.__doc__
    start = doc.index("Parameters\n    ----------\n") + len("Parameters\n    ----------\n")
    end = re.search(r"\n\s*\n|$", doc[start:]).start() + start
    kept, keep = [], False
    for line in doc[start:end].splitlines():
        match = _ENTRY.match(line)
        if match:
            keep = bool(set(match.group(1).split(", ")) & own)
        if keep:
            kept.append(line)
    return "\n".join(kept)


def fill_doc(cls):
    """Fill the shared docstring sections into a class docstring's ``{placeholders}``.

    ``{net_params}`` takes the architecture's own hyperparameters from the Parameters
    section of ``cls._module`` (:func:`net_parameters_doc`): the net documents them once.
    The ``default=`` of every documented parameter is then set from the signature of
    ``cls.__init__``, so a class whose defaults differ from the shared text (say,
    ``output="gaussian"``) is documented with its own.
    """
    if "{net_params}" in cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("    {net_params}", net_parameters_doc(cls._module))
    return fill(cls, _DOC_FRAGMENTS)


def _bf16_supported(device: str) -> bool:
    """Whether ``mixed_precision="auto"`` autocasts to bf16 on ``device`` (CUDA with bf16)."""
    return device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def as_numeric(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Reject non-numeric columns by name."""
    bad = [(c, dt) for c, dt in frame.dtypes.items()
           if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)]
    if bad:
        raise TypeError(
            f"{what} has non-numeric column(s) {[c for c, _ in bad]} (dtypes "
            f"{[str(dt) for _, dt in bad]}). Encode or drop them before fitting."
        )
    return frame


def check_levels(values, name: str = "alpha") -> list[float]:
    levels = [float(v) for v in np.atleast_1d(values)]
    if not levels or not all(0 < v < 1 for v in levels):
        raise ValueError(f"{name} must be in the open interval (0, 1); got {values!r}.")
    return levels


def check_float32_range(values: np.ndarray, what: str, columns=None) -> None:
    """Refuse finite values that overflow float32 (the nets' precision)."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > np.finfo(np.float32).max
    if big.any():
        flat = big.reshape(len(values), -1)
        row = int(np.argmax(flat.any(axis=1)))
        col = int(np.argmax(flat[row]))
        name = columns[col] if columns is not None and col < len(columns) else col
        raise ValueError(
            f"{what} has {int(big.sum())} value(s) beyond float32's range (first in column "
            f"{name!r} at row {row}: {values.reshape(len(values), -1)[row, col]:.3g}); the "
            "nets compute in float32. Rescale it (e.g. StandardScaler, or change units)."
        )


def _same(a, b) -> bool:
    """Equality of two hyperparameter values (tuples, arrays, classes, None)."""
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
                    if isinstance(a, (list, tuple, np.ndarray)) else a == b)
    except (TypeError, ValueError):
        return a is b


def _sklearn_constraint(spec):
    """One spec of :mod:`skfin.nets._params` as a scikit-learn constraint (others unchanged)."""
    if isinstance(spec, tuple) and spec and spec[0] in ("integer", "real"):
        kind, low, high, closed = spec
        return Interval(Integral if kind == "integer" else Real, low, high, closed=closed)
    if isinstance(spec, tuple) and spec and spec[0] == "options":
        return StrOptions(set(spec[1]))
    return spec


def parameter_constraints(net: type[torch.nn.Module]) -> dict:
    """The constraints of a face of ``net``: the shared ones and the net's own.

    :data:`PARAMETER_CONSTRAINTS` (what every face shares) and the net's
    ``_parameter_constraints`` (its architecture's hyperparameters, declared beside its
    signature in :mod:`skfin.nets._params`' vocabulary), as scikit-learn constraints.

    Examples
    --------
    >>> from skfin.nets import LSTM
    >>> [str(c) for c in parameter_constraints(LSTM)["hidden_size"]]
    ['an int in the range [1, inf)']
    """
    own = {k: [_sklearn_constraint(s) for s in v]
           for k, v in getattr(net, "_parameter_constraints", {}).items()}
    return {**PARAMETER_CONSTRAINTS, **own}


def check_parameters(estimator, net: type[torch.nn.Module]) -> None:
    """Validate a face's hyperparameters against :func:`parameter_constraints` of ``net``.

    What a face's ``_validate_params()`` runs at ``fit``, for any estimator and net:
    scikit-learn's ``validate_parameter_constraints`` raises its usual
    ``InvalidParameterError`` for the parameters ``estimator`` has.

    Examples
    --------
    >>> from skfin.nets import LSTM
    >>> from skfin.regressors import LSTMRegressor
    >>> check_parameters(LSTMRegressor(hidden_size=0), LSTM)
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'hidden_size' parameter of LSTMRegressor must be an int in the range [1, inf). Got 0 instead.
    """
    validate_parameter_constraints(parameter_constraints(net),
                                   estimator.get_params(deep=False),
                                   caller_name=type(estimator).__name__)


#: Net arguments that the faces read from the data, with where to give them instead.
_FROM_DATA = {
    "horizon": "read from the data, not a parameter (a regressor forecasts one step per "
               "column of y; a forecaster the steps of fh)",
    "n_features": "read from the data, not a parameter (the columns of X)",
    "n_targets": "read from the data, not a parameter (the target columns)",
}


def _unknown_parameters(cls, names: list[str]) -> None:
    """Raise a TypeError for parameters ``cls`` lacks, naming the faces that have them."""
    from skfin.registry import ARCHITECTURES

    lines = []
    for name in names:
        if name in _FROM_DATA:
            lines.append(f"{name!r}: {_FROM_DATA[name]}")
            continue
        owners = [f"{a.regressor.__name__} and {a.forecaster.__name__}" for a in ARCHITECTURES
                  if name in inspect.signature(a.regressor).parameters]
        where = (f"only {'; '.join(owners)} take it" if owners else "no skfin estimator has it")
        lines.append(f"{name!r}: {where}")
    own = [p for p in inspect.signature(cls).parameters]
    raise TypeError(
        f"{cls.__name__} got unexpected parameter(s) {'; '.join(lines)}. "
        f"{cls.__name__} takes: {', '.join(own)}."
    )


class _FaceConstraints:
    """``_parameter_constraints`` of a face: :func:`parameter_constraints` of its ``_module``."""

    def __get__(self, instance, owner) -> dict:
        return parameter_constraints(owner._module)


def check_output(values: np.ndarray, name: str) -> None:
    """A forecast is never silently NaN/inf."""
    if not np.isfinite(values).all():
        raise FloatingPointError(
            f"{name} produced non-finite forecasts ({int((~np.isfinite(values)).sum())} "
            "value(s)). The inputs or targets are probably badly scaled: standardise them "
            "(e.g. StandardScaler in front, or scale the target) and refit."
        )


class NeuralEstimatorMixin(ParamValidation):
    """Training and prediction shared by the sklearn and sktime faces.

    A face sets ``_module`` (a :mod:`skfin.nets` class) and, in ``fit``, calls
    ``_train`` with a :class:`WindowDataset`; ``predict*`` call ``_forward`` and
    ``_quantiles``. Its ``_parameter_constraints`` are its net's and the shared ones
    (``parameter_constraints``), checked by ``_validate_params()`` as everywhere in skfin.
    """

    _module: type[torch.nn.Module]
    _parameter_constraints = _FaceConstraints()

    def __init_subclass__(cls, **kwargs):
        # Renamed parameters (the shared ones and the net's own) keep working for one
        # release: ``cls(old=...)`` warns and means ``cls(new=...)``; see skfin._deprecation.
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            rename_parameters(cls, cls._renames(), on_unknown=_unknown_parameters)

    @classmethod
    def _renames(cls) -> dict[str, str]:
        module = vars(cls).get("_module") or getattr(cls, "_module", None)
        return {**RENAMED, **getattr(module, "_renamed_parameters", {})}

    def set_params(self, **params):
        """Set parameters (renamed ones also under their old name, with a FutureWarning).

        ``set_params(device=...)`` alone on a fitted estimator moves its net (weights,
        optimizer state) there and keeps the fit, so a model fitted on a GPU predicts on
        the CPU after ``set_params(device="cpu")`` (on a forecaster too, where sktime's
        ``set_params`` would otherwise reset the fit: a device is where the fitted model
        runs, not part of what was fitted). A device this machine lacks raises and changes
        nothing.
        """
        renames = getattr(type(self), "_renamed_parameters", {})
        if set(params) == {"device"} and getattr(self, "net_", None) is not None:
            self._place(resolve_device(params["device"]))
            self.device = params["device"]
            return self
        return super().set_params(**renamed_in(type(self), params, renames))

    def _place(self, device: str) -> None:
        """Move the fitted engine to ``device``: module, criterion and optimizer state."""
        net = self.net_
        if str(net.device) == device:
            return
        pending = vars(self).get("_calibration")
        if pending is not None:
            pending.residuals(self)           # computed where its windows are, then kept
        net.module_.to(device)
        if isinstance(getattr(net, "criterion_", None), torch.nn.Module):
            net.criterion_.to(device)
        net.device = device
        optimizer = getattr(net, "optimizer_", None)
        if optimizer is not None:             # load_state_dict puts the state by its params
            optimizer.load_state_dict(optimizer.state_dict())

    # -- hyperparameters -------------------------------------------------------------
    def _check_hyperparams(self) -> None:
        """``_validate_params()``, then the rules that relate two shared parameters."""
        self._validate_params()
        if getattr(self, "missing", None) == "keep" and not handles_missing(self._module):
            from skfin.registry import ARCHITECTURES

            readers = [a.regressor.__name__ for a in ARCHITECTURES if handles_missing(a.net)]
            raise ValueError(
                f"missing='keep' hands NaN to the net, and {self._module.__name__} cannot "
                f"read it. Use missing='ffill' (carry the last observation forward) or "
                f"'raise', or a net that reads missing values: {', '.join(readers)}."
            )
        check_loss(self.output, self.loss)
        if getattr(self, "standardize", None) == "window" and self.loss == "qlike":
            raise ValueError(
                "standardize='window' shifts each window's outputs by its mean, and "
                "loss='qlike' reads them as a log variance: the two do not combine. Use "
                "standardize=True with loss='qlike'."
            )
        if self.uncertainty == "mc_dropout" and getattr(self, "dropout", None) == 0:
            raise ValueError(
                f"uncertainty='mc_dropout' samples the net's dropout, but dropout=0. Set "
                "dropout > 0 (e.g. 0.1), or use uncertainty='head'."
            )
        if self.quantiles is not None:
            q = np.asarray(self.quantiles, dtype=float)
            if q.ndim != 1 or len(q) < 2 or not ((q > 0) & (q < 1)).all() or len(set(q)) != len(q):
                raise ValueError(
                    f"quantiles must be at least two distinct levels in (0, 1); got {self.quantiles!r}."
                )

    def _net_kwargs(self) -> dict:
        """The architecture's own hyperparameters, read from the net's signature."""
        names = set(inspect.signature(self._module).parameters) - _CONTRACT_ARGS
        params = self.get_params(deep=False)
        return {name: params[name] for name in names if name in params}

    # -- training --------------------------------------------------------------------
    def _build_engine(self, *, n_windows, n_features, window, horizon, n_targets,
                      starts=None, freeze="params", **module_args) -> SkfinNet:
        device = resolve_device(self.device)
        accelerator = self._accelerator(device)
        if accelerator is not None:          # "cpu", not a process's "cpu:N" (foreach below)
            device = "cpu" if accelerator.device.type == "cpu" else str(accelerator.device)
        if self.mixed_precision is True and not device.startswith("cuda"):
            warn(f"mixed_precision=True needs CUDA; training in float32 on {device}.",
                 UserWarning)
        bf16 = accelerator is None and (
            self.mixed_precision is True
            or (self.mixed_precision == "auto" and _bf16_supported(device)))
        split = TimeOrderedSplit(self.valid_fraction, gap=window + horizon - 1)
        has_valid = split.positions(n_windows, starts)[1] is not None
        monitor = "valid_loss" if has_valid else "train_loss"

        callbacks = [("divergence", DivergenceGuard())]
        if self.grad_clip is not None:
            callbacks.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        if self.patience is not None:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.patience, load_best=True)))
        schedule = lr_scheduler(self.lr_schedule, lr=self.lr, max_epochs=self.max_epochs,
                                patience=self.patience, monitor=monitor)
        if schedule is not None:
            callbacks.append(("lr_schedule", schedule))
        if self.verbose:
            callbacks.append(("progress", EpochProgressBar()))

        module_kwargs = dict(n_features=n_features, window=window, horizon=horizon,
                             n_targets=n_targets, output=self.output,
                             quantiles=None if self.quantiles is None else tuple(map(float, self.quantiles)),
                             **self._net_kwargs(), **module_args)
        module = self._module
        if not reads_covariates(self._module):
            # One mechanism for every net without its own covariate inputs (see
            # skfin.nets.covariates); with none to read, the bare net.
            covariates = {k: module_kwargs.pop(k) for k in ("n_future", "n_static")
                          if k in module_kwargs}
            if any(covariates.values()):
                module = Covariates
                module_kwargs.update(net=self._module, **covariates)
        if getattr(self, "standardize", None) == "window":
            # every net, covariate-wrapped or not, reads windows normalised by their own
            # statistics (skfin.nets.window_norm)
            module_kwargs = dict(module=module, **module_kwargs)
            module = WindowNorm
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if getattr(self, "checkpoint_dir", None) is not None:
            # A checkpoint resumes a fit that shares what shapes training: every
            # hyperparameter but those that cannot move the weights (and max_epochs, unless
            # the LR schedule spans it), the net's arguments, and the seed if fixed.
            ignored = {"checkpoint_dir", "verbose", "device", "update_epochs", "n_draws",
                       "uncertainty", "warm_start", "random_state"}
            if self.lr_schedule not in ("cosine", "onecycle"):
                ignored.add("max_epochs")
            config = {k: v for k, v in self.get_params(deep=False).items() if k not in ignored}
            config.update(estimator=type(self).__qualname__, module=module,
                          module_kwargs=module_kwargs,
                          seed=seed if isinstance(self.random_state, Integral) else None)
            callbacks.append(("checkpoint", TrainingCheckpoint(
                self.checkpoint_dir, config=config_fingerprint(config))))
        # callbacks of an enclosing skfin.engine.callbacks.extra_callbacks block (Optuna
        # pruning in a search, say): not a parameter, so clones and pickles never see them
        callbacks += context_callbacks(name for name, _ in callbacks)
        engine, placement = SkfinNet, {"device": device}
        if accelerator is not None:          # the accelerator places the net
            engine, placement = AcceleratedSkfinNet, {"device": None, "accelerator": accelerator}
        return engine(
            module,
            loss_for(self.output, self.loss, module_kwargs["quantiles"],
                     unit=self._variance_unit()),
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            # CPU: update all parameter tensors in one multi-tensor step instead of one at a
            # time (torch does so on CUDA by default). Same weights to the bit, and fits of
            # nets with many small tensors are faster: TFT 12%, Transformer 5%, LSTM 0-4%
            # (5 epochs on 1,500 S&P 500 days, medians of 3).
            **({"optimizer__foreach": True} if device == "cpu" else {}),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=split if has_valid else None,
            callbacks=callbacks,
            verbose=self.verbose,
            **placement,
            seed=seed,
            mixed_precision=bf16,
            augment=check_augment(getattr(self, "augment", None)),
            accumulate=getattr(self, "accumulate", 1),
            freeze=getattr(self, "freeze", None) if freeze == "params" else freeze,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _accelerator(self, device: str):
        """The checked ``accelerate.Accelerator`` of the ``accelerator`` parameter, or None."""
        accelerator = resolve_accelerator(getattr(self, "accelerator", None))
        if accelerator is None:
            return None
        name = type(self).__name__
        if getattr(self, "accumulate", 1) > 1:
            raise ValueError(
                f"{name} cannot accumulate gradients (accumulate={self.accumulate}) through "
                "an accelerator. Set accumulate=1 and raise batch_size: with several "
                "processes, batch_size is the global batch, split between them.")
        if getattr(self, "checkpoint_dir", None) is not None:
            raise ValueError(
                f"{name} does not write training checkpoints through an accelerator (the "
                "processes would write the same files). Set checkpoint_dir=None, or "
                "accelerator=None.")
        if self.mixed_precision is True:
            raise ValueError(
                f"With an accelerator, mixed precision is the accelerator's: create it with "
                f"Accelerator(mixed_precision='bf16') and leave {name}'s mixed_precision "
                "at 'auto' (or False).")
        if self.device != "auto" and torch.device(device).type != accelerator.device.type:
            raise ValueError(
                f"{name} has device={self.device!r}, but its accelerator places the net on "
                f"{accelerator.device}. Leave device='auto' (the accelerator decides), or "
                "create the accelerator for that device (Accelerator(cpu=True) for the CPU).")
        return accelerator

    def _train(self, dataset: WindowDataset, *, n_features, window, horizon, n_targets,
               start_from: SkfinNet | None = None, freeze="params", **module_args) -> None:
        """Fit a fresh engine on ``dataset``; set ``net_`` (and, for point heads, what
        ``residuals_`` is computed from on first use: :meth:`_calibrate`).

        ``module_args`` are further contract arguments of the net that the face reads from
        the data (e.g. ``n_future`` for the TFT's known-future covariates). With a face's
        ``warm_start=True`` and a fitted ``net_``, the new engine starts from its weights,
        optimizer state and history (:meth:`_continue_from`) instead of a fresh
        initialisation; with ``start_from`` (a pretrained engine), from its weights only
        (a new optimizer and history: fine-tuning). The parameters ``freeze`` names (by
        default the face's ``freeze``) stay as they start; with ``"all"`` nothing is
        trained. Weights carried by
        ``dataset`` (``WindowDataset(weights=...)``) weight the training and validation
        losses. A dataset of several series (``starts``) is validated on each series' tail.
        """
        net = self._build_engine(n_windows=len(dataset), n_features=n_features, window=window,
                                 horizon=horizon, n_targets=n_targets,
                                 starts=_starts(dataset), freeze=freeze, **module_args)
        self._check_sample_weights(dataset, net.train_split)
        previous = getattr(self, "net_", None) if getattr(self, "warm_start", False) else None
        freeze = net.freeze
        if freezes_all(freeze) and previous is None and start_from is None:
            raise ValueError(
                f"freeze='all' keeps every weight as it starts, and this "
                f"{type(self).__name__} starts from a random initialisation. Use it to "
                "forecast with pretrained weights unchanged (after pretrain, or with "
                "warm_start=True on a fitted estimator), or freeze fewer parameters."
            )
        try:
            if previous is None and start_from is None:
                net.fit(dataset)
            else:
                self._continue_from(previous if start_from is None else start_from, net,
                                    weights_only=start_from is not None)
                if not freezes_all(freeze):
                    net.partial_fit(dataset)   # skorch's warm start: no re-initialisation
        except TrainingDivergedError:
            self.net_ = net          # keep the restored best weights for inspection
            raise
        self.net_ = net
        self._calibrate(dataset)

    def _train_partial(self, dataset: WindowDataset, epochs: int, *, n_features, window,
                       horizon, n_targets, **module_args) -> None:
        """``epochs`` epochs on all of ``dataset`` from the fitted weights (``partial_fit``).

        Without a fitted ``net_``, a fresh engine is built and initialised first. Either way
        :meth:`_finetune` runs the epochs: no validation tail, early stopping or schedule.
        Point-model intervals then come from the residuals on ``dataset`` (computed on first
        use, see :meth:`_calibrate`).
        """
        if getattr(self, "net_", None) is None:
            with warnings.catch_warnings():       # the validation tail is not used here
                warnings.filterwarnings("ignore", message=r"Only \d+ samples: a validation tail")
                net = self._build_engine(n_windows=len(dataset), n_features=n_features,
                                         window=window, horizon=horizon, n_targets=n_targets,
                                         **module_args)
            with net._seeded():                   # seeded, and the global RNG left alone
                net.initialize()
            self.net_ = net
        self._finetune(dataset, epochs, calibrate=True)

    def _calibrate(self, dataset: WindowDataset) -> None:
        """Keep what the point-model residuals need; ``residuals_`` computes them on first use.

        The residuals ``y - point`` are taken on the validation tail of ``dataset`` (on all
        of it when the engine had no validation tail), with the fitted weights as they are
        now. A sample with zero weight is not trained or validated on, so it does not
        calibrate the intervals either; the other residuals count once each.

        Nothing is computed here: a fit that never asks for intervals skips the forward
        pass. Kept are the engine, the calibration windows (a copy of just the rows they
        read, not the training data), their targets and the ``uncertainty`` and
        ``n_draws`` of this fit; :meth:`_calibration_residuals` computes the residuals
        from them on the first ``residuals_`` read (``predict_interval``,
        ``predict_quantiles``, pickling, or :meth:`_finetune` before it moves the weights).
        """
        if self.output != "point":
            self._calibration = None
            return
        split = self.net_.train_split
        part = split(dataset)[1] if split is not None else dataset
        truth = part[torch.arange(len(part))][1].cpu().numpy()          # [n, H, T]
        weights = part.sample_weights()
        keep = None if weights is None else (weights > 0).cpu().numpy()
        pending = _PendingResiduals(
            self.net_, _compact_windows(part), truth, keep, self.uncertainty, self.n_draws)
        if self.uncertainty == "mc_dropout" and dropout_rate(self.net_.module_) == 0:
            pending.residuals(self)       # nothing to sample: fail at fit, saying how to fix it
        self._calibration = pending

    def _continue_from(self, previous: SkfinNet, net: SkfinNet, *,
                       weights_only: bool = False) -> None:
        """Start ``net`` (built from the current hyperparameters) where ``previous`` stopped.

        The weights, the optimizer's moments and the history carry over (only the weights
        with ``weights_only``); the optimizer's settings (``lr``, ``weight_decay``) and the
        callbacks are the new ones. The architecture (every ``module__`` argument, the
        data's shape included) must match.
        """
        old, new = previous.get_params_for("module"), net.get_params_for("module")
        changed = sorted(k for k in old.keys() | new.keys()
                         if k not in old or k not in new or not _same(old[k], new[k]))
        if changed or previous.module is not net.module:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
            if weights_only:
                raise ValueError(
                    f"{type(self).__name__} fine-tunes its pretrained net, but the "
                    f"architecture would change ({detail or 'another module'}). Fit with "
                    "the hyperparameters, number of columns and horizon it was pretrained "
                    "with, or pretrain again."
                )
            raise ValueError(
                f"warm_start=True continues the fitted {type(self).__name__}'s net, but its "
                f"architecture would change ({detail or 'another module'}). Restore those "
                "parameters (and the data's number of features and horizon), or set "
                "warm_start=False to fit a new net."
            )
        with net._seeded():                       # seeded, and the global RNG left alone
            net.initialize()
        net.module_.load_state_dict(previous.module_.state_dict())
        if weights_only:
            return
        settings = [{k: v for k, v in group.items() if k != "params"}
                    for group in net.optimizer_.param_groups]
        net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
        for group, fresh in zip(net.optimizer_.param_groups, settings):
            for key in [k for k in group if k != "params" and k not in fresh]:
                del group[key]                    # e.g. a past schedule's initial_lr
            group.update(fresh)
        net.history = previous.history

    def _check_sample_weights(self, dataset: WindowDataset, split) -> None:
        """Refuse weights that leave the training part or the validation tail with nothing."""
        weights = dataset.sample_weights()
        if weights is None:
            return
        positive = (weights > 0).cpu().numpy()
        train, valid = (split.positions(len(dataset), _starts(dataset)) if split is not None
                        else (np.arange(len(dataset)), None))
        if not positive[train].any():
            raise ValueError(
                f"All sample weights of the {len(train)} training samples of "
                f"{type(self).__name__} are zero" + (
                    " (the samples before the validation tail)" if valid is not None else "")
                + ", so there is nothing to train on. Give positive weight to some of them"
                + (", or lower valid_fraction." if valid is not None else ".")
            )
        if valid is not None and not positive[valid].any():
            raise ValueError(
                f"All sample weights of {type(self).__name__}'s validation tail (the last "
                f"{len(valid)} samples) are zero, so early stopping would monitor nothing. "
                "Give positive weight to some recent samples, or set valid_fraction=0."
            )
        auxiliary = getattr(self._module, "auxiliary_loss", None)
        if auxiliary is not None and "sample_weight" not in inspect.signature(auxiliary).parameters:
            warn(
                f"{type(self).__name__}'s net adds an auxiliary loss that takes no sample "
                "weights: sample_weight weights the main loss (and early stopping), while the "
                "auxiliary terms stay unweighted.",
                UserWarning,
            )

    def _finetune(self, dataset: WindowDataset, epochs: int, *, calibrate: bool = False) -> None:
        """Continue training the fitted weights for ``epochs`` epochs on all of ``dataset``.

        No validation, early stopping or LR schedule: the learning rate is the base ``lr``.
        Sample weights carried by ``dataset`` weight the loss, as in :meth:`_train`. The
        engine is reconfigured through skorch's ``set_params``. With ``calibrate=True``,
        point-model intervals then come from the residuals on ``dataset``
        (:meth:`_calibrate`); otherwise they keep the residuals of the weights they were
        calibrated with, computed now if still pending, before the weights move.
        """
        self._check_sample_weights(dataset, None)
        pending = vars(self).get("_calibration")
        if pending is not None and not calibrate:
            pending.residuals(self)
        net = self.net_
        dropped = {f"callbacks__{name}": None for name, _ in net.callbacks_
                   if name in ("early_stopping", "lr_schedule", "progress")}
        net.set_params(lr=self.lr, train_split=None, **dropped)
        if dropped:
            # skorch's set_params leaves a callback set to None in callbacks_ of an
            # initialised net (where training would call it); rebuild the list without it.
            net.initialize_callbacks()
        if not freezes_all(getattr(net, "freeze", None)):   # "all": the weights stay
            net.partial_fit(dataset, epochs=epochs)
        if calibrate:
            self._calibrate(dataset)

    def _calibration_residuals(self, net: SkfinNet, windows: WindowDataset, truth: np.ndarray,
                               keep: np.ndarray | None, uncertainty: str,
                               n_draws: int) -> np.ndarray:
        """Residuals ``y - point`` ``[n, H, T]`` of ``net`` on ``windows``, zero weights left out.

        The point forecast is the one ``predict`` gave with the settings of the fit that
        calibrated (``uncertainty``, ``n_draws``), even if they were changed since.
        """
        face = self
        if net is not self.net_ or (uncertainty, n_draws) != (self.uncertainty, self.n_draws):
            face = object.__new__(type(self))      # a per-call view: self is left unchanged
            face.__dict__.update(vars(self), net_=net, uncertainty=uncertainty,
                                 n_draws=n_draws)
        residuals = truth - face._point(face._forward(windows, paths=False))
        return residuals if keep is None else residuals[keep]

    @property
    def residuals_(self) -> np.ndarray | None:
        """Residuals ``y - point`` ``[n, H, T]`` behind point-model intervals (else None).

        Computed from the calibration windows on first read (``_calibrate``), then kept.
        """
        try:
            pending = vars(self)["_calibration"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute 'residuals_'") from None
        return None if pending is None else pending.residuals(self)

    def __getstate__(self):
        # Pickles and deep copies carry the residuals, not the windows they come from.
        state = dict(super().__getstate__())
        if state.get("_calibration") is not None:
            state["_calibration"].residuals(self)
        return state

    # -- persistence (skfin.persistence) ---------------------------------------------
    def export(self, path, format="onnx", *, alpha=None):
        """Write the fitted estimator as a TorchScript or ONNX graph of raw windows.

        The graph includes the input scaling and the output de-scaling: it takes raw
        windows ``x: [batch, window, n_features]`` (:func:`skfin.export.windows` builds
        them) and returns ``point`` and ``quantiles`` in the target's units, as ``predict``
        and ``predict_quantiles``. Which nets export to which format, and why some do not:
        :mod:`skfin.export`.

        Parameters
        ----------
        path : str or path-like
            Where to write (``.onnx`` or ``.pt`` is added to a path without a suffix).
        format : {"onnx", "torchscript"}, default="onnx"
        alpha : list of float, default=None
            Levels of the ``quantiles`` output (None: the quantile head's levels, else
            :data:`skfin.nets.DEFAULT_QUANTILES`).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, numpy as np, torch
        >>> from skfin.datasets import load_sp500
        >>> from skfin.export import windows
        >>> from skfin.forecasting import NBEATSForecaster
        >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-400:]
        >>> f = NBEATSForecaster(window=10, hidden_size=8, max_epochs=1, random_state=0)
        >>> path = f.fit(r, fh=[1, 2, 3]).export(f"{tempfile.mkdtemp()}/nbeats", "torchscript")
        >>> served = torch.jit.load(path)
        >>> point, quantiles = served(torch.as_tensor(windows(f)))
        >>> bool(np.allclose(point[0, :, 0].numpy(), f.predict().to_numpy(), atol=1e-5))
        True
        """
        from skfin.export import export

        return export(self, path, format, alpha=alpha)

    def save(self, path=None, serialization_format="skfin"):
        """Save the fitted estimator to one file: safetensors weights plus JSON, no pickle.

        Parameters
        ----------
        path : str or path-like
            Where to write; a path without a suffix gets ``.zip`` (as sktime's ``save``).
            Written to a temporary file first and then renamed over ``path``.
        serialization_format : {"skfin", "pickle", "cloudpickle"}, default="skfin"
            "skfin" writes :mod:`skfin.persistence`'s format. The others (and
            ``path=None``, which returns an in-memory serialisation) are sktime's own
            pickle-based ``save``, kept for sktime's protocol on forecasters.

        Returns
        -------
        pathlib.Path
            The file written (sktime's return value for sktime's formats).

        Examples
        --------
        >>> import tempfile, numpy as np
        >>> from skfin.datasets import load_sp500
        >>> from skfin.regressors import LSTMRegressor
        >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-400:]
        >>> X, y = r.iloc[:-1].to_frame("r"), r.shift(-1).iloc[:-1]
        >>> model = LSTMRegressor(window=10, hidden_size=8, max_epochs=2, random_state=0)
        >>> path = model.fit(X, y).save(f"{tempfile.mkdtemp()}/lstm.zip")
        >>> bool(np.array_equal(LSTMRegressor.load(path).predict(X), model.predict(X)))
        True
        """
        from skfin.persistence import save_method

        return save_method(self, path, serialization_format)

    @classmethod
    def load(cls, path, *, device=None):
        """Load an instance of this class saved by :meth:`save` (nothing is unpickled).

        Parameters
        ----------
        path : str or path-like
        device : str, default=None
            Where to put the net; by default the saved ``device`` if this machine has it,
            else the CPU (see :func:`skfin.persistence.load`).

        Returns
        -------
        estimator
            A fitted instance of ``cls``; a file holding another class raises a TypeError.

        Examples
        --------
        >>> import tempfile, numpy as np
        >>> from skfin.datasets import load_sp500
        >>> from skfin.forecasting import GRUForecaster
        >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
        >>> f = GRUForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0)
        >>> path = f.fit(r, fh=[1, 2, 3]).save(f"{tempfile.mkdtemp()}/gru")
        >>> GRUForecaster.load(path).predict_interval(coverage=0.9).shape
        (3, 2)
        """
        from skfin.persistence import load

        return load(path, device=device, cls=cls)

    @classmethod
    def load_from_path(cls, serial):
        """sktime's hook behind ``sktime.base.load(path)``: read :meth:`save`'s format."""
        from skfin.persistence import load

        return load(serial, cls=cls)

    # -- explanations (skfin.explain) ------------------------------------------------
    def explain(self, data=None, X=None, **kwargs):
        """Explain the forecasts: integrated gradients and what the net exposes.

        Delegates to :func:`skfin.explain.explain`, which documents the result.

        Parameters
        ----------
        data : array-like, pandas.Series or DataFrame or None, default=None
            Regressor: the rows ``X`` whose forecasts to explain, as for ``predict``
            (``X=`` works too). Forecaster: None explains the forecast from the last
            window (what ``predict`` gives); a ``y`` explains each window of it.
        X : pandas.DataFrame or None, default=None
            Forecaster: the exogenous data (as for ``predict``, or the rows of ``y``).
        **kwargs
            ``method``, ``target``, ``n_steps``, ``baseline`` of
            :func:`skfin.explain.explain`.

        Returns
        -------
        skfin.explain.Explanation

        Examples
        --------
        >>> from skfin.datasets import load_sp500
        >>> from skfin.forecasting import LSTMForecaster
        >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-300:]
        >>> f = LSTMForecaster(window=10, hidden_size=4, max_epochs=1, random_state=0)
        >>> ex = f.fit(r.rename("r"), fh=[1, 2]).explain(n_steps=20)
        >>> ex.outputs[["step", "target"]].values.tolist()
        [[1, 'r'], [2, 'r']]
        """
        from skfin.explain import explain

        return explain(self, data, X=X, **kwargs)

    # -- prediction ------------------------------------------------------------------
    def _forward(self, dataset: WindowDataset, paths: bool = True) -> torch.Tensor:
        """Head parameters on the CPU: ``[n, H, T, P]``, or ``[S, n, H, T, P]`` for MC dropout.

        A net that draws sample paths (``draws_paths``, e.g. :class:`skfin.nets.LagLlama`)
        gives ``[n, H, T, P + n_paths]``: the head's parameters, then the paths' values
        (``skfin.engine.sampling.with_sample_paths``), whose quantiles
        :meth:`_quantiles` reports. ``paths=False`` skips the paths (``horizon x n_paths``
        forward passes) where only the point forecast is read.
        """
        if self.uncertainty == "mc_dropout":
            return self._forward_mc(dataset)
        module = self.net_.module_
        if paths and getattr(module, "draws_paths", False):
            return self._forward_with(
                with_sample_paths(module, module.n_paths, seed=self.net_.seed + 1), dataset)
        with torch.inference_mode():
            return self.net_.forward(dataset, training=False, device="cpu")

    def _forward_with(self, module: torch.nn.Module, dataset: WindowDataset) -> torch.Tensor:
        """The engine's own inference path (batches, inputs, autocast) through ``module``,
        on a per-call view of the engine: the fitted engine is not modified."""
        engine = object.__new__(type(self.net_))
        engine.__dict__.update(vars(self.net_))
        engine.__dict__["module_"] = module
        with torch.inference_mode():
            return engine.forward(dataset, training=False, device="cpu")

    def _forward_mc(self, dataset: WindowDataset) -> torch.Tensor:
        """``n_draws`` dropout draws in one batched pass: each window is repeated.

        The draws run on a private sampler of the fitted module (:func:`mc_dropout`: shared
        weights, dropout masks from its own generator seeded by the engine's seed), never
        on the module itself, which stays in evaluation mode, and never on the process RNG:
        predictions repeat exactly and are safe to run from several threads at once.
        """
        net = self.net_
        if dropout_rate(net.module_) == 0:
            raise ValueError(
                f"uncertainty='mc_dropout' samples the dropout modules of the net, but "
                f"{type(self).__name__}'s net has none (dropout=0, or dropout only inside "
                "fused layers such as nn.LSTM's between stacked layers, which stays off at "
                "prediction time). Set dropout > 0 (e.g. 0.1) and refit, or use "
                "uncertainty='head'."
            )
        repeated = dataset.subset(torch.arange(len(dataset)).repeat(self.n_draws))
        params = self._forward_with(mc_dropout(net.module_, seed=net.seed + 1), repeated)
        return params.view(self.n_draws, len(dataset), *params.shape[1:])

    def _variance_unit(self) -> float:
        """The target unit of ``loss="qlike"`` (the regressor's ``variance_unit_``; the
        forecaster's targets are already divided by ``scale_``)."""
        return getattr(self, "variance_unit_", 1.0)

    def _check_variance_target(self, values: np.ndarray, names=None) -> float:
        """With ``loss="qlike"``, refuse a negative target; return its unit (the mean)."""
        if self.loss != "qlike":
            return 1.0
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        bad = np.nan_to_num(values, nan=0.0) < 0
        if bad.any():
            row, col = np.argwhere(bad)[0]
            where = f" (column {names[col]!r})" if names is not None and len(names) > col else ""
            raise ValueError(
                f"loss='qlike' scores a variance forecast, so the target must be non-negative; "
                f"it is {values[row, col]:.6g} at row {row}{where}. Forecast a realized variance "
                "or squared returns (skfin.transformations has helpers), or use loss='mse'."
            )
        unit = float(np.nanmean(values))
        if not unit > 0:
            raise ValueError("loss='qlike' needs a target with a positive mean; this one is "
                             "all zero.")
        return unit

    def _head_point(self, params: torch.Tensor) -> np.ndarray:
        """The head's point values, through the loss's link (``exp`` for QLIKE)."""
        point = self.net_.module_.head.point(params).double().numpy()
        if self.loss == "qlike":                         # a log variance, in the target unit
            point = np.exp(point) * self._variance_unit()
        return point

    def _point(self, params: torch.Tensor) -> np.ndarray:
        point = self._head_point(params)
        return point.mean(axis=0) if params.ndim == 5 else point

    def _quantiles(self, params: torch.Tensor, levels) -> np.ndarray:
        """Predictive quantiles ``[n, H, T, L]`` at ``levels``."""
        levels = [float(a) for a in levels]
        if params.ndim == 5:                                           # MC-dropout mixture
            head = self.net_.module_.head
            span = ((float(head.levels.min()), float(head.levels.max()))
                    if self.output == "quantile" else (0.0, 1.0))
            if self.output == "quantile":
                head.quantiles(params[:1, :1], levels)                 # range check, message
            chunks = torch.split(params, 256, dim=1)                     # bound the memory
            return np.concatenate([
                mixture_quantiles(lambda grid: self._component_quantiles(part, grid), levels,
                                  grid_range=span) for part in chunks])
        module = self.net_.module_
        if getattr(module, "draws_paths", False):                      # sample paths
            paths = params[..., module.head.n_params:].double().numpy()   # [n, H, T, S]
            return np.moveaxis(np.quantile(paths, levels, axis=-1), 0, -1)
        if self.output != "point":
            return self.net_.module_.head.quantiles(params, levels).double().numpy()
        offsets = np.quantile(self.residuals_, levels, axis=0)          # [L, H, T]
        return self._floor(self._point(params)[..., None] + np.moveaxis(offsets, 0, -1))

    def _floor(self, quantiles: np.ndarray) -> np.ndarray:
        """A variance (``loss="qlike"``) has no negative quantiles: residual offsets below
        the point stop at 0 (which changes no interval's coverage of a non-negative target)."""
        return np.maximum(quantiles, 0.0) if self.loss == "qlike" else quantiles

    def _component_quantiles(self, params: torch.Tensor, grid) -> np.ndarray:
        """Quantiles ``[..., len(grid)]`` of each draw's distribution (point: plus residuals)."""
        if self.output != "point":
            return self.net_.module_.head.quantiles(params, list(grid)).double().numpy()
        point = self._head_point(params)                                # [S, n, H, T]
        offsets = np.quantile(self.residuals_, grid, axis=0)            # [M, H, T]
        return self._floor(point[..., None] + np.moveaxis(offsets, 0, -1))


class _PendingResiduals:
    """Point-model calibration residuals, computed once on first use.

    Holds the arguments of :meth:`NeuralEstimatorMixin._calibration_residuals` until
    :meth:`residuals` runs it, then only its result: that is also all it pickles once
    computed. Two threads asking at once may both compute; they get the same values
    (the forward pass is deterministic) and the same array (``dict.setdefault``).
    """

    def __init__(self, net, windows, truth, keep, uncertainty, n_draws):
        self.inputs = (net, windows, truth, keep, uncertainty, n_draws)

    def residuals(self, face) -> np.ndarray:
        value = self.__dict__.get("value")
        if value is not None:
            return value
        inputs = self.inputs
        if inputs is None:                        # another thread has just computed them
            return self.__dict__["value"]
        value = self.__dict__.setdefault("value", face._calibration_residuals(*inputs))
        self.inputs = None                        # let the engine and the windows go
        return value

    def __getstate__(self):
        return {"value": self.value, "inputs": None} if "value" in self.__dict__ else self.__dict__


def _starts(dataset: WindowDataset) -> np.ndarray | None:
    """Each sample's series start (``WindowDataset.starts``) as numpy, or None (one series)."""
    return None if dataset.starts is None else dataset.starts.cpu().numpy()


def _compact_windows(part: WindowDataset) -> WindowDataset:
    """The windows of ``part`` on only the rows they read (no targets or weights).

    ``part`` (a validation tail) shares the whole training tensor; this keeps a copy of
    its own rows instead, so a fitted estimator does not hold on to the training data.
    """
    ends = part.ends
    first, last = int(ends.min()), int(ends.max())
    start = first if part.features.ndim == 3 else max(0, first - part.window + 1)

    def rows(values, stop):
        kept = values[start:stop]
        return kept.clone() if len(kept) < len(values) else kept

    future = None
    if part.future is not None:                                    # read at ends + offsets
        future = rows(part.future, last + int(part.target_offsets.max()) + 1)
    dt = None if part.dt is None else rows(part.dt, last + 1)
    starts = None if part.starts is None else (part.starts - start).clamp_min(0)
    return WindowDataset(rows(part.features, last + 1), ends - start, part.window,
                         target_offsets=part.target_offsets, future=future, dt=dt,
                         starts=starts)
