"""The one training engine (skorch-based) and what both estimator faces share."""

from skfin.engine.augment import Augmenter
from skfin.engine.callbacks import (OptunaPruning, TrainingCheckpoint, TrainingDivergedError,
                                    extra_callbacks, read_checkpoint)
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.device import available_devices, resolve_device
from skfin.engine.estimator import NeuralEstimatorMixin
from skfin.engine.net import AcceleratedSkfinNet, SkfinNet, resolve_accelerator

__all__ = [
    "AcceleratedSkfinNet",
    "Augmenter",
    "NeuralEstimatorMixin",
    "OptunaPruning",
    "SkfinNet",
    "TimeOrderedSplit",
    "TrainingCheckpoint",
    "TrainingDivergedError",
    "WindowDataset",
    "available_devices",
    "extra_callbacks",
    "read_checkpoint",
    "resolve_accelerator",
    "resolve_device",
]
