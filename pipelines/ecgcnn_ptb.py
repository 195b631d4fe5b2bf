"""ECGCNN: the Keras PTB CNN project's 4-block 1-D CNN, on PTB Diagnostic or PTB-XL.

Baseline-drift removal (0.5 Hz high-pass), 5,000 samples (10 s at 500 Hz),
a 1-D CNN of four convolution blocks (64/128/256/512 filters, kernels
15/10/5/3, batch norm, max pooling, dropout), global average pooling and a
dense head (256, 128). Trained with cross-entropy (or BCE for multi-label
targets), AdamW, ReduceLROnPlateau and early stopping, mixed precision on a GPU.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import BaselineRemoval, PadTruncate, Standardizer

DATASET = ("ptbdb", "ptbxl")
TASK = ("diagnosis", "superdiagnostic", "binary")
SAMPLING_RATE = 500
LENGTH = 5000


def make_pipeline(*, max_epochs=30, batch_size=32, lr=1e-3, weight_decay=1e-4, amp=None,
                  patience=7, random_state=0, verbose=0):
    """The PTB CNN as an sklearn Pipeline."""
    return Pipeline([
        ("baseline", BaselineRemoval(method="highpass", sampling_rate=SAMPLING_RATE)),
        ("length", PadTruncate(LENGTH)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            ECGCNN, max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay and batch size."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
    }
