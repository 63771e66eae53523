"""The one training engine (skorch-based) and what both estimator faces share."""

from skfin.engine.augment import Augmenter
from skfin.engine.callbacks import (OptunaPruning, TrainingCheckpoint, TrainingDivergedError,
                                    extra_callbacks, read_checkpoint)
from skfin.engine.data import TimeOrderedSplit, WindowDataset
from skfin.engine.device import available_devices, resolve_device
from skfin.engine.estimator import NeuralEstimatorMixin
from skfin.engine.meta import MAML, adapt, maml_loss
from skfin.engine.net import AcceleratedSkfinNet, SkfinNet, resolve_accelerator
from skfin.engine.schedules import WarmupCosine, lr_scheduler
from skfin.engine.transfer import freeze_parameters, parameter_groups

__all__ = [
    "AcceleratedSkfinNet",
    "Augmenter",
    "MAML",
    "NeuralEstimatorMixin",
    "OptunaPruning",
    "SkfinNet",
    "TimeOrderedSplit",
    "TrainingCheckpoint",
    "TrainingDivergedError",
    "WarmupCosine",
    "WindowDataset",
    "adapt",
    "available_devices",
    "extra_callbacks",
    "freeze_parameters",
    "lr_scheduler",
    "maml_loss",
    "parameter_groups",
    "read_checkpoint",
    "resolve_accelerator",
    "resolve_device",
]
