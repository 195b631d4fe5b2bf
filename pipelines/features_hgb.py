"""Engineered ECG features and histogram gradient boosting.

The ``features_logreg`` features (statistical, rhythm, wavelet; ``features``
adds ``"beats"`` and ``"template"``) feeding scikit-learn's
``HistGradientBoostingClassifier``, one per class (one-vs-rest).
``ecgsk_ptbxl`` builds its ``features`` member with this pipeline and its
boosting defaults: tuning it with ``--set features=...`` tunes the member's
configuration alone, and the ensemble does not take the tuned values.
"""

from ecgsk.baselines import make_feature_baseline

DATASET = ("ptbxl", "cinc2017")
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report", "af")
SAMPLING_RATE = 100


def make_pipeline(*, learning_rate=0.1, max_leaf_nodes=31, max_iter=100, class_weight=None,
                  features=("statistical", "rhythm", "wavelet"), sampler=None, random_state=0,
                  n_jobs=1, rhythm_lead=0):
    """Features -> scaler -> [sampler] -> one-vs-rest gradient boosting.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Learning rate (shrinkage) of the boosting
        (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`).
    max_leaf_nodes : int, default=31
        Maximum number of leaves of each tree.
    max_iter : int, default=100
        Number of boosting iterations.
    class_weight : None, "balanced" or dict, default=None
        Class weights of each one-vs-rest booster (``"balanced"`` weighs a
        class's records against the rest; a dict weighs the targets 0 and 1
        of every class, ``{0: 1.0, 1: 5.0}``).
    features : sequence of {"statistical", "rhythm", "wavelet", "beats", "template"}, \
            default=("statistical", "rhythm", "wavelet")
        Feature sets of the 100 Hz records, concatenated in this order (see
        :func:`~ecgsk.baselines.make_feature_baseline`).
    sampler : {None, "under", "over", "smote"} or sampler, default=None
        Resampling of the training records, inside each one-vs-rest problem:
        imbalanced-learn's ``RandomUnderSampler``, ``RandomOverSampler`` or
        ``SMOTE``, or any imbalanced-learn sampler.
    random_state : int, default=0
        Seeds the boosting and the sampler.
    n_jobs : int, default=1
        Parallel jobs of the QRS detection (rhythm, beats and template
        features).
    rhythm_lead : int, default=0
        Index of the lead the R peaks of the rhythm, beats and template
        features are detected on (0: the first lead, lead I of PTB-XL; 1:
        lead II, the usual rhythm lead). Templates are taken of every lead.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Unfitted, from :func:`~ecgsk.baselines.make_feature_baseline`: steps
        ``"features"``, ``"scaler"`` and ``"classifier"`` (a
        ``OneVsRestClassifier``, holding the sampler when one is asked for).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes, max_iter=max_iter,
        class_weight=class_weight, random_state=random_state)
    return make_feature_baseline(clf, features=features, sampling_rate=SAMPLING_RATE,
                                 sampler=sampler, multilabel=True, random_state=random_state,
                                 n_jobs=n_jobs, rhythm_lead=rhythm_lead)


def search_space(trial):
    """Learning rate, tree size and boosting rounds.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``learning_rate``
        (0.02 to 0.3), ``max_leaf_nodes`` (8 to 64) and ``max_iter`` (50 to
        300), all on a log scale.
    """
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 64, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 300, log=True),
    }
