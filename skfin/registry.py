"""Every architecture, with its net, its two faces and its capability tags.

Conformance, persistence, device, bad-input and overfitting tests are parametrized over
:data:`ARCHITECTURES`, so an architecture is tested the day it is registered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from skfin import forecasting, nets, regressors

__all__ = ["Architecture", "ARCHITECTURES", "get", "all_regressors", "all_forecasters"]


@dataclass(frozen=True)
class Architecture:
    """One registered architecture.

    Attributes
    ----------
    name : str
        Short name used on the command line (``skfin backtest --models lstm``).
    net : type[torch.nn.Module]
        The pure torch net (tensor contract of :mod:`skfin.nets`).
    regressor, forecaster : type
        Its sklearn and sktime faces.
    family : str
        recurrent, convolutional, attention, basis, state-space, dynamics or ensemble.
    tags : dict
        Capabilities, e.g. ``{"explain": True}`` when the net has ``explain``.
    """

    name: str
    net: type[nn.Module]
    regressor: type
    forecaster: type
    family: str
    tags: dict = field(default_factory=dict)


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("mlp", nets.MLP, regressors.MLPRegressor, forecasting.MLPForecaster,
                 "feed-forward"),
    Architecture("lstm", nets.LSTM, regressors.LSTMRegressor, forecasting.LSTMForecaster,
                 "recurrent", {"explain": "attention=True"}),
    Architecture("gru", nets.GRU, regressors.GRURegressor, forecasting.GRUForecaster,
                 "recurrent", {"explain": "attention=True"}),
    Architecture("attention_lstm", nets.AttentionLSTM, regressors.AttentionLSTMRegressor,
                 forecasting.AttentionLSTMForecaster, "recurrent", {"explain": True}),
    Architecture("residual_lstm", nets.ResidualLSTM, regressors.ResidualLSTMRegressor,
                 forecasting.ResidualLSTMForecaster, "recurrent"),
    Architecture("multitask", nets.MultiTaskNet, regressors.MultiTaskRegressor,
                 forecasting.MultiTaskForecaster, "recurrent",
                 {"explain": True, "multi_asset": True}),
    Architecture("bayesian_lstm", nets.BayesianLSTM, regressors.BayesianLSTMRegressor,
                 forecasting.BayesianLSTMForecaster, "recurrent", {"mc_dropout": True}),
    Architecture("cnn_lstm", nets.CNNLSTM, regressors.CNNLSTMRegressor,
                 forecasting.CNNLSTMForecaster, "convolutional"),
    Architecture("tcn", nets.TCN, regressors.TCNRegressor, forecasting.TCNForecaster,
                 "convolutional"),
    Architecture("wavenet", nets.WaveNet, regressors.WaveNetRegressor,
                 forecasting.WaveNetForecaster, "convolutional"),
    Architecture("nbeats", nets.NBEATS, regressors.NBEATSRegressor,
                 forecasting.NBEATSForecaster, "basis", {"explain": True}),
    Architecture("transformer", nets.Transformer, regressors.TransformerRegressor,
                 forecasting.TransformerForecaster, "attention"),
    Architecture("patchtst", nets.PatchTST, regressors.PatchTSTRegressor,
                 forecasting.PatchTSTForecaster, "attention"),
    Architecture("autoformer", nets.Autoformer, regressors.AutoformerRegressor,
                 forecasting.AutoformerForecaster, "attention", {"explain": True}),
    # The paper trains quantiles, but the faces default to output="point" like every other
    # estimator (same scoring in grid searches, sklearn's checks on the defaults); pass
    # output="quantile" for the paper's set-up.
    Architecture("tft", nets.TFT, regressors.TFTRegressor, forecasting.TFTForecaster,
                 "attention", {"explain": True, "native_covariates": True,
                               "quantile_default": False}),
)


def get(name: str) -> Architecture:
    """Look an architecture up by name.

    Examples
    --------
    >>> get("lstm").regressor.__name__
    'LSTMRegressor'
    """
    for arch in ARCHITECTURES:
        if arch.name == name:
            return arch
    raise ValueError(f"Unknown architecture {name!r}; registered: {[a.name for a in ARCHITECTURES]}.")


def all_regressors() -> list[type]:
    """The sklearn face of every registered architecture."""
    return [a.regressor for a in ARCHITECTURES]


def all_forecasters() -> list[type]:
    """The sktime face of every registered architecture."""
    return [a.forecaster for a in ARCHITECTURES]
