"""SE-ResNeXt-1d on PTB-XL normal vs abnormal: the SE-ECGNet recipe with a 1-D network.

The same recipe as ``se_ecgnet`` (4,096 samples at 500 Hz, focal loss,
balanced sampling, AdamW 1e-4, ReduceLROnPlateau, early stopping 7, AMP on a
GPU, five augmentations) with :class:`ecgsk.nets.SEResNeXt1d` in place of
the 2-D timm backbone. ``preset="small"`` is the CPU-sized network,
``preset="50"`` mirrors SE-ResNeXt-50 (32x4d); ``se=False`` drops the
squeeze-and-excitation blocks.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import SEResNeXt1d
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, PadTruncate

DATASET = "ptbxl"
TASK = ("binary_report", "binary")
SAMPLING_RATE = 500
LENGTH = 4096


def make_pipeline(*, preset="small", se=True, max_epochs=30, batch_size=64, lr=1e-4,
                  weight_decay=1e-4, augment=True, amp=None, patience=7, random_state=0,
                  verbose=0):
    """SE-ResNeXt-1d with the SE-ECGNet recipe; ``amp=None`` uses AMP when CUDA is present."""
    return Pipeline([
        ("length", PadTruncate(LENGTH)),
        ("net", ECGNetClassifier(
            SEResNeXt1d, module__preset=preset, module__se=se, criterion="focal",
            balanced_sampling=True, augment=Augmenter() if augment else None,
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay and whether to augment."""
    return {
        "lr": trial.suggest_float("lr", 1e-5, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "augment": trial.suggest_categorical("augment", [True, False]),
    }
