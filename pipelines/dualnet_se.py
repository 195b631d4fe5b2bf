"""ECGCNN-SE: the dual-input AF network with squeeze-and-excitation, on CinC 2017.

An LSTM encodes the single-lead signal; a residual CNN encodes its log
spectrogram (computed inside the network), conditioned on the LSTM's latent
vector, with an SE block in each residual block (``se=True``, ECGCNN_SE) or
without (``se=False``, ECGCNN_L: the ``dualnet_l`` pipeline). Four classes:
normal, AF, other rhythm, noisy. Records are padded or cut to 30 s at 300 Hz
and standardised; the network sees the whole record, or with ``crop_length``
trains on random crops and predicts the mean over half-overlapping windows.

Departures from the project: its reported scores are on MIT-BIH AFDB
segments, normal against AF, though its setup steps train on CinC 2017.
AFDB is not among ecgsk's datasets, so the pipeline learns CinC 2017's four
classes, as those setup steps do. Its network is smaller than the project's ECGCNN_L configuration
(five blocks of 64-256 channels, a latent of 256), to train on a CPU:
``--set "dualnet_se.channels=(64, 128, 256, 256, 256)" --set
dualnet_se.lstm_hidden=256`` comes close to it. It also reads 30 s records
(the project 60 s), standardises with the training records' statistics
(the project each record by its own), trains for at most 30 epochs with
early stopping (the project 100) and draws balanced epochs. Training clips
the gradient norm at 1.0 (:class:`~ecgsk.neural.ECGNetClassifier`'s
``grad_clip``), which the project does not mention.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import DualNet
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import PadTruncate, Standardizer

DATASET = "cinc2017"
TASK = "af"
SAMPLING_RATE = 300
LENGTH = 9000


def make_pipeline(*, se=True, lstm_hidden=128, channels=(32, 64, 128, 128), crop_length=None,
                  max_epochs=30, batch_size=64, lr=1e-3, weight_decay=1e-4,
                  balanced_sampling=True, amp=None, patience=7, random_state=0, verbose=0):
    """The dual-input network; ``amp=None`` uses AMP when CUDA is present.

    ``crop_length`` is in samples at 300 Hz (``None``: the whole record);
    ``crop_length=3000``, 10 s crops, makes an epoch about three times
    cheaper.

    Parameters
    ----------
    se : bool, default=True
        Put a squeeze-and-excitation block in every residual block of the
        spectrogram encoder (ECGCNN_SE); ``False`` leaves them out (ECGCNN_L).
        See :class:`~ecgsk.nets.DualNet`.
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
        ECGNetClassifier(DualNet)``.
    """
    return Pipeline([
        ("length", PadTruncate(LENGTH)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            DualNet, module__se=se, module__sampling_rate=SAMPLING_RATE,
            module__lstm_hidden=lstm_hidden,
            # A list as a tuple; anything else as given, for DualNet to name.
            module__channels=tuple(channels) if isinstance(channels, list) else channels,
            balanced_sampling=balanced_sampling,
            crop_length=crop_length, window_aggregate="mean",
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay, LSTM width and balanced sampling.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of ``make_pipeline``: ``lr`` (1e-4 to 1e-2,
        log scale), ``weight_decay`` (1e-6 to 1e-2, log scale),
        ``lstm_hidden`` (64 or 128) and ``balanced_sampling`` (True or False).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "lstm_hidden": trial.suggest_categorical("lstm_hidden", [64, 128]),
        "balanced_sampling": trial.suggest_categorical("balanced_sampling", [True, False]),
    }
