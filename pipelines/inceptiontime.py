"""InceptionTime on PTB-XL, all statements: IncepSE without squeeze-and-excitation.

The baseline of the IncepSE comparison, with the same recipe as the
``incepse`` pipeline and ``se=False``.
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module

_incepse = load_pipeline_module(str(Path(__file__).with_name("incepse.py")))

DATASET, TASK = _incepse.DATASET, _incepse.TASK
SAMPLING_RATE, LENGTH = _incepse.SAMPLING_RATE, _incepse.LENGTH


def make_pipeline(*, n_filters=32, depth=6, crop_length=250, window_stride=125, max_epochs=30,
                  batch_size=64, lr=1e-3, weight_decay=1e-4, grad_clip=1.0, amp=None,
                  patience=7, random_state=0, verbose=0):
    """InceptionTime as an sklearn Pipeline (the ``incepse`` recipe with ``se=False``).

    ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
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
        Unfitted: ``Standardizer -> ECGNetClassifier(IncepSE(se=False))``.
    """
    return _incepse.make_pipeline(
        se=False, n_filters=n_filters, depth=depth, crop_length=crop_length,
        window_stride=window_stride, max_epochs=max_epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
        amp=amp, patience=patience, random_state=random_state, verbose=verbose)


search_space = _incepse.search_space
