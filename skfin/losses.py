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

**Which loss.** The default of each head is its proper scoring rule: squared error for a
point (the mean), pinball for quantiles, the negative log-likelihood (NLL) for a Gaussian or
Student-t head. Opt-in, through the faces' ``loss=``:

* ``"qlike"`` (point head) for **variance** targets (realized variance, squared returns):
  Patton's (2011) QLIKE, the loss that ranks volatility forecasts correctly when the
  target is a noisy proxy of the true variance and that punishes under-prediction (the
  costly error in risk management) more than over-prediction. The net's output is read as
  a log variance, so forecasts are positive by construction.
* ``"crps"`` (quantile, Gaussian and Student-t heads): the continuous ranked probability
  score, the whole-distribution analogue of the absolute error; less dominated than the NLL
  by a few extreme days (its penalty grows linearly in the error, the NLL's quadratically),
  so it suits fat-tailed returns when the centre of the distribution matters most. On
  **log variance** (a log realized-variance target, close to Gaussian) the NLL of a
  Gaussian or Student-t head is the standard choice (the HAR-log literature).

Written here: torch has no CRPS and no QLIKE, and ``properscoring`` (the reference the
tests use) is numpy only. The Student-t CRPS needs the t CDF, which torch lacks; it is
integrated here by Gauss-Legendre quadrature on ``θ = arctan(z / sqrt(ν))`` (a smooth,
bounded integrand), exact to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import math

import numpy as np
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
    "QLIKELoss",
    "CRPSLoss",
    "crps_gaussian",
    "crps_student_t",
    "POINT_LOSSES",
    "LOSSES",
    "loss_for",
    "check_loss",
]

#: Point losses accepted by the estimators' ``loss=`` parameter.
POINT_LOSSES = ("mse", "mae", "huber")
#: Every value of the estimators' ``loss=`` parameter, and the heads (``output=``) each fits.
LOSSES = {
    **{name: ("point",) for name in (*POINT_LOSSES, "directional", "sharpe", "qlike")},
    "crps": ("quantile", "gaussian", "student_t"),
}


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


class QLIKELoss(nn.Module):
    """QLIKE (Patton, 2011) of a variance forecast; the point output is its logarithm.

    With ``o = y_pred[..., 0]`` read as ``log(σ²)`` and ``v = y_true / unit`` the observed
    variance proxy: ``v exp(-o) + o``, the QLIKE ``v/σ² - log(v/σ²) - 1`` less ``log v + 1``,
    which does not depend on the forecast (and would be infinite on a zero-return day).
    Minimised at ``σ² = E[v]``: the forecast is unbiased for the variance. The estimators
    read predictions back as ``unit * exp(o)``.

    Parameters
    ----------
    unit : float, default=1.0
        Divides the target: with ``unit`` near the target's mean the net's initial output
        (about 0) is already a sensible log variance. The loss ranking does not depend on it
        (QLIKE is scale-free).

    References
    ----------
    Patton (2011), "Volatility forecast comparison using imperfect volatility proxies",
    Journal of Econometrics 160(1).

    Examples
    --------
    >>> import math, torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-253:], dtype=torch.float64)
    >>> v = (100 * close.log().diff()) ** 2                            # squared % returns
    >>> y_true = v.view(-1, 1, 1)
    >>> def qlike(variance):                                           # one forecast for all
    ...     return QLIKELoss()(torch.full((252, 1, 1, 1), math.log(variance)), y_true).item()
    >>> qlike(v.mean().item()) < min(qlike(0.5 * v.mean().item()), qlike(2 * v.mean().item()))
    True
    """

    def __init__(self, unit: float = 1.0):
        super().__init__()
        if not unit > 0:
            raise ValueError(f"unit must be positive; got {unit!r}.")
        self.unit = float(unit)

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        log_var = y_pred[..., 0]
        return weighted_mean(y_true / self.unit * torch.exp(-log_var) + log_var, sample_weight)


def crps_gaussian(y: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """CRPS of Normal(loc, scale) at ``y``, in closed form (Gneiting et al., 2005).

    ``σ [z (2Φ(z) - 1) + 2φ(z) - 1/√π]`` with ``z = (y - loc) / σ``; element-wise.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from scipy import integrate, stats
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].to_numpy()[-21:]
    >>> r = 100 * np.diff(np.log(close))                               # 20 daily % returns
    >>> y, dist = r[-1], stats.norm(r[:-1].mean(), r[:-1].std())       # the last, from the rest
    >>> ref = (integrate.quad(lambda x: dist.cdf(x) ** 2, -np.inf, y)[0]   # ∫ (F - 1{x >= y})²
    ...        + integrate.quad(lambda x: dist.sf(x) ** 2, y, np.inf)[0])
    >>> mine = crps_gaussian(*(torch.tensor(v) for v in (y, r[:-1].mean(), r[:-1].std())))
    >>> bool(abs(mine.item() - ref) < 1e-7)
    True
    """
    z = (y - loc) / scale
    normal = torch.distributions.Normal(torch.zeros_like(z), torch.ones_like(z),
                                        validate_args=False)
    return scale * (z * (2 * normal.cdf(z) - 1) + 2 * normal.log_prob(z).exp()
                    - 1 / math.sqrt(math.pi))


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(48)        # on [-1, 1]


def _student_t_cdf_centred(z: Tensor, df: Tensor) -> Tensor:
    """``F_ν(z) - 1/2`` of the standard Student-t: ``c ∫_0^θ cos(u)^(ν-1) du``,
    ``θ = arctan(z / √ν)``, ``c = Γ((ν+1)/2) / (√π Γ(ν/2))``, by Gauss-Legendre."""
    theta = torch.atan(z / df.sqrt())                                   # |θ| < π/2
    nodes = torch.as_tensor(_GL_NODES, dtype=z.dtype, device=z.device)
    weights = torch.as_tensor(_GL_WEIGHTS, dtype=z.dtype, device=z.device)
    u = theta.unsqueeze(-1) * (nodes + 1) / 2                           # [..., 48] in [0, θ]
    integral = (theta / 2) * (weights * torch.cos(u).pow(df.unsqueeze(-1) - 1)).sum(-1)
    log_c = torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * math.log(math.pi)
    return log_c.exp() * integral


def crps_student_t(y: Tensor, loc: Tensor, scale: Tensor, df: Tensor) -> Tensor:
    """CRPS of a Student-t(df, loc, scale) at ``y`` (closed form; needs ``df > 1``).

    ``σ [z (2F(z) - 1) + 2 f(z) (ν + z²)/(ν - 1) - 2√ν B(1/2, ν - 1/2) / ((ν - 1)
    B(1/2, ν/2)²)]`` with ``z = (y - loc) / σ`` (Jordan, Krüger and Lerch, 2019,
    ``scoringRules``), element-wise and differentiable in every argument.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from scipy import integrate, stats
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].to_numpy()[-2:]
    >>> y = 100 * np.log(close[1] / close[0])                          # the last % return
    >>> mine = crps_student_t(*(torch.tensor(v, dtype=torch.float64) for v in (y, 0.05, 0.8, 4.0)))
    >>> dist = stats.t(df=4.0, loc=0.05, scale=0.8)                    # ∫ (F - 1{x >= y})²
    >>> ref = (integrate.quad(lambda x: dist.cdf(x) ** 2, -np.inf, y)[0]
    ...        + integrate.quad(lambda x: dist.sf(x) ** 2, y, np.inf)[0])
    >>> bool(abs(mine.item() - ref) < 1e-7)
    True
    """
    z = (y - loc) / scale
    log_pdf = torch.distributions.StudentT(df, validate_args=False).log_prob(z)
    log_beta = lambda a, b: torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)  # noqa: E731
    half = torch.full_like(df, 0.5)
    tail = (2 * df.sqrt() / (df - 1)
            * torch.exp(log_beta(half, df - 0.5) - 2 * log_beta(half, df / 2)))
    return scale * (z * 2 * _student_t_cdf_centred(z, df)
                    + 2 * log_pdf.exp() * (df + z * z) / (df - 1) - tail)


class CRPSLoss(nn.Module):
    """Continuous ranked probability score of a quantile, Gaussian or Student-t head.

    * ``"gaussian"`` / ``"student_t"``: the closed forms :func:`crps_gaussian` and
      :func:`crps_student_t` of the head's parameters.
    * ``"quantile"``: ``CRPS = 2 ∫_0^1 pinball_τ dτ`` (Gneiting and Raftery, 2007),
      integrated by the trapezoidal rule over the head's levels (so it scores the
      distribution between the lowest and highest level; with the default 0.025..0.975
      grid, 95% of it). With equally spaced levels it is twice the mean pinball loss up to
      the half-weights at both ends, so it mostly changes the loss's units and the
      weight of the extreme levels.

    Parameters
    ----------
    output : {"quantile", "gaussian", "student_t"}
    quantiles : sequence of float, optional
        The quantile head's levels.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-2:], dtype=torch.float64)
    >>> y = (100 * close.log().diff()).view(1, 1, 1)                   # the last % return
    >>> params = torch.tensor([0.05, 1.1], dtype=torch.float64).view(1, 1, 1, 2)
    >>> CRPSLoss("gaussian")(params, y).item() == crps_gaussian(y, 0.05, 1.1).item()
    True
    """

    def __init__(self, output: str, quantiles: Sequence[float] | None = None):
        super().__init__()
        if output not in LOSSES["crps"]:
            raise ValueError(f"CRPS scores a distribution; output={output!r} is not one of "
                             f"{LOSSES['crps']}.")
        self.output = output
        if output == "quantile":
            levels = np.asarray(sorted(DEFAULT_QUANTILES if quantiles is None else quantiles))
            gaps = np.diff(levels)
            weights = np.zeros_like(levels)                              # trapezoidal rule
            weights[:-1] += gaps / 2
            weights[1:] += gaps / 2
            self.register_buffer("levels", torch.tensor(levels, dtype=torch.float32))
            # mean over the other axes, times len(levels): the sum Σ_k w_k pinball_k, doubled
            self.register_buffer("weights",
                                 torch.tensor(2 * len(levels) * weights, dtype=torch.float32))

    def forward(self, y_pred: Tensor, y_true: Tensor,
                sample_weight: Tensor | None = None) -> Tensor:
        if self.output == "quantile":
            diff = y_true.unsqueeze(-1) - y_pred                          # [B, H, T, Q]
            pinball = torch.maximum(self.levels * diff, (self.levels - 1) * diff)
            return weighted_mean(pinball * self.weights, sample_weight)
        if self.output == "gaussian":
            score = crps_gaussian(y_true, y_pred[..., 0], y_pred[..., 1])
        else:
            score = crps_student_t(y_true, y_pred[..., 0], y_pred[..., 1], y_pred[..., 2])
        return weighted_mean(score, sample_weight)                          # [B, H, T]


def loss_for(output: str, loss: str | None = None,
             quantiles: Sequence[float] | None = None, *, unit: float = 1.0) -> nn.Module:
    """Return the loss that matches a head.

    Parameters
    ----------
    output : {"point", "quantile", "gaussian", "student_t"}
    loss : str or None, default=None
        One of :data:`LOSSES` that fits ``output``. None is the head's own scoring rule:
        "mse" for a point, pinball for quantiles, the NLL for a distribution.
    quantiles : sequence of float, default=None
    unit : float, default=1.0
        The target's unit for ``loss="qlike"`` (:class:`QLIKELoss`).

    Examples
    --------
    >>> type(loss_for("gaussian")).__name__
    'GaussianNLLLoss'
    >>> type(loss_for("student_t", "crps")).__name__
    'CRPSLoss'
    """
    check_loss(output, loss)
    if loss == "crps":
        return CRPSLoss(output, quantiles)
    if output == "quantile":
        return PinballLoss(DEFAULT_QUANTILES if quantiles is None else quantiles)
    if output == "gaussian":
        return GaussianNLLLoss()
    if output == "student_t":
        return StudentTNLLLoss()
    if loss in (None, *POINT_LOSSES):
        return PointLoss(loss or "mse")
    if loss == "qlike":
        return QLIKELoss(unit)
    return DirectionalLoss() if loss == "directional" else SharpeLoss()


def check_loss(output: str, loss: str | None) -> None:
    """Raise a ValueError that says what to use when ``loss`` does not fit ``output``.

    Examples
    --------
    >>> check_loss("quantile", "crps")                 # fits: returns None
    >>> check_loss("gaussian", "mse")
    Traceback (most recent call last):
    ...
    ValueError: loss='mse' scores a point forecast; output='gaussian' is trained by its negative log-likelihood (loss=None) or loss='crps'.
    """
    if output not in ("point", *LOSSES["crps"]):
        raise ValueError(f"Unknown output={output!r}.")
    if loss is None:
        return
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not one of {tuple(LOSSES)}.")
    if output in LOSSES[loss]:
        return
    if output == "point":
        raise ValueError(f"loss={loss!r} scores a distribution; use it with output='quantile', "
                         "'gaussian' or 'student_t', or a point loss with output='point': "
                         f"{LOSSES and tuple(k for k, v in LOSSES.items() if 'point' in v)}.")
    own = "pinball loss" if output == "quantile" else "negative log-likelihood"
    raise ValueError(f"loss={loss!r} scores a point forecast; output={output!r} is trained by "
                     f"its {own} (loss=None) or loss='crps'.")
