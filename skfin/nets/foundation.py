"""Foundation-style decoders: Lag-Llama and a TimesFM-like patch decoder.

* :class:`LagLlama` (Rasul et al., 2023): a decoder-only causal Transformer in the LLaMA
  layout (pre-norm RMSNorm, rotary position embeddings, SwiGLU feed-forward blocks) over
  one token per time step: the step's value, the values ``lags`` steps before it and the
  window's scaling statistics. Its multi-step distribution comes from autoregressive
  sample paths (:meth:`LagLlama.sample_paths`).
* :class:`PatchDecoder` (Das et al., 2024, TimesFM; Timer is alike): the window is cut into
  non-overlapping patches, each embedded by a residual MLP, and a causal decoder of the
  same blocks runs over the patches; the last patch's token is mapped to the output patch,
  the whole horizon, by a residual MLP and the shared head.

Both nets scale each window by its own statistics (``scaling="mean_abs"``: the mean
absolute value, Lag-Llama's mean scaler; ``"robust"``: median and interquartile range,
its robust scaler) and map the head's outputs back with the statistics of the first
``n_targets`` input channels, as :class:`skfin.nets.WindowNorm` does (the sktime face puts
``y`` first). The statistics are detached from the graph, as in RevIN.

What is hand-written and why. torch has ``nn.RMSNorm`` and ``scaled_dot_product_attention``
(used here) but no rotary embedding: :func:`rotary_embedding` is the ~10 lines of Su et al.
(2021) in LLaMA's "rotate half" layout. The quantiles behind ``scaling="robust"`` are taken
from a sort with linear interpolation (:func:`window_scale`), which matches
``torch.quantile`` and, unlike it, exports to ONNX. Lag features and patching are a few
tensor shifts and reshapes. Neither the reference code of Lag-Llama (github.com/time-series-
foundation-models/lag-llama, built on GluonTS) nor TimesFM's (JAX/PaxML) can be imported as
plain torch modules on skfin's tensor contract.

References
----------
Rasul et al. (2023), "Lag-Llama: towards foundation models for probabilistic time series
forecasting", arXiv:2310.08278.
Das, Kong, Sen and Zhou (2024), "A decoder-only foundation model for time-series
forecasting", ICML, arXiv:2310.10688.
Su, Lu, Pan, Murtadha, Wen and Liu (2021), "RoFormer: enhanced Transformer with rotary
position embedding", arXiv:2104.09864.
Touvron et al. (2023), "LLaMA: open and efficient foundation language models",
arXiv:2302.13971.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.special import stdtrit
from torch import Tensor, nn
from torch.nn import functional as F

from skfin.nets._params import DROPOUT, POSITIVE, contract_doc, integer, options
from skfin.nets.attention import _check_heads
from skfin.nets.convolutional import _check_positive
from skfin.nets.covariates import check_covariates, shift_and_gain
from skfin.nets.heads import head_class, make_head

__all__ = ["LagLlama", "PatchDecoder", "FINANCE_LAGS", "lag_features", "rotary_embedding",
           "window_scale"]

#: Lag-Llama's default lags for daily market data: the last trading week day by day, two
#: weeks, a month, a quarter, half a year and a year (21, 63, 126, 252 trading days).
FINANCE_LAGS = (1, 2, 3, 4, 5, 10, 21, 63, 126, 252)

_EPS = 1e-5


# --------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------
def window_scale(x: Tensor, scaling: str | None) -> tuple[Tensor, Tensor]:
    """Each window's per-channel location and scale, ``[B, C]`` each, detached.

    ``"mean_abs"``: location 0 and the mean absolute value; ``"robust"``: the median and
    the interquartile range (linear interpolation, as ``torch.quantile``); None: 0 and 1.
    A scale below ``1e-5`` (a flat window) becomes 1, so the scaled window stays finite.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].to_numpy()[-41:]
    >>> r = torch.tensor(100 * np.diff(np.log(close)), dtype=torch.float32).view(2, 20, 1)
    >>> loc, scale = window_scale(r, "robust")
    >>> q = torch.quantile(r, torch.tensor([0.25, 0.5, 0.75]), dim=1)        # [3, B, C]
    >>> torch.allclose(loc, q[1]), torch.allclose(scale, q[2] - q[0])
    (True, True)
    """
    x = x.detach()
    zeros = torch.zeros_like(x[:, 0])
    if scaling is None:
        return zeros, torch.ones_like(zeros)
    if scaling == "mean_abs":
        loc, scale = zeros, x.abs().mean(dim=1)
    else:
        ordered = x.sort(dim=1).values                                 # [B, W, C]
        last = x.shape[1] - 1

        def quantile(q: float) -> Tensor:                              # [B, C]
            pos = q * last
            lo = int(np.floor(pos))
            hi = min(lo + 1, last)
            return ordered[:, lo] + (pos - lo) * (ordered[:, hi] - ordered[:, lo])

        loc, scale = quantile(0.5), quantile(0.75) - quantile(0.25)
    return loc, torch.where(scale > _EPS, scale, torch.ones_like(scale))


def lag_features(z: Tensor, lags: Sequence[int]) -> tuple[Tensor, Tensor]:
    """The value ``lag`` steps before each step of each window, and whether it is inside it.

    Parameters
    ----------
    z : Tensor
        Windows ``[B, W, C]``.
    lags : sequence of int
        Positive lags, each shorter than ``W``.

    Returns
    -------
    values : Tensor
        ``[B, W, C, len(lags)]``: ``values[:, t, c, i] = z[:, t - lags[i], c]``, 0 where
        ``t - lags[i] < 0`` (before the window starts).
    observed : Tensor
        ``[W, len(lags)]``: 1 where the lagged value lies inside the window, else 0.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> z = torch.tensor(load_sp500()["Close"].to_numpy()[-6:], dtype=torch.float32).view(1, 6, 1)
    >>> values, observed = lag_features(z, [1, 5])
    >>> values[0, 5, 0].tolist() == [z[0, 4, 0].item(), z[0, 0, 0].item()]
    True
    >>> observed[:, 1].tolist()                 # lag 5 reaches inside from step 5 on
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    steps = z.shape[1]
    values = torch.stack([F.pad(z, (0, 0, lag, 0))[:, :steps] for lag in lags], dim=-1)
    position = torch.arange(steps, device=z.device)[:, None]                      # [W, 1]
    lag = torch.as_tensor(list(lags), device=z.device)[None]                      # [1, L]
    return values, (position >= lag).to(z.dtype)


def rotary_embedding(x: Tensor, base: float = 10000.0) -> Tensor:
    """Rotary position embedding (Su et al., 2021) of ``x: [..., L, d]`` (``d`` even).

    Feature pairs ``(x_i, x_{i + d/2})`` of position ``m`` are rotated by the angle
    ``m * base^(-2i/d)`` (LLaMA's "rotate half" layout), so the dot product of a rotated
    query at ``m`` and a rotated key at ``n`` depends on ``m - n`` only.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-8:], dtype=torch.float64)
    >>> q = close.view(1, 8).expand(6, 8)               # one vector at positions 0..5
    >>> r = rotary_embedding(q)
    >>> bool(torch.isclose(r[1] @ r[3], r[2] @ r[4]))   # same offset, same dot product
    True
    """
    steps, d = x.shape[-2], x.shape[-1]
    freq = base ** (-torch.arange(0, d, 2, device=x.device, dtype=torch.float64) / d)
    angle = torch.arange(steps, device=x.device, dtype=torch.float64)[:, None] * freq  # [L, d/2]
    angle = torch.cat([angle, angle], dim=-1)                                        # [L, d]
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class _CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with rotary positions on queries and keys."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)

    def forward(self, h: Tensor) -> Tensor:                          # h: [B, L, d]
        B, L, d = h.shape
        q, k, v = (t.view(B, L, self.n_heads, -1).transpose(1, 2)    # [B, heads, L, d/heads]
                   for t in self.qkv(h).chunk(3, dim=-1))
        a = F.scaled_dot_product_attention(rotary_embedding(q), rotary_embedding(k), v,
                                           is_causal=True)           # [B, heads, L, d/heads]
        return self.out(a.transpose(1, 2).reshape(B, L, d))          # [B, L, d]


class _DecoderBlock(nn.Module):
    """LLaMA's block: ``h + attn(RMSNorm(h))``, then ``h + SwiGLU(RMSNorm(h))``."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float):
        super().__init__()
        self.attn_norm = nn.RMSNorm(d_model)
        self.attn = _CausalSelfAttention(d_model, n_heads)
        self.mlp_norm = nn.RMSNorm(d_model)
        self.gate = nn.Linear(d_model, dim_feedforward, bias=False)
        self.up = nn.Linear(d_model, dim_feedforward, bias=False)
        self.down = nn.Linear(dim_feedforward, d_model, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:                           # h: [B, L, d]
        h = h + self.dropout(self.attn(self.attn_norm(h)))
        g = self.mlp_norm(h)
        return h + self.dropout(self.down(F.silu(self.gate(g)) * self.up(g)))


class _Decoder(nn.Module):
    """A stack of decoder blocks and a final RMSNorm."""

    def __init__(self, d_model: int, n_heads: int, num_layers: int, dim_feedforward: int,
                 dropout: float, owner: str):
        super().__init__()
        _check_heads(owner, d_model, n_heads)
        if (d_model // n_heads) % 2:
            raise ValueError(
                f"{owner} rotates pairs of each attention head's dimensions, so "
                f"d_model / n_heads must be even; got d_model={d_model}, n_heads={n_heads}. "
                f"Use e.g. d_model={2 * n_heads * max(1, round(d_model / (2 * n_heads)))}.")
        self.blocks = nn.ModuleList(_DecoderBlock(d_model, n_heads, dim_feedforward, dropout)
                                    for _ in range(num_layers))
        self.norm = nn.RMSNorm(d_model)

    def forward(self, h: Tensor) -> Tensor:                           # h: [B, L, d]
        for block in self.blocks:
            h = block(h)
        return self.norm(h)


class _ResidualMLP(nn.Module):
    """TimesFM's residual block: ``Linear(silu(Linear(x))) + Linear(x)``, then dropout."""

    def __init__(self, in_features: int, hidden: int, out_features: int, dropout: float):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.output = nn.Linear(hidden, out_features)
        self.skip = nn.Linear(in_features, out_features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.output(F.silu(self.hidden(x))) + self.skip(x))


def _check_scaling(owner: str, scaling, n_features: int, n_targets: int) -> None:
    if scaling not in ("mean_abs", "robust", None):
        raise ValueError(f"{owner} needs scaling='mean_abs', 'robust' or None; got {scaling!r}.")
    if scaling is not None and n_targets > n_features:
        raise ValueError(
            f"{owner} maps its outputs back with the scaling statistics of the first "
            f"n_targets={n_targets} input channels, but the windows have only "
            f"n_features={n_features}. Make the targets input channels, or set scaling=None.")


_COMMON_DOC = """\
    d_model : int, default=32
        Width of the decoder; ``d_model / n_heads`` must be even (rotary pairs).
    n_heads : int, default=4
        Attention heads per block.
    num_layers : int, default=2
        Decoder blocks (causal self-attention and a SwiGLU feed-forward block, each after
        an RMSNorm and with a residual connection).
    dim_feedforward : int, default=64
        Hidden width of each feed-forward block.
    dropout : float, default=0.1
        On each block's residual branches.
    scaling : {"mean_abs", "robust"} or None, default=None
        Per-window scaling of every input channel: by the mean absolute value, or by the
        median and the interquartile range (Lag-Llama's choice, for series of different
        scales in one model); the head's outputs are mapped back with the first
        ``n_targets`` channels' statistics, so those must be the targets' own past. None
        (default): no scaling; the faces already standardise (the forecaster by the fit's
        mean and deviation), and on the sklearn face the first column of ``X`` need not
        be the target."""


# --------------------------------------------------------------------------------------
# Lag-Llama
# --------------------------------------------------------------------------------------
@contract_doc(common=_COMMON_DOC)
class LagLlama(nn.Module):
    """Lag-Llama (Rasul et al., 2023): a causal decoder over value-and-lag tokens.

    1. Scaling: each channel of each window is scaled by its own statistics (``scaling``).
    2. Tokens, one per step ``t``: the scaled values of every channel at ``t``; the
       targets' (the first ``n_targets`` channels') values at ``t - lag`` for each of
       ``lags`` (0 before the window starts, with a 0/1 indicator per lag saying whether
       the lagged value lies inside the window); the targets' location and
       ``log(scale)`` (Lag-Llama's summary statistics); the static covariates, if any;
       projected to ``d_model``. Other channels (covariates, such as the calendar
       features the faces build with ``calendar=True``) join with their current value
       only.
    3. ``num_layers`` LLaMA blocks with causal attention and rotary positions, a final
       RMSNorm; the last token feeds the shared head, which forecasts every horizon step
       at once (how the engine trains it), mapped back to the targets' units.
    4. Known-future covariates (``n_future``: the calendar of the days ahead, say): for
       each step ``k`` ahead, a small MLP reads the last token and ``x_future[:, k]`` and
       shifts and scales that step's head parameters
       (the shift and gain of :class:`skfin.nets.Covariates`; zero at initialisation), so step
       ``k`` reads the covariates of its own day only.
    5. Sampling (``sample_paths``): one step at a time, a value is drawn from the
       head's step-1 distribution and appended to the window, which slides on by a step;
       the appended row's covariates are the known-future ones of that day.
       The engine's ``predict_quantiles`` / ``predict_interval`` take the quantiles of
       ``n_paths`` such paths when the paths are defined (see ``n_paths``); ``predict``
       stays the head's direct forecast.

    Parameters
    ----------
    {contract}
    lags : sequence of int or None, default=None
        Lags (in steps) whose values join each token. None: ``FINANCE_LAGS``
        (1-5, 10, 21, 63, 126 and 252 trading days) shorter than ``window``; lags that
        reach beyond the window would be zero at every step, so they are left out (with
        ``window=32``: 1, 2, 3, 4, 5, 10 and 21). Given lags must be distinct, positive
        and shorter than ``window``.
    {common}
    n_future : int, default=0
        Known-future covariates ``x_future: [B, horizon, n_future]``: the values, on the
        days ahead, of the last ``n_future`` input channels (the faces pass every known
        column of ``X`` there, the calendar included).
    n_static : int, default=0
        Static covariates ``x_static: [B, n_static]``, joined to every token.
    n_paths : int, default=100
        Autoregressive sample paths behind predictive quantiles; 0 turns sampling off.
        Paths are drawn only where they are defined: a "gaussian" or "student_t" head,
        ``horizon > 1`` (one step ahead, the head's own quantiles are exact) and every
        input channel a target or known ahead (``n_features == n_targets + n_future``: the
        sktime face without ``X``, or with the calendar and known-future ``X`` only; on
        the sklearn face, a single column of ``X`` that must be the target's own past,
        else set 0), since other channels' future values are unknown. Elsewhere
        the head's own quantiles are used (and with ``uncertainty="mc_dropout"``, the
        dropout mixture). Paths cost ``horizon`` forward passes of ``n_paths`` windows
        per forecast.

    Notes
    -----
    Differences from the paper: the calendar features (GluonTS' encodings, as in the
    paper) are read from the index by the faces (``calendar=True``,
    :func:`skfin.calendars.calendar_features`) and reach the net as covariate channels
    and ``x_future``, so the net itself stays on the tensor contract; the scaling
    statistics come from the whole window, so the
    decoder is causal over tokens given them (as in the reference code, which scales by
    the context); the head forecasts the horizon directly from the last token in training
    (skfin's contract), where the paper trains one-step-ahead at every token; no
    pretraining (no weights are shipped).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-65:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 32, 1)          # [B=2, W=32, F=1]
    >>> net = LagLlama(n_features=1, window=32, horizon=5, n_targets=1, output="student_t")
    >>> net.lags
    (1, 2, 3, 4, 5, 10, 21)
    >>> params = net(x)                                         # loc, scale, df
    >>> params.shape, bool((params[..., 2] > 2).all())
    (torch.Size([2, 5, 1, 3]), True)
    >>> paths = net.eval().sample_paths(x, 50, torch.Generator().manual_seed(0))
    >>> paths.shape                                             # [paths, B, H, T]
    torch.Size([50, 2, 5, 1])
    """

    _parameter_constraints: dict = {
        "lags": [tuple, list, None], "d_model": POSITIVE, "n_heads": POSITIVE,
        "num_layers": POSITIVE, "dim_feedforward": POSITIVE, "dropout": DROPOUT,
        "scaling": [options("mean_abs", "robust"), None], "n_paths": [integer(0)],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "student_t", quantiles: Sequence[float] | None = None,
                 lags: Sequence[int] | None = None, d_model: int = 32, n_heads: int = 4,
                 num_layers: int = 2, dim_feedforward: int = 64, dropout: float = 0.1,
                 scaling: str | None = None, n_future: int = 0, n_static: int = 0,
                 n_paths: int = 100):
        super().__init__()
        _check_positive("LagLlama", d_model=d_model, n_heads=n_heads, num_layers=num_layers,
                        dim_feedforward=dim_feedforward)
        _check_scaling("LagLlama", scaling, n_features, n_targets)
        if lags is None:
            lags = tuple(lag for lag in FINANCE_LAGS if lag < window)
        lags = tuple(int(lag) for lag in lags)
        if not lags or len(set(lags)) != len(lags) or min(lags) < 1 or max(lags) >= window:
            raise ValueError(
                f"LagLlama needs distinct lags from 1 to window - 1 = {window - 1} (a lag of "
                f"window or more would reach before every window starts); got lags={lags!r} "
                f"with window={window}. Use a longer window or shorter lags, or lags=None "
                "for the trading-day lags that fit the window.")
        if not 0 <= n_future <= n_features - n_targets:
            raise ValueError(
                f"LagLlama reads the known-future covariates x_future as the values ahead of "
                f"its last n_future input channels, which must not be targets: n_future="
                f"{n_future} with n_features={n_features} and n_targets={n_targets}.")
        self.lags, self.scaling, self.n_paths = lags, scaling, n_paths
        self.output, self.horizon, self.n_targets = output, horizon, n_targets
        self.n_future, self.n_static = n_future, n_static
        self.draws_paths = bool(n_paths > 0 and output in ("gaussian", "student_t")
                                and horizon > 1 and n_features == n_targets + n_future)
        token = n_features + n_targets * (len(lags) + 2) + len(lags) + n_static
        self.embed = nn.Linear(token, d_model)
        self.decoder = _Decoder(d_model, n_heads, num_layers, dim_feedforward, dropout,
                                "LagLlama")
        self.head = make_head(output, d_model, horizon, n_targets, quantiles)
        if n_future:
            self.future = nn.Sequential(nn.Linear(d_model + n_future, d_model), nn.GELU(),
                                        nn.Linear(d_model, 2 * n_targets))
            nn.init.zeros_(self.future[-1].weight)
            nn.init.zeros_(self.future[-1].bias)

    def tokens(self, z: Tensor, loc: Tensor, scale: Tensor,
               x_static: Tensor | None = None) -> Tensor:             # z: [B, W, F] scaled
        """The tokens ``[B, W, token]`` of scaled windows and their statistics ``[B, F]``."""
        B, W, _ = z.shape
        T = self.n_targets
        values, observed = lag_features(z[..., :T], self.lags)       # [B, W, T, L], [W, L]
        stats = torch.cat([loc[:, :T], scale[:, :T].log()], dim=-1)   # [B, 2T]
        if self.n_static:
            stats = torch.cat([stats, x_static], dim=-1)              # [B, 2T + S]
        return torch.cat([z, values.flatten(2), observed.expand(B, W, -1),
                          stats[:, None].expand(B, W, -1)], dim=-1)   # [B, W, token]

    def features(self, x: Tensor, x_static: Tensor | None = None) -> Tensor:  # x: [B, W, F]
        """Per-step encodings of the top block, ``[B, W, d_model]``."""
        check_covariates(self, x_static=x_static)
        loc, scale = window_scale(x, self.scaling)                    # [B, F] each
        z = (x - loc[:, None]) / scale[:, None]                       # [B, W, F]
        return self.decoder(self.embed(self.tokens(z, loc, scale, x_static)))  # [B, W, d]

    def forward(self, x: Tensor, x_future: Tensor | None = None,
                x_static: Tensor | None = None) -> Tensor:             # x: [B, W, F]
        check_covariates(self, x_future=x_future)
        loc, scale = window_scale(x, self.scaling)
        last = self.features(x, x_static)[:, -1]                      # [B, d]
        params = self.head(last)                                      # [B, H, T, P]
        if self.n_future:
            steps = torch.cat([last[:, None].expand(-1, self.horizon, -1), x_future], -1)
            effect = self.future(steps).view(*params.shape[:3], 2)    # [B, H, T, 2]
            params = shift_and_gain(self.output, params, effect)
        if self.scaling is None:
            return params
        T = self.n_targets
        return head_class(self.output).denormalise(params, loc[:, :T], scale[:, :T])

    @torch.no_grad()
    def sample_paths(self, x: Tensor, n_paths: int, generator: torch.Generator,
                     x_future: Tensor | None = None,
                     x_static: Tensor | None = None) -> Tensor:
        """Autoregressive sample paths ``[n_paths, B, horizon, n_targets]`` from windows ``x``.

        Step by step, each path's next values are drawn by inverse-CDF sampling (uniforms
        from ``generator``, on ``x``'s device) from the head's step-1 distribution given
        the path's latest ``window`` values, then appended to them, with that day's
        known-future covariates (``x_future``) in the other channels. Needs a "gaussian"
        or "student_t" head and ``n_features == n_targets + n_future`` (the paths extend
        every channel).
        """
        T, K = self.n_targets, self.n_future
        if self.output not in ("gaussian", "student_t") or x.shape[-1] != T + K:
            raise ValueError(
                f"LagLlama draws sample paths from a 'gaussian' or 'student_t' head over "
                f"windows whose channels are all targets or known ahead; this one has "
                f"output={self.output!r}, {x.shape[-1]} channel(s), n_targets={T} and "
                f"n_future={K}.")
        check_covariates(self, x_future=x_future, x_static=x_static)
        B = x.shape[0]
        window = x.repeat(n_paths, 1, 1)                              # [S*B, W, T + K]
        future = None if not K else x_future.repeat(n_paths, 1, 1)    # [S*B, H, K]
        static = None if x_static is None else x_static.repeat(n_paths, 1)
        steps = []
        for h in range(self.horizon):
            # the days after the window's end; only the first one moves step 1, the
            # repeated last row only keeps x_future's shape
            ahead = None if not K else torch.cat(
                [future[:, h:], future[:, -1:].expand(-1, h, -1)], dim=1)
            params = self(window, ahead, static)[:, 0]                # [S*B, T, P]
            u = torch.rand(params.shape[:-1], generator=generator, device=x.device,
                           dtype=torch.float64).clamp(1e-9, 1 - 1e-9)
            value = _inverse_cdf(self.output, params, u).to(x.dtype)  # [S*B, T]
            steps.append(value)
            row = value if not K else torch.cat([value, future[:, h]], dim=-1)
            window = torch.cat([window[:, 1:], row[:, None]], dim=1)
        return torch.stack(steps, dim=1).view(n_paths, B, self.horizon, T)


def _inverse_cdf(output: str, params: Tensor, u: Tensor) -> Tensor:
    """Values of the head's distribution ``params: [..., P]`` at probabilities ``u: [...]``."""
    if output == "gaussian":
        z = torch.special.ndtri(u)
    else:   # the Student-t quantile function has no torch implementation (see heads.py)
        df = params[..., 2].double().cpu().numpy()
        z = torch.as_tensor(stdtrit(df, u.cpu().numpy()), device=params.device)
    return params[..., 0] + params[..., 1] * z.to(params.dtype)


# --------------------------------------------------------------------------------------
# Patch decoder
# --------------------------------------------------------------------------------------
@contract_doc(common=_COMMON_DOC)
class PatchDecoder(nn.Module):
    """Decoder-only patch Transformer (TimesFM, Das et al., 2024; Timer-like).

    1. Scaling: each channel of each window is scaled by its own statistics (``scaling``).
    2. Patches: the window is left-padded with zeros to a multiple of ``patch_len`` and cut
       into non-overlapping patches; each patch (all channels) and its padding mask (1 for
       an observed step, 0 for padding, as in TimesFM) is embedded by a residual MLP.
    3. A causal decoder of LLaMA blocks (RMSNorm, rotary positions, SwiGLU) over the patch
       tokens: each patch's encoding reads only the patches up to it.
    4. Output patch: the last patch's token is mapped by a residual MLP and the shared head
       to the whole horizon (the output patch is longer than an input patch when
       ``horizon > patch_len``, as in TimesFM), then back to the targets' units.

    Parameters
    ----------
    {contract}
    patch_len : int, default=4
        Steps per input patch; at most ``window``. A window that is not a multiple is
        left-padded (masked), so ``window=30, patch_len=8`` reads 4 patches.
    {common}

    Notes
    -----
    Differences from TimesFM: no pretraining (no weights are shipped); the output patch is
    the horizon, read from the last token only, where TimesFM trains every token to
    forecast the next output patch (skfin's contract trains on the horizon after the
    window); rotary positions instead of sinusoidal ones; a distribution head instead of
    TimesFM's mean-and-quantile outputs (``output="quantile"`` gives quantiles).

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-61:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(2, 30, 1)          # [B=2, W=30, F=1]
    >>> net = PatchDecoder(n_features=1, window=30, horizon=10, n_targets=1, patch_len=8)
    >>> net.n_patches, net(x).shape                             # 2 padded steps + 30
    (4, torch.Size([2, 10, 1, 1]))
    """

    _parameter_constraints: dict = {
        "patch_len": POSITIVE, "d_model": POSITIVE, "n_heads": POSITIVE,
        "num_layers": POSITIVE, "dim_feedforward": POSITIVE, "dropout": DROPOUT,
        "scaling": [options("mean_abs", "robust"), None],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 patch_len: int = 4, d_model: int = 32, n_heads: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 64, dropout: float = 0.1,
                 scaling: str | None = None):
        super().__init__()
        _check_positive("PatchDecoder", patch_len=patch_len, d_model=d_model, n_heads=n_heads,
                        num_layers=num_layers, dim_feedforward=dim_feedforward)
        _check_scaling("PatchDecoder", scaling, n_features, n_targets)
        if patch_len > window:
            raise ValueError(
                f"PatchDecoder needs window >= patch_len; got window={window}, "
                f"patch_len={patch_len}. Use a longer window or a shorter patch_len.")
        self.patch_len, self.scaling = patch_len, scaling
        self.output, self.n_targets = output, n_targets
        self.pad = -window % patch_len
        self.n_patches = (window + self.pad) // patch_len
        self.embed = _ResidualMLP(patch_len * (n_features + 1), dim_feedforward, d_model,
                                  dropout)
        self.decoder = _Decoder(d_model, n_heads, num_layers, dim_feedforward, dropout,
                                "PatchDecoder")
        self.output_patch = _ResidualMLP(d_model, dim_feedforward, d_model, dropout)
        self.head = make_head(output, d_model, horizon, n_targets, quantiles)

    def features(self, x: Tensor) -> Tensor:                          # x: [B, W, F]
        """Per-patch encodings of the top block, ``[B, n_patches, d_model]``."""
        B = x.shape[0]
        loc, scale = window_scale(x, self.scaling)                    # [B, F] each
        z = (x - loc[:, None]) / scale[:, None]                       # [B, W, F]
        observed = torch.ones_like(z[..., :1])                        # [B, W, 1]
        z = F.pad(torch.cat([z, observed], dim=-1), (0, 0, self.pad, 0))   # [B, N*P, F+1]
        patches = z.reshape(B, self.n_patches, -1)                    # [B, N, P*(F+1)]
        return self.decoder(self.embed(patches))                      # [B, N, d]

    def forward(self, x: Tensor) -> Tensor:                           # x: [B, W, F]
        params = self.head(self.output_patch(self.features(x)[:, -1]))   # [B, H, T, P]
        if self.scaling is None:
            return params
        loc, scale = window_scale(x, self.scaling)
        T = self.n_targets
        return head_class(self.output).denormalise(params, loc[:, :T], scale[:, :T])
