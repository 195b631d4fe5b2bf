"""inception1d on PTB-XL superdiagnostic: the superclass project's Inception model.

The ``resnet1d`` recipe (benchmark crops and max-aggregated sliding windows,
optional derivative channels and augmentation) with
:class:`ecgsk.nets.InceptionTime1d`, the benchmark's inception1d.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import InceptionTime1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, Derivatives, Standardizer

DATASET = "ptbxl"
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary")
SAMPLING_RATE = 100
LENGTH = 1000


def make_pipeline(*, derivatives=False, augment=False, crop_length=250, window_stride=125,
                  n_filters=32, depth=6, max_epochs=30, batch_size=128, lr=1e-3,
                  weight_decay=1e-3, amp=None, patience=7, random_state=0, verbose=0):
    """InceptionTime with the benchmark's crops; ``amp=None`` uses AMP when CUDA is present."""
    steps = [("scale", Standardizer())]
    if derivatives:
        steps.append(("derivatives", Derivatives(order=1, append=True)))
    steps.append(("net", ECGNetClassifier(
        InceptionTime1d, module__n_filters=n_filters, module__depth=depth,
        augment=Augmenter() if augment else None, crop_length=crop_length,
        window_stride=window_stride if crop_length else None, window_aggregate="max",
        max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        optimizer__weight_decay=weight_decay, patience=patience,
        amp=torch.cuda.is_available() if amp is None else amp,
        random_state=random_state, verbose=verbose)))
    return Pipeline(steps)


def search_space(trial):
    """Learning rate, weight decay, derivative channels and augmentation."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-2, log=True),
        "derivatives": trial.suggest_categorical("derivatives", [True, False]),
        "augment": trial.suggest_categorical("augment", [True, False]),
    }
