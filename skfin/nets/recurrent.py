"""Recurrent nets: LSTM and GRU encoders over the past window.

Both share one private encoder (:class:`_Recurrent`): an optional bidirectional stack whose
summary of the window is either the last step or an additive-attention pooling over all
steps. The window holds only the past, so a bidirectional pass leaks nothing from the future.

Initialisation follows common practice for recurrent nets: Xavier-uniform input weights,
orthogonal recurrent weights, zero biases and, for the LSTM, a forget-gate bias of 1 (set
on ``bias_ih`` only, so the effective bias is 1, not 2, under PyTorch's two-bias layout).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skfin.nets.heads import make_head

__all__ = ["LSTM", "GRU", "AttentionPooling"]


class AttentionPooling(nn.Module):
    """Additive (Bahdanau) attention over time: ``[B, L, d] -> ([B, d], [B, L])``."""

    def __init__(self, d: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1, bias=False))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:  # h: [B, L, d]
        weights = torch.softmax(self.score(h).squeeze(-1), dim=1)   # [B, L]
        return torch.einsum("bl,bld->bd", weights, h), weights       # [B, d], [B, L]


class _Recurrent(nn.Module):
    rnn_cls: type[nn.RNNBase]
    n_gates: int

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1,
                 bidirectional: bool = False, attention: bool = False):
        super().__init__()
        self.rnn = self.rnn_cls(n_features, hidden_size, num_layers=num_layers,
                                batch_first=True, bidirectional=bidirectional,
                                dropout=dropout if num_layers > 1 else 0.0)
        d = hidden_size * (2 if bidirectional else 1)
        self.pool = AttentionPooling(d) if attention else None
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, d, horizon, n_targets, quantiles)
        self._init_weights()

    def _init_weights(self) -> None:
        for name, param in self.rnn.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                for gate in param.data.chunk(self.n_gates, dim=0):   # one square per gate
                    nn.init.orthogonal_(gate)
            elif name.startswith("bias"):
                nn.init.zeros_(param)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor | None]:  # x: [B, W, F]
        h, _ = self.rnn(x)                                         # [B, W, d]
        if self.pool is not None:
            return self.pool(h)                                    # [B, d], [B, W]
        if self.rnn.bidirectional:
            half = self.rnn.hidden_size                            # forward ends at W-1,
            return torch.cat([h[:, -1, :half], h[:, 0, half:]], dim=-1), None  # backward at 0
        return h[:, -1], None                                      # [B, d]

    def forward(self, x: Tensor) -> Tensor:       # x: [B, W, F]
        z, _ = self.encode(x)                     # [B, d]
        return self.head(self.dropout(z))         # [B, H, T, P]

    def explain(self, x: Tensor) -> dict[str, Tensor]:
        """Attention weights over the window, ``{"attention": [B, W]}`` (needs attention=True)."""
        if self.pool is None:
            raise ValueError("explain() needs attention=True: the net has no attention weights.")
        return {"attention": self.encode(x)[1]}


class LSTM(_Recurrent):
    """LSTM encoder over the past window with a shared output head.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract: input ``[B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]``.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``.
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.1
        Between stacked layers and before the head.
    bidirectional : bool, default=False
        Read the window both ways (it is all past, so nothing leaks).
    attention : bool, default=False
        Pool all steps with additive attention instead of taking the last step.

    Examples
    --------
    >>> import torch
    >>> net = LSTM(n_features=3, window=20, horizon=5, n_targets=1, attention=True)
    >>> net(torch.zeros(8, 20, 3)).shape
    torch.Size([8, 5, 1, 1])
    >>> net.explain(torch.zeros(8, 20, 3))["attention"].sum(dim=1).allclose(torch.ones(8))
    True
    """

    rnn_cls = nn.LSTM
    n_gates = 4

    def _init_weights(self) -> None:
        super()._init_weights()
        hidden = self.rnn.hidden_size
        for name, param in self.rnn.named_parameters():
            if name.startswith("bias_ih"):                 # gate order: input, forget, cell, out
                param.data[hidden:2 * hidden].fill_(1.0)


class GRU(_Recurrent):
    """GRU encoder over the past window with a shared output head.

    Same parameters as :class:`LSTM`.

    Examples
    --------
    >>> import torch
    >>> GRU(n_features=2, window=10, horizon=1, n_targets=1)(torch.zeros(4, 10, 2)).shape
    torch.Size([4, 1, 1, 1])
    """

    rnn_cls = nn.GRU
    n_gates = 3
