"""The one training engine (skorch-based) and what both estimator faces share."""

from skfin.engine.augment import Augmenter
from skfin.engine.callbacks import TrainingCheckpoint, TrainingDivergedError, read_checkpoint
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.device import available_devices, resolve_device
from skfin.engine.estimator import NeuralEstimatorMixin
from skfin.engine.net import SkfinNet

__all__ = [
    "Augmenter",
    "NeuralEstimatorMixin",
    "SkfinNet",
    "TimeOrderedSplit",
    "TrainingCheckpoint",
    "TrainingDivergedError",
    "WindowDataset",
    "available_devices",
    "read_checkpoint",
    "resolve_device",
]
