"""Multi-layer perceptron over the flattened window: the baseline every net must beat."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from skfin.nets._params import DROPOUT, POSITIVE, contract_doc
from skfin.nets.heads import make_head

__all__ = ["MLP"]


@contract_doc
class MLP(nn.Module):
    """Feed-forward net on the flattened past window.

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
        Width of each hidden layer.
    num_layers : int, default=1
        Number of hidden layers.
    dropout : float, default=0.1
        Dropout after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> net = MLP(n_features=3, window=20, horizon=5, n_targets=1)
    >>> net(torch.zeros(8, 20, 3)).shape
    torch.Size([8, 5, 1, 1])
    """

    _parameter_constraints: dict = {"hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = window * n_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_size), nn.GELU(), nn.Dropout(dropout)]
            width = hidden_size
        self.body = nn.Sequential(*layers)
        self.head = make_head(output, width, horizon, n_targets, quantiles)

    def forward(self, x: Tensor) -> Tensor:   # x: [B, W, F]
        z = self.body(x.flatten(1))           # [B, d]
        return self.head(z)                   # [B, H, T, P]
