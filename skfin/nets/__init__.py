"""Pure torch nets on one tensor contract: ``[B, window, n_features] -> [B, horizon, n_targets, n_params]``.

No sklearn, sktime or pandas here: these modules are usable on their own.
"""

from skfin.nets.heads import DEFAULT_QUANTILES, OUTPUTS, make_head
from skfin.nets.attention import Autoformer, PatchTST, Transformer, series_decomposition
from skfin.nets.convolutional import CNNLSTM, TCN, WaveNet, receptive_field
from skfin.nets.basis import NBEATS
from skfin.nets.continuous import NeuralCDE, NeuralODE
from skfin.nets.causal import CausalLSTM
from skfin.nets.koopman import DeepKoopman
from skfin.nets.covariates import Covariates, handles_missing, reads_covariates, reads_time
from skfin.nets.window_norm import WindowNorm
from skfin.nets.mlp import MLP
from skfin.nets.state_space import S4D, Mamba
from skfin.nets.multitask import MultiTaskNet
from skfin.nets.tft import TFT
from skfin.nets.recurrent import GRU, LSTM, AttentionLSTM, BayesianLSTM, ResidualLSTM
from skfin.nets.foundation import LagLlama, PatchDecoder

__all__ = ["DEFAULT_QUANTILES", "OUTPUTS", "make_head", "Transformer", "PatchTST",
           "Autoformer", "series_decomposition", "receptive_field", "MLP", "LSTM",
           "GRU", "AttentionLSTM", "ResidualLSTM", "BayesianLSTM", "CNNLSTM", "TCN", "WaveNet",
           "TFT", "NBEATS", "MultiTaskNet", "DeepKoopman", "NeuralODE", "CausalLSTM", "NeuralCDE", "Mamba", "S4D", "Covariates",
           "WindowNorm",
           "reads_covariates", "reads_time", "handles_missing", "LagLlama", "PatchDecoder"]
