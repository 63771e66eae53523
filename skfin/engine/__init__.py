"""The one training engine (skorch-based) and what both estimator faces share."""

from skfin.engine.callbacks import TrainingDivergedError
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.device import available_devices, resolve_device
from skfin.engine.estimator import NeuralEstimatorMixin
from skfin.engine.net import SkfinNet

__all__ = [
    "NeuralEstimatorMixin",
    "SkfinNet",
    "TimeOrderedSplit",
    "TrainingDivergedError",
    "WindowDataset",
    "available_devices",
    "resolve_device",
]
