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

    Parameters
    ----------
    n_kernels : int, default=10000
        Number of MiniRocket features (rounded down to a multiple of 84). See
        :func:`~ecgsk.baselines.make_randomconv_ridge`.
    class_weight : None, "balanced" or dict, default=None
        Class weights of the :class:`~sklearn.linear_model.RidgeClassifierCV`.
    random_state : int, default=0
        Seeds the random kernels (:class:`~ecgsk.features.RandomConvFeatures`).
    n_jobs : int, default=1
        Threads of the convolutions.

    Returns
    -------
    model : ecgsk.baselines.DecisionProba
        Unfitted: ``DecisionProba`` around the pipeline ``RandomConvFeatures
        -> StandardScaler -> RidgeClassifierCV`` of
        :func:`~ecgsk.baselines.make_randomconv_ridge`.
    """
    ridge = make_randomconv_ridge(n_kernels, class_weight=class_weight,
                                  random_state=random_state, n_jobs=n_jobs)
    return DecisionProba(ridge)


def search_space(trial):
    """Number of kernels and class weights.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The Optuna trial that draws the values (``python -m ecgsk.tune``
        passes it).

    Returns
    -------
    params : dict
        Sampled keyword arguments of :func:`make_pipeline`: ``n_kernels``
        (2,000, 5,000 or 10,000) and ``class_weight`` (None or
        ``"balanced"``).
    """
    return {
        "n_kernels": trial.suggest_categorical("n_kernels", [2_000, 5_000, 10_000]),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
    }
