"""IncepSE: InceptionTime with squeeze-and-excitation on PTB-XL, all 71 statements.

The IncepSE project's setup: multi-label classification of every SCP
statement (``all``) at 100 Hz, per-lead standardisation, BCE with logits and
gradient-norm clipping (the project's "stabilisation"). ``se=False`` is the
plain InceptionTime baseline, also available as the ``inceptiontime``
pipeline.
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


def make_pipeline(*, se=True, n_filters=32, depth=6, max_epochs=30, batch_size=64, lr=1e-3,
                  weight_decay=1e-4, grad_clip=1.0, amp=None, patience=7, random_state=0,
                  verbose=0):
    """IncepSE (or InceptionTime with ``se=False``) as an sklearn Pipeline."""
    return Pipeline([
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            IncepSE, module__se=se, module__n_filters=n_filters, module__depth=depth,
            max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, grad_clip=grad_clip, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def search_space(trial):
    """Learning rate, weight decay, filters and depth."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "n_filters": trial.suggest_categorical("n_filters", [16, 32]),
        "depth": trial.suggest_int("depth", 3, 6, step=3),
    }
