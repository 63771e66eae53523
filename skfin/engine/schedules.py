"""Learning-rate schedules: the one place that turns ``lr_schedule=`` into a skorch callback.

torch provides the policies (``LambdaLR``, ``OneCycleLR``, ``ReduceLROnPlateau``) and
skorch's :class:`~skorch.callbacks.LRScheduler` steps them once per epoch; what is written
here is only the choice of their arguments for each documented schedule, and the warm-up +
cosine factor, a picklable class because ``LambdaLR`` pickles its ``lr_lambda`` with the
net and a closure would not survive ``save``/``load``.
"""

from __future__ import annotations

import math

import torch
from skorch.callbacks import LRScheduler

__all__ = ["SCHEDULES", "WarmupCosine", "lr_scheduler"]

#: The values ``lr_schedule`` accepts (besides ``None``).
SCHEDULES = ("cosine", "plateau", "onecycle")


class WarmupCosine:
    """LR factor for ``torch.optim.lr_scheduler.LambdaLR``: linear warm-up, then cosine to 0.

    Parameters
    ----------
    warmup : int
        Steps of linear warm-up: step ``s < warmup`` runs at ``(s + 1) / warmup`` of the rate.
    total : int
        Total steps; the factor reaches 0 at ``total`` and stays there.

    Examples
    --------
    >>> f = WarmupCosine(warmup=2, total=10)
    >>> [round(f(s), 3) for s in (0, 1, 2, 6, 10, 12)]
    [0.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, warmup: int, total: int):
        self.warmup = warmup
        self.total = total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def lr_scheduler(schedule: str | None, *, lr: float, max_epochs: int, patience: int | None,
                 monitor: str) -> LRScheduler | None:
    """The skorch callback that runs ``schedule`` over a fit of ``max_epochs`` epochs.

    Parameters
    ----------
    schedule : {"cosine", "plateau", "onecycle"} or None
        ``"cosine"``: linear warm-up over 5% of the epochs (at least one), then cosine to 0
        at ``max_epochs``. ``"onecycle"``: torch's one-cycle policy peaking at ``lr`` over
        ``max_epochs + 1`` steps. ``"plateau"``: halve the rate once ``monitor`` has not
        improved for ``max(1, patience // 3)`` epochs (``patience`` None counts as 10).
        ``None``: a constant rate, no callback.
    lr : float
        The base (peak) learning rate.
    max_epochs : int
    patience : int or None
        The early-stopping patience of the fit: a plateau is a third of it.
    monitor : str
        The history key a plateau is read from (``"valid_loss"`` or ``"train_loss"``).

    Returns
    -------
    skorch.callbacks.LRScheduler or None

    Examples
    --------
    >>> cb = lr_scheduler("plateau", lr=1e-3, max_epochs=50, patience=10, monitor="valid_loss")
    >>> cb.policy.__name__, cb.monitor, cb.factor, cb.patience
    ('ReduceLROnPlateau', 'valid_loss', 0.5, 3)
    >>> lr_scheduler(None, lr=1e-3, max_epochs=50, patience=10, monitor="valid_loss") is None
    True
    """
    if schedule is None:
        return None
    if schedule == "cosine":
        warmup = max(1, round(0.05 * max_epochs))
        return LRScheduler(torch.optim.lr_scheduler.LambdaLR,
                           lr_lambda=WarmupCosine(warmup, max_epochs))
    if schedule == "onecycle":
        return LRScheduler(torch.optim.lr_scheduler.OneCycleLR, max_lr=lr,
                           total_steps=max_epochs + 1)
    if schedule == "plateau":
        return LRScheduler(torch.optim.lr_scheduler.ReduceLROnPlateau, monitor=monitor,
                           factor=0.5, patience=max(1, (patience or 10) // 3))
    raise ValueError(f"lr_schedule={schedule!r} is not a schedule; choose one of "
                     f"{', '.join(map(repr, SCHEDULES))} or None.")
