"""ECGCNN: the Keras PTB CNN project's 4-block 1-D CNN, on PTB Diagnostic or PTB-XL.

Baseline-drift removal (0.5 Hz high-pass), 5,000 samples (10 s at 500 Hz),
a 1-D CNN of four convolution blocks (64/128/256/512 filters, kernels
15/10/5/3, batch norm, max pooling, dropout), global average pooling and a
dense head (256, 128). Trained with ReduceLROnPlateau and early stopping, as
the project was, and with ecgsk's cross-entropy on multiclass targets (BCE
with logits on binary and multi-label ones), AdamW and mixed precision on a
GPU, which the project does not name.

Departures from the project: its network reads one lead, ``(5000, 1)``
("automatic lead selection", all leads being its next step); this pipeline
reads every lead unless ``leads`` names some (``--set
"ecgcnn_ptb.leads=('II',)"`` gives the project's one-lead input). Its PTB
Diagnostic records are at 1000 Hz, so its 5000 samples were 5 s; here they
are 10 s at 500 Hz, the rate of PTB-XL's ``records500``. Its
``predict_ecg`` normalised each signal on its own; here ``Standardizer``
learns each lead's mean and standard deviation from the training records, as
most ecgsk network pipelines do (``se_ecgnet`` and ``se_resnext1d``, as
SE-ECGNet did, feed the signals unscaled). Training clips the gradient norm at 1.0
(:class:`~ecgsk.neural.ECGNetClassifier`'s ``grad_clip``), which the project
did not mention.
"""

import torch
from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import (
    STANDARD_LEADS,
    BaselineRemoval,
    LeadSelector,
    PadTruncate,
    Standardizer,
)

DATASET = ("ptbdb", "ptbxl")
TASK = ("diagnosis", "superdiagnostic", "binary", "binary_report")
SAMPLING_RATE = 500
LENGTH = 5000


def make_pipeline(*, leads=None, max_epochs=30, batch_size=32, lr=1e-3, weight_decay=1e-4,
                  amp=None, patience=7, random_state=0, verbose=0):
    """The PTB CNN as an sklearn Pipeline.

    ``amp=None`` uses AMP when CUDA is present.

    Parameters
    ----------
    leads : sequence of str or int, or None, default=None
        Leads the network reads, by name of the standard 12 (``("II",)``,
        case ignored: PTB Diagnostic's headers say ``ii``), which PTB-XL and
        PTB Diagnostic store first and in their order, or by channel index
        (:class:`~ecgsk.preprocessing.LeadSelector`); None reads every lead.
        Another name is refused.
    max_epochs : int, default=30
        Upper bound on the training epochs; early stopping (``patience``) may
        end training sooner.
    batch_size : int, default=32
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of the AdamW optimizer (reduced tenfold on a plateau of
        the validation loss, see :class:`~ecgsk.neural.ECGNetClassifier`).
    weight_decay : float, default=1e-4
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
        Seeds the weight initialisation, the validation split and the
        shuffling. See :class:`~ecgsk.neural.ECGNetClassifier`.
    verbose : int, default=0
        Training log: 0 silent, 1 a table per epoch, 2 also a progress bar.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted: ``[LeadSelector] -> BaselineRemoval(0.5 Hz high-pass) ->
        PadTruncate(5000) -> Standardizer -> ECGNetClassifier(ECGCNN)``.
    """
    # By index: PTB Diagnostic's 15 leads begin with the standard 12, in their order.
    select = [] if leads is None else [("leads", LeadSelector(leads=_lead_indices(leads)))]
    return Pipeline([
        *select,
        ("baseline", BaselineRemoval(method="highpass", sampling_rate=SAMPLING_RATE)),
        ("length", PadTruncate(LENGTH)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            ECGCNN, max_epochs=max_epochs, batch_size=batch_size, lr=lr,
            optimizer__weight_decay=weight_decay, patience=patience,
            amp=torch.cuda.is_available() if amp is None else amp,
            random_state=random_state, verbose=verbose)),
    ])


def _lead_indices(leads):
    """Each lead's index among the standard 12, a name matched ignoring case."""
    if isinstance(leads, (str, int)):
        leads = [leads]
    if not isinstance(leads, (list, tuple)) or not leads:
        raise ValueError(f"leads must be a lead name, a channel index or a non-empty sequence "
                         f"of them, or None for every lead; got {leads!r}.")
    upper = [name.upper() for name in STANDARD_LEADS]
    indices = []
    for lead in leads:
        if isinstance(lead, str):
            if lead.upper() not in upper:
                raise ValueError(f"leads: {lead!r} is not one of the standard 12 leads "
                                 f"({', '.join(STANDARD_LEADS)}); name those, ignoring case, "
                                 "or give a channel index.")
            lead = upper.index(lead.upper())
        indices.append(lead)
    return indices


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
        Sampled keyword arguments of :func:`make_pipeline`: ``lr`` (1e-4 to
        1e-2, log scale), ``weight_decay`` (1e-6 to 1e-2, log scale) and
        ``batch_size`` (16, 32 or 64).
    """
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
    }
