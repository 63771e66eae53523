"""Pure torch nets on one tensor contract: ``[B, window, n_features] -> [B, horizon, n_targets, n_params]``.

No sklearn, sktime or pandas here: these modules are usable on their own.
"""

from skfin.nets.heads import DEFAULT_QUANTILES, OUTPUTS, make_head
from skfin.nets.convolutional import CNNLSTM, TCN, WaveNet, receptive_field
from skfin.nets.mlp import MLP
from skfin.nets.recurrent import GRU, LSTM, AttentionLSTM, ResidualLSTM

__all__ = ["DEFAULT_QUANTILES", "OUTPUTS", "make_head", "receptive_field", "MLP", "LSTM",
           "GRU", "AttentionLSTM", "ResidualLSTM", "CNNLSTM", "TCN", "WaveNet"]
