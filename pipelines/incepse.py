"""IncepSE: InceptionTime with squeeze-and-excitation on PTB-XL, all 71 statements.

The IncepSE project's setup: multi-label classification of every SCP
statement (``all``) at 100 Hz, per-lead standardisation, segmentation into
fixed-length windows (the PTB-XL benchmark's, which the IncepSE paper
compares on: random 2.5 s crops in training, the maximum over sliding
windows at prediction), BCE with logits and gradient-norm clipping (the
project's "stabilisation"). ``se=False`` is the plain InceptionTime
baseline, also available as the ``inceptiontime`` pipeline.

Departures from the project: its README does not say how it handled the
class imbalance it names, so nothing is added for it here (no class
weights, focal loss or sampler; ``python -m ecgsk.compare --set`` cannot
add them, a pipeline of one's own can); the optimiser is AdamW with a
plateau schedule, not the benchmark's one-cycle schedule.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import IncepSE
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = ("all", "superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm")
SAMPLING_RATE = 100
LENGTH = 1000


def make_pipeline(*, se=True, n_filters=32, depth=6, crop_length=250, window_stride=125,
                  max_epochs=30, batch_size=64, lr=1e-3, weight_decay=1e-4, grad_clip=1.0,
                  amp=None, patience=7, random_state=0, verbose=0):
    """IncepSE (or InceptionTime with ``se=False``) as an sklearn Pipeline.

    ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    se : bool, default=True
        Put a squeeze-and-excitation block after every inception module
        (IncepSE); ``False`` gives plain InceptionTime. See
        :class:`~ecgsk.nets.IncepSE`.
    n_filters : int, default=32
        Filters per branch of every inception module (``module__n_filters`` of
        :class:`~ecgsk.nets.IncepSE`).
    depth : int, default=6
        Number of inception modules (a residual shortcut closes every group of
        three).
    crop_length : int or None, default=250
        Train on random crops of this many samples (2.5 s at 100 Hz) and
        predict the maximum over sliding windows of that length; ``None``
        trains and predicts on whole records. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    window_stride : int or None, default=125
        Step in samples between the prediction windows (``None``: half of
        ``crop_length``; unused with ``crop_length=None``).
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-4
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    grad_clip : float or None, default=1.0
        Clip the gradient norm to this value at every step; ``None`` disables
        clipping.
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split and the
        shuffling. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Standardizer -> ECGNetClassifier(IncepSE)``.
    """
    return Pipeline([
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            IncepSE, module__se=se, module__n_filters=n_filters, module__depth=depth,
            crop_length=crop_length, window_stride=window_stride if crop_length else None,
            window_aggregate="max", max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, grad_clip=grad_clip, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay, filters and depth.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of ``make_pipeline``: ``lr`` (1e-4 to 1e-2)
        and ``weight_decay`` (1e-6 to 1e-2), both on a log scale,
        ``n_filters`` (16 or 32) and ``depth`` (3 or 6).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "n_filters": trial.suggest_categorical("n_filters", [16, 32]),
        "depth": trial.suggest_int("depth", 3, 6, step=3),
    }
