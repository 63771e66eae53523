"""Temporal Fusion Transformer (Lim et al., 2021): interpretable multi-horizon forecasting.

The net reads three kinds of input, all real-valued:

* the past window ``x: [B, window, n_features]`` (observed values and the past of the
  known covariates);
* known-future covariates ``x_future: [B, horizon, n_future]`` (calendar features, planned
  events: values known in advance for every forecast step);
* static covariates ``x_static: [B, n_static]`` (one value per series).

and follows the paper block by block::

    scalar inputs --per-variable linear embedding--> [.., n_vars, d]
    static VSN -> zeta --4 GRN encoders--> c_s (selection), c_e (enrichment), c_h, c_c (LSTM state)
    past VSN(c_s) -> LSTM encoder (initial state c_h, c_c)
    future VSN(c_s) -> LSTM decoder (continues the encoder's state)
    gated skip: LayerNorm(VSN output + GLU(LSTM output))               "temporal features"
    static enrichment GRN(temporal features, c_e)
    interpretable multi-head attention, causal mask over past + future steps
    gated skip: LayerNorm(enriched + GLU(attention))
    position-wise GRN, then gated skip to the temporal features (no dropout)
    shared per-step head: [B, horizon, d] -> [B, horizon, n_targets, n_params]

Building blocks (paper, section 4.1): the gated linear unit
``GLU(g) = sigmoid(W_4 g + b_4) * (W_5 g + b_5)``; the gated residual network
``GRN(a, c) = LayerNorm(a + GLU(W_1 ELU(W_2 a + W_3 c + b_2) + b_1))`` (a linear skip
projection of ``a`` where the output size differs); the variable selection network, which
gives each variable its own GRN and weighs the results by
``softmax(GRN_v(flattened embeddings, c_s))``, so the weights of every step sum to 1.
Interpretable multi-head attention has one query and one key projection per head but ONE
value projection shared by all heads, and averages the heads, so that the head-averaged
attention weights are exactly the weights applied to one set of values.

What this implementation decides where the paper leaves a choice, and why:

* **Real-valued inputs only.** Every scalar variable is embedded by its own linear map to
  ``hidden_size`` (the paper's transformation of continuous inputs); categorical
  embeddings are left to the caller (one-hot or target-encode first).
* **No static covariates** (``n_static=0``, the default, and always on the sklearn face):
  the static embedding ``zeta`` is a learned vector, so the four contexts are learned
  constants (the LSTM starts from a learned state); ``explain`` has no static weights.
* **No known-future covariates** (``n_future=0``): the decoder LSTM runs on learned
  position embeddings, one per horizon step, in place of the future variable-selection
  output; ``explain`` has no future weights. They start N(0, 1) like ``nn.Embedding``
  (the scale of a layer-normalised selection output): a near-zero start left the net
  predicting the batch mean for 2-4 times as many steps before it began to fit.
* **Queries from the forecast steps only.** The paper runs masked self-attention over all
  ``window + horizon`` steps and then reads out the forecast steps; here only the forecast
  steps query (keys and values are all steps), which gives the same forecast-step outputs
  at a fraction of the cost (as pytorch-forecasting does). The causal mask lets forecast
  step ``i`` (position ``window + i``) attend to positions ``<= window + i``, itself
  included, as in the reference implementation (``cumsum`` of an identity mask).
* **Variable-selection weights** come from a GRN with ``min(hidden_size, n_vars)`` hidden
  units (pytorch-forecasting's choice; google-research/tft uses ``hidden_size``): on
  scikit-learn's 128-row regression check (10 features, 9 of them noise, window 32) the
  narrower weight network reached R^2 > 0.5 for 4 to 5 of 6 seeds, the wider one for 3
  of 6; the wider one fits the noise features of the window.
* **Attention width** per head is ``max(1, hidden_size // n_heads)`` (the paper's
  ``d_model / m_H``).
* **Output.** The paper's linear quantile layer is replaced by skfin's shared heads applied
  per step (``make_head(..., per_step=True)``), so quantiles never cross.

Hand-written, not imported: pytorch-forecasting's and darts' TFTs are bound to their own
data sets and Lightning training loops and cannot run on skfin's tensor contract, so the
blocks are written here in plain torch after the paper and cross-checked against
google-research/tft and pytorch-forecasting.

References
----------
Lim, Arik, Loeff and Pfister (2021), "Temporal Fusion Transformers for interpretable
multi-horizon time series forecasting", International Journal of Forecasting 37(4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin.nets._params import DROPOUT, POSITIVE
from skfin.nets.covariates import check_covariates
from skfin.nets.heads import make_head
from skfin.nets.recurrent import init_rnn_weights

__all__ = ["TFT", "GatedResidualNetwork", "VariableSelectionNetwork",
           "InterpretableMultiHeadAttention"]


# -- building blocks ----------------------------------------------------------------------
class _GroupedLinear(nn.Module):
    """``groups`` independent linear maps on group-first input: ``x[g] @ W_g + b_g``.

    One batched matmul replaces a loop over per-variable layers (the group-first layout
    ``[G, N, in]`` needs no transposes); initialised like ``nn.Linear``.
    """

    def __init__(self, groups: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(groups, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:                        # x: [G, N, in]
        return torch.baddbmm(self.bias, x, self.weight)             # [G, N, out]


class _GroupedLayerNorm(nn.Module):
    """Layer normalisation over the last axis with its own gain and bias per group."""

    def __init__(self, groups: int, size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(groups, 1, size))
        self.bias = nn.Parameter(torch.zeros(groups, 1, size))

    def forward(self, x: Tensor) -> Tensor:                        # x: [G, N, d]
        return torch.addcmul(self.bias, F.layer_norm(x, x.shape[-1:]), self.weight)


def _linear(in_features: int, out_features: int, groups: int | None):
    if groups is None:
        return nn.Linear(in_features, out_features)
    return _GroupedLinear(groups, in_features, out_features)


class _GLU(nn.Module):
    """Gated linear unit with dropout on its input: ``sigmoid(W_4 g) * (W_5 g)``."""

    def __init__(self, in_features: int, out_features: int, dropout: float,
                 groups: int | None = None):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = _linear(in_features, 2 * out_features, groups)  # values and gates at once

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(self.proj(self.dropout(x)), dim=-1)          # values * sigmoid(gates)


class _GateAddNorm(nn.Module):
    """The paper's gated skip connection: ``LayerNorm(skip + GLU(x))``."""

    def __init__(self, size: int, dropout: float):
        super().__init__()
        self.glu = _GLU(size, size, dropout)
        self.norm = nn.LayerNorm(size)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.norm(skip + self.glu(x))


class GatedResidualNetwork(nn.Module):
    """Gated residual network, ``LayerNorm(a + GLU(W_1 ELU(W_2 a + W_3 c + b_2) + b_1))``.

    Parameters
    ----------
    in_features, hidden_size, out_features : int
        Sizes of ``a``, of the hidden layer and of the output. Where ``in_features`` and
        ``out_features`` differ, the skip path is a linear projection of ``a``.
    dropout : float
        Dropout before the GLU.
    context_size : int, default=None
        Size of the optional context ``c`` (added through ``W_3``, without bias).
    groups : int, default=None
        Run ``groups`` independent GRNs at once on group-first input
        ``[groups, N, in_features]`` (one per input variable in a variable selection
        network). No context then.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> vix = torch.tensor(load_vix().ffill().to_numpy()[-8:], dtype=torch.float32)
    >>> grn = GatedResidualNetwork(1, 4, 4, dropout=0.0)
    >>> grn(vix.log().view(8, 1)).shape
    torch.Size([8, 4])
    """

    def __init__(self, in_features: int, hidden_size: int, out_features: int, dropout: float,
                 context_size: int | None = None, groups: int | None = None):
        super().__init__()
        if groups is not None and context_size is not None:
            raise ValueError("A grouped GatedResidualNetwork takes no context; pass "
                             "groups or context_size, not both.")
        self.skip = (None if in_features == out_features
                     else _linear(in_features, out_features, groups))
        self.fc2 = _linear(in_features, hidden_size, groups)                # W_2, b_2
        self.context = (None if context_size is None
                        else nn.Linear(context_size, hidden_size, bias=False))  # W_3
        self.fc1 = _linear(hidden_size, hidden_size, groups)                # W_1, b_1
        self.glu = _GLU(hidden_size, out_features, dropout, groups)
        self.norm = (nn.LayerNorm(out_features) if groups is None
                     else _GroupedLayerNorm(groups, out_features))

    def forward(self, a: Tensor, context: Tensor | None = None) -> Tensor:
        skip = a if self.skip is None else self.skip(a)
        h = self.fc2(a)
        if self.context is not None and context is not None:
            h = h + self.context(context)                # context broadcasts over time
        h = self.fc1(F.elu(h))
        return self.norm(skip + self.glu(h))


class VariableSelectionNetwork(nn.Module):
    """Embeds each scalar variable, transforms it by its own GRN and weighs the variables.

    ``xi_j = w_j x_j + b_j`` (a linear embedding of size ``hidden_size`` per variable),
    ``v = softmax(GRN_v([xi_1, ..., xi_m], c))`` and the output is
    ``sum_j v_j GRN_j(xi_j)``. The weight network ``GRN_v`` has ``min(hidden_size, m)``
    hidden units (as in pytorch-forecasting): it maps ``m * hidden_size`` inputs to ``m``
    weights, and a narrower hidden layer overfits less on short samples. With a single
    variable the weight is 1 and no weight network is built.

    Parameters
    ----------
    n_vars : int
        Scalar variables on the last axis of the input.
    hidden_size : int
    dropout : float
    context_size : int, default=None
        Size of the static context ``c_s`` that conditions the weights.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> ohlc = load_sp500()[["Open", "High", "Low", "Close"]].to_numpy()[-6:]
    >>> x = torch.tensor(ohlc / ohlc.mean(), dtype=torch.float32).view(2, 3, 4)  # [B, T, vars]
    >>> out, weights = VariableSelectionNetwork(4, hidden_size=8, dropout=0.0)(x)
    >>> out.shape, weights.shape, bool(weights.sum(-1).allclose(torch.ones(2, 3)))
    (torch.Size([2, 3, 8]), torch.Size([2, 3, 4]), True)
    """

    def __init__(self, n_vars: int, hidden_size: int, dropout: float,
                 context_size: int | None = None):
        super().__init__()
        self.embed_weight = nn.Parameter(torch.empty(n_vars, hidden_size).uniform_(-1, 1))
        self.embed_bias = nn.Parameter(torch.empty(n_vars, hidden_size).uniform_(-1, 1))
        self.variable_grns = GatedResidualNetwork(hidden_size, hidden_size, hidden_size,
                                                  dropout, groups=n_vars)
        self.weight_grn = (None if n_vars == 1 else GatedResidualNetwork(
            n_vars * hidden_size, min(hidden_size, n_vars), n_vars, dropout,
            context_size=context_size))

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        lead, V = x.shape[:-1], x.shape[-1]                          # x: [..., V]
        flat = x.reshape(-1, V).T.unsqueeze(-1)                      # [V, N, 1], N = prod(lead)
        xi = torch.addcmul(self.embed_bias.unsqueeze(1), flat,
                           self.embed_weight.unsqueeze(1))           # [V, N, d] group-first
        processed = self.variable_grns(xi)                           # [V, N, d]
        if self.weight_grn is None:
            weights = torch.ones_like(x)                             # [..., 1]
        else:
            joint = xi.transpose(0, 1).reshape(*lead, -1)            # [..., V*d]
            weights = torch.softmax(self.weight_grn(joint, context), dim=-1)   # [..., V]
        combined = (weights.reshape(-1, V).T.unsqueeze(-1) * processed).sum(0)   # [N, d]
        return combined.view(*lead, -1), weights                     # [..., d], [..., V]


class InterpretableMultiHeadAttention(nn.Module):
    """Multi-head attention with one value projection shared by all heads, heads averaged.

    Head ``h`` scores ``softmax(Q W_Q^h (K W_K^h)^T / sqrt(d_attn))``; every head reads the
    same values ``V W_V``; the head outputs are averaged and projected back by ``W_H``.
    Returns the output ``[B, Lq, d]`` and the head-averaged weights ``[B, Lq, Lk]``.

    Parameters
    ----------
    hidden_size : int
    n_heads : int
    dropout : float
        On each head's output and on the final output, as in the reference implementation.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = load_sp500()["Close"].to_numpy()[-24:]
    >>> h = torch.tensor(close / close.mean(), dtype=torch.float32).view(3, 1, 8).expand(3, 5, 8)
    >>> out, weights = InterpretableMultiHeadAttention(8, n_heads=2, dropout=0.0)(h[:, -2:], h)
    >>> out.shape, weights.shape
    (torch.Size([3, 2, 8]), torch.Size([3, 2, 5]))
    """

    def __init__(self, hidden_size: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.d_attn = max(1, hidden_size // n_heads)
        self.query = nn.Linear(hidden_size, n_heads * self.d_attn, bias=False)   # W_Q^h, all h
        self.key = nn.Linear(hidden_size, n_heads * self.d_attn, bias=False)     # W_K^h, all h
        self.value = nn.Linear(hidden_size, self.d_attn, bias=False)             # W_V, shared
        self.out = nn.Linear(self.d_attn, hidden_size, bias=False)               # W_H
        self.dropout = nn.Dropout(dropout)
        for layer in (self.query, self.key, self.value, self.out):
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, q: Tensor, kv: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, Lq, Lk, m = q.shape[0], q.shape[1], kv.shape[1], self.n_heads
        queries = self.query(q).view(B, Lq, m, self.d_attn).transpose(1, 2)   # [B, m, Lq, da]
        keys = self.key(kv).view(B, Lk, m, self.d_attn).transpose(1, 2)       # [B, m, Lk, da]
        values = self.value(kv).unsqueeze(1)                                  # [B, 1, Lk, da]
        scores = queries @ keys.transpose(-1, -2) / math.sqrt(self.d_attn)    # [B, m, Lq, Lk]
        if mask is not None:                                                  # True = blocked
            scores = scores.masked_fill(mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)                               # [B, m, Lq, Lk]
        heads = self.dropout(weights @ values)                                # [B, m, Lq, da]
        out = self.dropout(self.out(heads.mean(dim=1)))                       # [B, Lq, d]
        return out, weights.mean(dim=1)                                       # [B, Lq, Lk]


# -- the net ------------------------------------------------------------------------------
class TFT(nn.Module):
    """Temporal Fusion Transformer with a shared per-step output head.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract: past input ``x: [B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]``.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`; applied to every forecast step.
        The paper trains quantiles (``output="quantile"``).
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``.
    n_future : int, default=0
        Known-future covariates ``x_future: [B, horizon, n_future]``. With 0 the decoder
        runs on learned position embeddings.
    n_static : int, default=0
        Static covariates ``x_static: [B, n_static]``. With 0 the static contexts are
        learned constants.
    hidden_size : int, default=16
        Width ``d`` of every block (embeddings, GRNs, LSTMs, attention).
    n_heads : int, default=4
        Interpretable attention heads (one shared value projection), each attending in
        ``max(1, hidden_size // n_heads)`` dimensions.
    num_layers : int, default=1
        Layers of the LSTM encoder and of the LSTM decoder.
    dropout : float, default=0.1
        Before the gated linear units, on the attention heads and between LSTM layers.

    See Also
    --------
    skfin.forecasting.TFTForecaster : feeds the exogenous ``X`` as known-future covariates.

    Notes
    -----
    See the module docstring for the blocks and the choices made where the paper leaves
    one. ``explain`` returns the variable-selection weights and the attention weights.

    References
    ----------
    Lim, Arik, Loeff and Pfister (2021), "Temporal Fusion Transformers for interpretable
    multi-horizon time series forecasting", International Journal of Forecasting 37(4).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> sp = load_sp500().iloc[-46:]
    >>> r = 100 * np.log(sp["Close"]).diff().dropna()                    # 45 daily returns
    >>> x = torch.tensor(r.to_numpy()[:40], dtype=torch.float32).view(2, 20, 1)  # 2 windows
    >>> dow = torch.tensor(r.index.dayofweek.to_numpy(), dtype=torch.float32)
    >>> x_future = torch.stack([dow[20:25], dow[40:45]]).unsqueeze(-1)  # weekdays to come
    >>> net = TFT(n_features=1, window=20, horizon=5, n_targets=1, n_future=1,
    ...           output="quantile", quantiles=(0.1, 0.5, 0.9))
    >>> net(x, x_future).shape
    torch.Size([2, 5, 1, 3])
    >>> net.explain(x, x_future)["attention"].shape                      # [B, H, W + H]
    torch.Size([2, 5, 25])
    """

    _parameter_constraints: dict = {"hidden_size": POSITIVE, "n_heads": POSITIVE,
                                    "num_layers": POSITIVE, "dropout": DROPOUT}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 n_future: int = 0, n_static: int = 0, hidden_size: int = 16,
                 n_heads: int = 4, num_layers: int = 1, dropout: float = 0.1):
        super().__init__()
        d = hidden_size
        self.window, self.horizon = window, horizon
        self.n_future, self.n_static = n_future, n_static
        # static covariate encoders: zeta -> c_s, c_e, c_h, c_c (four GRNs run as one group)
        if n_static:
            self.static_vsn = VariableSelectionNetwork(n_static, d, dropout)
        else:
            self.static_embedding = nn.Parameter(torch.empty(d).normal_())
        self.static_encoders = GatedResidualNetwork(d, d, d, dropout, groups=4)
        # variable selection over the past window and the known future
        self.past_vsn = VariableSelectionNetwork(n_features, d, dropout, context_size=d)
        if n_future:
            self.future_vsn = VariableSelectionNetwork(n_future, d, dropout, context_size=d)
        else:
            self.position_embedding = nn.Parameter(torch.empty(horizon, d).normal_())
        # sequence-to-sequence layer and its gated skip connection
        lstm_dropout = dropout if num_layers > 1 else 0.0
        self.encoder = nn.LSTM(d, d, num_layers, batch_first=True, dropout=lstm_dropout)
        self.decoder = nn.LSTM(d, d, num_layers, batch_first=True, dropout=lstm_dropout)
        init_rnn_weights(self.encoder)
        init_rnn_weights(self.decoder)
        self.post_lstm = _GateAddNorm(d, dropout)
        # temporal fusion decoder
        self.enrichment = GatedResidualNetwork(d, d, d, dropout, context_size=d)
        self.attention = InterpretableMultiHeadAttention(d, n_heads, dropout)
        self.post_attention = _GateAddNorm(d, dropout)
        self.positionwise = GatedResidualNetwork(d, d, d, dropout)
        self.pre_output = _GateAddNorm(d, dropout=0.0)
        self.head = make_head(output, d, horizon, n_targets, quantiles, per_step=True)

    def _run(self, x: Tensor, x_future: Tensor | None, x_static: Tensor | None):
        check_covariates(self, x_future=x_future, x_static=x_static)
        B, W = x.shape[0], x.shape[1]
        weights = {}
        # static covariate encoders
        if self.n_static:
            zeta, weights["static_weights"] = self.static_vsn(x_static)      # [B, d], [B, S]
        else:
            zeta = self.static_embedding.expand(B, -1)                       # [B, d]
        contexts = self.static_encoders(zeta.unsqueeze(0).expand(4, -1, -1))  # [4, B, d]
        c_s, c_e, c_h, c_c = contexts.unbind(dim=0)                          # [B, d] each
        # variable selection
        past, weights["past_weights"] = self.past_vsn(x, c_s.unsqueeze(1))   # [B, W, d], [B, W, F]
        if self.n_future:
            future, weights["future_weights"] = self.future_vsn(
                x_future, c_s.unsqueeze(1))                                  # [B, H, d], [B, H, K]
        else:
            future = self.position_embedding.expand(B, -1, -1)               # [B, H, d]
        # LSTM encoder-decoder, started from the static state
        layers = self.encoder.num_layers
        state = (c_h.unsqueeze(0).expand(layers, -1, -1).contiguous(),       # [layers, B, d]
                 c_c.unsqueeze(0).expand(layers, -1, -1).contiguous())
        encoded, state = self.encoder(past, state)                           # [B, W, d]
        decoded, _ = self.decoder(future, state)                             # [B, H, d]
        temporal = self.post_lstm(torch.cat([encoded, decoded], dim=1),
                                  torch.cat([past, future], dim=1))          # [B, W+H, d]
        # temporal fusion decoder
        enriched = self.enrichment(temporal, c_e.unsqueeze(1))               # [B, W+H, d]
        mask = torch.ones(self.horizon, W + self.horizon, dtype=torch.bool,
                          device=x.device).triu(diagonal=W + 1)              # [H, W+H]
        attended, weights["attention"] = self.attention(enriched[:, W:], enriched, mask)
        fused = self.post_attention(attended, enriched[:, W:])               # [B, H, d]
        z = self.pre_output(self.positionwise(fused), temporal[:, W:])       # [B, H, d]
        return z, weights

    def forward(self, x: Tensor, x_future: Tensor | None = None,
                x_static: Tensor | None = None) -> Tensor:       # x: [B, W, F]
        z, _ = self._run(x, x_future, x_static)                  # [B, H, d]
        return self.head(z)                                      # [B, H, T, P]

    def explain(self, x: Tensor, x_future: Tensor | None = None,
                x_static: Tensor | None = None) -> dict[str, Tensor]:
        """Variable-selection and attention weights for a batch.

        Returns
        -------
        dict of str to Tensor
            ``past_weights [B, window, n_features]`` and, when the net has such inputs,
            ``future_weights [B, horizon, n_future]`` and ``static_weights [B, n_static]``
            (each sums to 1 over its last axis); ``attention [B, horizon, window + horizon]``,
            the head-averaged attention of each forecast step over the past and future
            positions (zero on positions after the step).
        """
        return self._run(x, x_future, x_static)[1]
