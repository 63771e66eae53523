"""What both estimator faces share: hyperparameters, input checks, building and running the engine.

The faces (:mod:`skfin.regressors`, :mod:`skfin.forecasting`) stay thin: they turn their
inputs into a :class:`~skfin.engine.data.WindowDataset` and call :class:`NeuralEstimatorMixin`
to train and predict. Flat public hyperparameters are translated to skorch's prefixed
settings here, in :meth:`NeuralEstimatorMixin._build_engine`, and nowhere else.
"""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from skfin.engine.callbacks import DivergenceGuard, EpochProgressBar, TrainingDivergedError, WarmupCosine
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.device import resolve_device
from skfin.engine.net import SkfinNet
from skfin.losses import POINT_LOSSES, loss_for
from skfin.nets.heads import OUTPUTS

__all__ = ["NeuralEstimatorMixin", "COMMON_PARAMS_DOC", "fill_doc", "check_finite", "as_numeric"]

#: Arguments of every net that the engine fills in from the data, not from the user.
_CONTRACT_ARGS = {"self", "n_features", "window", "horizon", "n_targets", "output", "quantiles"}

PARAMETER_CONSTRAINTS = {
    "window": [Interval(Integral, 1, None, closed="left")],
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "bidirectional": ["boolean"],
    "attention": ["boolean"],
    "channels": [Interval(Integral, 1, None, closed="left")],
    "kernel_size": [Interval(Integral, 1, None, closed="left")],
    "pool_size": [Interval(Integral, 1, None, closed="left")],
    "num_blocks": [Interval(Integral, 1, None, closed="left")],
    "num_cycles": [Interval(Integral, 1, None, closed="left")],
    "weight_norm": ["boolean"],
    "output": [StrOptions(set(OUTPUTS))],
    "quantiles": ["array-like", None],
    "loss": [StrOptions({*POINT_LOSSES, "directional", "sharpe"}), None],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "grad_clip": [Interval(Real, 0, None, closed="neither"), None],
    "lr_schedule": [StrOptions({"cosine", "plateau", "onecycle"}), None],
    "valid_fraction": [Interval(Real, 0, 1, closed="left")],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "mixed_precision": ["boolean"],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "update_epochs": [Interval(Integral, 0, None, closed="left")],
    "scale": ["boolean"],
}

COMMON_PARAMS_DOC = """\
    output : {"point", "quantile", "gaussian", "student_t"}, default="point"
        What the net predicts: a point (trained with ``loss``), non-crossing quantiles
        (pinball loss), or a Gaussian / Student-t distribution (negative log-likelihood).
        Point models take their intervals from the residuals on the validation tail.
    quantiles : array-like of float, default=None
        Levels learned by ``output="quantile"``; None means 0.05, 0.10, ..., 0.95.
    loss : {"mse", "mae", "huber", "directional", "sharpe"}, default=None
        Loss for ``output="point"``; None means "mse".
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
    valid_fraction : float, default=0.2
        Most recent share of the training samples held out (after a gap of
        ``window + horizon - 1`` samples) to early-stop on and to calibrate point-model
        intervals. 0 trains on everything and early-stops on the training loss.
    patience : int or None, default=10
        Epochs without improvement before stopping; the best weights are restored.
        None trains for ``max_epochs``.
    mixed_precision : bool, default=False
        bf16 autocast on CUDA; ignored (with a warning) on other devices.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where to train and predict; "auto" picks CUDA, then MPS, then the CPU.
        Predictions always come back as numpy on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout and shuffling; an int makes CPU fits bit-for-bit
        repeatable.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs; 2 also prints skorch's epoch table."""


FORECASTER_PARAMS_DOC = """\
    update_epochs : int, default=2
        Epochs of fine-tuning on all data seen so far when ``update`` brings new
        observations; 0 keeps the weights and only moves the forecast origin.
    scale : bool, default=True
        Standardise ``y`` and ``X`` with the mean and standard deviation of the data
        seen in ``fit`` (the statistics are kept, not re-estimated, on ``update``)."""


RECURRENT_PARAMS_DOC = """\
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.1
        Between stacked layers and before the head.
    bidirectional : bool, default=False
        Read the window both ways (it holds only the past, so nothing leaks).
    attention : bool, default=False
        Additive attention over the window, read by the head next to the last step."""

REGRESSOR_ATTRIBUTES_DOC = """\
    net_ : skfin.engine.SkfinNet
        The fitted skorch engine; ``net_.history`` holds the losses per epoch.
    n_features_in_ : int
    n_outputs_ : int
        Horizon steps (columns of ``y``).
    residuals_ : ndarray or None
        Validation-tail residuals behind point-model intervals."""

_DOC_FRAGMENTS = {
    "common_params": COMMON_PARAMS_DOC,
    "forecaster_params": FORECASTER_PARAMS_DOC,
    "recurrent_params": RECURRENT_PARAMS_DOC,
    "regressor_attributes": REGRESSOR_ATTRIBUTES_DOC,
}


def fill_doc(cls):
    """Fill the shared docstring sections into a class docstring's ``{placeholders}``."""
    for name, text in _DOC_FRAGMENTS.items():
        cls.__doc__ = cls.__doc__.replace("    {" + name + "}", text)
    return cls


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


def check_finite(values: np.ndarray, what: str, columns=None, index=None) -> None:
    """Raise a ValueError naming the first NaN/inf: its column and row (or date).

    Examples
    --------
    >>> from skfin.datasets import load_wti
    >>> wti = load_wti()
    >>> check_finite(wti.to_frame().to_numpy(), "y", ["WTI"], wti.index)
    Traceback (most recent call last):
    ...
    ValueError: y contains NaN or inf: 290 value(s), first in column 'WTI' at row 32 (1986-02-17). ...
    """
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    flat = bad.reshape(len(values), -1)
    row = int(np.argmax(flat.any(axis=1)))
    col = int(np.argmax(flat[row]))
    name = columns[col] if columns is not None and col < len(columns) else col
    when = f" ({index[row].date() if hasattr(index[row], 'date') else index[row]})" if index is not None else ""
    raise ValueError(
        f"{what} contains NaN or inf: {int(bad.sum())} value(s), first in column {name!r} at "
        f"row {row}{when}. Fill or drop them first (e.g. .ffill(), or a transformer's "
        "fill= option); skfin never fills silently."
    )


class NeuralEstimatorMixin:
    """Training and prediction shared by the sklearn and sktime faces.

    A face sets ``_net`` (a :mod:`skfin.nets` class) and, in ``fit``, calls
    :meth:`_train` with a :class:`WindowDataset`; ``predict*`` call :meth:`_forward` and
    :meth:`_quantiles`.
    """

    _net: type[torch.nn.Module]

    # -- hyperparameters -------------------------------------------------------------
    def _check_hyperparams(self) -> None:
        params = self.get_params(deep=False)
        constraints = {k: v for k, v in PARAMETER_CONSTRAINTS.items() if k in params}
        validate_parameter_constraints(constraints, params, caller_name=type(self).__name__)
        if self.output != "point" and self.loss is not None:
            raise ValueError(
                f"loss={self.loss!r} applies to output='point' only; output={self.output!r} "
                "is trained by its own scoring rule. Leave loss=None."
            )
        if self.quantiles is not None:
            q = np.asarray(self.quantiles, dtype=float)
            if q.ndim != 1 or len(q) < 2 or not ((q > 0) & (q < 1)).all() or len(set(q)) != len(q):
                raise ValueError(
                    f"quantiles must be at least two distinct levels in (0, 1); got {self.quantiles!r}."
                )

    def _net_kwargs(self) -> dict:
        """The architecture's own hyperparameters, read from the net's signature."""
        names = set(inspect.signature(self._net).parameters) - _CONTRACT_ARGS
        params = self.get_params(deep=False)
        return {name: params[name] for name in names if name in params}

    # -- training --------------------------------------------------------------------
    def _build_engine(self, *, n_samples, n_features, window, horizon, n_targets) -> SkfinNet:
        device = resolve_device(self.device)
        if self.mixed_precision and not device.startswith("cuda"):
            warnings.warn(f"mixed_precision=True needs CUDA; training in float32 on {device}.",
                          UserWarning, stacklevel=3)
        split = TimeOrderedSplit(self.valid_fraction, gap=window + horizon - 1)
        has_valid = split.positions(n_samples)[1] is not None
        monitor = "valid_loss" if has_valid else "train_loss"

        callbacks = [("divergence", DivergenceGuard())]
        if self.grad_clip is not None:
            callbacks.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        if self.patience is not None:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.patience, load_best=True)))
        if self.lr_schedule == "cosine":
            warmup = max(1, round(0.05 * self.max_epochs))
            callbacks.append(("lr_schedule", LRScheduler(
                torch.optim.lr_scheduler.LambdaLR, lr_lambda=WarmupCosine(warmup, self.max_epochs))))
        elif self.lr_schedule == "onecycle":
            callbacks.append(("lr_schedule", LRScheduler(
                torch.optim.lr_scheduler.OneCycleLR, max_lr=self.lr, total_steps=self.max_epochs + 1)))
        elif self.lr_schedule == "plateau":
            callbacks.append(("lr_schedule", LRScheduler(
                torch.optim.lr_scheduler.ReduceLROnPlateau, monitor=monitor, factor=0.5,
                patience=max(1, (self.patience or 10) // 3))))
        if self.verbose:
            callbacks.append(("progress", EpochProgressBar()))

        module_kwargs = dict(n_features=n_features, window=window, horizon=horizon,
                             n_targets=n_targets, output=self.output,
                             quantiles=None if self.quantiles is None else tuple(map(float, self.quantiles)),
                             **self._net_kwargs())
        return SkfinNet(
            self._net,
            loss_for(self.output, self.loss, module_kwargs["quantiles"]),
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=split if has_valid else None,
            callbacks=callbacks,
            verbose=self.verbose,
            device=device,
            seed=int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)),
            mixed_precision=self.mixed_precision,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _train(self, dataset: WindowDataset, *, n_features, window, horizon, n_targets) -> None:
        """Fit a fresh engine on ``dataset``; set ``net_`` (and ``residuals_`` for point heads)."""
        net = self._build_engine(n_samples=len(dataset), n_features=n_features, window=window,
                                 horizon=horizon, n_targets=n_targets)
        try:
            net.fit(dataset)
        except TrainingDivergedError:
            self.net_ = net          # keep the restored best weights for inspection
            raise
        self.net_ = net
        self.residuals_ = self._calibration_residuals(dataset) if self.output == "point" else None

    def _finetune(self, dataset: WindowDataset, epochs: int) -> None:
        """Continue training the fitted weights for ``epochs`` epochs on all of ``dataset``.

        No validation, early stopping or LR schedule: the learning rate is the base ``lr``.
        """
        net = self.net_
        net.train_split = None
        net.callbacks_ = [(name, cb) for name, cb in net.callbacks_
                          if name not in ("early_stopping", "lr_schedule", "progress")]
        for group in net.optimizer_.param_groups:
            group["lr"] = self.lr
        net.partial_fit(dataset, epochs=epochs)

    def _calibration_residuals(self, dataset: WindowDataset) -> np.ndarray:
        """Residuals ``y - point`` ``[n, H, T]`` on the validation tail (else the train set)."""
        split = self.net_.train_split
        part = split(dataset)[1] if split is not None else dataset
        truth = part[torch.arange(len(part))][1].cpu().numpy()
        return truth - self._point(self._forward(part))

    # -- prediction ------------------------------------------------------------------
    def _forward(self, dataset: WindowDataset) -> torch.Tensor:
        """Head parameters ``[n, H, T, P]`` on the CPU, in evaluation mode."""
        with torch.inference_mode():
            return self.net_.forward(dataset, training=False, device="cpu")

    def _point(self, params: torch.Tensor) -> np.ndarray:
        return self.net_.module_.head.point(params).double().numpy()

    def _quantiles(self, params: torch.Tensor, levels) -> np.ndarray:
        """Predictive quantiles ``[n, H, T, L]`` at ``levels``."""
        levels = [float(a) for a in levels]
        if self.output != "point":
            return self.net_.module_.head.quantiles(params, levels).double().numpy()
        offsets = np.quantile(self.residuals_, levels, axis=0)          # [L, H, T]
        return self._point(params)[..., None] + np.moveaxis(offsets, 0, -1)
