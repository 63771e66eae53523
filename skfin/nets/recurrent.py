"""Recurrent nets: LSTM, GRU, AttentionLSTM and ResidualLSTM encoders over the past window.

LSTM and GRU share one private encoder (:class:`_Recurrent`): an optional bidirectional
stack summarised by its last step. The window holds only the past, so a bidirectional pass
leaks nothing from the future. With ``attention=True`` the last step also queries all
steps (additive, Bahdanau-style scores) and the head reads the attention context next to
the last step, so attention can only add to what the last step already says.
:class:`AttentionLSTM` is the LSTM with attention pooling always on; :class:`ResidualLSTM`
stacks single-layer LSTMs with residual connections and layer normalisation.

Initialisation follows common practice for recurrent nets: Xavier-uniform input weights,
orthogonal recurrent weights, zero biases and, for the LSTM, a forget-gate bias of 1 (set
on ``bias_ih`` only, so the effective bias is 1, not 2, under PyTorch's two-bias layout).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skfin.nets._params import DROPOUT, POSITIVE, contract_doc
from skfin.nets.heads import make_head

__all__ = ["LSTM", "GRU", "AttentionLSTM", "ResidualLSTM", "BayesianLSTM", "LockedDropout",
           "AttentionPooling", "init_rnn_weights"]


def init_rnn_weights(rnn: nn.LSTM | nn.GRU) -> None:
    """Initialise a recurrent layer in place, as described in the module docstring.

    Xavier-uniform input weights, an orthogonal square per gate for the recurrent weights,
    zero biases and, for an LSTM, a forget-gate bias of 1 on ``bias_ih``.

    Examples
    --------
    >>> lstm = nn.LSTM(3, 4, batch_first=True)
    >>> init_rnn_weights(lstm)
    >>> lstm.bias_ih_l0[4:8].tolist(), lstm.bias_hh_l0.abs().sum().item()
    ([1.0, 1.0, 1.0, 1.0], 0.0)
    """
    n_gates = 4 if isinstance(rnn, nn.LSTM) else 3
    hidden = rnn.hidden_size
    for name, param in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            for gate in param.data.chunk(n_gates, dim=0):      # one square per gate
                nn.init.orthogonal_(gate)
        elif name.startswith("bias"):
            nn.init.zeros_(param)
    if isinstance(rnn, nn.LSTM):
        for name, param in rnn.named_parameters():
            if name.startswith("bias_ih"):                     # gates: input, forget, cell, out
                param.data[hidden:2 * hidden].fill_(1.0)


class AttentionPooling(nn.Module):
    """Additive (Bahdanau) attention over time, queried by a summary state.

    Scores ``e_t = v^T tanh(W_k h_t + W_q q)`` for every step ``h_t`` of ``h: [B, L, d]``
    against the query ``q: [B, d]`` (the recurrent net's final state), softmax-normalised
    over time: returns the context ``sum_t a_t h_t`` ``[B, d]`` and the weights ``[B, L]``.
    """

    def __init__(self, d: int):
        super().__init__()
        self.key = nn.Linear(d, d)
        self.query = nn.Linear(d, d, bias=False)
        self.score = nn.Linear(d, 1, bias=False)

    def forward(self, h: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:  # h: [B, L, d], q: [B, d]
        e = self.score(torch.tanh(self.key(h) + self.query(q).unsqueeze(1)))   # [B, L, 1]
        weights = torch.softmax(e.squeeze(-1), dim=1)                          # [B, L]
        return torch.einsum("bl,bld->bd", weights, h), weights                 # [B, d], [B, L]


class _Recurrent(nn.Module):
    rnn_cls: type[nn.RNNBase]
    _parameter_constraints: dict = {
        "hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT,
        "bidirectional": ["boolean"], "attention": ["boolean"],
    }

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
        self.head = make_head(output, 2 * d if attention else d, horizon, n_targets, quantiles)
        init_rnn_weights(self.rnn)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor | None]:  # x: [B, W, F]
        h, _ = self.rnn(x)                                         # [B, W, d]
        if self.rnn.bidirectional:
            half = self.rnn.hidden_size                            # forward ends at W-1,
            last = torch.cat([h[:, -1, :half], h[:, 0, half:]], dim=-1)   # backward at 0
        else:
            last = h[:, -1]                                        # [B, d]
        if self.pool is None:
            return last, None
        context, weights = self.pool(h, last)                      # [B, d], [B, W]
        return torch.cat([context, last], dim=-1), weights         # [B, 2d], [B, W]

    def forward(self, x: Tensor) -> Tensor:       # x: [B, W, F]
        z, _ = self.encode(x)                     # [B, d]
        return self.head(self.dropout(z))         # [B, H, T, P]

    def explain(self, x: Tensor) -> dict[str, Tensor]:
        """Attention weights over the window, ``{"attention": [B, W]}`` (needs attention=True)."""
        if self.pool is None:
            raise ValueError("explain() needs attention=True: the net has no attention weights.")
        return {"attention": self.encode(x)[1]}


#: The Parameters entries that LSTM and GRU share.
_RECURRENT_PARAMS = """\
    hidden_size : int, default=32
        Units of the recurrent state in each layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.1
        Between stacked layers and before the head.
    bidirectional : bool, default=False
        Read the window both ways (it holds only the past, so nothing leaks).
    attention : bool, default=False
        Also pool all steps with additive attention queried by the last step; the head
        reads the attention context next to the last step."""


@contract_doc(recurrent=_RECURRENT_PARAMS)
class LSTM(_Recurrent):
    """LSTM encoder over the past window with a shared output head.

    Parameters
    ----------
    {contract}
    {recurrent}

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


@contract_doc(recurrent=_RECURRENT_PARAMS)
class GRU(_Recurrent):
    """GRU encoder over the past window with a shared output head.

    Parameters
    ----------
    {contract}
    {recurrent}

    Examples
    --------
    >>> import torch
    >>> GRU(n_features=2, window=10, horizon=1, n_targets=1)(torch.zeros(4, 10, 2)).shape
    torch.Size([4, 1, 1, 1])
    """

    rnn_cls = nn.GRU


@contract_doc
class AttentionLSTM(LSTM):
    """LSTM whose summary of the window is additive (Bahdanau) attention pooling.

    The same net as ``LSTM(attention=True)``, under its own name so that it can be
    registered, searched and documented as an architecture of its own: the hidden states
    ``h_1..h_W`` are scored against the final state by ``v^T tanh(W_k h_t + W_q h_W)``, the
    scores are softmax-normalised over the window, and the weighted sum of the states
    (the context) feeds the head next to the final state ``h_W``.

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.1
        Between stacked layers and before the head.
    bidirectional : bool, default=False
        Read the window both ways (it holds only the past, so nothing leaks).

    References
    ----------
    Bahdanau, Cho and Bengio (2015), "Neural machine translation by jointly learning to
    align and translate", ICLR.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-41:], dtype=torch.float32)
    >>> r = (100 * close.log().diff()).unfold(0, 20, 20).unsqueeze(-1)   # [2, 20, 1]
    >>> net = AttentionLSTM(n_features=1, window=20, horizon=5, n_targets=1)
    >>> net(r).shape
    torch.Size([2, 5, 1, 1])
    >>> weights = net.explain(r)["attention"]                        # [B, W], rows sum to 1
    >>> weights.shape, bool(weights.sum(dim=1).allclose(torch.ones(2)))
    (torch.Size([2, 20]), True)
    """

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1,
                 bidirectional: bool = False):
        super().__init__(n_features, window, horizon, n_targets, output=output,
                         quantiles=quantiles, hidden_size=hidden_size, num_layers=num_layers,
                         dropout=dropout, bidirectional=bidirectional, attention=True)


@contract_doc
class ResidualLSTM(nn.Module):
    """Stacked LSTMs with residual connections and layer normalisation.

    The input is projected to ``hidden_size``; each of ``num_layers`` single-layer LSTMs
    then adds its (dropped-out) output to its input and normalises the sum,
    ``h <- LayerNorm(h + Dropout(LSTM(h)))``, so deep stacks train as easily as shallow
    ones. The last step of the top layer feeds the head.

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
        Width of the input projection and of every LSTM layer.
    num_layers : int, default=2
        Residual LSTM layers, each ``h <- LayerNorm(h + Dropout(LSTM(h)))``.
    dropout : float, default=0.1
        On each layer's output before the residual sum, and before the head.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_vix
    >>> vix = torch.tensor(load_vix().ffill().to_numpy()[-60:], dtype=torch.float32)
    >>> x = vix.log().view(3, 20, 1)                              # [B=3, W=20, F=1]
    >>> ResidualLSTM(n_features=1, window=20, horizon=2, n_targets=1, num_layers=3)(x).shape
    torch.Size([3, 2, 1, 1])
    """

    _parameter_constraints: dict = {"hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 2, dropout: float = 0.1):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"ResidualLSTM needs num_layers >= 1; got num_layers={num_layers}.")
        self.proj = nn.Linear(n_features, hidden_size)
        self.layers = nn.ModuleList(nn.LSTM(hidden_size, hidden_size, batch_first=True)
                                    for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_size) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles)
        for lstm in self.layers:
            init_rnn_weights(lstm)

    def forward(self, x: Tensor) -> Tensor:              # x: [B, W, F]
        h = self.proj(x)                                 # [B, W, d]
        for lstm, norm in zip(self.layers, self.norms):
            out, _ = lstm(h)                             # [B, W, d]
            h = norm(h + self.dropout(out))              # [B, W, d]
        return self.head(self.dropout(h[:, -1]))         # [B, H, T, P]


class LockedDropout(nn.Dropout):
    """Dropout with one mask per sequence, shared by all time steps (variational dropout).

    Input ``[B, L, d]``: the mask is drawn as ``[B, 1, d]`` (:meth:`mask_shape`), so a
    dropped unit stays dropped along the whole window, as in Gal & Ghahramani (2016) and
    AWD-LSTM (Merity et al., 2018). A subclass of :class:`torch.nn.Dropout`, so MC-dropout
    sampling (:func:`skfin.engine.sampling.mc_dropout`) finds it and draws masks of the
    same shape.

    Parameters
    ----------
    p : float, default=0.5
        Probability of dropping a unit for the whole sequence.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-48:], dtype=torch.float32)
    >>> x = (100 * close.log().diff()).view(1, 47, 1).expand(2, 47, 4)   # [B=2, L=47, d=4]
    >>> drop = LockedDropout(0.5).train()
    >>> kept = drop(x) / x                   # 0 (dropped) or 2 = 1 / (1 - p) (kept)
    >>> bool((kept == kept[:, :1]).all())    # same mask at every step
    True
    >>> LockedDropout.mask_shape(x)
    (2, 1, 4)
    """

    @staticmethod
    def mask_shape(x: Tensor) -> tuple[int, ...]:
        """Shape of the mask for ``x: [B, L, ...]``: ``[B, 1, ...]``, one per sequence."""
        return (x.shape[0], 1, *x.shape[2:])

    def forward(self, x: Tensor) -> Tensor:              # x: [B, L, d]
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(self.mask_shape(x)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask                                  # [B, 1, d] broadcast over L


@contract_doc
class BayesianLSTM(nn.Module):
    """LSTM with variational dropout, made to be sampled with Monte Carlo dropout.

    Dropout with a time-locked mask (``LockedDropout``) on the input window and on the
    output of every LSTM layer, and ordinary dropout before the head: with dropout kept on
    at prediction time (``uncertainty="mc_dropout"``, the default of its estimators), each
    forward pass is one draw from the approximate posterior over weights of Gal &
    Ghahramani (2016). Trained with a Gaussian head by negative log-likelihood, the
    predictive distribution is the mixture over draws of ``N(loc_s, scale_s^2)``: the
    predicted scale carries the noise (aleatoric), the spread of ``loc_s`` the model's
    uncertainty (epistemic); see :mod:`skfin.engine.sampling`.

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.2
        Time-locked dropout on the input and every layer's output, and dropout before the
        head; it must be > 0 for MC-dropout sampling.

    References
    ----------
    Gal and Ghahramani (2016), "A theoretically grounded application of dropout in
    recurrent neural networks", NeurIPS; "Dropout as a Bayesian approximation", ICML.

    Examples
    --------
    >>> import torch
    >>> from skfin.datasets import load_sp500
    >>> close = torch.tensor(load_sp500()["Close"].to_numpy()[-41:], dtype=torch.float32)
    >>> r = (100 * close.log().diff()).view(2, 20, 1)                # two real windows
    >>> net = BayesianLSTM(n_features=1, window=20, horizon=5, n_targets=1)
    >>> params = net.eval()(r)                                       # [B, H, T, (loc, scale)]
    >>> params.shape, bool((params[..., 1] > 0).all())
    (torch.Size([2, 5, 1, 2]), True)
    """

    _parameter_constraints: dict = {"hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "gaussian", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.2):
        super().__init__()
        sizes = [n_features] + [hidden_size] * num_layers
        self.layers = nn.ModuleList(nn.LSTM(i, hidden_size, batch_first=True)
                                    for i in sizes[:-1])
        self.locked = LockedDropout(dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles)
        for lstm in self.layers:
            init_rnn_weights(lstm)

    def forward(self, x: Tensor) -> Tensor:              # x: [B, W, F]
        h = self.locked(x)
        for lstm in self.layers:
            h, _ = lstm(h)                               # [B, W, d]
            h = self.locked(h)
        return self.head(self.dropout(h[:, -1]))         # [B, H, T, P]
