"""Training losses on the shared tensor contract.

Every loss takes the net's output ``y_pred: [B, H, T, P]`` and the target
``y_true: [B, H, T]`` and returns a scalar mean over batch, horizon and targets. The engine
picks the loss that matches the head (:func:`loss_for`); the finance losses are opt-in.

Every loss also takes ``sample_weight: [B]`` (non-negative, one weight per window) and then
returns the weighted mean ``sum_i w_i l_i / sum_i w_i``, where ``l_i`` is sample ``i``'s
mean over horizon, targets (and quantiles). A zero weight removes the sample from the loss
value and from the gradient exactly; equal weights give the unweighted mean; a batch whose
weights are all zero has loss 0 (and no gradient). The engine reads the weights from the
batch (see :class:`skfin.engine.data.WindowDataset`).

The point losses wrap torch's own; pinball, the Gaussian/Student-t negative log-likelihoods
(through :mod:`torch.distributions`) and the finance losses are written here because they
must read the head's parameter axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin.nets.heads import DEFAULT_QUANTILES

__all__ = [
    "weighted_mean",
    "PointLoss",
    "PinballLoss",
    "GaussianNLLLoss",
    "StudentTNLLLoss",
    "DirectionalLoss",
    "SharpeLoss",
    "POINT_LOSSES",
    "loss_for",
]

#: Point losses accepted by the estimators' ``loss=`` parameter.
POINT_LOSSES = ("mse", "mae", "huber")


def weighted_mean(values: Tensor, sample_weight: Tensor | None = None) -> Tensor:
    """Mean of ``values: [B, ...]``, each sample weighted by ``sample_weight: [B]``.

    ``sum_i w_i mean(values[i]) / sum_i w_i``; the plain mean when ``sample_weight`` is None,
    and 0 (with a zero gradient) when every weight is zero.

    Examples
    --------
    >>> import torch
    >>> values = torch.tensor([[1.0, 3.0], [10.0, 10.0]])        # two samples
    >>> weighted_mean(values, torch.tensor([1.0, 0.0])).item()   # the second left out
    2.0
    >>> weighted_mean(values, torch.tensor([3.0, 1.0])).item()   # (3 * 2 + 10) / 4
    4.0
    """
    if sample_weight is None:
        return values.mean()
    weight = sample_weight.to(values.dtype).reshape(-1, *([1] * (values.ndim - 1)))
    total = weight.sum() * (values[0].numel() if len(values) else 1)
    total = torch.where(total > 0, total, torch.ones_like(total))
    return (values * weight).sum() / total


class PointLoss(nn.Module):
    """Mean squared, absolute or Huber error of the point output ``y_pred[..., 0]``.

    Parameters
    ----------
    kind : {"mse", "mae", "huber"}, default="mse"
    delta : float, default=1.0
        Huber threshold.

    Examples
    --------
    >>> import torch
    >>> PointLoss("mae")(torch.zeros(4, 1, 1, 1), torch.ones(4, 1, 1)).item()
    1.0
    >>> y_true = torch.tensor([1.0, 1.0, 5.0, 5.0]).view(4, 1, 1)
    >>> PointLoss("mae")(torch.zeros(4, 1, 1, 1), y_true,
    ...                  sample_weight=torch.tensor([1.0, 1.0, 0.0, 0.0])).item()
    1.0
    """

    def __init__(self, kind: str = "mse", delta: float = 1.0):
        super().__init__()
        if kind not in POINT_LOSSES:
            raise ValueError(f"loss={kind!r} is not one of {POINT_LOSSES}.")
        self.kind = kind
        self.delta = delta

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        pred = y_pred[..., 0]
        reduction = "mean" if sample_weight is None else "none"
        if self.kind == "mse":
            loss = F.mse_loss(pred, y_true, reduction=reduction)
        elif self.kind == "mae":
            loss = F.l1_loss(pred, y_true, reduction=reduction)
        else:
            loss = F.huber_loss(pred, y_true, delta=self.delta, reduction=reduction)
        return loss if sample_weight is None else weighted_mean(loss, sample_weight)


class PinballLoss(nn.Module):
    """Mean pinball (quantile) loss over the quantile axis.

    Parameters
    ----------
    quantiles : sequence of float
        The levels of ``y_pred[..., k]``, ascending.

    Examples
    --------
    >>> import torch
    >>> loss = PinballLoss([0.1, 0.9])
    >>> loss(torch.zeros(1, 1, 1, 2), torch.ones(1, 1, 1)).item()  # (0.1 + 0.9) / 2
    0.5
    """

    def __init__(self, quantiles: Sequence[float] = DEFAULT_QUANTILES):
        super().__init__()
        self.register_buffer("levels", torch.tensor(sorted(quantiles), dtype=torch.float32))

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        diff = y_true.unsqueeze(-1) - y_pred                  # [B, H, T, Q]
        loss = torch.maximum(self.levels * diff, (self.levels - 1) * diff)
        return weighted_mean(loss, sample_weight)


class GaussianNLLLoss(nn.Module):
    """Negative log-likelihood of a Normal(loc, scale) head (``P = 2``).

    Examples
    --------
    >>> import torch, math
    >>> params = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2)
    >>> round(GaussianNLLLoss()(params, torch.zeros(1, 1, 1)).item(), 6)
    0.918939
    """

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        dist = torch.distributions.Normal(y_pred[..., 0], y_pred[..., 1], validate_args=False)
        return weighted_mean(-dist.log_prob(y_true), sample_weight)         # [B, H, T]


class StudentTNLLLoss(nn.Module):
    """Negative log-likelihood of a Student-t(loc, scale, df) head (``P = 3``).

    Examples
    --------
    >>> import torch
    >>> from scipy.stats import t
    >>> params = torch.tensor([0.0, 1.0, 3.0]).view(1, 1, 1, 3)   # loc, scale, df
    >>> nll = StudentTNLLLoss()(params, torch.zeros(1, 1, 1)).item()
    >>> bool(abs(nll + t.logpdf(0.0, df=3)) < 1e-6)
    True
    """

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        dist = torch.distributions.StudentT(y_pred[..., 2], y_pred[..., 0], y_pred[..., 1],
                                            validate_args=False)
        return weighted_mean(-dist.log_prob(y_true), sample_weight)         # [B, H, T]


class DirectionalLoss(nn.Module):
    """Soft sign-agreement loss for return targets, optionally blended with MSE.

    ``1 - mean(tanh(k * y_pred) * sign(y_true))`` rewards forecasting the direction of the
    next return; ``mse_weight`` keeps the scale anchored.

    Examples
    --------
    >>> import torch
    >>> loss = DirectionalLoss(mse_weight=0.0)
    >>> right = loss(torch.full((4, 1, 1, 1), 5.0), torch.ones(4, 1, 1)).item()
    >>> wrong = loss(torch.full((4, 1, 1, 1), -5.0), torch.ones(4, 1, 1)).item()
    >>> right < wrong
    True
    """

    def __init__(self, sharpness: float = 10.0, mse_weight: float = 0.5):
        super().__init__()
        self.sharpness = sharpness
        self.mse_weight = mse_weight

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        pred = y_pred[..., 0]
        if sample_weight is None:
            agree = (torch.tanh(self.sharpness * pred) * torch.sign(y_true)).mean()
            return (1.0 - agree) + self.mse_weight * F.mse_loss(pred, y_true)
        agree = weighted_mean(torch.tanh(self.sharpness * pred) * torch.sign(y_true), sample_weight)
        mse = weighted_mean(F.mse_loss(pred, y_true, reduction="none"), sample_weight)
        return (1.0 - agree) + self.mse_weight * mse


class SharpeLoss(nn.Module):
    """Negative Sharpe ratio of the position ``tanh(y_pred)`` held over return ``y_true``.

    Examples
    --------
    >>> import torch
    >>> r = torch.tensor([0.01, -0.02, 0.015, 0.005]).view(4, 1, 1)
    >>> long_right = SharpeLoss()(r.unsqueeze(-1) * 100, r).item()
    >>> long_wrong = SharpeLoss()(-r.unsqueeze(-1) * 100, r).item()
    >>> long_right < long_wrong
    True
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        pnl = torch.tanh(y_pred[..., 0]) * y_true                             # [B, H, T]
        if sample_weight is None:
            return -pnl.mean() / (pnl.std(unbiased=False) + self.eps)
        mean = weighted_mean(pnl, sample_weight)                              # weighted moments
        std = weighted_mean((pnl - mean) ** 2, sample_weight).sqrt()
        return -mean / (std + self.eps)


def loss_for(output: str, loss: str | None = None,
             quantiles: Sequence[float] | None = None) -> nn.Module:
    """Return the loss that matches a head.

    Parameters
    ----------
    output : {"point", "quantile", "gaussian", "student_t"}
    loss : {"mse", "mae", "huber", "directional", "sharpe"} or None, default=None
        Only for ``output="point"``; None means "mse". Distribution and quantile heads are
        always trained by their proper scoring rule (pinball or NLL).
    quantiles : sequence of float, default=None

    Examples
    --------
    >>> type(loss_for("gaussian")).__name__
    'GaussianNLLLoss'
    """
    if output != "point":
        if loss is not None:
            raise ValueError(
                f"loss={loss!r} applies to output='point' only; output={output!r} is trained "
                "by its own scoring rule. Leave loss=None."
            )
        if output == "quantile":
            return PinballLoss(DEFAULT_QUANTILES if quantiles is None else quantiles)
        if output == "gaussian":
            return GaussianNLLLoss()
        if output == "student_t":
            return StudentTNLLLoss()
        raise ValueError(f"Unknown output={output!r}.")
    if loss in (None, *POINT_LOSSES):
        return PointLoss(loss or "mse")
    if loss == "directional":
        return DirectionalLoss()
    if loss == "sharpe":
        return SharpeLoss()
    raise ValueError(
        f"loss={loss!r} is not one of {(*POINT_LOSSES, 'directional', 'sharpe')}."
    )
