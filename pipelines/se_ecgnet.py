"""SE-ECGNet: timm's SE-ResNeXt-50 (32x4d) on PTB-XL normal vs abnormal.

The SE-ECGNet recipe: 500 Hz records padded or truncated to 4,096 samples,
the ECG seen as a 1 x leads x samples image by a timm backbone, focal loss
(alpha 0.25, gamma 2), class-balanced sampling, AdamW (lr 1e-4, weight decay
1e-4), ReduceLROnPlateau, early stopping with patience 7, mixed precision on
a GPU, and the five augmentations (time warp, shift, scale, Gaussian noise,
amplitude scale) applied anew every epoch. Normal/abnormal comes from the
report text (``binary_report``), as in the project; ``binary`` uses the SCP
superclasses instead.

Departures from the project: records longer than 4,096 samples keep their
middle (``PadTruncate``'s centre crop); and ``python -m ecgsk.compare`` splits by PTB-XL's
``strat_fold`` (1-8 train, 9 validation, 10 test, patients apart) where the
project drew a stratified 80/20 split of records (a pipeline fitted on its
own holds out 10% of its training records for early stopping, whole patients
with ``fit(X, y, net__groups=...)``). The plateau schedule divides the
learning rate by ten once 4 epochs in a row make no progress
(``lr_patience=3`` tolerates 3), and training clips the
gradient norm at 1.0 (:class:`~ecgsk.neural.ECGNetClassifier`'s defaults;
the project names neither setting).
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import TimmNet
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Augmenter, PadTruncate

DATASET = "ptbxl"
TASK = ("binary_report", "binary")
SAMPLING_RATE = 500
LENGTH = 4096


def make_pipeline(*, model_name="seresnext50_32x4d", min_height=1, max_epochs=30,
                  batch_size=64, lr=1e-4, weight_decay=1e-4, augment=True, amp=None,
                  patience=7, random_state=0, verbose=0):
    """SE-ECGNet as an sklearn Pipeline; ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    model_name : str, default="seresnext50_32x4d"
        The timm backbone, any name of ``timm.list_models()`` (built untrained;
        see :class:`~ecgsk.nets.TimmNet`).
    min_height : int, default=1
        Smallest image height (:class:`~ecgsk.nets.TimmNet`): 1 feeds the
        project's ``1 x 12 x 4096`` image, which ``seresnext50_32x4d`` and
        the other backbones that pad their strided layers take as it is. Set
        32 for a backbone that needs 32 rows (ConvNeXt, un-padded pooling
        such as ``densenet121``'s): each lead is then repeated, 36
        rows for 12 leads, at 2.25 times the training time on a CPU
        (``bench/bench_nets_cpu.py``).
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
        Unfitted: ``PadTruncate(4096) -> ECGNetClassifier(TimmNet)`` with the
        focal loss and balanced sampling.
    """
    return Pipeline([
        ("length", PadTruncate(LENGTH)),
        ("net", ECGNetClassifier(
            TimmNet, module__model_name=model_name, module__min_height=min_height,
            criterion="focal",
            balanced_sampling=True, augment=Augmenter() if augment else None,
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay and batch size.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``lr`` (1e-5 to
        1e-3) and ``weight_decay`` (1e-6 to 1e-2), both on a log scale, and
        ``batch_size`` (32 or 64).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-5, 1e-3, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64]),
    }
