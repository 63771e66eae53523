"""MultiTaskNet: an LSTM forecaster with auxiliary volatility and confidence heads.

A per-step feature extractor (``Linear + GELU``, then ``LayerNorm``) feeds an LSTM;
additive attention pooling (:class:`~skfin.nets.recurrent.AttentionPooling`, queried by the
last step) summarises the window, and the summary ``z = [context, last step]`` feeds three heads:

* the **main** head, one of the shared heads of :mod:`skfin.nets.heads` (one output per
  horizon step and asset), which is what ``forward`` returns;
* a **volatility** head, ``softplus(.) > 0`` per horizon step and asset, trained to predict
  ``|y|``;
* a **confidence** head, ``sigmoid(.)`` in (0, 1) per horizon step and asset, trained to
  predict whether the main head's point forecast gets the sign of ``y`` right.

Training minimises ``main loss + vol_weight * MSE(vol, |y|) + confidence_weight *
BCE(confidence, 1[sign(point) == sign(y)])``, the point being detached for the label. The
main loss is the engine's (it follows the head); the auxiliary terms come from
:meth:`MultiTaskNet.auxiliary_loss`, which the engine (:class:`skfin.engine.SkfinNet`) adds
on training batches. The auxiliary heads share the trunk with the main head, so their
losses shape the representation the forecast is read from (multi-task regularisation).

The net, its heads and losses are a few lines of plain torch; no library offers this
combination on the package's tensor contract.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin.nets._params import DROPOUT, POSITIVE, real
from skfin.nets.heads import make_head
from skfin.nets.recurrent import AttentionPooling, init_rnn_weights

__all__ = ["MultiTaskNet"]

_EPS = 1e-6


class MultiTaskNet(nn.Module):
    """Feature extractor, LSTM and attention pooling with main, volatility and confidence heads.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract: input ``[B, window, n_features]``, output
        ``[B, horizon, n_targets, n_params]`` (``n_targets`` assets).
    output : str, default="point"
        Main head, see :func:`skfin.nets.heads.make_head`.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``.
    hidden_size : int, default=32
        Width of the feature extractor and of the LSTM.
    num_layers : int, default=1
        Stacked LSTM layers.
    dropout : float, default=0.1
        Between LSTM layers and before the heads.
    vol_weight : float, default=0.1
        Weight of the auxiliary volatility loss, ``MSE(vol, |y|)``.
    confidence_weight : float, default=0.1
        Weight of the auxiliary confidence loss, the binary cross-entropy of
        ``P(sign of the point forecast is right)``.

    Notes
    -----
    ``forward`` returns only the main head's parameters (the tensor contract). In training
    mode it also keeps the auxiliary heads' outputs of that batch for
    :meth:`auxiliary_loss`, which consumes them; evaluation-mode passes keep nothing.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skfin.datasets import load_nasdaq, load_sp500
    >>> close = np.column_stack([load_sp500()["Close"], load_nasdaq()["Close"]])[-41:]
    >>> close = torch.tensor(close, dtype=torch.float32)            # [41, 2]
    >>> r = 100 * close.log().diff(dim=0)                          # [40, 2] daily returns
    >>> x, y = r[:20].unsqueeze(0), r[20:25].unsqueeze(0)           # [1, 20, 2], [1, 5, 2]
    >>> net = MultiTaskNet(n_features=2, window=20, horizon=5, n_targets=2)
    >>> net(x).shape                                                # training mode: caches
    torch.Size([1, 5, 2, 1])
    >>> bool(net.auxiliary_loss(y) > 0)
    True
    >>> parts = net.eval().explain(x)
    >>> {k: tuple(v.shape) for k, v in parts.items()}
    {'attention': (1, 20), 'volatility': (1, 5, 2), 'confidence': (1, 5, 2)}
    """

    _parameter_constraints: dict = {
        "hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT,
        "vol_weight": [real(0)], "confidence_weight": [real(0)],   # auxiliary loss weights
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1,
                 vol_weight: float = 0.1, confidence_weight: float = 0.1):
        super().__init__()
        for name, value in [("vol_weight", vol_weight), ("confidence_weight", confidence_weight)]:
            if not value >= 0:
                raise ValueError(f"MultiTaskNet needs {name} >= 0; got {name}={value!r}.")
        self.horizon, self.n_targets = horizon, n_targets
        self.vol_weight, self.confidence_weight = float(vol_weight), float(confidence_weight)
        # LayerNorm keeps the LSTM's inputs on one scale whatever the features' scales; without
        # it, early stopping sometimes ended on a plateau of the validation loss in the first
        # 20 epochs (R^2 0.03 on sklearn's regression check for one seed of three).
        self.extract = nn.Sequential(nn.Linear(n_features, hidden_size), nn.GELU(),
                                     nn.LayerNorm(hidden_size))
        self.rnn = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True,
                           dropout=dropout if num_layers > 1 else 0.0)
        self.pool = AttentionPooling(hidden_size)
        self.dropout = nn.Dropout(dropout)
        d = 2 * hidden_size
        self.head = make_head(output, d, horizon, n_targets, quantiles)
        self.vol_head = nn.Linear(d, horizon * n_targets)
        self.confidence_head = nn.Linear(d, horizon * n_targets)
        init_rnn_weights(self.rnn)
        self._aux: tuple[Tensor, Tensor, Tensor] | None = None

    def _encode(self, x: Tensor) -> tuple[Tensor, Tensor]:     # x: [B, W, F]
        h, _ = self.rnn(self.extract(x))                        # [B, W, d]
        context, weights = self.pool(h, h[:, -1])               # [B, d], [B, W]
        z = self.dropout(torch.cat([context, h[:, -1]], dim=-1))  # [B, 2d]
        return z, weights

    def _auxiliary(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Volatility ``[B, H, T]`` (> 0) and confidence logits ``[B, H, T]``."""
        shape = (z.shape[0], self.horizon, self.n_targets)
        vol = F.softplus(self.vol_head(z)).view(shape) + _EPS
        return vol, self.confidence_head(z).view(shape)

    def forward(self, x: Tensor) -> Tensor:                     # x: [B, W, F]
        z, _ = self._encode(x)
        params = self.head(z)                                    # [B, H, T, P]
        if self.training:
            vol, logit = self._auxiliary(z)
            self._aux = (vol, logit, self.head.point(params).detach())
        return params

    def auxiliary_loss(self, y_true: Tensor) -> Tensor:
        """Weighted auxiliary loss of the last training-mode ``forward``, ``y_true: [B, H, T]``.

        ``vol_weight * MSE(vol, |y|) + confidence_weight * BCE(confidence, 1[sign(point) ==
        sign(y)])``. Consumes what ``forward`` kept, so each batch counts once.
        """
        if self._aux is None:
            raise ValueError(
                "MultiTaskNet.auxiliary_loss needs the outputs of a forward pass in training "
                "mode; call net.train() and net(x) on the batch first."
            )
        vol, logit, point = self._aux
        self._aux = None
        y_true = y_true.to(vol.dtype)
        vol_loss = F.mse_loss(vol.float(), y_true.abs().float())
        right = (torch.sign(point) == torch.sign(y_true)).float()
        confidence_loss = F.binary_cross_entropy_with_logits(logit.float(), right)
        return self.vol_weight * vol_loss + self.confidence_weight * confidence_loss

    def explain(self, x: Tensor) -> dict[str, Tensor]:
        """Attention weights ``[B, W]``, volatility and confidence ``[B, H, T]``."""
        z, weights = self._encode(x)
        vol, logit = self._auxiliary(z)
        return {"attention": weights, "volatility": vol, "confidence": torch.sigmoid(logit)}

    def __getstate__(self):
        # The cached batch holds autograd graphs, which neither pickle nor deep-copy.
        state = super().__getstate__()
        state["_aux"] = None
        return state
