"""ECGCNN-SE: the dual-input AF network with squeeze-and-excitation, on CinC 2017.

An LSTM encodes the single-lead signal; a residual CNN encodes its log
spectrogram (computed inside the network), conditioned on the LSTM's latent
vector, with an SE block in each residual block (``se=True``, ECGCNN_SE) or
without (``se=False``, ECGCNN_L: the ``dualnet_l`` pipeline). Four classes:
normal, AF, other rhythm, noisy. Records are padded or cut to 30 s at 300 Hz
and standardised; the network sees the whole record, or with ``crop_length``
trains on random crops and predicts the mean over half-overlapping windows.
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


def make_pipeline(*, se=True, lstm_hidden=128, crop_length=None, max_epochs=30, batch_size=64,
                  lr=1e-3, weight_decay=1e-4, balanced_sampling=True, amp=None, patience=7,
                  random_state=0, verbose=0):
    """The dual-input network; ``amp=None`` uses AMP when CUDA is present.

    ``crop_length`` is in samples at 300 Hz (``None``: the whole record);
    ``crop_length=3000``, 10 s crops, makes an epoch about three times
    cheaper.
    """
    return Pipeline([
        ("length", PadTruncate(LENGTH)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            DualNet, module__se=se, module__sampling_rate=SAMPLING_RATE,
            module__lstm_hidden=lstm_hidden, balanced_sampling=balanced_sampling,
            crop_length=crop_length, window_aggregate="mean",
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay, LSTM width and balanced sampling."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "lstm_hidden": trial.suggest_categorical("lstm_hidden", [64, 128]),
        "balanced_sampling": trial.suggest_categorical("balanced_sampling", [True, False]),
    }
