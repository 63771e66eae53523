"""Every architecture, with its net, its two faces and its capability tags.

Conformance, persistence, device, bad-input and overfitting tests are parametrized over
:data:`ARCHITECTURES`, so an architecture is tested the day it is registered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from skfin import forecasting, nets, regressors

__all__ = ["Architecture", "ARCHITECTURES", "get", "all_regressors", "all_forecasters",
           "tiny_params", "IntRange", "FloatRange", "Choice", "TRAINING_SPACE"]


# -- search spaces, as plain data (optuna is optional: skfin.model_selection converts) -----
@dataclass(frozen=True)
class IntRange:
    """An int from ``low`` to ``high`` (both included), on a log scale if ``log``."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    """A float from ``low`` to ``high``, on a log scale if ``log``."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (None, bool, int, float or str, as Optuna's categorical)."""

    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", tuple(values))


#: The training hyperparameters every architecture's default search space starts from
#: (the learning rate and weight decay of AdamW, the batch size). ``window`` is not
#: searched by default: it decides which rows have a full window, so it is a choice about
#: the data (search it explicitly, e.g. ``{"window": Choice(20, 40, 60)}``).
TRAINING_SPACE = {
    "lr": FloatRange(1e-4, 1e-2, log=True),
    "weight_decay": FloatRange(1e-6, 1e-1, log=True),
    "batch_size": Choice(32, 64, 128),
}

_RNN_SPACE = {"hidden_size": IntRange(8, 128, log=True), "num_layers": IntRange(1, 3),
              "dropout": FloatRange(0.0, 0.5)}


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
    test_params : tuple of two dicts
        The net's sizes (and window) for two tiny configurations; the faces' conformance
        tests (sktime's ``get_test_params``) add the training settings. The default
        suits nets sized by ``hidden_size`` and ``num_layers``.
    search_space : dict
        The default Optuna search space of the net's own hyperparameters,
        ``{name: IntRange | FloatRange | Choice}``; ``space`` adds
        :data:`TRAINING_SPACE`. Ranges are those worth searching on daily financial series
        with the faces' default ``window``, inside the net's ``_parameter_constraints``
        and its cross-parameter rules (``d_model`` divisible by ``n_heads``), so every
        sampled point is a valid configuration (``tests/model_selection/test_search.py``).
        :class:`skfin.model_selection.OptunaSearchCV` searches it when given no
        ``param_distributions``.
    check_params : dict
        Settings that scikit-learn's conformance checks (``tests/conformance``) put on top
        of the regressor's defaults; empty for most. sklearn's checks fit on a few hundred
        unrelated rows, where only the current row matters: a net whose cost grows with
        the window (a solver step or scan step per row) runs them on a shorter one, as
        scikit-learn's own test suite shortens ``max_iter``.
    """

    name: str
    net: type[nn.Module]
    regressor: type
    forecaster: type
    family: str
    tags: dict = field(default_factory=dict)
    test_params: tuple = ({"window": 5, "hidden_size": 8, "num_layers": 1},
                          {"window": 3, "hidden_size": 4})
    check_params: dict = field(default_factory=dict)
    search_space: dict = field(default_factory=dict)

    @property
    def space(self) -> dict:
        """The default search space: :data:`TRAINING_SPACE` and the net's ``search_space``.

        Examples
        --------
        >>> sorted(get("lstm").space)
        ['batch_size', 'dropout', 'hidden_size', 'lr', 'num_layers', 'weight_decay']
        >>> get("lstm").space["hidden_size"]
        IntRange(low=8, high=128, log=True)
        """
        return {**TRAINING_SPACE, **self.search_space}


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("mlp", nets.MLP, regressors.MLPRegressor, forecasting.MLPForecaster,
                 "feed-forward",
                 search_space={
                     "hidden_size": IntRange(16, 256, log=True), "num_layers": IntRange(1, 3),
                     "dropout": FloatRange(0.0, 0.5)}),
    Architecture("lstm", nets.LSTM, regressors.LSTMRegressor, forecasting.LSTMForecaster,
                 "recurrent", {"explain": "attention=True"},
                 search_space=_RNN_SPACE),
    Architecture("gru", nets.GRU, regressors.GRURegressor, forecasting.GRUForecaster,
                 "recurrent", {"explain": "attention=True"},
                 search_space=_RNN_SPACE),
    Architecture("attention_lstm", nets.AttentionLSTM, regressors.AttentionLSTMRegressor,
                 forecasting.AttentionLSTMForecaster, "recurrent", {"explain": True},
                 search_space=_RNN_SPACE),
    Architecture("residual_lstm", nets.ResidualLSTM, regressors.ResidualLSTMRegressor,
                 forecasting.ResidualLSTMForecaster, "recurrent",
                 search_space={**_RNN_SPACE, "num_layers": IntRange(1, 4)}),
    Architecture("multitask", nets.MultiTaskNet, regressors.MultiTaskRegressor,
                 forecasting.MultiTaskForecaster, "recurrent",
                 {"explain": True},
                 search_space={**_RNN_SPACE, "vol_weight": FloatRange(0.01, 1.0, log=True)}),
    Architecture("bayesian_lstm", nets.BayesianLSTM, regressors.BayesianLSTMRegressor,
                 forecasting.BayesianLSTMForecaster, "recurrent", {"mc_dropout": True},
                 search_space={**_RNN_SPACE, "dropout": FloatRange(0.05, 0.5)}),
    Architecture("cnn_lstm", nets.CNNLSTM, regressors.CNNLSTMRegressor,
                 forecasting.CNNLSTMForecaster, "convolutional",
                 search_space={
                     "channels": IntRange(8, 128, log=True), "kernel_size": IntRange(2, 5),
                     "hidden_size": IntRange(8, 128, log=True), "dropout": FloatRange(0.0, 0.5)}),
    Architecture("tcn", nets.TCN, regressors.TCNRegressor, forecasting.TCNForecaster,
                 "convolutional",
                 test_params=(
                     {"window": 5, "channels": 8, "kernel_size": 2, "num_blocks": 2},
                     {"window": 3, "channels": 4, "num_blocks": 1, "weight_norm": False},
                 ),
                 search_space={
                     "channels": IntRange(8, 64, log=True), "kernel_size": IntRange(3, 5),
                     "num_blocks": IntRange(4, 6), "dropout": FloatRange(0.0, 0.5)}),
    Architecture("wavenet", nets.WaveNet, regressors.WaveNetRegressor,
                 forecasting.WaveNetForecaster, "convolutional",
                 test_params=(
                     {"window": 5, "channels": 8, "num_layers": 2, "num_cycles": 1},
                     {"window": 3, "channels": 4, "kernel_size": 3, "num_layers": 1,
                      "num_cycles": 1},
                 ),
                 search_space={
                     "channels": IntRange(8, 64, log=True), "kernel_size": Choice(2, 3),
                     "num_layers": IntRange(5, 7), "num_cycles": IntRange(1, 2),
                     "dropout": FloatRange(0.0, 0.5)}),
    Architecture("nbeats", nets.NBEATS, regressors.NBEATSRegressor,
                 forecasting.NBEATSForecaster, "basis", {"explain": True},
                 test_params=(
                     {"window": 5, "hidden_size": 8, "num_blocks": 2, "num_layers": 2},
                     {"window": 6, "stacks": ("trend", "seasonality"), "hidden_size": 4,
                      "num_blocks": 1, "num_layers": 1},
                 ),
                 search_space={
                     "hidden_size": IntRange(32, 256, log=True), "num_blocks": IntRange(1, 4),
                     "num_layers": IntRange(2, 4), "dropout": FloatRange(0.0, 0.3)}),
    Architecture("transformer", nets.Transformer, regressors.TransformerRegressor,
                 forecasting.TransformerForecaster, "attention",
                 test_params=(
                     {"window": 5, "d_model": 8, "n_heads": 2, "num_layers": 1,
                      "dim_feedforward": 16},
                     {"window": 3, "d_model": 4, "n_heads": 1, "num_layers": 1,
                      "dim_feedforward": 8, "norm": "post", "readout": "mean", "causal": True},
                 ),
                 search_space={
                     "d_model": Choice(16, 32, 64), "n_heads": Choice(1, 2, 4),
                     "num_layers": IntRange(1, 3), "dim_feedforward": Choice(32, 64, 128),
                     "dropout": FloatRange(0.0, 0.3)}),
    Architecture("patchtst", nets.PatchTST, regressors.PatchTSTRegressor,
                 forecasting.PatchTSTForecaster, "attention",
                 test_params=(
                     {"window": 5, "patch_len": 2, "stride": 1, "d_model": 8, "n_heads": 2,
                      "num_layers": 1, "dim_feedforward": 16},
                     {"window": 3, "patch_len": 2, "stride": 1, "padding_patch": None,
                      "d_model": 4, "n_heads": 1, "num_layers": 1, "dim_feedforward": 8,
                      "revin": False},
                 ),
                 search_space={
                     "patch_len": Choice(4, 8, 16), "stride": Choice(2, 4),
                     "d_model": Choice(16, 32, 64), "n_heads": Choice(1, 2, 4),
                     "num_layers": IntRange(1, 3), "dropout": FloatRange(0.0, 0.3)}),
    Architecture("autoformer", nets.Autoformer, regressors.AutoformerRegressor,
                 forecasting.AutoformerForecaster, "attention", {"explain": True},
                 test_params=(
                     {"window": 5, "d_model": 8, "num_layers": 1, "dim_feedforward": 16,
                      "moving_avg": 3},
                     {"window": 3, "d_model": 4, "num_layers": 1, "dim_feedforward": 8,
                      "factor": 2.0},
                 ),
                 search_space={
                     "d_model": Choice(16, 32, 64), "num_layers": IntRange(1, 3),
                     "dim_feedforward": Choice(32, 64, 128), "moving_avg": Choice(5, 11, 25),
                     "dropout": FloatRange(0.0, 0.3)}),
    # The paper trains quantiles, but the faces default to output="point" like every other
    # estimator (same scoring in grid searches, sklearn's checks on the defaults); pass
    # output="quantile" for the paper's set-up.
    Architecture("tft", nets.TFT, regressors.TFTRegressor, forecasting.TFTForecaster,
                 "attention", {"explain": True, "native_covariates": True},
                 test_params=(
                     {"window": 5, "hidden_size": 8, "n_heads": 2},
                     {"window": 3, "hidden_size": 4, "n_heads": 1},
                 ),
                 search_space={
                     "hidden_size": Choice(8, 16, 32, 64), "n_heads": Choice(1, 2, 4),
                     "num_layers": IntRange(1, 2), "dropout": FloatRange(0.0, 0.3)}),
    Architecture("mamba", nets.Mamba, regressors.MambaRegressor, forecasting.MambaForecaster,
                 "state-space",
                 test_params=(
                     {"window": 5, "d_model": 8, "d_state": 4, "num_layers": 1},
                     {"window": 3, "d_model": 4, "d_state": 2, "expand": 1, "num_layers": 1},
                 ),
                 check_params={"window": 8},
                 search_space={
                     "d_model": Choice(16, 32, 64), "d_state": Choice(8, 16, 32),
                     "expand": Choice(1, 2), "num_layers": IntRange(1, 3),
                     "dropout": FloatRange(0.0, 0.3)}),
    Architecture("s4d", nets.S4D, regressors.S4DRegressor, forecasting.S4DForecaster,
                 "state-space",
                 test_params=(
                     {"window": 5, "d_model": 8, "d_state": 8, "num_layers": 1},
                     {"window": 3, "d_model": 4, "d_state": 4, "num_layers": 1, "init": "inv"},
                 ),
                 search_space={
                     "d_model": Choice(16, 32, 64), "d_state": Choice(16, 32, 64),
                     "num_layers": IntRange(1, 3), "dropout": FloatRange(0.0, 0.3)}),
    Architecture("koopman", nets.DeepKoopman, regressors.DeepKoopmanRegressor,
                 forecasting.DeepKoopmanForecaster, "dynamics", {"explain": True},
                 test_params=(
                     {"window": 5, "latent_dim": 4, "hidden_size": 8, "num_layers": 1},
                     {"window": 3, "latent_dim": 3, "hidden_size": 4, "delays": 1},
                 ),
                 search_space={
                     "latent_dim": IntRange(2, 16), "hidden_size": IntRange(16, 128, log=True),
                     "num_layers": IntRange(1, 3),
                     "linearity_weight": FloatRange(0.1, 10.0, log=True)}),
    Architecture("neural_ode", nets.NeuralODE, regressors.NeuralODERegressor,
                 forecasting.NeuralODEForecaster, "dynamics",
                 test_params=(
                     {"window": 5, "hidden_size": 8, "ode_hidden": 8, "step_size": 1.0},
                     {"window": 3, "hidden_size": 4, "ode_hidden": 4, "solver": "euler",
                      "step_size": 1.0},
                 ),
                 check_params={"window": 8},
                 search_space={
                     "hidden_size": IntRange(8, 64, log=True),
                     "ode_hidden": IntRange(8, 64, log=True),
                     "step_size": Choice(0.25, 0.5, 1.0)}),
    Architecture("causal_lstm", nets.CausalLSTM, regressors.CausalLSTMRegressor,
                 forecasting.CausalLSTMForecaster, "recurrent",
                 test_params=(
                     {"window": 5, "hidden_size": 8, "embedding_size": 4},
                     {"window": 3, "hidden_size": 4, "embedding_size": 2, "num_layers": 1},
                 ),
                 search_space={**_RNN_SPACE, "embedding_size": Choice(4, 8, 16)}),
    Architecture("neural_cde", nets.NeuralCDE, regressors.NeuralCDERegressor,
                 forecasting.NeuralCDEForecaster, "dynamics",
                 test_params=(
                     {"window": 5, "hidden_size": 8, "vf_hidden": 8, "step_size": 1.0},
                     {"window": 3, "hidden_size": 4, "vf_hidden": 8, "interpolation": "linear",
                      "step_size": 1.0},
                 ),
                 check_params={"window": 8},
                 search_space={
                     "hidden_size": IntRange(8, 64, log=True),
                     "vf_hidden": IntRange(8, 64, log=True), "step_size": Choice(0.25, 0.5, 1.0)}),
    # The paper's head is Student-t (the net's default); the faces default to output="point"
    # like every other estimator (see the TFT's entry): pass output="student_t" for the
    # paper's set-up, with quantiles from sample paths.
    Architecture("lag_llama", nets.LagLlama, regressors.LagLlamaRegressor,
                 forecasting.LagLlamaForecaster, "attention", {"native_covariates": True},
                 test_params=(
                     {"window": 5, "d_model": 8, "n_heads": 2, "num_layers": 1,
                      "dim_feedforward": 16, "n_paths": 20},
                     {"window": 3, "lags": (1, 2), "d_model": 4, "n_heads": 1, "num_layers": 1,
                      "dim_feedforward": 8, "scaling": "mean_abs", "n_paths": 10},
                 ),
                 search_space={
                     "d_model": Choice(16, 32, 64), "n_heads": Choice(1, 2, 4),
                     "num_layers": IntRange(1, 3), "dim_feedforward": Choice(32, 64, 128),
                     "dropout": FloatRange(0.0, 0.3), "scaling": Choice("mean_abs", "robust")}),
    Architecture("patch_decoder", nets.PatchDecoder, regressors.PatchDecoderRegressor,
                 forecasting.PatchDecoderForecaster, "attention",
                 test_params=(
                     {"window": 5, "patch_len": 2, "d_model": 8, "n_heads": 2, "num_layers": 1,
                      "dim_feedforward": 16},
                     {"window": 3, "patch_len": 3, "d_model": 4, "n_heads": 1, "num_layers": 1,
                      "dim_feedforward": 8, "scaling": None},
                 ),
                 search_space={
                     "patch_len": Choice(4, 8, 16), "d_model": Choice(16, 32, 64),
                     "n_heads": Choice(1, 2, 4), "num_layers": IntRange(1, 3),
                     "dim_feedforward": Choice(32, 64, 128), "dropout": FloatRange(0.0, 0.3),
                     "scaling": Choice("mean_abs", "robust")}),
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


def tiny_params(face: type) -> tuple[dict, dict]:
    """The registry's two tiny configurations of the architecture behind ``face``.

    A face that is not registered (a user's subclass of a face, say) gets the default
    configurations of :class:`Architecture` filtered to its own parameters.

    Examples
    --------
    >>> from skfin.forecasting import TCNForecaster
    >>> tiny_params(TCNForecaster)[0]
    {'window': 5, 'channels': 8, 'kernel_size': 2, 'num_blocks': 2}
    """
    for arch in ARCHITECTURES:
        if face in (arch.regressor, arch.forecaster):
            return arch.test_params
    names = set(face().get_params())
    return tuple({k: v for k, v in config.items() if k in names}
                 for config in Architecture.__dataclass_fields__["test_params"].default)
