"""Engineered ECG features and histogram gradient boosting.

The ``features_logreg`` features (statistical, rhythm, wavelet; ``features``
adds ``"beats"`` and ``"template"``) feeding scikit-learn's
``HistGradientBoostingClassifier``, one per class (one-vs-rest).
``ecgsk_ptbxl`` builds its ``features`` member with this pipeline, so tuning
it with ``--set features=...`` tunes that member.
"""

from ecgsk.baselines import make_feature_baseline

DATASET = ("ptbxl", "cinc2017")
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report", "af")
SAMPLING_RATE = 100


def make_pipeline(*, learning_rate=0.1, max_leaf_nodes=31, max_iter=100, class_weight=None,
                  features=("statistical", "rhythm", "wavelet"), sampler=None, random_state=0,
                  n_jobs=1):
    """Features -> scaler -> [sampler] -> one-vs-rest gradient boosting."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        learning_rate=learning_rate, max_leaf_nodes=max_leaf_nodes, max_iter=max_iter,
        class_weight=class_weight, random_state=random_state)
    return make_feature_baseline(clf, features=features, sampling_rate=SAMPLING_RATE,
                                 sampler=sampler, multilabel=True, random_state=random_state,
                                 n_jobs=n_jobs)


def search_space(trial):
    """Learning rate, tree size and boosting rounds."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 8, 64, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 300, log=True),
    }
