"""Tests of ecgsk/baselines/_factories.py on synthetic ECGs.

The real-data checks (PTB-XL, CinC 2017) are in test_real_data.py.
"""

import pickle
import warnings
from itertools import combinations

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_validate
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from ecgsk.baselines import (
    ALL_FEATURE_SETS,
    FEATURE_SETS,
    make_feature_baseline,
    make_randomconv_ridge,
    predict_scores,
)
from ecgsk.datasets import make_synthetic_ecg
from ecgsk.features import BeatFeatures, BeatTemplate

FAST = ("statistical",)  # the fastest feature set, for the pipeline-logic tests


@pytest.fixture(scope="module")
def imbalanced():
    """40 normal and 8 AF-like synthetic records (100 Hz, 2 leads, 10 s)."""
    X, y = make_synthetic_ecg(n_records=150, n_leads=2, n_classes=3, random_state=0)
    keep = np.concatenate([np.flatnonzero(y == 0)[:40], np.flatnonzero(y == 2)[:8]])
    return X[keep], (y[keep] == 2).astype(int)


@pytest.fixture(scope="module")
def multilabel():
    """Synthetic records whose classes combine patterns 1-4; y is their indicator matrix."""
    X, labels = make_synthetic_ecg(n_records=176, n_leads=3, n_classes=11, random_state=1)
    patterns = [set(), {1}, {2}, {3}, {4}] + [set(c) for c in combinations(range(1, 5), 2)]
    Y = np.array([[p in patterns[label] for p in range(1, 5)] for label in labels], dtype=int)
    return X, Y


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """Records the rows it is fitted on and asked to predict (class-level log)."""

    log = []

    def fit(self, X, y):
        SpyClassifier.log.append(("fit", np.asarray(X).copy(), np.asarray(y).copy()))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        SpyClassifier.log.append(("predict", np.asarray(X).copy(), None))
        return np.full(len(X), self.classes_[-1])

    def predict_proba(self, X):
        SpyClassifier.log.append(("predict", np.asarray(X).copy(), None))
        return np.tile(np.linspace(0, 1, len(self.classes_)), (len(X), 1))


# -- structure ------------------------------------------------------------------

def test_steps_and_components():
    model = make_feature_baseline("rf", sampling_rate=100, random_state=0)
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["features", "scaler", "classifier"]
    assert [name for name, _ in model.named_steps["features"].transformer_list] == [
        "statistical", "rhythm", "wavelet"]
    assert isinstance(model[-1], RandomForestClassifier) and model[-1].random_state == 0
    sampled = make_feature_baseline("hgb", sampling_rate=100, sampler="smote", random_state=3)
    assert [name for name, _ in sampled.steps] == ["features", "scaler", "sampler", "classifier"]
    assert type(sampled.named_steps["sampler"]).__name__ == "SMOTE"
    assert sampled.named_steps["sampler"].random_state == 3
    ovr = make_feature_baseline("logreg", sampling_rate=100, sampler="under", multilabel=True)
    assert isinstance(ovr[-1], OneVsRestClassifier)
    inner = ovr[-1].estimator
    assert [name for name, _ in inner.steps] == ["sampler", "classifier"]
    ridge = make_randomconv_ridge(n_kernels=840, random_state=0)
    assert isinstance(ridge[-1], RidgeClassifierCV)
    assert ridge.named_steps["features"].n_kernels == 840


def test_rhythm_lead_and_lead_names_reach_the_features():
    model = make_feature_baseline(sampling_rate=250, lead_names=list("ABC"), rhythm_lead="B",
                                  n_jobs=2)
    rhythm = dict(model.named_steps["features"].transformer_list)["rhythm"]
    assert (rhythm.lead, rhythm.lead_names, rhythm.n_jobs, rhythm.sampling_rate) == (
        "B", list("ABC"), 2, 250)


def test_beats_and_template_feature_sets_are_opt_in_and_use_the_rhythm_lead(imbalanced):
    X, y = imbalanced
    assert FEATURE_SETS == ("statistical", "rhythm", "wavelet")
    assert ALL_FEATURE_SETS == FEATURE_SETS + ("beats", "template")
    model = make_feature_baseline(features=("rhythm", "beats", "template"), sampling_rate=100,
                                  rhythm_lead=1, n_jobs=2, random_state=0)
    union = model.named_steps["features"]
    assert [name for name, _ in union.transformer_list] == ["rhythm", "beats", "template"]
    beats, template = dict(union.transformer_list)["beats"], dict(union.transformer_list)[
        "template"]
    assert isinstance(beats, BeatFeatures) and isinstance(template, BeatTemplate)
    assert (beats.lead, beats.n_jobs, beats.sampling_rate) == (1, 2, 100)
    assert (template.lead, template.n_jobs, template.sampling_rate) == (1, 2, 100)
    model.fit(X, y)
    names = model.named_steps["features"].get_feature_names_out()
    assert len(names) == 14 + 12 + 35 * X.shape[1]  # a template of every lead
    assert "beats__lead1_cosen" in names and "rhythm__lead1_heart_rate" in names
    assert "template__lead1_template_+0ms" in names
    assert predict_scores(model, X).shape == (len(X),)
    with pytest.raises(ValueError, match="features must be.*'beats'"):
        make_feature_baseline(features=("rhythm", "beat"), sampling_rate=100)
    with pytest.raises(ValueError, match="sampling_rate"):
        make_feature_baseline(features=("beats",))


def test_fitted_pipeline_clones_and_pickles(imbalanced):
    X, y = imbalanced
    model = make_feature_baseline("logreg", features=("statistical", "wavelet"),
                                  sampling_rate=100, random_state=0)
    assert clone(model).get_params()["classifier__C"] == model[-1].C
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_allclose(restored.predict_proba(X), model.predict_proba(X))
    names = model[:-1].get_feature_names_out()
    assert names[0] == "statistical__lead0_mean"
    assert any(n.startswith("wavelet__lead1_cD1") for n in names)


# -- resampling only ever touches training folds ---------------------------------------

@pytest.mark.parametrize("sampler, n_fit", [("over", 2 * 30), ("smote", 2 * 30),
                                            ("under", 2 * 6)])
def test_sampler_changes_training_rows_only_and_validation_rows_are_scored_as_given(
        imbalanced, sampler, n_fit):
    X, y = imbalanced  # 40 negatives, 8 positives
    cv = StratifiedKFold(4, shuffle=True, random_state=0)  # folds: 30+6 train, 10+2 valid
    model = make_feature_baseline(SpyClassifier(), features=FAST, sampling_rate=100,
                                  sampler=sampler, random_state=0)
    SpyClassifier.log.clear()
    result = cross_validate(model, X, y, cv=cv, return_estimator=True, return_indices=True,
                            scoring="accuracy")
    fits = [entry for entry in SpyClassifier.log if entry[0] == "fit"]
    predicts = [entry for entry in SpyClassifier.log if entry[0] == "predict"]
    assert len(fits) == len(predicts) == 4
    for (_, X_fit, y_fit), (_, X_pred, _), fitted, test_idx in zip(
            fits, predicts, result["estimator"], result["indices"]["test"]):
        # the classifier is fitted on resampled, balanced training rows ...
        assert len(X_fit) == n_fit and np.bincount(y_fit).tolist() == [n_fit // 2] * 2
        # ... and predicts exactly the 12 validation records, untouched: the
        # rows are the scaled features of those records, in their order.
        expected = fitted.named_steps["scaler"].transform(
            fitted.named_steps["features"].transform(X[test_idx]))
        assert len(test_idx) == 12
        assert_array_equal(X_pred, expected)
    # cross_val_predict: one prediction per original record, no more, no less
    SpyClassifier.log.clear()
    assert cross_val_predict(model, X, y, cv=cv).shape == (48,)


def test_without_sampler_the_classifier_sees_the_training_fold_as_is(imbalanced):
    X, y = imbalanced
    model = make_feature_baseline(SpyClassifier(), features=FAST, sampling_rate=100)
    SpyClassifier.log.clear()
    model.fit(X[:36], y[:36])
    (_, X_fit, y_fit), = SpyClassifier.log
    assert len(X_fit) == 36
    assert_array_equal(y_fit, y[:36])


# -- class weights ----------------------------------------------------------------------

def test_balanced_class_weight_equals_balanced_sample_weights(imbalanced):
    X, y = imbalanced
    weighted = make_feature_baseline("logreg", features=FAST, sampling_rate=100,
                                     class_weight="balanced").fit(X, y)
    plain = make_feature_baseline("logreg", features=FAST, sampling_rate=100)
    plain.fit(X, y, classifier__sample_weight=compute_sample_weight("balanced", y))
    assert_allclose(weighted[-1].coef_, plain[-1].coef_, rtol=1e-4, atol=1e-6)
    unweighted = make_feature_baseline("logreg", features=FAST, sampling_rate=100).fit(X, y)
    assert not np.allclose(unweighted[-1].coef_, weighted[-1].coef_)
    # balancing moves the decision towards the minority class
    assert (predict_scores(weighted, X)[y == 1].mean()
            > predict_scores(unweighted, X)[y == 1].mean())


@pytest.mark.parametrize("classifier, cls", [("rf", RandomForestClassifier),
                                             ("hgb", HistGradientBoostingClassifier),
                                             ("logreg", LogisticRegression)])
def test_class_weight_reaches_every_classifier(imbalanced, classifier, cls):
    X, y = imbalanced
    model = make_feature_baseline(classifier, features=FAST, sampling_rate=100,
                                  class_weight="balanced", random_state=0).fit(X, y)
    assert isinstance(model[-1], cls) and model[-1].class_weight == "balanced"
    assert predict_scores(model, X).shape == (48,)
    ovr = make_feature_baseline(classifier, features=FAST, sampling_rate=100,
                                class_weight={0: 1, 1: 5}, multilabel=True)
    assert ovr[-1].estimator.class_weight == {0: 1, 1: 5}


# -- multi-label --------------------------------------------------------------------------

def test_multilabel_logreg_learns_every_label(multilabel):
    X, Y = multilabel
    train, test = np.arange(len(X)) < 132, np.arange(len(X)) >= 132
    model = make_feature_baseline("logreg", sampling_rate=100, multilabel=True,
                                  random_state=0).fit(X[train], Y[train])
    assert model.predict(X[test]).shape == (44, 4)
    scores = predict_scores(model, X[test])
    assert scores.shape == (44, 4)
    aurocs = roc_auc_score(Y[test], scores, average=None)
    # pattern 2 (AF-like) and 4 (tachycardia) are rhythm patterns; all are learnable
    assert aurocs.min() > 0.75 and aurocs[[1, 3]].min() > 0.9


def test_multilabel_sampler_resamples_each_label_on_its_own(multilabel):
    X, Y = multilabel
    model = make_feature_baseline(SpyClassifier(), features=FAST, sampling_rate=100,
                                  sampler="under", multilabel=True, random_state=0)
    SpyClassifier.log.clear()
    model.fit(X, Y)
    fits = [entry for entry in SpyClassifier.log if entry[0] == "fit"]
    assert len(fits) == 4  # one binary problem per label
    for label, (_, X_fit, y_fit) in enumerate(fits):
        n_pos = Y[:, label].sum()
        assert np.bincount(y_fit).tolist() == [n_pos, n_pos]  # undersampled negatives
    SpyClassifier.log.clear()
    assert model.predict_proba(X[:10]).shape == (10, 4)
    assert len(SpyClassifier.log) == 4  # one call per label's classifier
    assert all(len(entry[1]) == 10 for entry in SpyClassifier.log)  # no resampling


def test_randomconv_ridge_handles_multilabel_and_binary(multilabel, imbalanced):
    X, Y = multilabel
    model = make_randomconv_ridge(n_kernels=840, random_state=0).fit(X[:132], Y[:132])
    scores = predict_scores(model, X[132:])
    assert scores.shape == (44, 4)
    assert roc_auc_score(Y[132:], scores, average="macro") > 0.75
    X, y = imbalanced
    binary = make_randomconv_ridge(n_kernels=840, random_state=0,
                                   class_weight="balanced").fit(X, y)
    assert predict_scores(binary, X).shape == (48,)
    assert not hasattr(binary, "predict_proba")


def test_predict_scores_of_ridge_wrapped_for_probabilities(multilabel):
    from ecgsk.baselines import DecisionProba

    X, Y = multilabel
    Y2 = Y[:, :2]  # two labels: the scores must keep both columns
    model = make_randomconv_ridge(n_kernels=168, random_state=0)
    model.set_params(classifier=DecisionProba(model[-1])).fit(X, Y2)
    scores = predict_scores(model, X)
    assert scores.shape == (len(X), 2)
    assert_allclose(roc_auc_score(Y2, scores, average=None),
                    roc_auc_score(Y2, model.decision_function(X), average=None))


def test_predict_scores_keeps_both_labels_of_any_two_label_model(multilabel):
    """A two-label model gives (n, 2) probabilities too: they are not binary's [P(0), P(1)]."""
    from sklearn.pipeline import make_pipeline as sk_make_pipeline

    from ecgsk.features import StatisticalFeatures
    from ecgsk.nets import ECGCNN
    from ecgsk.neural import ECGNetClassifier

    X, Y = multilabel
    Y2 = Y[:, :2]
    net = ECGNetClassifier(ECGCNN, module__filters=(4,) * 4, module__dense=(8,), max_epochs=1,
                           random_state=0, device="cpu").fit(X, Y2)
    features = StatisticalFeatures(sampling_rate=100)
    sk_pipeline = sk_make_pipeline(features, OneVsRestClassifier(LogisticRegression()))
    sk_pipeline.fit(X, Y2)
    forest = sk_make_pipeline(clone(features), RandomForestClassifier(5, random_state=0))
    forest.fit(X, Y2)
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(sk_pipeline, {"onevsrestclassifier__estimator__C": [0.1, 1.0]},
                          cv=2).fit(X, Y2)
    nested = sk_make_pipeline("passthrough", sk_pipeline).fit(X, Y2)
    for model in (net, sk_pipeline, search, nested):  # also inside searches and pipelines
        assert_allclose(predict_scores(model, X), model.predict_proba(X))
    # A forest's predict_proba is one [P(0), P(1)] array per label.
    assert_allclose(predict_scores(forest, X),
                    np.column_stack([p[:, 1] for p in forest.predict_proba(X)]))
    # An MLP and a classifier chain give (n, 2) and say neither multilabel_ nor
    # target_type_: the first label was dropped, as for a binary target.
    from sklearn.multioutput import ClassifierChain
    from sklearn.neural_network import MLPClassifier

    for final in (MLPClassifier(max_iter=20, random_state=0),
                  ClassifierChain(LogisticRegression())):
        model = sk_make_pipeline(clone(features), StandardScaler(), final)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, Y2)
        assert_allclose(predict_scores(model, X), model.predict_proba(X))
        assert predict_scores(model, X).shape == (len(X), 2)


def test_predict_scores_multiclass_has_one_column_per_class():
    X, y = make_synthetic_ecg(n_records=30, n_leads=1, n_classes=3, random_state=0)
    model = make_feature_baseline("hgb", features=FAST, sampling_rate=100,
                                  random_state=0).fit(X, y)
    scores = predict_scores(model, X)
    assert scores.shape == (30, 3)
    assert_allclose(scores.sum(axis=1), 1)


# -- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("params, match", [
    ({"classifier": "svm", "sampling_rate": 100}, "classifier must be one of"),
    ({"sampler": "tomek", "sampling_rate": 100}, "sampler must be None or one of"),
    ({"sampler": 3, "sampling_rate": 100}, "sampler must be"),
    ({"features": ("statistical", "fft"), "sampling_rate": 100}, "features must be"),
    ({"features": (), "sampling_rate": 100}, "features must be"),
    # a TypeError from tuple(): "'int' object is not iterable"
    ({"features": 0, "sampling_rate": 100}, r"features must be a non-empty sequence .*got 0\."),
    ({"features": None, "sampling_rate": 100}, r"features must be .*got None\."),
    ({"features": ("wavelet", "wavelet"), "sampling_rate": 100}, "twice"),
    ({}, "sampling_rate"),
    ({"class_weight": "auto", "sampling_rate": 100}, "class_weight"),
    ({"multilabel": "yes", "sampling_rate": 100}, "multilabel"),
    ({"random_state": "0", "sampling_rate": 100}, "random_state"),
    ({"n_jobs": 0, "sampling_rate": 100}, "n_jobs"),
    ({"classifier": LogisticRegression(), "class_weight": "balanced", "sampling_rate": 100},
     "class_weight"),
    # numpy's "truth value of an array ... is ambiguous" before.
    ({"class_weight": np.array([1.0, 2.0]), "sampling_rate": 100},
     r"class_weight must be None, 'balanced' or a dict \{label: weight\}, got array"),
    # A dict by the task's labels failed at fit: each one-vs-rest problem is 0/1.
    ({"class_weight": {"N": 1, "A": 5}, "multilabel": True, "sampling_rate": 100},
     r"class_weight=\{'N': 1, 'A': 5\}: with multilabel=True each label's classifier is "
     r"binary, so a dict weighs its targets 0 and 1"),
    ({"classifier": LogisticRegression(class_weight={"N": 1}), "multilabel": True,
      "sampling_rate": 100}, r"class_weight=\{'N': 1\}: with multilabel=True"),
    # ZeroDivisionError inside LogisticRegression at fit; sklearn's own message at fit.
    ({"class_weight": {0: -1, 1: 2}, "sampling_rate": 100},
     r"class_weight must weigh each label by a positive number, got \{0: -1\}"),
    ({"random_state": -1, "sampling_rate": 100},
     r"random_state must be None, an int in \[0, 2\*\*32 - 1\] or a numpy RandomState, "
     r"got -1"),
])
def test_bad_arguments_raise_naming_the_argument(params, match):
    with pytest.raises(ValueError, match=match):
        make_feature_baseline(**params)


def test_a_classifier_of_ones_own_keeps_its_own_class_weight():
    # "balanced_subsample" (forests) was refused: only None, 'balanced' or a dict passed.
    forest = RandomForestClassifier(5, class_weight="balanced_subsample", random_state=0)
    model = make_feature_baseline(forest, features=("wavelet",))
    assert model[-1] is forest
    X, y = make_synthetic_ecg(n_records=30, n_leads=1, n_classes=2, random_state=0)
    assert model.fit(X, y).predict_proba(X).shape == (30, 2)
    with pytest.raises(ValueError, match=r"class_weight must weigh each label by a positive "
                                         r"number, got \{0: 0\}"):
        make_feature_baseline(LogisticRegression(class_weight={0: 0, 1: 1}),
                              features=("wavelet",))


def test_wavelet_only_needs_no_sampling_rate():
    model = make_feature_baseline(features=("wavelet",))
    assert [n for n, _ in model.named_steps["features"].transformer_list] == ["wavelet"]


def test_a_binary_weight_dict_fits_a_multilabel_baseline(rng):
    X = rng.normal(size=(40, 1, 300)).astype(np.float32)
    Y = (rng.random((40, 2)) < 0.5).astype(int)
    model = make_feature_baseline(features=("statistical",), sampling_rate=100,
                                  multilabel=True, class_weight={0: 1.0, 1: 3.0}).fit(X, Y)
    assert model.predict_proba(X[:3]).shape == (3, 2)


def test_randomconv_ridge_bad_arguments():
    with pytest.raises(ValueError, match="class_weight"):
        make_randomconv_ridge(class_weight="equal")
    with pytest.raises(ValueError, match="class_weight must be None, 'balanced' or a dict"):
        make_randomconv_ridge(class_weight=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="n_kernels"):
        make_randomconv_ridge(n_kernels=10).fit(np.zeros((4, 100)), [0, 1, 0, 1])
    # [] used to fail in sklearn; [[1, 2]] passed the check and failed in sklearn at fit.
    for alphas in ([], [0.1, 0.0], [1.0, np.nan], "large", None, [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="alphas must be a non-empty sequence of positive "
                                             "numbers"):
            make_randomconv_ridge(alphas=alphas)
    assert make_randomconv_ridge(alphas=2.0)[-1].alphas == 2.0  # one penalty: as given



@pytest.mark.parametrize("params, target, message", [
    ({"sampler": "smote"}, "rare", r"SMOTE makes records from the k_neighbors=5 nearest of the "
     r"same class, but class 1 has only 3 training record\(s\): use sampler='over', or "
     r"SMOTE\(k_neighbors=2\)"),
    # Other strategies were left to imblearn, which failed after the features, naming no
    # class ("Expected n_neighbors <= n_samples_fit"); ADASYN's is n_neighbors.
    ({"sampler": "SMOTE-minority"}, "rare", r"SMOTE makes records from the k_neighbors=5 "
     r"nearest of the same class, but class 1 has only 3"),
    ({"sampler": "ADASYN"}, "rare", r"ADASYN makes records from the n_neighbors=5 nearest of "
     r"the same class, but class 1 has only 3 training record\(s\): use sampler='over', or "
     r"ADASYN\(n_neighbors=2\)"),
    ({"sampler": "smote", "multilabel": True}, "rare labels",
     r"but label 2 has only 2 training record\(s\) of value 1"),
    ({}, "labels", r"y is a label indicator matrix \(48, 3\), which LogisticRegression "
     r"cannot take: build the pipeline with make_feature_baseline\(..., multilabel=True\)"),
    ({"sampler": "over", "classifier": "rf"}, "labels", "which RandomOverSampler cannot take"),
])
def test_a_target_the_last_steps_refuse_is_named_before_any_feature(imbalanced, params,
                                                                   target, message):
    from imblearn.over_sampling import ADASYN, SMOTE

    X, y = imbalanced
    y = (np.arange(len(y)) < 3).astype(int) if target == "rare" else y
    Y = np.column_stack([y, 1 - y, np.arange(len(y)) < 2]).astype(int)
    params = {**params, "sampler": {"SMOTE-minority": SMOTE(sampling_strategy="minority"),
                                    "ADASYN": ADASYN()}.get(params.get("sampler"),
                                                            params.get("sampler"))}
    model = make_feature_baseline(features=FAST, sampling_rate=100, **params)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y if target == "rare" else Y)
    features = model.named_steps["features"].transformer_list[0][1]
    assert not hasattr(features, "n_leads_in_")  # no feature was computed
    # What the steps can take still fits: a forest, or a ridge classifier, takes the
    # indicator matrix itself; SMOTE told which classes to resample leaves the others alone.
    make_feature_baseline("rf", features=FAST, sampling_rate=100).fit(X, Y)
    make_feature_baseline(RidgeClassifierCV(), features=FAST, sampling_rate=100).fit(X, Y)
    from imblearn.over_sampling import SMOTE

    rare = (np.arange(len(y)) < 3).astype(int)
    make_feature_baseline(features=FAST, sampling_rate=100,
                          sampler=SMOTE(sampling_strategy={0: 50})).fit(X, rare)


def test_a_sparse_label_matrix_goes_through_a_sampler_as_its_dense_one(imbalanced):
    # np.asarray made it a 0-d array: "len() of unsized object" with a sampler, where the
    # same pipeline without one took it.
    import scipy.sparse as sp

    X, y = imbalanced
    Y = np.column_stack([y, 1 - y, np.arange(len(y)) % 3 == 0]).astype(int)
    model = make_feature_baseline(features=FAST, sampling_rate=100, multilabel=True,
                                  sampler="over", random_state=0)
    dense = model.fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(clone(model).fit(X, sp.csr_matrix(Y)).predict_proba(X), dense)


def test_under_samplers_with_neighbours_take_a_rare_class(imbalanced):
    # Their n_neighbors read as an over-sampler's: NearMiss was refused, "makes records
    # from the n_neighbors=3 nearest of the same class", though it makes none.
    from imblearn.under_sampling import EditedNearestNeighbours, NearMiss

    X, y = imbalanced
    rare = (np.arange(len(y)) < 3).astype(int)
    for sampler in (NearMiss(), EditedNearestNeighbours()):
        make_feature_baseline(features=FAST, sampling_rate=100, sampler=sampler).fit(X, rare)


@pytest.mark.parametrize("sampler", [None, "over", "under"])
def test_labels_of_another_length_are_refused_before_any_feature(imbalanced, sampler):
    # An under-sampler picks its rows from y alone: 100 records and 99 labels fitted,
    # every label paired with the record after its own.
    X, y = imbalanced
    model = make_feature_baseline(features=FAST, sampling_rate=100, sampler=sampler)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[48, 47\]"):
        model.fit(X, y[1:])
    assert not hasattr(model.named_steps["features"].transformer_list[0][1], "n_leads_in_")


def test_random_state_seeds_a_sampler_given_unseeded(imbalanced):
    # Two fits of sampler=RandomUnderSampler() with random_state=0 differed, though the
    # docs say random_state seeds the sampler.
    from imblearn.under_sampling import RandomUnderSampler

    X, y = imbalanced
    mine = RandomUnderSampler()
    model = make_feature_baseline(features=FAST, sampling_rate=100, sampler=mine,
                                  random_state=0)
    assert model.named_steps["sampler"].random_state == 0 and mine.random_state is None
    first = model.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clone(model).fit(X, y).predict_proba(X), first)
    seeded = make_feature_baseline(features=FAST, sampling_rate=100,
                                   sampler=RandomUnderSampler(random_state=7), random_state=0)
    assert seeded.named_steps["sampler"].random_state == 7  # its own seed is kept


def test_a_label_matrix_passes_a_decision_proba_wrapper_and_a_switched_off_sampler():
    # DecisionProba hid RidgeClassifierCV's multi-output tags, and sampler="passthrough" (how
    # a grid switches a step off) counted as a sampler: both refused a label matrix.
    from ecgsk.baselines import DecisionProba

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1, 500)).astype(np.float32)
    Y = (rng.random((60, 2)) < 0.5).astype(int)
    ridge = make_feature_baseline(RidgeClassifierCV(), features=("statistical",),
                                  sampling_rate=100)
    ridge.set_params(classifier=DecisionProba(RidgeClassifierCV()))
    assert predict_scores(ridge.fit(X, Y), X).shape == (60, 2)
    forest = make_feature_baseline("rf", features=("statistical",), sampling_rate=100,
                                   sampler="over", random_state=0)
    with pytest.raises(ValueError, match="label indicator matrix"):
        forest.fit(X, Y)
    forest.set_params(sampler="passthrough")
    assert predict_scores(forest.fit(X, Y), X).shape == (60, 2)


def test_a_class_weight_dict_for_a_label_matrix_is_refused_before_the_features():
    # RidgeClassifierCV refused it only after MiniRocket's features were computed, and
    # advised a list of dicts, which the factory refuses.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1, 500)).astype(np.float32)
    Y = (rng.random((40, 2)) < 0.5).astype(int)
    model = make_randomconv_ridge(n_kernels=84, class_weight={0: 1, 1: 5})
    with pytest.raises(ValueError, match=r"class_weight=\{0: 1, 1: 5\} weighs the classes of "
                                         r"one label, but y is a label indicator matrix "
                                         r"\(40, 2\): pass class_weight='balanced'"):
        model.fit(X, Y)
    assert not hasattr(model.named_steps["features"], "n_leads_in_")  # nothing computed
    from ecgsk.compare import load_pipeline_module

    wrapped = load_pipeline_module("randomconv_ridge").make_pipeline(  # in DecisionProba
        n_kernels=84, class_weight={0: 1, 1: 5})
    with pytest.raises(ValueError, match="weighs the classes of one label"):
        wrapped.fit(X, Y)
    assert model.fit(X, Y[:, 0]).decision_function(X).shape == (40,)
    balanced = make_randomconv_ridge(n_kernels=84, class_weight="balanced", random_state=0)
    assert balanced.fit(X, Y).decision_function(X).shape == (40, 2)
