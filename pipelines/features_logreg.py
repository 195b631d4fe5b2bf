"""Engineered ECG features and logistic regression: the classic baseline.

Statistical, rhythm (R peaks from wfdb's GQRS, RR-interval statistics and
irregularity) and wavelet features, standardised, then a strongly
regularised logistic regression per class (one-vs-rest, which serves
binary, multiclass and multi-label targets alike).
"""

from ecgsk.baselines import make_feature_baseline

DATASET = ("ptbxl", "cinc2017")
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report", "af")
SAMPLING_RATE = 100


def make_pipeline(*, C=1e-2, features=("statistical", "rhythm", "wavelet"), sampler=None,
                  class_weight=None, random_state=0, n_jobs=1):
    """Features -> scaler -> [sampler] -> one-vs-rest logistic regression.

    Parameters
    ----------
    C : float, default=1e-2
        Inverse regularisation strength of the
        :class:`~sklearn.linear_model.LogisticRegression` (smaller is
        stronger).
    features : sequence of {"statistical", "rhythm", "wavelet", "beats", "template"}, \
            default=("statistical", "rhythm", "wavelet")
        Feature sets of the 100 Hz records, concatenated in this order (see
        :func:`~ecgsk.baselines.make_feature_baseline`).
    sampler : {None, "under", "over", "smote"} or sampler, default=None
        Resampling of the training records, inside each one-vs-rest problem:
        imbalanced-learn's ``RandomUnderSampler``, ``RandomOverSampler`` or
        ``SMOTE``, or any imbalanced-learn sampler.
    class_weight : None, "balanced" or dict, default=None
        Class weights of each one-vs-rest logistic regression (``"balanced"``
        weighs a class's records against the rest; a dict weighs the targets
        0 and 1 of every class, ``{0: 1.0, 1: 5.0}``).
    random_state : int, default=0
        Seeds the sampler (the logistic regression's solver is deterministic).
    n_jobs : int, default=1
        Parallel jobs of the QRS detection of the rhythm features (and of
        the beats and template features).

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Unfitted, from :func:`~ecgsk.baselines.make_feature_baseline`: steps
        ``"features"``, ``"scaler"`` and ``"classifier"`` (a
        ``OneVsRestClassifier``, holding the sampler when one is asked for).
    """
    from sklearn.linear_model import LogisticRegression

    return make_feature_baseline(
        LogisticRegression(C=C, max_iter=2000, class_weight=class_weight),
        features=features, sampling_rate=SAMPLING_RATE, sampler=sampler, multilabel=True,
        random_state=random_state, n_jobs=n_jobs)


def search_space(trial):
    """Regularisation strength and class weights.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``C`` (1e-4 to 10,
        log scale) and ``class_weight`` (None or ``"balanced"``).
    """
    return {
        "C": trial.suggest_float("C", 1e-4, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }
