"""Pure torch nets on one tensor contract: ``[B, window, n_features] -> [B, horizon, n_targets, n_params]``.

No sklearn, sktime or pandas here: these modules are usable on their own.
"""

from skfin.nets.heads import DEFAULT_QUANTILES, OUTPUTS, make_head
from skfin.nets.mlp import MLP
from skfin.nets.recurrent import GRU, LSTM

__all__ = ["DEFAULT_QUANTILES", "OUTPUTS", "make_head", "MLP", "LSTM", "GRU"]
