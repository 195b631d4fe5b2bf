"""A small CNN on the median beat of each lead: a member tried beside ``ecgsk_ptbxl``'s.

The 12-lead beat templates (:class:`~ecgsk.features.BeatTemplate`: each
lead's median beat from -0.24 to +0.44 s around the R peak, every 20 ms)
lift gradient boosting to ``ecgsk_ptbxl``'s best member. This recipe reads
the same templates as signals, ``(n, 12, 35)``, with a 3-block 1-D CNN, to
see whether a network on them errs elsewhere than the trees
(``BENCHMARKS.md``, issue 8, session 16). It lives in ``bench/`` because
it is a measurement, not one of ecgsk's named pipelines.
"""

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ecgsk.features import BeatTemplate
from ecgsk.features._beats import TEMPLATE_TIMES
from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = ("superdiagnostic", "binary")
SAMPLING_RATE = 100
LENGTH = 1000


def _as_leads(features):
    """BeatTemplate's ``n_leads x 35`` features of each record as an ``(n_leads, 35)`` signal."""
    return features.reshape(len(features), -1, len(TEMPLATE_TIMES))


def make_pipeline(*, max_epochs=60, batch_size=64, lr=1e-3, patience=10, random_state=0,
                  verbose=0):
    """Templates -> (n, 12, 35) -> per-lead standardizer -> ECGCNN (3 small blocks).

    Parameters
    ----------
    max_epochs : int, default=60
        Upper bound on the training epochs; early stopping may end it sooner.
    batch_size : int, default=64
        Training and prediction batch size.
    lr : float, default=1e-3
        Learning rate of AdamW, cut tenfold on a plateau of the validation loss.
    patience : int, default=10
        Early stopping after this many epochs without a better validation loss.
    random_state : int, default=0
        Seeds the network's weights and batches.
    verbose : int, default=0
        Training log of the network.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted.
    """
    return Pipeline([
        ("templates", BeatTemplate(sampling_rate=SAMPLING_RATE)),
        ("leads", FunctionTransformer(_as_leads)),
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            ECGCNN, module__filters=(32, 64, 128), module__kernel_sizes=(5, 3, 3),
            module__dense=(64,), crop_length=None, max_epochs=max_epochs,
            batch_size=batch_size, lr=lr, patience=patience, random_state=random_state,
            verbose=verbose)),
    ])


def search_space(trial):
    """The learning rate (not searched in issue 8's measurement)."""
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True)}
