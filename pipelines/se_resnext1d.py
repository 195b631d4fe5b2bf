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
    """SE-ResNeXt-1d with the SE-ECGNet recipe; ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    preset : {"small", "26", "50"}, default="small"
        Architecture preset of :class:`~ecgsk.nets.SEResNeXt1d`: ``"small"``
        the CPU-sized network, ``"50"`` the SE-ResNeXt-50 (32x4d) layout.
    se : bool, default=True
        Put a squeeze-and-excitation block in every bottleneck; ``False``
        gives the plain ResNeXt.
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=1e-4
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-4
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    augment : bool, default=True
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the balanced sampling
        and the augmentation. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``PadTruncate(4096) -> ECGNetClassifier(SEResNeXt1d)`` with
        the focal loss and balanced sampling.
    """
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
    """Learning rate, weight decay and whether to augment.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``lr`` (1e-5 to
        3e-3) and ``weight_decay`` (1e-6 to 1e-2), both on a log scale, and
        ``augment`` (True or False).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-5, 3e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "augment": trial.suggest_categorical("augment", [True, False]),
    }
