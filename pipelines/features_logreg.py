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
    """Features -> scaler -> [sampler] -> one-vs-rest logistic regression."""
    from sklearn.linear_model import LogisticRegression

    return make_feature_baseline(
        LogisticRegression(C=C, max_iter=2000, class_weight=class_weight),
        features=features, sampling_rate=SAMPLING_RATE, sampler=sampler, multilabel=True,
        random_state=random_state, n_jobs=n_jobs)


def search_space(trial):
    """Regularisation strength, feature sets and class weights."""
    return {
        "C": trial.suggest_float("C", 1e-4, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }
