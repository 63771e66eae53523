"""Model-agnostic meta-learning (MAML) for pretraining on a panel of series.

MAML (Finn, Abbeel and Levine, 2017) trains weights from which a few gradient steps on a
new task give a good model for it. Here a task is a stretch of one series of the panel:
its ``support`` windows, on which the net adapts by ``inner_steps`` steps of plain
gradient descent at ``inner_lr``, and the ``query`` windows that follow them in time, on
which the adapted net is scored. The meta-step lowers the query loss **at the adapted
weights**, so its gradient runs through the inner steps (second order; ``first_order=True``
drops those terms, as in the paper's first-order approximation).

The inner loop calls the net with candidate weights through
:func:`torch.func.functional_call`, so any net of the tensor contract works unchanged and
the outer gradient is exact. It is written here because the libraries that did this
(``higher``, ``learn2learn``) are no longer maintained and ``torch.func`` makes it a few
lines; the outer optimizer, gradient clipping and seeding are the engine's.
"""

from __future__ import annotations

import math
from copy import deepcopy
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from skfin.engine.callbacks import TrainingDivergedError

__all__ = ["MAML", "maml_loss", "adapt"]


@dataclass(frozen=True)
class MAML:
    """Settings of MAML pretraining (a forecaster's ``meta=``).

    Parameters
    ----------
    inner_lr : float, default=0.01
        Step size of the inner (adaptation) gradient steps.
    inner_steps : int, default=1
        Gradient steps of the adaptation, on a task's support windows and, after
        ``pretrain``, on the new series' last ``support`` windows in ``fit``.
    support : int, default=32
        Consecutive windows a task adapts on.
    query : int, default=32
        The windows right after them on which the adapted net is scored.
    tasks : int, default=8
        Tasks per meta-step (their query losses are averaged).
    first_order : bool, default=False
        Drop the second-order terms of the meta-gradient (first-order MAML).

    Examples
    --------
    >>> MAML(inner_steps=2, support=16)
    MAML(inner_lr=0.01, inner_steps=2, support=16, query=32, tasks=8, first_order=False)
    """

    inner_lr: float = 0.01
    inner_steps: int = 1
    support: int = 32
    query: int = 32
    tasks: int = 8
    first_order: bool = False

    def __post_init__(self):
        checks = {"inner_lr": self.inner_lr > 0, "inner_steps": self.inner_steps >= 1,
                  "support": self.support >= 1, "query": self.query >= 1,
                  "tasks": self.tasks >= 1}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"MAML settings must be positive (inner_lr > 0, counts >= 1); "
                             f"got {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)}.")


def _adapted(module: nn.Module, loss, x, y, *, inner_lr: float, inner_steps: int,
             create_graph: bool) -> dict[str, Tensor]:
    """The trainable weights after ``inner_steps`` gradient steps on ``(x, y)``."""
    params = {n: p for n, p in module.named_parameters() if p.requires_grad}
    for _ in range(inner_steps):
        inner = loss(functional_call(module, params, (x,)), y)
        grads = torch.autograd.grad(inner, list(params.values()), create_graph=create_graph,
                                    allow_unused=True)
        params = {n: p if g is None else p - inner_lr * g
                  for (n, p), g in zip(params.items(), grads)}
    return params


def maml_loss(module: nn.Module, loss, support: tuple, query: tuple, *, inner_lr: float,
              inner_steps: int = 1, first_order: bool = False) -> Tensor:
    """The MAML objective of one task: the query loss at the weights adapted on the support.

    Parameters
    ----------
    module : torch.nn.Module
    loss : callable
        ``loss(output, y) -> scalar``.
    support, query : tuple of two Tensors
        ``(x, y)`` of the task's support and query windows.
    inner_lr : float
    inner_steps : int, default=1
    first_order : bool, default=False

    Returns
    -------
    Tensor
        A scalar whose gradient with respect to ``module``'s parameters is the
        meta-gradient (through the inner steps unless ``first_order``).

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.nets import MLP
    >>> r = torch.tensor(100 * np.diff(np.log(load_sp500()["Close"].to_numpy()[-42:])),
    ...                  dtype=torch.float32)
    >>> x, y = r[:-1].view(4, 10, 1), r[1:].view(4, 10)[:, -1:, None]   # 4 real windows
    >>> net = MLP(n_features=1, window=10, horizon=1, n_targets=1)
    >>> mse = lambda out, y: ((out[..., 0] - y) ** 2).mean()
    >>> meta = maml_loss(net, mse, (x[:2], y[:2]), (x[2:], y[2:]), inner_lr=0.01)
    >>> meta.backward()
    >>> all(p.grad is not None for p in net.parameters())
    True
    """
    x, y = support
    params = _adapted(module, loss, x, y, inner_lr=inner_lr, inner_steps=inner_steps,
                      create_graph=not first_order)
    xq, yq = query
    return loss(functional_call(module, params, (xq,)), yq)


def adapt(module: nn.Module, loss, x: Tensor, y: Tensor, *, inner_lr: float,
          inner_steps: int) -> None:
    """MAML's adaptation, in place: ``inner_steps`` gradient steps at ``inner_lr`` on ``(x, y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.nets import MLP
    >>> r = torch.tensor(100 * np.diff(np.log(load_sp500()["Close"].to_numpy()[-42:])),
    ...                  dtype=torch.float32)
    >>> x, y = r[:-1].view(4, 10, 1), r[1:].view(4, 10)[:, -1:, None]
    >>> net = MLP(n_features=1, window=10, horizon=1, n_targets=1, dropout=0.0)
    >>> mse = lambda out, y: ((out[..., 0] - y) ** 2).mean()
    >>> before = mse(net(x), y).item()
    >>> adapt(net, mse, x, y, inner_lr=0.01, inner_steps=5)
    >>> mse(net(x), y).item() < before
    True
    """
    params = _adapted(module, loss, x, y, inner_lr=inner_lr, inner_steps=inner_steps,
                      create_graph=False)
    with torch.no_grad():
        for name, value in params.items():
            module.get_parameter(name).copy_(value)


def _task_positions(starts: np.ndarray, config: MAML) -> list[np.ndarray]:
    """Per series, the sample positions of its windows (series with room for one task)."""
    bounds = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1], True])
    need = config.support + config.query
    series = [np.arange(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi - lo >= need]
    if not series:
        longest = int(np.diff(bounds).max())
        raise ValueError(
            f"MAML needs series with at least support + query = {config.support} + "
            f"{config.query} = {need} windows for one task; the longest has {longest}. "
            "Lower support and query (e.g. MAML(support=8, query=8)), or pretrain on "
            "longer series."
        )
    return series


def meta_train(net, dataset, config: MAML, epochs: int, grad_clip: float | None) -> list[float]:
    """Meta-train ``net`` (an initialised :class:`~skfin.engine.SkfinNet`) on ``dataset``.

    A meta-step draws ``config.tasks`` tasks (a series, then a random stretch of its
    windows: ``support`` windows, then the ``query`` windows after them), averages their
    :func:`maml_loss` and steps the engine's optimizer, clipping the gradient norm at
    ``grad_clip``. An epoch is as many meta-steps as it takes for the tasks to cover the
    windows once on average. Seeded by the engine's seed; returns the mean meta-loss of
    each epoch. A non-finite meta-loss restores the weights of the best epoch and raises
    :class:`~skfin.engine.TrainingDivergedError`.
    """
    starts = (dataset.starts.cpu().numpy() if dataset.starts is not None
              else np.zeros(len(dataset), dtype=np.int64))
    series = _task_positions(starts, config)
    module, criterion, optimizer = net.module_, net.criterion_, net.optimizer_
    per_step = config.tasks * (config.support + config.query)
    steps = max(1, math.ceil(len(dataset) / per_step))
    trainable = [p for p in module.parameters() if p.requires_grad]
    rng = np.random.default_rng(net.seed)
    history, best = [], deepcopy(module.state_dict())
    module.train()
    with net._seeded():                        # dropout draws, seeded; global RNG left alone
        for _ in range(epochs):
            losses = []
            for _ in range(steps):
                optimizer.zero_grad()
                total = 0.0
                for _ in range(config.tasks):
                    windows = series[rng.integers(len(series))]
                    first = rng.integers(len(windows) - config.support - config.query + 1)
                    cut = windows[first:first + config.support + config.query]
                    x, y = dataset[torch.as_tensor(cut)]
                    x = x["x"] if isinstance(x, dict) else x
                    part = config.support
                    loss = maml_loss(module, criterion, (x[:part], y[:part]),
                                     (x[part:], y[part:]), inner_lr=config.inner_lr,
                                     inner_steps=config.inner_steps,
                                     first_order=config.first_order) / config.tasks
                    loss.backward()
                    total += float(loss.detach())
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(trainable, grad_clip)
                optimizer.step()
                losses.append(total)
            history.append(float(np.mean(losses)))
            if not np.isfinite(history[-1]):
                module.load_state_dict(best)
                raise TrainingDivergedError(
                    f"MAML meta-training diverged (meta-loss {history[-1]}) in epoch "
                    f"{len(history)}; the weights of the best epoch before it are kept. "
                    "Lower lr or inner_lr, or use fewer inner_steps.")
            if history[-1] <= min(history):
                best = deepcopy(module.state_dict())
    module.eval()
    return history
