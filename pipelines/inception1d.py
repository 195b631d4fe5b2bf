"""inception1d on PTB-XL superdiagnostic: the superclass project's Inception model.

The ``resnet1d`` recipe (benchmark crops and max-aggregated sliding windows,
optional derivative channels and augmentation) with
:class:`ecgsk.nets.InceptionTime1d`, the benchmark's inception1d; ``se=True``
adds a squeeze-and-excitation block after every module (IncepSE).
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module
from ecgsk.nets import InceptionTime1d

_resnet1d = load_pipeline_module(str(Path(__file__).with_name("resnet1d.py")))

DATASET, TASK = _resnet1d.DATASET, _resnet1d.TASK
SAMPLING_RATE, LENGTH = _resnet1d.SAMPLING_RATE, _resnet1d.LENGTH


def make_pipeline(*, derivatives=False, augment=False, crop_length=250, window_stride=125,
                  n_filters=32, depth=6, se=False, max_epochs=30, batch_size=128, lr=1e-3,
                  weight_decay=1e-3, amp=None, patience=7, random_state=0, verbose=0):
    """InceptionTime with the benchmark's crops; ``se=True`` makes it IncepSE.

    ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    derivatives : bool, default=False
        Append first-derivative channels to the input
        (:class:`~ecgsk.preprocessing.Derivatives`).
    augment : bool, default=False
        Apply the five augmentations of :class:`~ecgsk.preprocessing.Augmenter`
        to every training batch.
    crop_length : int or None, default=250
        Train on random crops of this many samples (2.5 s at 100 Hz) and
        predict the maximum over sliding windows of that length; ``None``
        trains and predicts on whole records. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    window_stride : int or None, default=125
        Step in samples between the prediction windows (``None``: half of
        ``crop_length``; unused with ``crop_length=None``).
    n_filters : int, default=32
        Filters per branch of every inception module (``module__n_filters`` of
        :class:`~ecgsk.nets.InceptionTime1d`).
    depth : int, default=6
        Number of inception modules (a residual shortcut closes every complete
        group of three).
    se : bool, default=False
        Put a squeeze-and-excitation block after every inception module
        (IncepSE).
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=128
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-3
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the shuffling, the random crops
        and the augmentation. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``Standardizer -> [Derivatives] ->
        ECGNetClassifier(InceptionTime1d)``.
    """
    return _resnet1d.benchmark_recipe(
        InceptionTime1d, module_params={"n_filters": n_filters, "depth": depth, "se": se},
        derivatives=derivatives, augment=augment, crop_length=crop_length,
        window_stride=window_stride, max_epochs=max_epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, amp=amp, patience=patience, random_state=random_state,
        verbose=verbose)


search_space = _resnet1d.search_space
