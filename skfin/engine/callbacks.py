"""Callbacks the engine adds to skorch's: divergence guard, epoch progress bar, LR warm-up.

skorch already provides early stopping, gradient clipping and LR scheduling; what is here
is what it lacks: stopping with an error (and the best weights restored) when the loss
becomes non-finite, a tqdm bar over epochs, and a picklable warm-up + cosine LR factor.
"""

from __future__ import annotations

import math
from copy import deepcopy

import numpy as np
from skorch.callbacks import Callback, EarlyStopping

__all__ = ["TrainingDivergedError", "DivergenceGuard", "EpochProgressBar", "WarmupCosine"]


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


class WarmupCosine:
    """LR factor for ``torch.optim.lr_scheduler.LambdaLR``: linear warm-up, then cosine to 0.

    Parameters
    ----------
    warmup : int
        Steps of linear warm-up.
    total : int
        Total steps.

    Examples
    --------
    >>> f = WarmupCosine(warmup=2, total=10)
    >>> [round(f(s), 3) for s in (0, 1, 2, 6, 10)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """

    def __init__(self, warmup: int, total: int):
        self.warmup = warmup
        self.total = total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
