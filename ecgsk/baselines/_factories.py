"""Factories of the classic baselines: hand-crafted features or MiniRocket.

Every factory returns an unfitted :class:`imblearn.pipeline.Pipeline` that
takes signals ``(n_records, n_leads, n_samples)`` and labels, so it can go
through :func:`sklearn.model_selection.cross_validate`, grid searches and
:func:`sklearn.base.clone` like any sklearn classifier. Resampling
(imbalanced-learn) is a pipeline step: it runs in ``fit`` only, on the
training feature table, and is skipped by ``predict``, ``predict_proba``
and ``decision_function``, so validation and test records are never
resampled.
"""

import numbers
from collections.abc import Iterable

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_consistent_length

from .._proba import label_columns
from .._validation import check_bool, check_seed, label_array
from ..features import (
    BeatFeatures,
    BeatTemplate,
    RandomConvFeatures,
    RhythmFeatures,
    StatisticalFeatures,
    WaveletFeatures,
)

__all__ = ["make_feature_baseline", "make_randomconv_ridge", "predict_scores",
           "FEATURE_SETS", "ALL_FEATURE_SETS", "CLASSIFIERS", "SAMPLERS"]

#: Default feature sets of :func:`make_feature_baseline`.
FEATURE_SETS = ("statistical", "rhythm", "wavelet")
#: Feature set names accepted by :func:`make_feature_baseline`: the defaults,
#: ``"beats"`` (:class:`~ecgsk.features.BeatFeatures`) and ``"template"``
#: (:class:`~ecgsk.features.BeatTemplate`), left out of the defaults so that
#: the recorded baselines keep their features.
ALL_FEATURE_SETS = FEATURE_SETS + ("beats", "template")
#: Classifier names accepted by :func:`make_feature_baseline`.
CLASSIFIERS = ("logreg", "rf", "hgb")
#: Sampler names accepted by :func:`make_feature_baseline`.
SAMPLERS = ("under", "over", "smote")


def _check_random_state(random_state):
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return random_state
    check_seed(random_state)  # an int in [0, 2**32 - 1]: sklearn's estimators refuse others
    return int(random_state)


def _check_class_weight(class_weight, multilabel=False, *, own=False):
    """Validate ``class_weight``; ``own``: a user's classifier's, whose other values
    (a forest's ``"balanced_subsample"``) are its own to check."""
    if multilabel and isinstance(class_weight, dict) and not set(class_weight) <= {0, 1}:
        # Each one-vs-rest classifier sees the targets 0 and 1 of its label only.
        raise ValueError(
            f"class_weight={class_weight!r}: with multilabel=True each label's classifier "
            "is binary, so a dict weighs its targets 0 and 1 ({0: w, 1: w}); or pass "
            "'balanced' or None.")
    if isinstance(class_weight, dict):
        bad = {label: w for label, w in class_weight.items()
               if isinstance(w, bool) or not isinstance(w, numbers.Real)
               or not np.isfinite(w) or w <= 0}
        if bad:  # a weight of 0 or less: ZeroDivisionError inside LogisticRegression
            raise ValueError(f"class_weight must weigh each label by a positive number, got "
                             f"{bad!r}.")
        return class_weight
    if own or class_weight is None or (isinstance(class_weight, str)
                                       and class_weight == "balanced"):
        return class_weight
    raise ValueError(
        f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got {class_weight!r}."
    )


def _make_classifier(classifier, class_weight, random_state, n_jobs):
    if isinstance(classifier, BaseEstimator) and is_classifier(classifier):
        if class_weight is not None:
            raise ValueError(
                "class_weight is only set for the named classifiers; give your "
                f"{type(classifier).__name__} its own class_weight instead."
            )
        return classifier
    if not isinstance(classifier, str) or classifier not in CLASSIFIERS:
        raise ValueError(
            f"classifier must be one of {CLASSIFIERS} or a scikit-learn classifier, "
            f"got {classifier!r}."
        )
    if classifier == "logreg":
        # C=0.01 from cross-validation on the training records only
        # (`bench/bench_baselines.py --only select-c`): within 0.004 of the
        # best macro AUROC on PTB-XL folds 1-8 (best C=0.003; sklearn's C=1
        # lost 0.03), and a challenge F1 of 0.70 on the CinC training split
        # where the PTB-XL benchmark's C=0.001 underfits (0.58; best 0.73
        # at C=0.1).
        return LogisticRegression(C=0.01, max_iter=2000, class_weight=class_weight,
                                  random_state=random_state)
    if classifier == "rf":
        return RandomForestClassifier(n_estimators=300, min_samples_leaf=2,
                                      class_weight=class_weight, n_jobs=n_jobs,
                                      random_state=random_state)
    return HistGradientBoostingClassifier(class_weight=class_weight,
                                          random_state=random_state)


def _make_sampler(sampler, random_state):
    if sampler is None:
        return None
    if not isinstance(sampler, str):
        if hasattr(sampler, "fit_resample"):
            # random_state seeds a sampler left unseeded, as it seeds the named ones (the
            # docs said so, and two fits of RandomUnderSampler() differed).
            if (random_state is not None and hasattr(sampler, "get_params")
                    and sampler.get_params().get("random_state", False) is None):
                sampler = clone(sampler).set_params(random_state=random_state)
            return sampler
        raise ValueError(
            f"sampler must be None, one of {SAMPLERS} or an imbalanced-learn sampler, "
            f"got {sampler!r}."
        )
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be None or one of {SAMPLERS}, got {sampler!r}.")
    return {"under": RandomUnderSampler, "over": RandomOverSampler,
            "smote": SMOTE}[sampler](random_state=random_state)


def _check_features(features, sampling_rate, n_jobs, lead_names, rhythm_lead):
    given = features
    if isinstance(features, str):
        features = (features,)
    features = tuple(features) if isinstance(features, Iterable) else ()  # 0, None
    if not features or any(f not in ALL_FEATURE_SETS for f in features):
        raise ValueError(
            f"features must be a non-empty sequence of names from {ALL_FEATURE_SETS}, "
            f"got {given!r}."
        )
    if len(set(features)) != len(features):
        raise ValueError(f"features lists a feature set twice: {features!r}.")
    if sampling_rate is None and set(features) & {"statistical", "rhythm", "beats", "template"}:
        raise ValueError(
            "sampling_rate (Hz) is required for the statistical, rhythm, beats and "
            "template features, got None."
        )
    makers = {
        "statistical": lambda: StatisticalFeatures(sampling_rate=sampling_rate,
                                                   lead_names=lead_names),
        "rhythm": lambda: RhythmFeatures(sampling_rate=sampling_rate, lead=rhythm_lead,
                                         n_jobs=n_jobs, lead_names=lead_names),
        "beats": lambda: BeatFeatures(sampling_rate=sampling_rate, lead=rhythm_lead,
                                      n_jobs=n_jobs, lead_names=lead_names),
        "template": lambda: BeatTemplate(sampling_rate=sampling_rate, lead=rhythm_lead,
                                         n_jobs=n_jobs, lead_names=lead_names),
        "wavelet": lambda: WaveletFeatures(lead_names=lead_names),
    }
    return FeatureUnion([(name, makers[name]()) for name in features])


class _FeatureBaseline(Pipeline):
    """The pipeline of :func:`make_feature_baseline`: its target is checked first.

    The features of a few thousand records take minutes, and the classifier
    or the sampler would only then refuse the target.
    """

    def fit(self, X, y=None, **params):
        if y is not None:  # an under-sampler picks rows from y alone: a y of other length
            check_consistent_length(X, y)  # was paired with the wrong records, silently
        _check_target(self, y)
        return super().fit(X, y, **params)


def _sampler(pipeline):
    """The pipeline's ``"sampler"`` step, None where it has none or it is switched off."""
    step = dict(pipeline.steps).get("sampler")
    return None if isinstance(step, str) and step == "passthrough" else step


def _check_target(pipeline, y):
    """Refuse, before any feature is computed, a target the last steps cannot take."""
    if y is None:
        return
    y = label_array(y)[0]  # a sparse label matrix dense: np.asarray gave a 0-d array
    final = pipeline.steps[-1][1]
    if y.ndim == 2 and y.shape[1] > 1 and not isinstance(final, OneVsRestClassifier):
        step = _sampler(pipeline)
        tags = final.__sklearn_tags__()
        takes = tags.target_tags.multi_output or getattr(tags.classifier_tags, "multi_label",
                                                         False)
        if step is not None or not takes:
            raise ValueError(
                f"y is a label indicator matrix {y.shape}, which "
                f"{type(step or final).__name__} cannot take: build the pipeline with "
                "make_feature_baseline(..., multilabel=True), one binary problem per label.")
        params = final.get_params(deep=True) if hasattr(final, "get_params") else {}
        weights = next((v for k, v in params.items() if k.split("__")[-1] == "class_weight"
                        and isinstance(v, dict)), None)  # DecisionProba's estimator's too
        if weights is not None:  # RidgeClassifierCV and forests refuse it, after fitting
            raise ValueError(
                f"class_weight={weights!r} weighs the classes of one label, but y is a label "
                f"indicator matrix {y.shape}: pass class_weight='balanced' (each label's "
                "positives against its negatives), or None.")
    if isinstance(final, OneVsRestClassifier) and isinstance(final.estimator, Pipeline):
        step = _sampler(final.estimator)
        columns = y.reshape(len(y), -1).T
    else:
        step = _sampler(pipeline)
        columns = [y] if y.ndim == 1 else []
    # SMOTE and its kin take k_neighbors, ADASYN n_neighbors: a class they make records
    # of needs more training records than that. imblearn itself failed only after the
    # features, naming no class ("Expected n_neighbors <= n_samples_fit").
    name = next((n for n in ("k_neighbors", "n_neighbors")
                 if isinstance(getattr(step, n, None), numbers.Integral)), None)
    # Only an over-sampler makes records; NearMiss and the cleaning under-samplers have
    # an n_neighbors too, and take rare classes as they are.
    if name is None or getattr(step, "_sampling_type", None) != "over-sampling":
        return
    from imblearn.utils import check_sampling_strategy

    k = getattr(step, name)
    for j, column in enumerate(columns):
        values, counts = np.unique(column, return_counts=True)
        if len(values) < 2:
            continue
        made = check_sampling_strategy(step.sampling_strategy, column, "over-sampling")
        for value, count in zip(values.tolist(), counts.tolist()):
            if made.get(value, 0) > 0 and count <= k:
                which = (f"label {j} has only {count} training record(s) of value {value!r}"
                         if y.ndim == 2 else
                         f"class {value!r} has only {count} training record(s)")
                raise ValueError(
                    f"{type(step).__name__} makes records from the {name}={k} nearest "
                    f"of the same class, but {which}: use sampler='over', or "
                    f"{type(step).__name__}({name}={max(count - 1, 1)}).")


def make_feature_baseline(classifier="logreg", *, features=FEATURE_SETS, sampling_rate=None,
                          sampler=None, class_weight=None, multilabel=False,
                          random_state=None, n_jobs=1, lead_names=None, rhythm_lead=0):
    """Hand-crafted ECG features followed by a classic classifier.

    The pipeline is ``features -> StandardScaler -> [sampler] -> classifier``:

    - ``features``: a :class:`~sklearn.pipeline.FeatureUnion` of
      :class:`~ecgsk.features.StatisticalFeatures`,
      :class:`~ecgsk.features.RhythmFeatures` and
      :class:`~ecgsk.features.WaveletFeatures` by default, and
      :class:`~ecgsk.features.BeatFeatures` when asked (default parameters,
      median imputation of undefined values: ``nan_policy="impute"``);
    - ``scaler``: :class:`~sklearn.preprocessing.StandardScaler`, so that
      the penalty of logistic regression and the neighbours of SMOTE treat
      all features alike;
    - ``sampler`` (only if asked): an imbalanced-learn sampler. It resamples
      the training feature table inside ``fit``; prediction never goes
      through it, so in cross-validation the validation folds are scored
      on exactly their original records;
    - ``classifier``: the classifier; with ``multilabel=True`` it is wrapped
      in :class:`~sklearn.multiclass.OneVsRestClassifier`, one binary
      classifier per label.

    Multi-label targets and samplers: a sampler cannot resample a label
    indicator matrix as a whole, so with ``multilabel=True`` each binary
    problem is resampled on its own, inside the one-vs-rest wrapper
    (``OneVsRestClassifier(Pipeline([sampler, classifier]))``).
    ``class_weight="balanced"`` likewise weighs each label's positives
    against its negatives. ``fit`` refuses, before any feature is computed,
    a label indicator matrix that the classifier or the sampler cannot take
    (build with ``multilabel=True``), and for SMOTE a class with no more
    training records than its ``k_neighbors``.

    Parameters
    ----------
    classifier : {"logreg", "rf", "hgb"} or classifier, default="logreg"
        ``"logreg"``: ``LogisticRegression(C=0.01, max_iter=2000)``, a
        strong penalty chosen by cross-validation on the training records of
        PTB-XL and CinC 2017 (tune ``classifier__C`` for other data);
        ``"rf"``: ``RandomForestClassifier(n_estimators=300,
        min_samples_leaf=2)``; ``"hgb"``: ``HistGradientBoostingClassifier()``
        (defaults). An unfitted scikit-learn classifier is used as given.
    features : sequence of {"statistical", "rhythm", "wavelet", "beats", "template"}, \
            default=("statistical", "rhythm", "wavelet")
        Feature sets, concatenated in this order (names in
        ``ALL_FEATURE_SETS``). ``"beats"``,
        :class:`~ecgsk.features.BeatFeatures` (template-beat morphology,
        premature beats, RR sample entropy), and ``"template"``,
        :class:`~ecgsk.features.BeatTemplate` (the median beat sampled every
        20 ms), are not defaults: add them with
        ``features=FEATURE_SETS + ("beats", "template")``.
    sampling_rate : float
        Sampling rate of the signals in Hz; required by the statistical,
        rhythm, beats and template features.
    sampler : {None, "under", "over", "smote"} or sampler, default=None
        Resampling of the training records: ``RandomUnderSampler``,
        ``RandomOverSampler`` or ``SMOTE`` of imbalanced-learn, or any
        imbalanced-learn sampler instance.
    class_weight : None, "balanced" or dict, default=None
        Passed to the named classifier. With ``multilabel=True`` each label
        has its own binary classifier: a dict weighs its targets,
        ``{0: w0, 1: w1}``.
    multilabel : bool, default=False
        Set for an indicator matrix ``y`` (PTB-XL's multi-label tasks).
    random_state : int, RandomState or None, default=None
        Seeds the classifier and the sampler.
    n_jobs : int, default=1
        Parallel jobs of the QRS detection (rhythm, beats and template
        features) and of the random forest.
    lead_names : sequence of str or None, default=None
        Lead names for the feature names (``"II_heart_rate"``).
    rhythm_lead : int or str, default=0
        Lead the R peaks of the rhythm, beats and template features are detected on
        (index, or name from ``lead_names``). Lead II (index 1) is the
        usual rhythm lead of a 12-lead ECG.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Unfitted, with steps ``"features"``, ``"scaler"``, ``"sampler"``
        (only when asked) and ``"classifier"``.

    See Also
    --------
    make_randomconv_ridge : MiniRocket features and ridge regression.
    predict_scores : continuous scores for AUROC.

    Examples
    --------
    >>> from ecgsk.baselines import make_feature_baseline
    >>> from ecgsk.datasets import make_synthetic_ecg
    >>> X, y = make_synthetic_ecg(n_records=60, n_classes=3, random_state=0)
    >>> model = make_feature_baseline("logreg", sampling_rate=100, random_state=0)
    >>> [name for name, _ in model.steps]
    ['features', 'scaler', 'classifier']
    >>> model.fit(X[:40], y[:40]).predict(X[40:]).shape
    (20,)
    >>> smote = make_feature_baseline("hgb", sampling_rate=100, sampler="smote",
    ...                               class_weight="balanced", random_state=0)
    >>> [name for name, _ in smote.steps]
    ['features', 'scaler', 'sampler', 'classifier']
    """
    random_state = _check_random_state(random_state)
    check_bool(multilabel, name="multilabel")
    class_weight = _check_class_weight(class_weight, multilabel)
    if isinstance(classifier, BaseEstimator):  # a classifier of one's own, weighted already
        _check_class_weight(classifier.get_params().get("class_weight"), multilabel, own=True)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer, got {n_jobs!r}.")
    union = _check_features(features, sampling_rate, n_jobs, lead_names, rhythm_lead)
    clf = _make_classifier(classifier, class_weight, random_state, n_jobs)
    sampler = _make_sampler(sampler, random_state)

    steps = [("features", union), ("scaler", StandardScaler())]
    if multilabel:
        inner = clf if sampler is None else Pipeline([("sampler", sampler), ("classifier", clf)])
        steps.append(("classifier", OneVsRestClassifier(inner)))
    else:
        if sampler is not None:
            steps.append(("sampler", sampler))
        steps.append(("classifier", clf))
    return _FeatureBaseline(steps)


def make_randomconv_ridge(n_kernels=10_000, *, random_state=None, n_jobs=1,
                          alphas=np.logspace(-3, 3, 10), class_weight=None):
    """MiniRocket features, standardised, and a cross-validated ridge classifier.

    The recipe of Dempster et al. (2021): ``RandomConvFeatures ->
    StandardScaler -> RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))``, the
    ridge penalty chosen by efficient leave-one-out cross-validation on the
    training records. Multi-label indicator targets need no wrapper: the
    ridge classifier fits one output per label.

    The ridge classifier has no ``predict_proba``. For AUROC use its
    ``decision_function`` (AUROC only depends on the ranking of scores):
    binary ``y`` gives one score per record, multi-label and multi-class
    ``y`` one column per class, scored one-vs-rest with
    ``roc_auc_score(label_binarize(y, classes=model.classes_), scores,
    average="macro")``. :func:`predict_scores` does this choice for any
    baseline. Where a tool expects ``predict_proba``, wrap the classifier
    step in :class:`DecisionProba`
    (``model.set_params(classifier=DecisionProba(model[-1]))``): a monotonic
    map of the decision values, same AUROC, not calibrated. For calibrated
    probabilities wrap the pipeline in
    :class:`~sklearn.calibration.CalibratedClassifierCV` (not for
    multi-label targets).

    Parameters
    ----------
    n_kernels : int, default=10000
        Number of MiniRocket features (rounded down to a multiple of 84).
    random_state : int, RandomState or None, default=None
        Seeds :class:`~ecgsk.features.RandomConvFeatures`.
    n_jobs : int, default=1
        Threads of the convolutions.
    alphas : array-like, default=np.logspace(-3, 3, 10)
        Ridge penalties to choose from.
    class_weight : None, "balanced" or dict, default=None
        Passed to :class:`~sklearn.linear_model.RidgeClassifierCV`. A dict
        ``{label: weight}`` is for single-label targets; a label indicator
        matrix takes ``"balanced"`` (refused before any feature is computed).

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Unfitted, with steps ``"features"``, ``"scaler"``, ``"classifier"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.baselines import make_randomconv_ridge
    >>> from ecgsk.datasets import make_synthetic_ecg
    >>> X, y = make_synthetic_ecg(n_records=40, n_classes=2, random_state=0)
    >>> model = make_randomconv_ridge(n_kernels=840, random_state=0).fit(X[:30], y[:30])
    >>> model.decision_function(X[30:]).shape
    (10,)
    """
    random_state = _check_random_state(random_state)
    class_weight = _check_class_weight(class_weight)
    try:
        grid = np.asarray(alphas, dtype=float)
    except (TypeError, ValueError):
        grid = np.array([np.nan])
    if grid.ndim > 1 or not grid.size or not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError(f"alphas must be a non-empty sequence of positive numbers (the ridge "
                         f"penalties to choose from), got {alphas!r}.")
    return _FeatureBaseline([  # its target is checked before the features are computed
        ("features", RandomConvFeatures(n_kernels=n_kernels, random_state=random_state,
                                        n_jobs=n_jobs)),
        ("scaler", StandardScaler()),
        ("classifier", RidgeClassifierCV(alphas=alphas, class_weight=class_weight)),
    ])


def predict_scores(estimator, X):
    """Continuous scores of a fitted classifier, for ranking metrics such as AUROC.

    Uses ``predict_proba`` when the estimator has it, else
    ``decision_function``. Binary problems give the score of the positive
    class, shape ``(n_records,)``; multi-class and multi-label problems one
    column per class, shape ``(n_records, n_classes)``, to be scored
    one-vs-rest (``roc_auc_score(label_binarize(y, classes=classes), scores)``
    for multi-class labels, ``roc_auc_score(Y, scores)`` for an indicator
    matrix). For multi-label problems, also with two labels, a column is the
    probability of 1 of its label, also from estimators whose
    ``predict_proba`` gives one array per label (forests,
    ``MultiOutputClassifier``).

    Parameters
    ----------
    estimator : fitted classifier or pipeline
        Any fitted classifier, such as the pipelines of this module.
    X : array-like
        Input of ``estimator``.

    Returns
    -------
    scores : ndarray of shape (n_records,) or (n_records, n_classes)

    Examples
    --------
    >>> from ecgsk.baselines import make_feature_baseline, predict_scores
    >>> from ecgsk.datasets import make_synthetic_ecg
    >>> X, y = make_synthetic_ecg(n_records=40, n_classes=2, random_state=0)
    >>> model = make_feature_baseline(features=("statistical",), sampling_rate=100)
    >>> predict_scores(model.fit(X, y), X).shape
    (40,)
    """
    if hasattr(estimator, "predict_proba"):
        scores = estimator.predict_proba(X)
        if isinstance(scores, list):  # multi-output trees, MultiOutputClassifier: per label
            return label_columns(scores, getattr(_final_step(estimator), "classes_", None))
        scores = np.asarray(scores)
        if scores.ndim == 2 and scores.shape[1] == 2 and not _multilabel(estimator):
            return scores[:, 1]
        return scores
    return np.asarray(estimator.decision_function(X))


def _final_step(estimator):
    """The estimator that predicts: through pipelines, nested ones too, and searches."""
    while True:
        if isinstance(estimator, SkPipeline):
            estimator = estimator[-1]
        elif hasattr(estimator, "best_estimator_"):  # GridSearchCV, RandomizedSearchCV...
            estimator = estimator.best_estimator_
        else:
            return estimator


def _multilabel(estimator):
    """Whether ``estimator`` was fitted on a multi-label indicator matrix."""
    final = _final_step(estimator)
    # OneVsRestClassifier, DecisionProba and SoftVotingEnsemble say multilabel_;
    # ECGNetClassifier says target_type_; MLPClassifier its label binarizer's y_type_;
    # ClassifierChain has one classes_ array per label.
    binarizer = getattr(final, "_label_binarizer", None)
    return (bool(getattr(final, "multilabel_", False))
            or getattr(final, "target_type_", None) == "multilabel-indicator"
            or getattr(binarizer, "y_type_", None) == "multilabel-indicator"
            or isinstance(getattr(final, "classes_", None), list))
