"""State-space nets: Mamba (selective scan) and S4D (diagonal SSM convolution).

Both read the window through a stack of linear state-space layers, ``h_t = A_t h_{t-1} +
B_t u_t``, ``y_t = C_t h_t + D u_t``, with a diagonal state matrix, and the head reads the
last step. Each net exposes ``features(x) -> [B, W, d_model]``, its per-step representation
before the readout (what the causality tests perturb), and takes a ``method=`` there that
switches between its parallel form (the default, used in training) and the step-by-step
recurrence it must agree with (kept as the reference).

**Mamba** (Gu and Dao, 2023). A block projects the input to an ``x`` branch and a gate
``z``; ``x`` goes through a causal depthwise convolution and SiLU; then ``Δ``, ``B`` and ``C``
are computed *from the input* at every step (the selection mechanism): ``Δ = softplus(W_Δ
W_r x + b_Δ)`` through a rank-``dt_rank`` bottleneck, ``B = W_B x``, ``C = W_C x``.
``A = -exp(A_log)`` is diagonal with the S4D-real initialisation ``A_log = log(1..d_state)``;
the zero-order hold gives ``Ā = exp(ΔA)`` and, simplified as in the paper, ``B̄ = ΔB``; the
output ``y = C h + D x`` is gated by ``SiLU(z)`` and projected back to ``d_model``. Blocks are
pre-norm residual (RMSNorm, as the reference implementation), with a final RMSNorm.

The selective scan runs as a parallel scan (:func:`selective_scan`, ``method="parallel"``):
the linear recurrence ``h_t = a_t h_{t-1} + b_t`` is associative in the pairs ``(a, b)``, so
it is solved by a recursive odd-even (Blelloch-style) reduction, ``log2(L)`` levels of
whole-tensor operations and O(L) work, exact and stable (it only multiplies decays
``a <= 1``; no cumulative sums of logarithms, so nothing can overflow), for any length.
Both directions are written by hand (:class:`_SelectiveScan`): the backward pass is the
adjoint recurrence run in reverse by the same scan, the scans work in place, and only the
states ``h`` are kept between the two, because on a CPU every fresh ``[B, L, E, N]``
tensor costs more in page faults than the arithmetic done on it.
``selective_scan_reference`` is the plain loop over time.

**S4D** (Gu, Gupta, Goel and Ré, 2022). Each channel is a diagonal complex SSM with ``N/2``
conjugate pairs: ``A_n = -exp(log_A_real_n) + i A_imag_n`` initialised S4D-Lin
(``-1/2 + i π n``) or S4D-Inv (``-1/2 + i N/π (N/(2n+1) - 1)``), a learnable step ``Δ``
per channel (log-uniform in ``[dt_min, dt_max]``), zero-order hold ``Ā = exp(ΔA)``,
``B̄ = (Ā - 1) / A · B`` (``B = 1`` folded into ``C``, as in the paper's code: only ``C B``
matters). The layer is time-invariant, so it is a causal convolution with the kernel
``K_l = 2 Re(Σ_n C_n B̄_n Ā_n^l)``, computed in closed form (a Vandermonde product) and
applied by FFT, zero-padded to ``2L`` so the circular convolution is the causal one;
``s4d_recurrence`` is the step-by-step reference. Then the skip ``D u``, GELU, dropout and
a position-wise linear layer with a GLU; layers are residual with LayerNorm after the sum
(the paper's example model).

Written here, not taken from a library: ``mamba-ssm`` needs CUDA kernels (its CPU fallback,
``selective_scan_ref``, loops over time and its backward pass is quadratic in ``L``),
``mambapy`` (a pure-torch Blelloch scan) is a small project last released in 2024 whose
modules are built for language models, and the S4 authors' code is not a pip package; none
is a module on this package's tensor contract and shared heads, and the scans here take
about a hundred lines.

**Speed on a CPU.** The parallel scan does the same O(B L E N) element-wise work as the
loop, but on whole ``[B, L, E, N]`` tensors that stream through memory, while the loop keeps
one ``[B, E, N]`` state in cache: with 64 windows and 128 channels of 16 states the loop is
the faster one at every window from 64 to 2048 steps (1.1 to 1.8 times on a shared
two-core machine), while the scan is 5 to 8 times faster at batch 1
(``python -m benchmarks.state_space_scan``). The scan is the form that
GPUs need (the loop launches kernels at every step). S4D's FFT convolution is about ten
times faster than its recurrence.

References
----------
Gu and Dao (2023), "Mamba: Linear-time sequence modeling with selective state spaces",
arXiv:2312.00752.
Gu, Gupta, Goel and Ré (2022), "On the parameterization and initialization of diagonal
state space models", NeurIPS.
Blelloch (1990), "Prefix sums and their applications", CMU-CS-90-190.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

from skfin.nets._params import DROPOUT, POSITIVE, contract_doc, integer, options, real
from skfin.nets.heads import make_head

__all__ = ["Mamba", "S4D", "selective_scan", "selective_scan_reference", "linear_scan",
           "s4d_kernel", "s4d_recurrence", "fft_causal_conv"]

SCAN_METHODS = ("parallel", "sequential")
CONV_METHODS = ("fft", "recurrence")


# --------------------------------------------------------------------------- the scans
# Both scans work in place, time on dim 1. On a CPU, fresh [B, L, E, N] tensors cost more
# in page faults than the arithmetic on them, so the recursion allocates nothing: it keeps
# the pair sums in the odd (forward) or even (reverse) slots of its inputs.
def _scan_(a: Tensor, b: Tensor) -> None:
    """``b <- h`` with ``h_t = a_t h_{t-1} + b_t`` (``h_{-1} = 0``); ``a`` is overwritten.

    Odd-even reduction: the pairs ``(2k, 2k+1)`` make one step with decay
    ``a_{2k+1} a_{2k}`` and input ``b_{2k+1} + a_{2k+1} b_{2k}`` (stored in the odd slots);
    the half-length recurrence gives ``h`` at the odd steps, and each even step follows
    from the odd one before it. An odd length peels off its last step.
    """
    n = b.shape[1]
    if n == 1:
        return
    if n % 2:
        _scan_(a[:, :-1], b[:, :-1])
        b[:, -1].addcmul_(a[:, -1], b[:, -2])
        return
    a0, a1, b0, b1 = a[:, 0::2], a[:, 1::2], b[:, 0::2], b[:, 1::2]
    b1.addcmul_(a1, b0)                                    # pair inputs
    a1.mul_(a0)                                            # pair decays
    _scan_(a1, b1)                                         # h at 1, 3, 5, ...
    b0[:, 1:].addcmul_(a0[:, 1:], b1[:, :-1])              # h at 2, 4, ...


def _reverse_scan_(a_next: Tensor, g: Tensor) -> None:
    """``g <- λ`` with ``λ_t = g_t + a_{t+1} λ_{t+1}`` (``λ_{L-1} = g_{L-1}``), the adjoint of
    :func:`_scan_`; ``a_next`` holds ``a_1 .. a_{L-1}`` (one step shorter than ``g``) and is
    overwritten. The same odd-even reduction, run from the end."""
    n = g.shape[1]
    if n == 1:
        return
    if n % 2:
        g[:, -2].addcmul_(a_next[:, -1], g[:, -1])
        _reverse_scan_(a_next[:, :-1], g[:, :-1])
        return
    g0, g1, a0, a1 = g[:, 0::2], g[:, 1::2], a_next[:, 0::2], a_next[:, 1::2]
    g0.addcmul_(a0, g1)                                    # pair inputs
    a0[:, :-1].mul_(a1)                                    # pair decays
    _reverse_scan_(a0[:, :-1], g0)                         # λ at 0, 2, 4, ...
    g1[:, :-1].addcmul_(a1, g0[:, 1:])                     # λ at 1, 3, ...


def _decays(delta: Tensor, A: Tensor, out: Tensor | None = None) -> Tensor:
    """``exp(Δ A)``: ``[B, L, E, N]`` from ``Δ: [B, L, E]`` and ``A: [E, N]``, into ``out``."""
    out = torch.mul(delta.unsqueeze(-1), A, out=out) if out is not None \
        else delta.unsqueeze(-1) * A
    return out.exp_()


class _LinearRecurrence(torch.autograd.Function):
    """``h = scan(exp(log_a), b)``; the backward pass is the reverse scan of the gradient.

    With ``λ_t = dL/dh_t + a_{t+1} λ_{t+1}``: ``dL/db_t = λ_t`` and
    ``dL/dlog_a_t = λ_t a_t h_{t-1}``.
    """

    @staticmethod
    def forward(ctx, log_a: Tensor, b: Tensor) -> Tensor:
        a = log_a.exp()
        h = b.clone(memory_format=torch.contiguous_format)
        _scan_(a.clone(), h)
        ctx.save_for_backward(a, h)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h: Tensor) -> tuple[Tensor, Tensor]:
        a, h = ctx.saved_tensors
        lam = grad_h.clone(memory_format=torch.contiguous_format)
        _reverse_scan_(a[:, 1:].clone(), lam)
        grad_log_a = torch.zeros_like(h)
        torch.mul(lam[:, 1:], h[:, :-1], out=grad_log_a[:, 1:])
        grad_log_a[:, 1:].mul_(a[:, 1:])
        return grad_log_a, lam


def linear_scan(log_a: Tensor, b: Tensor) -> Tensor:
    """Solve ``h_t = exp(log_a_t) h_{t-1} + b_t`` (``h_{-1} = 0``) along dim 1, in parallel.

    The odd-even scan behind :func:`selective_scan`, for any shapes ``[B, L, ...]``.

    Parameters
    ----------
    log_a : Tensor
        Log-decays ``[B, L, ...]`` (``<= 0`` for a stable recurrence, though any value works).
    b : Tensor
        Inputs of the same shape.

    Returns
    -------
    Tensor
        The states ``h``, shaped like ``b``; differentiable in ``log_a`` and ``b``.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> r = torch.tensor(load_sp500()["Close"].to_numpy()[-6:], dtype=torch.float64).log().diff()
    >>> b = r.view(1, 5, 1)                                      # five daily log returns
    >>> decay = torch.full_like(b, 0.9)                          # h_t = 0.9 h_{t-1} + r_t
    >>> h = linear_scan(decay.log(), b)
    >>> manual, state = [], 0.0
    >>> for value in r.tolist():
    ...     state = 0.9 * state + value
    ...     manual.append(state)
    >>> torch.allclose(h.flatten(), torch.tensor(manual, dtype=torch.float64))
    True
    """
    return _LinearRecurrence.apply(log_a, b)


def _states(u: Tensor, delta: Tensor, A: Tensor, B: Tensor) -> Tensor:
    """The hidden states ``h: [B, L, E, N]`` of the selective scan (forward direction)."""
    du = delta * u                                                      # [B, L, E]
    a = _decays(delta, A)                                               # [B, L, E, N]
    h = du.unsqueeze(-1) * B.unsqueeze(2)                               # b: [B, L, E, N]
    _scan_(a, h)                                                        # h, in place
    return h


class _SelectiveScan(torch.autograd.Function):
    """Mamba's scan ``y = C · h`` fused with its inputs, by hand in both directions.

    Forward: ``a = exp(Δ A)`` and ``b = Δ u B`` are built once and scanned in place
    (``b`` becomes ``h``); only ``h`` is kept for the backward pass. Backward: the reverse
    scan of ``dL/dh = dL/dy C`` gives ``λ``, then ``dL/db = λ``, ``dL/dlog_a = λ a h_{t-1}``
    (with ``a`` recomputed) and the chain rule through ``log_a = Δ A`` and ``b = Δ u B``.
    Contractions over ``E`` or ``N`` are batched matrix products; two ``[B, L, E, N]``
    buffers are allocated in each direction.
    """

    @staticmethod
    def forward(ctx, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> Tensor:
        h = _states(u, delta, A, B)
        ctx.save_for_backward(u, delta, A, B, C, h)
        return (h @ C.unsqueeze(-1)).squeeze(-1)                        # [B, L, E]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y: Tensor) -> tuple[Tensor, ...]:
        u, delta, A, B, C, h = ctx.saved_tensors
        du = delta * u                                                  # [B, L, E]
        grad_C = (grad_y.unsqueeze(-2) @ h).squeeze(-2)                 # [B, L, N]
        lam = grad_y.unsqueeze(-1) * C.unsqueeze(2)                     # dL/dh: [B, L, E, N]
        work = torch.empty_like(h)
        _reverse_scan_(_decays(delta[:, 1:], A, out=work[:, 1:]), lam)  # λ, in place
        grad_du = (lam @ B.unsqueeze(-1)).squeeze(-1)                   # Σ_n λ B: [B, L, E]
        grad_B = (du.unsqueeze(-2) @ lam).squeeze(-2)                   # Σ_e λ Δu: [B, L, N]
        g = work                                                        # dL/dlog_a
        g[:, 0].zero_()                                                 # h_{-1} = 0
        _decays(delta[:, 1:], A, out=g[:, 1:]).mul_(h[:, :-1])          # a_t h_{t-1}
        g.mul_(lam)
        grad_delta = torch.mul(g, A, out=lam).sum(-1)                   # Σ_n g A: [B, L, E]
        grad_A = torch.mul(g, delta.unsqueeze(-1), out=lam).sum((0, 1))  # [E, N]
        grad_delta += grad_du * u
        return grad_du * delta, grad_delta, grad_A, grad_B, grad_C


def selective_scan_reference(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                             D: Tensor | None = None) -> Tensor:
    """Mamba's selective scan as a loop over time: the reference :func:`selective_scan` meets.

    ``h_t = exp(Δ_t A) h_{t-1} + Δ_t u_t B_t`` (zero-order hold with the paper's simplified
    ``B̄ = Δ B``), ``y_t = C_t · h_t + D u_t``, for every channel ``e`` at once, with
    ``h: [batch, E, N]`` carried from step to step. Shapes as in :func:`selective_scan`.
    """
    h = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])                 # [B, E, N]
    ys = []
    steps = zip(delta.unbind(1), u.unbind(1), B.unbind(1), C.unbind(1), strict=True)
    for d_t, u_t, b_t, c_t in steps:                                    # [B, E], [B, N]
        h = torch.exp(d_t.unsqueeze(-1) * A) * h + (d_t * u_t).unsqueeze(-1) * b_t.unsqueeze(1)
        ys.append(torch.einsum("ben,bn->be", h, c_t))                   # [B, E]
    y = torch.stack(ys, dim=1)                                          # [B, L, E]
    return y if D is None else y + u * D


def selective_scan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
                   D: Tensor | None = None, *, method: str = "parallel") -> Tensor:
    """Mamba's selective scan, ``y_t = C_t · h_t + D u_t`` with ``h_t = exp(Δ_t A) h_{t-1} +
    Δ_t u_t B_t``.

    Parameters
    ----------
    u : Tensor
        Inputs ``[batch, L, E]`` (one scalar SSM per channel ``e``).
    delta : Tensor
        Positive steps ``Δ`` ``[batch, L, E]``, one per step and channel (selective).
    A : Tensor
        Diagonal state matrices ``[E, N]``, negative.
    B, C : Tensor
        Input and output vectors ``[batch, L, N]``, one per step (selective), shared by the
        channels.
    D : Tensor, optional
        Skip weights ``[E]``.
    method : {"parallel", "sequential"}, default="parallel"
        The odd-even parallel scan (the one behind ``linear_scan``, fused with the
        construction of its inputs) or the loop over time
        (``selective_scan_reference``); they agree to rounding.

    Returns
    -------
    Tensor
        ``y`` ``[batch, L, E]``.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-25:], dtype=torch.float64)
    >>> u = (100 * close.log().diff()).view(2, 12, 1).expand(2, 12, 3)   # [batch=2, L=12, E=3]
    >>> delta = torch.full_like(u, 0.1)
    >>> A = -torch.arange(1.0, 5.0, dtype=torch.float64).expand(3, 4)   # S4D-real, N=4
    >>> B = C = torch.ones(2, 12, 4, dtype=torch.float64)
    >>> y = selective_scan(u, delta, A, B, C)
    >>> y.shape, torch.allclose(y, selective_scan(u, delta, A, B, C, method="sequential"))
    (torch.Size([2, 12, 3]), True)
    """
    if method == "sequential":
        return selective_scan_reference(u, delta, A, B, C, D)
    if method != "parallel":
        raise ValueError(f"method={method!r} is not one of {SCAN_METHODS}.")
    inputs = (u, delta, A, B, C)
    if any(t.dtype in (torch.float16, torch.bfloat16) for t in inputs):
        # Mixed precision: a scan multiplies decays over the whole window, so it runs in
        # float32, with autocast off inside it.
        with torch.autocast(u.device.type, enabled=False):
            y = _SelectiveScan.apply(*(t.float() for t in inputs)).to(u.dtype)
    elif torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        y = _SelectiveScan.apply(*inputs)                                # [B, L, E]
    else:
        # no backward pass: the same forward without the autograd Function, which keeps
        # the scan traceable (skfin.export's TorchScript cannot save a Python Function)
        y = (_states(u, delta, A, B) @ C.unsqueeze(-1)).squeeze(-1)
    return y if D is None else y + u * D


# --------------------------------------------------------------------------- Mamba
class _RMSNorm(nn.Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dim (``torch.nn.RMSNorm`` needs
    torch 2.4; skfin supports 2.2)."""

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: Tensor) -> Tensor:                                # x: [..., d]
        wide = x.to(torch.promote_types(x.dtype, torch.float32))        # half: in float32
        wide = wide * torch.rsqrt(wide.square().mean(-1, keepdim=True) + self.eps)
        return wide.to(x.dtype) * self.weight


class _MambaMixer(nn.Module):
    """One Mamba mixer ``[B, L, d_model] -> [B, L, d_model]`` (see the module docstring)."""

    no_weight_decay = ("A_log", "D")       # as in the reference code (read by the engine)

    def __init__(self, d_model: int, d_state: int, d_conv: int, expand: int, dt_rank: int,
                 dt_min: float, dt_max: float):
        super().__init__()
        d_inner = expand * d_model
        self.d_conv, self.dt_rank, self.d_state = d_conv, dt_rank, d_state
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner)   # left-padded
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        # S4D-real: A = -(1, 2, ..., N) for every channel.
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
        self.A_log = nn.Parameter(a.log())                                  # [E, N]
        self.D = nn.Parameter(torch.ones(d_inner))                          # [E]
        # Δ starts log-uniform in [dt_min, dt_max]: the bias is softplus^{-1} of a draw.
        with torch.no_grad():
            std = dt_rank ** -0.5
            nn.init.uniform_(self.dt_proj.weight, -std, std)
            dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min))
                           + math.log(dt_min)).clamp(min=1e-4)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def ssm_inputs(self, x: Tensor) -> tuple[Tensor, ...]:                # x: [B, L, d]
        """The selective scan's ``u, Δ, A, B, C`` and the gate ``z`` for the input ``x``."""
        u, z = self.in_proj(x).chunk(2, dim=-1)                           # [B, L, E] each
        u = F.pad(u.transpose(1, 2), (self.d_conv - 1, 0))                # [B, E, k-1+L]
        u = F.silu(self.conv(u)).transpose(1, 2)                          # [B, L, E], causal
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))                              # [B, L, E]
        A = -torch.exp(self.A_log)                                        # [E, N]
        return u, delta, A, B, C, z                                       # B, C: [B, L, N]

    def forward(self, x: Tensor, method: str = "parallel") -> Tensor:    # x: [B, L, d]
        u, delta, A, B, C, z = self.ssm_inputs(x)
        y = selective_scan(u, delta, A, B, C, self.D, method=method)      # [B, L, E]
        return self.out_proj(y * F.silu(z))                               # [B, L, d]


def _check_dt(net: str, dt_min: float, dt_max: float) -> None:
    if not 0 < dt_min < dt_max:
        raise ValueError(
            f"{net} draws its initial steps log-uniformly in [dt_min, dt_max], so it needs "
            f"0 < dt_min < dt_max; got dt_min={dt_min!r}, dt_max={dt_max!r}. Swap them or "
            "use the defaults dt_min=0.001, dt_max=0.1."
        )


@contract_doc
class Mamba(nn.Module):
    """Mamba: stacked selective state-space blocks (Gu and Dao, 2023), last-step readout.

    The input is projected to ``d_model``; each of ``num_layers`` pre-norm residual blocks
    computes ``h <- h + Dropout(Mixer(RMSNorm(h)))``, where the mixer expands to
    ``expand * d_model`` channels, runs a causal depthwise convolution and a *selective*
    diagonal SSM whose step ``Δ`` and vectors ``B``, ``C`` depend on the input at every step
    (so it can choose what to remember), and gates the result with the other half of the
    expansion. A final RMSNorm gives the per-step representation (:meth:`features`); its
    last step feeds the head. See the module docstring for the parallel scan.

    Parameters
    ----------
    {contract}
    d_model : int, default=32
        Width of the residual stream between blocks, and of the representation the head reads.
    d_state : int, default=16
        Size of each channel's hidden state: how many decaying memories (with decay rates
        initialised at 1, 2, ..., d_state per unit of Δ) every channel keeps of the past.
    d_conv : int, default=4
        Steps read by the causal depthwise convolution in front of the SSM (the current step
        and the ``d_conv - 1`` before it).
    expand : int, default=2
        The mixer works on ``expand * d_model`` channels.
    num_layers : int, default=2
        Residual Mamba blocks.
    dt_rank : int or None, default=None
        Rank of the projection that computes the step Δ from the input; None means
        ``ceil(d_model / 16)``, the paper's choice.
    dt_min : float, default=0.001
        Smallest initial step Δ: a small step makes a channel remember the past for long.
    dt_max : float, default=0.1
        Largest initial step Δ: a large step makes a channel follow the latest inputs.
        Initial steps are drawn log-uniformly between the two.
    dropout : float, default=0.1
        On each block's output before the residual sum, and before the head.

    Notes
    -----
    ``features(x, method="sequential")`` runs the selective scan as a loop over time
    (``selective_scan_reference``); the default ``"parallel"`` is the odd-even scan
    (``linear_scan``). As in the reference implementation, ``A_log`` and ``D`` are
    exempt from weight decay (named in the mixer's ``no_weight_decay``, which the engine
    reads: :class:`skfin.engine.net.SkfinNet`).

    References
    ----------
    Gu and Dao (2023), "Mamba: Linear-time sequence modeling with selective state spaces",
    arXiv:2312.00752.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-121:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 60, 1)            # [B=2, W=60, F=1] returns
    >>> net = Mamba(n_features=1, window=60, horizon=5, n_targets=1, output="quantile").eval()
    >>> net(x).shape                                             # [B, H, T, quantiles]
    torch.Size([2, 5, 1, 21])
    >>> net.features(x).shape                                    # per-step [B, W, d_model]
    torch.Size([2, 60, 32])
    >>> with torch.no_grad():
    ...     torch.allclose(net.features(x), net.features(x, method="sequential"), atol=1e-5)
    True
    """

    _parameter_constraints: dict = {
        "d_model": POSITIVE, "d_state": POSITIVE, "d_conv": POSITIVE, "expand": POSITIVE,
        "num_layers": POSITIVE, "dt_rank": [integer(1), None],
        "dt_min": [real(0, None, "neither")], "dt_max": [real(0, None, "neither")],
        "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 d_model: int = 32, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 num_layers: int = 2, dt_rank: int | None = None, dt_min: float = 0.001,
                 dt_max: float = 0.1, dropout: float = 0.1):
        super().__init__()
        _check_dt("Mamba", dt_min, dt_max)
        dt_rank = math.ceil(d_model / 16) if dt_rank is None else dt_rank
        self.embed = nn.Linear(n_features, d_model)
        self.norms = nn.ModuleList(_RMSNorm(d_model) for _ in range(num_layers))
        self.mixers = nn.ModuleList(
            _MambaMixer(d_model, d_state, d_conv, expand, dt_rank, dt_min, dt_max)
            for _ in range(num_layers))
        with torch.no_grad():          # GPT-2 style: each residual branch starts smaller
            for mixer in self.mixers:
                mixer.out_proj.weight.div_(math.sqrt(num_layers))
        self.norm_f = _RMSNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, d_model, horizon, n_targets, quantiles)

    def features(self, x: Tensor, method: str = "parallel") -> Tensor:    # x: [B, W, F]
        """Per-step representation ``[B, W, d_model]``; step ``s`` reads ``x[:, :s+1]`` only.

        ``method`` is the selective scan's, ``"parallel"`` or ``"sequential"``.
        """
        h = self.embed(x)                                                  # [B, W, d]
        for norm, mixer in zip(self.norms, self.mixers, strict=True):
            h = h + self.dropout(mixer(norm(h), method))                   # [B, W, d]
        return self.norm_f(h)                                              # [B, W, d]

    def forward(self, x: Tensor) -> Tensor:                                # x: [B, W, F]
        z = self.features(x)[:, -1]                                        # [B, d]
        return self.head(self.dropout(z))                                  # [B, H, T, P]


# --------------------------------------------------------------------------- S4D
def s4d_kernel(dtA: Tensor, CB: Tensor, length: int) -> Tensor:
    """The SSM convolution kernel ``K_l = 2 Re(Σ_n C_n B̄_n exp(l Δ A_n))``, ``[H, length]``.

    ``dtA`` (``Δ A``) and ``CB`` (``C B̄``) are complex ``[H, N/2]``, one entry per conjugate
    pair: the factor 2 and the real part add each pair's conjugate. ``exp(l Δ A)`` for
    ``l = 0..length-1`` is the Vandermonde matrix of ``Ā = exp(Δ A)``.
    """
    steps = torch.arange(length, device=dtA.device, dtype=dtA.real.dtype)
    vandermonde = torch.exp(dtA.unsqueeze(-1) * steps)                    # [H, N/2, L]
    return 2 * torch.einsum("hn,hnl->hl", CB, vandermonde).real           # [H, L]


def fft_causal_conv(u: Tensor, k: Tensor) -> Tensor:
    """Causal convolution ``y_t = Σ_{s<=t} k_{t-s} u_s`` by FFT, ``u: [B, L, H]``, ``k: [H, L]``.

    Both are zero-padded to ``2L`` so that the FFT's circular convolution never wraps the
    end of the window onto its start.
    """
    length = u.shape[1]
    u_f = torch.fft.rfft(u.transpose(1, 2), n=2 * length)                # [B, H, L+1]
    k_f = torch.fft.rfft(k, n=2 * length)                                # [H, L+1]
    y = torch.fft.irfft(u_f * k_f, n=2 * length)[..., :length]           # [B, H, L]
    return y.transpose(1, 2)                                             # [B, L, H]


def s4d_recurrence(u: Tensor, dtA: Tensor, CB: Tensor) -> Tensor:
    """The S4D convolution as a recurrence, the reference :func:`fft_causal_conv` meets.

    ``s_t = Ā s_{t-1} + u_t`` (complex, ``[B, H, N/2]``), ``y_t = 2 Re(Σ_n C_n B̄_n s_t)``,
    one step at a time; ``u: [B, L, H]`` -> ``y: [B, L, H]``.
    """
    A_bar = torch.exp(dtA)                                                 # [H, N/2]
    s = torch.zeros(u.shape[0], *A_bar.shape, dtype=A_bar.dtype, device=u.device)
    ys = []
    for u_t in u.unbind(1):                                                # [B, H]
        s = A_bar * s + u_t.unsqueeze(-1)                                  # [B, H, N/2]
        ys.append(2 * torch.einsum("bhn,hn->bh", s, CB).real)              # [B, H]
    return torch.stack(ys, dim=1)                                          # [B, L, H]


def s4d_imag_init(init: str, d_state: int) -> Tensor:
    """Imaginary parts of S4D's ``A_n`` for ``n = 0..d_state/2 - 1`` (real parts are -1/2).

    ``"lin"``: ``π n`` (frequencies spaced like a Fourier basis); ``"inv"``:
    ``N/π (N/(2n+1) - 1)`` with ``N = d_state`` (an inverse law, like S4's HiPPO-LegS).

    Examples
    --------
    >>> s4d_imag_init("lin", 6)
    tensor([0.0000, 3.1416, 6.2832])
    """
    n = torch.arange(d_state // 2, dtype=torch.float64)
    if init == "lin":
        imag = math.pi * n
    elif init == "inv":
        imag = d_state / math.pi * (d_state / (2 * n + 1) - 1)
    else:
        raise ValueError(f"init={init!r} is not one of ('lin', 'inv').")
    return imag.float()


class _S4DLayer(nn.Module):
    """One S4D layer ``[B, L, H] -> [B, L, H]`` (see the module docstring)."""

    no_weight_decay = ("log_dt", "log_A_real", "A_imag")   # as in the paper (engine reads it)

    def __init__(self, d_model: int, d_state: int, dt_min: float, dt_max: float, init: str,
                 dropout: float):
        super().__init__()
        half = d_state // 2
        log_dt = torch.rand(d_model) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)                                 # [H]
        self.log_A_real = nn.Parameter(torch.full((d_model, half), math.log(0.5)))
        self.A_imag = nn.Parameter(s4d_imag_init(init, d_state).repeat(d_model, 1))
        c = torch.randn(d_model, half, dtype=torch.complex64)              # E|c|^2 = 1
        self.C = nn.Parameter(torch.view_as_real(c).clone())               # [H, N/2, 2]
        self.D = nn.Parameter(torch.randn(d_model))                        # [H]
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(d_model, 2 * d_model)                         # GLU halves

    def discretize(self) -> tuple[Tensor, Tensor]:
        """``Δ A`` and ``C B̄`` (zero-order hold, ``B = 1``), complex ``[H, N/2]`` each."""
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)        # [H, N/2]
        dtA = A * torch.exp(self.log_dt).unsqueeze(-1)                     # [H, N/2]
        CB = torch.view_as_complex(self.C) * torch.expm1(dtA) / A          # [H, N/2]
        return dtA, CB

    def kernel(self, length: int) -> Tensor:
        """The convolution kernel ``[H, length]`` (:func:`s4d_kernel`)."""
        return s4d_kernel(*self.discretize(), length)

    def forward(self, u: Tensor, method: str = "fft") -> Tensor:          # u: [B, L, H]
        dtA, CB = self.discretize()
        if method == "fft":
            y = fft_causal_conv(u, s4d_kernel(dtA, CB, u.shape[1]))        # [B, L, H]
        elif method == "recurrence":
            y = s4d_recurrence(u, dtA, CB)                                 # [B, L, H]
        else:
            raise ValueError(f"method={method!r} is not one of {CONV_METHODS}.")
        y = self.dropout(F.gelu(y + u * self.D))                           # [B, L, H]
        return F.glu(self.out(y), dim=-1)                                  # [B, L, H]


@contract_doc
class S4D(nn.Module):
    """S4D: stacked diagonal state-space layers (Gu, Gupta, Goel and Ré, 2022), last-step readout.

    The input is projected to ``d_model`` channels; each of ``num_layers`` layers runs
    every channel through its own diagonal SSM, a long causal convolution whose kernel is
    computed in closed form and applied by FFT, then the skip ``D u``, GELU and a
    position-wise GLU layer, and adds the result back:
    ``h <- LayerNorm(h + Dropout(S4DLayer(h)))``. The last step of the top layer
    (:meth:`features`) feeds the head. The SSM is time-invariant, so unlike Mamba it cannot
    choose what to remember, but it reads the whole window at the cost of one FFT.

    Parameters
    ----------
    {contract}
    d_model : int, default=32
        Channels: each has its own SSM, and the head reads all of them at the last step.
    d_state : int, default=64
        State size N of each channel's SSM (even: N/2 complex conjugate pairs). Each pair is
        a damped oscillation; more pairs give the kernel more frequencies.
    num_layers : int, default=2
        Residual S4D layers.
    dt_min : float, default=0.001
        Smallest initial step Δ: a small step stretches the kernel over a long history.
    dt_max : float, default=0.1
        Largest initial step Δ: a large step concentrates the kernel on recent steps.
        Each channel's step is drawn log-uniformly between the two, then learned.
    init : {"lin", "inv"}, default="lin"
        Initial oscillation frequencies (imaginary parts of A): ``"lin"`` spaces them
        linearly, ``π n`` (S4D-Lin); ``"inv"`` follows an inverse law,
        ``N/π (N/(2n+1) - 1)`` (S4D-Inv). Real parts start at -1/2 in both.
    dropout : float, default=0.1
        After each layer's activation, on its output before the residual sum, and before
        the head.

    Notes
    -----
    ``features(x, method="recurrence")`` runs the SSMs step by step
    (``s4d_recurrence``) instead of the FFT convolution; both agree to rounding. As in
    the paper, ``log_dt``, ``log_A_real`` and ``A_imag`` are exempt from weight decay (named in the layer's
    ``no_weight_decay``, which the engine reads); the paper also gives
    them a smaller learning rate (0.001), which here is the face's ``lr`` default anyway.

    References
    ----------
    Gu, Gupta, Goel and Ré (2022), "On the parameterization and initialization of diagonal
    state space models", NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-121:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 60, 1)            # [B=2, W=60, F=1] returns
    >>> net = S4D(n_features=1, window=60, horizon=5, n_targets=1, output="gaussian").eval()
    >>> net(x).shape                                             # [B, H, T, (loc, scale)]
    torch.Size([2, 5, 1, 2])
    >>> net.layers[0].kernel(60).shape                           # [d_model, W] kernel
    torch.Size([32, 60])
    >>> with torch.no_grad():
    ...     torch.allclose(net.features(x), net.features(x, method="recurrence"), atol=1e-4)
    True
    """

    #: Serving formats that cannot express the net, and why (read by skfin.export).
    _export_unsupported = {"onnx": "its convolution kernel is computed in complex "
                                   "arithmetic, and ONNX has no complex tensors"}

    _parameter_constraints: dict = {
        "d_model": POSITIVE, "d_state": [integer(2)], "num_layers": POSITIVE,
        "dt_min": [real(0, None, "neither")], "dt_max": [real(0, None, "neither")],
        "init": [options("lin", "inv")], "dropout": DROPOUT,
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 d_model: int = 32, d_state: int = 64, num_layers: int = 2,
                 dt_min: float = 0.001, dt_max: float = 0.1, init: str = "lin",
                 dropout: float = 0.1):
        super().__init__()
        if d_state % 2:
            raise ValueError(
                f"S4D keeps its d_state states as d_state/2 complex conjugate pairs, so "
                f"d_state must be even; got d_state={d_state}. Use e.g. d_state="
                f"{d_state + 1}."
            )
        _check_dt("S4D", dt_min, dt_max)
        if init not in ("lin", "inv"):
            raise ValueError(f"S4D needs init='lin' or 'inv'; got init={init!r}.")
        self.embed = nn.Linear(n_features, d_model)
        self.layers = nn.ModuleList(_S4DLayer(d_model, d_state, dt_min, dt_max, init, dropout)
                                    for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, d_model, horizon, n_targets, quantiles)

    def features(self, x: Tensor, method: str = "fft") -> Tensor:         # x: [B, W, F]
        """Per-step representation ``[B, W, d_model]``; step ``s`` reads ``x[:, :s+1]`` only.

        ``method`` is ``"fft"`` (the convolution) or ``"recurrence"`` (step by step).
        """
        h = self.embed(x)                                                  # [B, W, d]
        for layer, norm in zip(self.layers, self.norms, strict=True):
            h = norm(h + self.dropout(layer(h, method)))                   # [B, W, d]
        return h

    def forward(self, x: Tensor) -> Tensor:                                # x: [B, W, F]
        z = self.features(x)[:, -1]                                        # [B, d]
        return self.head(self.dropout(z))                                  # [B, H, T, P]
