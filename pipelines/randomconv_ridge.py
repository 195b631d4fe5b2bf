"""MiniRocket-style random convolutional features and a ridge classifier.

The recipe of Dempster et al. (2021): random dilated kernels, proportion of
positive values pooled per kernel and bias, standardised, then
``RidgeClassifierCV`` with its penalty chosen by leave-one-out
cross-validation. A strong and fast linear baseline on a CPU.
"""

from ecgsk.baselines import DecisionProba, make_randomconv_ridge

DATASET = ("ptbxl", "cinc2017")
TASK = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all", "binary",
        "binary_report", "af")
SAMPLING_RATE = 100


def make_pipeline(*, n_kernels=10_000, class_weight=None, random_state=0, n_jobs=1):
    """RandomConvFeatures -> scaler -> RidgeClassifierCV, scored through a logistic map.

    The ridge classifier has no ``predict_proba``; :class:`DecisionProba`
    maps its decision values to [0, 1] (monotonic: AUROC is unchanged).
    """
    ridge = make_randomconv_ridge(n_kernels, class_weight=class_weight,
                                  random_state=random_state, n_jobs=n_jobs)
    return DecisionProba(ridge)


def search_space(trial):
    """Number of kernels and class weights."""
    return {
        "n_kernels": trial.suggest_categorical("n_kernels", [2_000, 5_000, 10_000]),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }
