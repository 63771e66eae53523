"""Output heads shared by every net: point, quantile, Gaussian and Student-t.

A head maps a representation ``z: [B, d]`` to ``[B, horizon, n_targets, n_params]`` and
guarantees its constraints by construction, never by clamping after the fact:

* quantiles never cross: the lowest level is free, the others add softplus increments;
* scales are positive: ``softplus(.) + eps``;
* Student-t degrees of freedom exceed 2 (finite variance): ``2 + softplus(.) + eps``.

Nets that compute one representation per horizon step (the Temporal Fusion Transformer's
decoder, ``z: [B, horizon, d]``) build their head with ``per_step=True``: the same
projection to ``n_targets * n_params`` values is then applied at every step, and the
constraints above hold at every step alike.

Each head also turns its parameters into predictive quantiles at arbitrary levels
(:meth:`quantiles`), which is how both estimator faces build ``predict_quantiles`` and
``predict_interval``. The Student-t quantile function has no torch implementation, so it is
taken from :func:`scipy.special.stdtrit` on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.special import stdtrit
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "DEFAULT_QUANTILES",
    "OUTPUTS",
    "PointHead",
    "QuantileHead",
    "GaussianHead",
    "StudentTHead",
    "make_head",
    "head_class",
]

#: Quantile levels learned by ``output="quantile"`` unless told otherwise: 0.025, 0.05,
#: 0.10, ..., 0.95, 0.975, so that the 80%, 90% and 95% intervals users ask for are learned
#: levels (levels in between are interpolated).
DEFAULT_QUANTILES: tuple[float, ...] = (0.025, *(round(0.05 * k, 2) for k in range(1, 20)),
                                        0.975)

#: The values accepted by the estimators' ``output=`` parameter.
OUTPUTS = ("point", "quantile", "gaussian", "student_t")

_EPS = 1e-6


def _per_step(stat: Tensor) -> Tensor:
    """``[B, T]`` statistics (one per window) as ``[B, 1, T]``; ``[B, H, T]`` unchanged."""
    return stat.unsqueeze(1) if stat.ndim == 2 else stat


class _Head(nn.Module):
    """Linear projection to ``horizon * n_targets * n_params`` values, reshaped.

    With ``per_step=True`` the input is ``[B, horizon, d]`` and one projection to
    ``n_targets * n_params`` values is shared by every step.
    """

    n_params: int = 1

    def __init__(self, in_features: int, horizon: int, n_targets: int, per_step: bool = False):
        super().__init__()
        self.horizon = horizon
        self.n_targets = n_targets
        self.per_step = per_step
        steps = 1 if per_step else horizon
        self.proj = nn.Linear(in_features, steps * n_targets * self.n_params)

    def raw(self, z: Tensor) -> Tensor:  # z: [B, d], or [B, H, d] when per_step
        return self.proj(z).view(z.shape[0], self.horizon, self.n_targets, self.n_params)

    def forward(self, z: Tensor) -> Tensor:  # [B, H, T, P]
        return self.raw(z)

    def point(self, params: Tensor) -> Tensor:
        """Point forecast ``[B, H, T]`` (the mean, or the median for quantile heads)."""
        return params[..., 0]

    @staticmethod
    def denormalise(params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """Map parameters learned on ``(y - loc) / scale`` back to the units of ``y``.

        ``params`` is ``[B, H, T, P]``; ``loc`` and ``scale`` (> 0) are ``[B, T]``, one per
        window and target (e.g. RevIN's statistics), or ``[B, H, T]``, one per forecast step
        (e.g. a known-future covariate's effect, :class:`skfin.nets.Covariates`). Point
        values and quantiles are location-like, so every parameter is scaled and shifted;
        distribution heads override this to shift only the location and multiply only the
        scale. Scaling by a positive factor keeps every head's constraint (ordered
        quantiles, positive scales). A static method: :func:`head_class` gives it for an
        ``output=`` name without building a head.

        Examples
        --------
        >>> import torch
        >>> head = make_head("quantile", 4, horizon=2, n_targets=1, quantiles=(0.1, 0.5, 0.9))
        >>> params = head(torch.zeros(3, 4))                             # [3, 2, 1, 3]
        >>> loc, scale = torch.full((3, 1), 100.0), torch.full((3, 1), 2.0)
        >>> torch.allclose(head.denormalise(params, loc, scale), params * 2 + 100)
        True
        """
        loc, scale = _per_step(loc), _per_step(scale)                    # [B, 1 or H, T]
        return params * scale[..., None] + loc[..., None]

    def quantiles(self, params: Tensor, levels: Sequence[float]) -> Tensor:
        """Predictive quantiles ``[B, H, T, len(levels)]`` at ``levels`` in (0, 1)."""
        raise ValueError(
            f"{type(self).__name__} has no predictive distribution; choose "
            "output='quantile', 'gaussian' or 'student_t' for model-based intervals."
        )


class PointHead(_Head):
    """One value per horizon step and target: ``[B, H, T, 1]``."""

    n_params = 1


class QuantileHead(_Head):
    """Non-crossing quantiles: ``[B, H, T, Q]`` ordered like ``levels`` (ascending).

    The first output is the lowest quantile; each next one adds ``softplus(.)``, so the
    outputs increase strictly whatever the weights are.
    """

    def __init__(self, in_features: int, horizon: int, n_targets: int,
                 levels: Sequence[float] = DEFAULT_QUANTILES, per_step: bool = False):
        self.n_params = len(levels)
        super().__init__(in_features, horizon, n_targets, per_step)
        self.register_buffer("levels", torch.tensor(sorted(levels), dtype=torch.float32))
        # Start from standard-normal quantiles (inputs are usually standardised) rather than
        # from 0, 0.69, 1.39, ...: biases are set so that the untrained head outputs them.
        normal = torch.special.ndtri(self.levels.double())
        start = torch.cat([normal[:1], torch.log(torch.expm1(normal.diff()))]).float()
        with torch.no_grad():
            self.proj.bias.view(-1, self.n_params).copy_(start)

    def forward(self, z: Tensor) -> Tensor:
        raw = self.raw(z)                                   # [B, H, T, Q]
        steps = F.softplus(raw[..., 1:]) + _EPS             # [B, H, T, Q-1], positive
        return torch.cat([raw[..., :1], raw[..., :1] + steps.cumsum(-1)], dim=-1)

    def point(self, params: Tensor) -> Tensor:
        return self.quantiles(params, [0.5])[..., 0]

    def quantiles(self, params: Tensor, levels: Sequence[float]) -> Tensor:
        known = self.levels.cpu().double().numpy()
        wanted = np.asarray(levels, dtype=np.float64)
        outside = (wanted < known[0] - 1e-6) | (wanted > known[-1] + 1e-6)
        if outside.any():
            # rounded: a level computed as (1 - 0.95) / 2 prints as 0.025, not 0.0250...02
            shown = ", ".join(f"{w:g}" for w in sorted(set(np.round(wanted[outside], 10))))
            raise ValueError(
                f"Quantile level(s) {shown} fall outside the learned range "
                f"[{known[0]:g}, {known[-1]:g}]. Refit with quantiles= covering them, "
                "e.g. quantiles=(0.01, 0.05, 0.5, 0.95, 0.99) for 98% intervals."
            )
        # Linear interpolation between learned levels keeps the result non-crossing.
        pos = np.interp(np.clip(wanted, known[0], known[-1]), known, np.arange(len(known)))
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, len(known) - 1)
        frac = torch.as_tensor(pos - lo, dtype=params.dtype, device=params.device)
        lo_t = torch.as_tensor(lo, device=params.device)
        hi_t = torch.as_tensor(hi, device=params.device)
        return params[..., lo_t] * (1 - frac) + params[..., hi_t] * frac


class GaussianHead(_Head):
    """Normal predictive distribution: ``[..., 0]`` is the mean, ``[..., 1]`` the scale > 0."""

    n_params = 2

    def forward(self, z: Tensor) -> Tensor:
        raw = self.raw(z)
        return torch.stack([raw[..., 0], F.softplus(raw[..., 1]) + _EPS], dim=-1)

    @staticmethod
    def denormalise(params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """Shift and scale the mean, multiply the scale (``[B, T]`` or ``[B, H, T]``)."""
        loc, scale = _per_step(loc), _per_step(scale)                    # [B, 1 or H, T]
        return torch.stack([params[..., 0] * scale + loc, params[..., 1] * scale], dim=-1)

    def quantiles(self, params: Tensor, levels: Sequence[float]) -> Tensor:
        q = torch.as_tensor(levels, dtype=params.dtype, device=params.device)
        z = torch.special.ndtri(q)                          # [L]
        return params[..., :1] + params[..., 1:2] * z       # [B, H, T, L]


class StudentTHead(_Head):
    """Student-t distribution: location, scale > 0 and degrees of freedom > 2."""

    n_params = 3

    def forward(self, z: Tensor) -> Tensor:
        raw = self.raw(z)
        scale = F.softplus(raw[..., 1]) + _EPS
        df = 2.0 + F.softplus(raw[..., 2]) + _EPS
        return torch.stack([raw[..., 0], scale, df], dim=-1)

    @staticmethod
    def denormalise(params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """Shift and scale the location, multiply the scale; the degrees of freedom stay."""
        loc, scale = _per_step(loc), _per_step(scale)                    # [B, 1 or H, T]
        return torch.stack([params[..., 0] * scale + loc, params[..., 1] * scale,
                            params[..., 2]], dim=-1)

    def quantiles(self, params: Tensor, levels: Sequence[float]) -> Tensor:
        df = params[..., 2:3].detach().double().cpu().numpy()             # [B, H, T, 1]
        t = stdtrit(df, np.asarray(levels, dtype=np.float64))             # [B, H, T, L]
        t = torch.as_tensor(t, dtype=params.dtype, device=params.device)
        return params[..., :1] + params[..., 1:2] * t


def head_class(output: str) -> type[_Head]:
    """The head class behind an estimator's ``output=`` name.

    Examples
    --------
    >>> head_class("student_t").__name__
    'StudentTHead'
    """
    heads = {"point": PointHead, "quantile": QuantileHead, "gaussian": GaussianHead,
             "student_t": StudentTHead}
    if output not in heads:
        raise ValueError(f"output={output!r} is not one of {OUTPUTS}.")
    return heads[output]


def make_head(output: str, in_features: int, horizon: int, n_targets: int,
              quantiles: Sequence[float] | None = None, *, per_step: bool = False) -> _Head:
    """Build the head named by an estimator's ``output=`` parameter.

    Parameters
    ----------
    output : {"point", "quantile", "gaussian", "student_t"}
        Which predictive output to learn.
    in_features : int
        Size of the representation the net hands to the head.
    horizon, n_targets : int
        Output steps and target series.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``; :data:`DEFAULT_QUANTILES` when None.
    per_step : bool, default=False
        Read one representation per horizon step, ``[B, horizon, in_features]``, with one
        projection shared by the steps (instead of ``[B, in_features]`` projected to all
        steps at once).

    Returns
    -------
    torch.nn.Module
        A head mapping ``[B, in_features]`` (or ``[B, horizon, in_features]`` with
        ``per_step=True``) to ``[B, horizon, n_targets, n_params]``.

    Examples
    --------
    >>> import torch
    >>> head = make_head("quantile", in_features=8, horizon=5, n_targets=1)
    >>> head(torch.zeros(2, 8)).shape
    torch.Size([2, 5, 1, 21])
    >>> make_head("gaussian", 8, horizon=5, n_targets=1, per_step=True)(torch.zeros(2, 5, 8)).shape
    torch.Size([2, 5, 1, 2])
    """
    if output == "point":
        return PointHead(in_features, horizon, n_targets, per_step)
    if output == "quantile":
        return QuantileHead(in_features, horizon, n_targets,
                            DEFAULT_QUANTILES if quantiles is None else quantiles, per_step)
    if output == "gaussian":
        return GaussianHead(in_features, horizon, n_targets, per_step)
    if output == "student_t":
        return StudentTHead(in_features, horizon, n_targets, per_step)
    raise ValueError(f"output={output!r} is not one of {OUTPUTS}.")
