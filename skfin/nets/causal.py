"""CausalLSTM: the outcome of a series under a treatment, and under its counterfactual.

The treatment is one input feature, named by its index (``treatment``). The net follows
TARNet (Shalit, Johansson and Sontag, 2017): a shared representation of the confounders,
then an outcome net that reads the representation and the treatment. Its time-series
version follows the Counterfactual Recurrent Network (Bica et al., 2020): the confounders
are the history, encoded by a recurrent net, and the treatment is the current one.

* **confounder encoder**: an LSTM over the window's other features with the treatment's
  *past*, i.e. at each row the treatment of the row before (0 before the window's first
  row), so the representation of the history never sees the current treatment;
* **treatment embedding**: ``tanh(Linear(t))`` of the current treatment, the value on the
  window's last row;
* **outcome net**: ``ELU(Linear([representation, embedding]))`` and the shared head, one
  net conditioned on the treatment (TARNet's two heads are its binary special case; one
  conditioned head also takes a continuous treatment).

:meth:`CausalLSTM.counterfactual` sets the last row's treatment and predicts: the outcome
had the current treatment been that value, the history (earlier treatments included)
unchanged. The effect of a treatment is the difference of two counterfactuals; the
estimators' ``effect`` averages it over windows (``skfin.regressors.CausalLSTMRegressor``).
Those effects are causal only under the usual assumptions (no unobserved confounder
outside the window, overlap of treated and untreated histories).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from skfin.nets._params import DROPOUT, POSITIVE, contract_doc, integer
from skfin.nets.heads import make_head
from skfin.nets.recurrent import init_rnn_weights

__all__ = ["CausalLSTM"]


@contract_doc
class CausalLSTM(nn.Module):
    """Confounder encoder, treatment embedding and outcome net (TARNet/CRN-style).

    Parameters
    ----------
    {contract}
    hidden_size : int, default=32
        Units of the confounder encoder (an LSTM) and of the outcome net.
    num_layers : int, default=1
        Stacked LSTM layers of the confounder encoder.
    dropout : float, default=0.1
        Between stacked layers and in the outcome net.
    embedding_size : int, default=8
        Width of the treatment embedding.
    treatment : int or str, default=-1
        The treatment column: an index into the features (-1: the last one). The
        estimators also take a column name (the sklearn face's DataFrame column, or the
        forecaster's column of ``X``). A binary (0/1) treatment is the main case; a
        continuous one is read as a dose, and its effect is that of moving it from one
        value to another.

    References
    ----------
    Shalit, Johansson and Sontag (2017), "Estimating individual treatment effect:
    generalization bounds and algorithms", ICML (TARNet). Bica, Alaa, Jordon and van der
    Schaar (2020), "Estimating counterfactual treatment outcomes over time through
    adversarially balanced representations", ICLR (CRN).

    Examples
    --------
    Next-day absolute S&P 500 return from its recent path and a "VIX above 20" treatment:

    >>> import numpy as np, torch
    >>> from skfin.datasets import load_sp500, load_vix
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().abs()
    >>> vix = load_vix().reindex(r.index).ffill()
    >>> rows = np.column_stack([r, vix > 20])[-40:].astype(np.float32)   # [40, 2]
    >>> x = torch.tensor(rows).view(2, 20, 2)                            # two real windows
    >>> net = CausalLSTM(n_features=2, window=20, horizon=1, n_targets=1).eval()
    >>> net(x).shape
    torch.Size([2, 1, 1, 1])
    >>> same = net.counterfactual(x, treated=x[0, -1, -1].item())        # as observed
    >>> bool(torch.equal(same[0], net(x)[0]))
    True
    >>> effect = net.counterfactual(x, 1.0) - net.counterfactual(x, 0.0)
    >>> effect.shape
    torch.Size([2, 1, 1, 1])
    """

    # a column name is allowed on the faces, which resolve it to an index before the net
    _parameter_constraints: dict = {
        "hidden_size": POSITIVE, "num_layers": POSITIVE, "dropout": DROPOUT,
        "embedding_size": POSITIVE, "treatment": [integer(None, None, "neither"), str],
    }

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles: Sequence[float] | None = None,
                 hidden_size: int = 32, num_layers: int = 1, dropout: float = 0.1,
                 embedding_size: int = 8, treatment: int = -1):
        super().__init__()
        if isinstance(treatment, bool) or not isinstance(treatment, int):
            raise TypeError(
                f"CausalLSTM's treatment must be the index of the treatment feature; got "
                f"{treatment!r}. The estimators also take a column name."
            )
        if not -n_features <= treatment < n_features:
            raise ValueError(
                f"treatment={treatment} is not a feature index: the input has {n_features} "
                f"feature(s), so use an index from {-n_features} to {n_features - 1}."
            )
        self.treatment = treatment % n_features
        others = [i for i in range(n_features) if i != self.treatment]
        self.register_buffer("others", torch.tensor(others, dtype=torch.long), persistent=False)
        # the encoder reads the other features and the treatment of the row before
        self.encoder = nn.LSTM(n_features, hidden_size, num_layers=num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.embed = nn.Sequential(nn.Linear(1, embedding_size), nn.Tanh())
        self.outcome = nn.Sequential(nn.Linear(hidden_size + embedding_size, hidden_size),
                                     nn.ELU(), nn.Dropout(dropout))
        self.head = make_head(output, hidden_size, horizon, n_targets, quantiles)
        init_rnn_weights(self.encoder)

    def forward(self, x: Tensor) -> Tensor:                       # x: [B, W, F]
        treated = x[..., self.treatment]                          # [B, W]
        past = F.pad(treated[:, :-1], (1, 0))                     # [B, W]: the row before's
        history = torch.cat([x[..., self.others], past.unsqueeze(-1)], dim=-1)   # [B, W, F]
        h, _ = self.encoder(history)                              # [B, W, d]
        z = torch.cat([h[:, -1], self.embed(treated[:, -1:])], dim=-1)          # [B, d + e]
        return self.head(self.outcome(z))                         # [B, H, T, P]

    @staticmethod
    def intervene(x: Tensor, treatment: int, value: float) -> Tensor:
        """A copy of windows ``x: [B, W, F]`` whose last row has treatment ``value``.

        The treatments of earlier rows are history and stay as observed.

        Examples
        --------
        >>> x = torch.zeros(2, 3, 2)
        >>> CausalLSTM.intervene(x, 1, 1.0)[0].tolist()
        [[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
        """
        x = x.clone()
        x[:, -1, treatment] = value
        return x

    def counterfactual(self, x: Tensor, treated: float) -> Tensor:
        """The output ``[B, H, T, P]`` had the current (last row's) treatment been ``treated``.

        Examples
        --------
        >>> net = CausalLSTM(n_features=2, window=5, horizon=1, n_targets=1)
        >>> net.counterfactual(torch.zeros(3, 5, 2), treated=1.0).shape
        torch.Size([3, 1, 1, 1])
        """
        return self(self.intervene(x, self.treatment, treated))
