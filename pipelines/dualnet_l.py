"""ECGCNN_L: the dual-input AF network without squeeze-and-excitation, on CinC 2017.

The ``dualnet_se`` recipe with ``se=False``: the baseline of the ECGCNN-SE
comparison.
"""

from pathlib import Path

from ecgsk.compare import load_pipeline_module

_dualnet = load_pipeline_module(str(Path(__file__).with_name("dualnet_se.py")))

DATASET, TASK = _dualnet.DATASET, _dualnet.TASK
SAMPLING_RATE, LENGTH = _dualnet.SAMPLING_RATE, _dualnet.LENGTH


def make_pipeline(*, lstm_hidden=128, channels=(32, 64, 128, 128), crop_length=None,
                  max_epochs=30, batch_size=64, lr=1e-3, weight_decay=1e-4,
                  balanced_sampling=True, amp=None, patience=7, random_state=0, verbose=0):
    """The dual-input network without SE blocks.

    The ``dualnet_se`` pipeline's ``make_pipeline`` with ``se=False``;
    ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    lstm_hidden : int, default=128
        Hidden size of the signal branch's LSTM, the length of the latent
        vector that conditions the spectrogram encoder (``module__lstm_hidden``
        of :class:`~ecgsk.nets.DualNet`).
    channels : tuple of int, default=(32, 64, 128, 128)
        Output channels of the residual blocks of the spectrogram encoder,
        one block each (``module__channels`` of :class:`~ecgsk.nets.DualNet`).
    crop_length : int or None, default=None
        Train on random crops of this many samples (at 300 Hz) and predict the
        mean of the probabilities over half-overlapping windows of that length;
        ``None`` trains and predicts on the whole 9,000-sample record. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer.
    weight_decay : float, default=1e-4
        Weight decay of the AdamW optimizer (``optimizer__weight_decay`` of
        :class:`~ecgsk.neural.ECGNetClassifier`).
    balanced_sampling : bool, default=True
        Draw every training epoch with a weighted random sampler that makes the
        four classes equally frequent. See :class:`~ecgsk.neural.ECGNetClassifier`.
    amp : bool or None, default=None
        Mixed precision (``torch.autocast``) in training and prediction;
        ``None`` turns it on when CUDA is available. See
        :class:`~ecgsk.neural.ECGNetClassifier`.
    patience : int or None, default=7
        Early stopping after ``patience`` epochs without improvement of the
        validation loss, restoring the best weights; ``None`` disables it.
    random_state : int, default=0
        Seeds the weight initialisation, the validation split, the sampling
        and the random crops. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``PadTruncate(9000) -> Standardizer ->
        ECGNetClassifier(DualNet(se=False))``.
    """
    return _dualnet.make_pipeline(
        se=False, lstm_hidden=lstm_hidden, channels=channels, crop_length=crop_length,
        max_epochs=max_epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay,
        balanced_sampling=balanced_sampling, amp=amp, patience=patience,
        random_state=random_state, verbose=verbose)


search_space = _dualnet.search_space
