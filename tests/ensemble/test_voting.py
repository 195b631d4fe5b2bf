"""SoftVotingEnsemble and seed_ensemble: probability averaging for every target type."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from ecgsk.ensemble import SoftVotingEnsemble, check_members, seed_ensemble


def _pair():
    return [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]


@parametrize_with_checks([SoftVotingEnsemble(_pair())])
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_dataframe_column_names_are_kept():
    # Not among parametrize_with_checks' checks in sklearn 1.9; feature_names_in_ was
    # missing, so sklearn's check failed ("does not have a feature_names_in_ attribute").
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    check_dataframe_column_names_consistency("SoftVotingEnsemble", SoftVotingEnsemble(_pair()))


def test_binary_and_multiclass_probabilities_are_the_weighted_mean(rng):
    X = rng.normal(size=(120, 3))
    for y in ((X[:, 0] > 0).astype(int), np.digitize(X[:, 0], [-0.5, 0.5])):
        ens = SoftVotingEnsemble(_pair(), weights=[3, 1]).fit(X, y)
        lr, tree = ens.estimators_
        expected = 0.75 * lr.predict_proba(X) + 0.25 * tree.predict_proba(X)
        np.testing.assert_allclose(ens.predict_proba(X), expected)
        np.testing.assert_allclose(ens.predict_proba(X).sum(axis=1), 1.0)
        np.testing.assert_array_equal(ens.classes_, np.unique(y))
        assert set(ens.named_estimators_) == {"lr", "tree"}


def test_string_labels_predict_labels(rng):
    X = rng.normal(size=(90, 2))
    y = np.array(["N", "A", "O"])[np.digitize(X[:, 0], [-0.4, 0.4])]
    ens = SoftVotingEnsemble(_pair()).fit(X, y)
    pred = ens.predict(X)
    assert set(pred) <= {"A", "N", "O"}
    assert np.mean(pred == y) > 0.9


@pytest.mark.parametrize("y, match", [
    (np.array([1, "a"] * 3, dtype=object), r"y mixes labels of types number \(1\), str"),
    (np.array(["N", None, "N", "A", "N", "A"], dtype=object),
     r"y holds 1 missing label\(s\) \(None or NaN\), the first at position 1"),
])
def test_missing_or_mixed_labels_are_named(rng, y, match):
    # numpy's sort error came out: "'<' not supported between instances of 'str' and 'int'".
    with pytest.raises(ValueError, match=match):
        SoftVotingEnsemble(_pair()).fit(rng.normal(size=(6, 2)), y)


def test_multilabel_stacks_sklearn_lists_and_thresholds(rng):
    X = rng.normal(size=(150, 4))
    Y = (X[:, :3] > 0).astype(int)
    members = [("a", MultiOutputClassifier(LogisticRegression())),
               ("b", MultiOutputClassifier(DecisionTreeClassifier(max_depth=3, random_state=0)))]
    ens = SoftVotingEnsemble(members, threshold=0.4).fit(X, Y)
    a = np.column_stack([p[:, 1] for p in ens.estimators_[0].predict_proba(X)])
    b = np.column_stack([p[:, 1] for p in ens.estimators_[1].predict_proba(X)])
    proba = ens.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba, (a + b) / 2)
    np.testing.assert_array_equal(ens.predict(X), (proba >= 0.4).astype(int))
    assert ens.multilabel_ and list(ens.classes_) == [0, 1, 2]


@pytest.mark.parametrize("constant", [0, 1])
def test_a_label_of_one_value_in_training_gets_that_value_not_the_other(rng, constant):
    """A label never (always) 1 in training: a tree's list holds one column, P(that value)."""
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    Y = np.c_[y, 1 - y, np.full(60, constant)]
    ens = SoftVotingEnsemble([("tree", DecisionTreeClassifier(random_state=0))]).fit(X, Y)
    proba = ens.predict_proba(X[:5])
    np.testing.assert_array_equal(proba[:, 2], np.full(5, float(constant)))
    np.testing.assert_array_equal(proba[:, 0], y[:5])  # the others as before
    np.testing.assert_array_equal(ens.predict(X[:5])[:, 2], np.full(5, constant))


def test_ensemble_beats_or_matches_its_worst_member(rng):
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + X[:, 1] ** 2 - 1 + 0.5 * rng.normal(size=400) > 0).astype(int)
    ens = SoftVotingEnsemble([("lr", make_pipeline(StandardScaler(), LogisticRegression())),
                              ("tree", DecisionTreeClassifier(max_depth=4, random_state=0))])
    scores = {name: cross_val_score(est, X, y, cv=4, scoring="roc_auc").mean()
              for name, est in ens.estimators}
    ens_score = cross_val_score(ens, X, y, cv=4, scoring="roc_auc").mean()
    assert ens_score >= min(scores.values())


def test_nested_params_clone_pickle_and_grid_search(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    ens = SoftVotingEnsemble(_pair())
    assert ens.get_params()["lr__C"] == 1.0
    ens.set_params(lr__C=0.5)
    assert ens.estimators[0][1].C == 0.5
    assert clone(ens).get_params()["lr__C"] == 0.5
    fitted = ens.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(again.predict_proba(X), fitted.predict_proba(X))
    search = GridSearchCV(SoftVotingEnsemble(_pair()), {"tree__max_depth": [1, 3]}, cv=3)
    assert search.fit(X, y).best_params_["tree__max_depth"] in (1, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"estimators": []}, "non-empty list"),
    ({"estimators": [LogisticRegression()]}, "tuples"),
    ({"estimators": [("a", LogisticRegression()), ("a", LogisticRegression())]}, "unique"),
    ({"estimators": [("svm", __import__("sklearn.svm").svm.LinearSVC())]}, "svm.*predict_proba"),
    ({"estimators": _pair(), "weights": [1]}, "weights"),
    ({"estimators": _pair(), "weights": [1, -1]}, "weights"),
    ({"estimators": _pair(), "weights": ["x", "y"]},
     r"weights must be 2 non-negative numbers with a positive sum, got \['x', 'y'\]"),
    ({"estimators": _pair(), "threshold": 1.5}, "threshold"),
    ({"estimators": _pair(), "weights": [True, False]},  # read as 1.0 and 0.0
     r"weights must be 2 non-negative numbers with a positive sum, got \[True, False\]"),
])
def test_bad_parameters_are_named(kwargs, match):
    X, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match=match):
        SoftVotingEnsemble(**kwargs).fit(X, y)


def test_seed_ensemble_sets_every_random_state_and_differs_by_seed(rng):
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.8 * rng.normal(size=200) > 0).astype(int)
    tree = make_pipeline(StandardScaler(), DecisionTreeClassifier(max_features=1, max_depth=3))
    ens = seed_ensemble(tree, seeds=[3, 4, 5])
    assert [name for name, _ in ens.estimators] == ["seed3", "seed4", "seed5"]
    assert [est.get_params()["decisiontreeclassifier__random_state"]
            for _, est in ens.estimators] == [3, 4, 5]
    ens.fit(X, y)
    probas = [est.predict_proba(X)[:, 1] for est in ens.estimators_]
    assert not np.allclose(probas[0], probas[1])
    np.testing.assert_allclose(ens.predict_proba(X)[:, 1], np.mean(probas, axis=0))


def test_seed_ensemble_errors():
    with pytest.raises(ValueError, match="seeds"):
        seed_ensemble(LogisticRegression(), seeds=[1, 1])
    with pytest.raises(ValueError, match="random_state"):
        seed_ensemble(make_pipeline(StandardScaler()), seeds=[0])
    with pytest.raises(ValueError, match="not parameters"):
        seed_ensemble(LogisticRegression(), seeds=[0], seed_params=["nope"])
    with pytest.raises(ValueError, match=r"seed_params must be a parameter name or a sequence "
                                         r"of them, got 5"):  # "'int' object is not iterable"
        seed_ensemble(LogisticRegression(), seeds=[0], seed_params=5)
    # a generator is read once: the check emptied it ("has no random_state parameter")
    ens = seed_ensemble(LogisticRegression(), seeds=[0, 1],
                        seed_params=(n for n in ["random_state"]))
    assert [est.random_state for _, est in ens.estimators] == [0, 1]
    for seeds in (0, "012"):  # 0: a TypeError from list(); "012": the seeds '0', '1', '2'
        with pytest.raises(ValueError, match=r"seeds must be a sequence of distinct integers, "
                                             r"got .*; e.g. seeds=\(0, 1, 2\)"):
            seed_ensemble(LogisticRegression(), seeds=seeds)
    for seeds in ([True, False], [-1, 2]):  # -1: numpy's seed error at fit, naming nothing
        with pytest.raises(ValueError, match=r"seeds must be distinct integers in "
                                             r"\[0, 2\*\*32 - 1\], at least one; got "
                                             + re.escape(repr(seeds))):
            seed_ensemble(LogisticRegression(), seeds=seeds)
    # One parameter named as a string: that parameter, not its letters.
    ens = seed_ensemble(LogisticRegression(), seeds=[3, 4], seed_params="random_state")
    assert [e.random_state for _, e in ens.estimators] == [3, 4]


def test_late_fusion_names_and_weights(rng):
    from ecgsk.ensemble import late_fusion

    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    ens = late_fusion([LogisticRegression(), LogisticRegression(C=0.1), LogisticRegression(C=10)],
                      DecisionTreeClassifier(max_depth=2, random_state=0), feature_weight=3,
                      prefix="seresnet")
    assert [n for n, _ in ens.estimators] == ["seresnet0", "seresnet1", "seresnet2", "features"]
    assert ens.weights == pytest.approx([1 / 3, 1 / 3, 1 / 3, 3.0])
    ens.fit(X, y)
    nets = np.mean([e.predict_proba(X) for e in ens.estimators_[:3]], axis=0)
    feats = ens.estimators_[3].predict_proba(X)
    np.testing.assert_allclose(ens.predict_proba(X), (nets + 3 * feats) / 4)
    only = late_fusion([], DecisionTreeClassifier())
    assert [n for n, _ in only.estimators] == ["features"] and only.weights == [1.0]
    # Other members, one vote each, between the networks and the features.
    mixed = late_fusion([LogisticRegression()] * 2, DecisionTreeClassifier(), feature_weight=2,
                        prefix="seresnet", others=[("resnet", LogisticRegression(C=0.1))])
    assert [n for n, _ in mixed.estimators] == ["seresnet0", "seresnet1", "resnet", "features"]
    assert mixed.weights == pytest.approx([0.5, 0.5, 1.0, 2.0])
    alone = late_fusion(others=[("resnet", LogisticRegression())],
                        features=DecisionTreeClassifier(), feature_weight=3)
    assert alone.weights == pytest.approx([1.0, 3.0])
    with pytest.raises(ValueError, match="networks, other members, features"):
        late_fusion([], None)
    # One estimator for the list: "object is not iterable"; a bare member in others was
    # refused only at fit.
    with pytest.raises(ValueError, match=r"networks must be a list of estimators, got "
                                         r"LogisticRegression\(\); e\.g\. networks=\[est\]"):
        late_fusion(LogisticRegression(), DecisionTreeClassifier())
    with pytest.raises(ValueError, match=r"others must hold \(name, estimator\) pairs, got "
                                         r"LogisticRegression\(\)"):
        late_fusion([LogisticRegression()], others=[LogisticRegression()])
    # "x" and None were float()'s errors; inf passed, and fit named the weights, not it
    for weight in ("x", None, 0, -1.0, True, float("inf")):
        with pytest.raises(ValueError, match=f"feature_weight must be a positive number, got "
                                             f"{weight!r}"):
            late_fusion([LogisticRegression()], DecisionTreeClassifier(), feature_weight=weight)


@pytest.mark.parametrize("members, n_seeds, match", [
    ("features", 1, r"a sequence of member names such as \('features',\), not the string"),
    ((), 1, r"non-empty subset of \('seresnet', 'features'\), got \(\)"),
    (("features", "svm"), 1, r"non-empty subset .* got \('features', 'svm'\)"),
    (("features",), 0, "n_seeds must be an integer >= 1, got 0"),
    (("features",), 1.5, "n_seeds must be an integer >= 1, got 1.5"),  # was 1 seed
    (("features",), True, "n_seeds must be an integer >= 1, got True"),
    (("features",), "x", "n_seeds must be an integer >= 1, got 'x'"),  # int('x') named nothing
])
def test_check_members_names_what_is_wrong(members, n_seeds, match):
    with pytest.raises(ValueError, match=match):
        check_members(members, ("seresnet", "features"), n_seeds=n_seeds)


@pytest.mark.parametrize("pipeline", ["ecgsk_ptbxl", "ecgsk_cinc"])
def test_the_ensemble_pipelines_leave_every_member_unseeded_with_random_state_none(pipeline):
    # random_state + k failed with "unsupported operand type(s) for +: 'NoneType' and 'int'".
    from ecgsk.compare import load_pipeline_module
    from ecgsk.neural import ECGNetClassifier

    ens = load_pipeline_module(pipeline).make_pipeline(random_state=None, n_seeds=2)
    nets = [v for v in ens.get_params(deep=True).values() if isinstance(v, ECGNetClassifier)]
    assert len(nets) >= 2 and all(net.random_state is None for net in nets)
    seeded = load_pipeline_module(pipeline).make_pipeline(random_state=5, n_seeds=2)
    assert {v.random_state for v in seeded.get_params(deep=True).values()
            if isinstance(v, ECGNetClassifier)} >= {5, 6}


@pytest.mark.parametrize("pipeline", ["ecgsk_ptbxl", "ecgsk_cinc"])
def test_the_ensemble_pipelines_check_members_alike(pipeline):
    from ecgsk.compare import load_pipeline_module

    module = load_pipeline_module(pipeline)
    with pytest.raises(ValueError, match="not the string 'features'"):
        module.make_pipeline(members="features")
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 1"):
        module.make_pipeline(n_seeds=0)
    ens = module.make_pipeline(members=["features"])  # any sequence, as before
    assert [name for name, _ in ens.estimators] == ["features"]


@pytest.mark.parametrize("kind", ["sparse", "nullable"])
def test_label_matrices_that_networks_read_are_read_alike(rng, kind):
    # A sparse matrix, or a frame of nullable "Int64" columns (parquet, convert_dtypes), was
    # read with np.asarray: not a multi-label target, so the ensemble blamed its member
    # ("learned the classes ['a' 'b' 'c'], not [0 1]").
    import pandas as pd
    import scipy.sparse
    import torch
    from torch import nn

    from ecgsk.neural import ECGNetClassifier

    class Flat(nn.Module):
        def __init__(self, in_channels=2, n_classes=3):
            super().__init__()
            self.head = nn.Linear(in_channels, n_classes)

        def forward(self, x):
            return self.head(x.mean(dim=-1))

    Y = (rng.random((40, 3)) < 0.5).astype(int)
    X = (rng.normal(size=(40, 2, 16)) + Y[:, :2, None]).astype(np.float32)
    y = (scipy.sparse.csr_matrix(Y) if kind == "sparse"
         else pd.DataFrame(Y, columns=["a", "b", "c"]).astype("Int64"))
    torch.manual_seed(0)
    net = ECGNetClassifier(Flat, max_epochs=1, batch_size=16, random_state=0, device="cpu")
    ens = SoftVotingEnsemble([("net", net)]).fit(X, y)
    # A DataFrame's columns by name, as its member names them (they were 0, 1, 2).
    expected = [0, 1, 2] if kind == "sparse" else ["a", "b", "c"]
    assert ens.multilabel_ and list(ens.classes_) == expected
    assert list(ens.estimators_[0].classes_) == expected
    np.testing.assert_allclose(ens.predict_proba(X), ens.estimators_[0].predict_proba(X))
    np.testing.assert_array_equal(ens.predict(X), ens.estimators_[0].predict(X))


def test_a_member_whose_columns_do_not_match_its_classes_is_named(rng):
    # Placed by class, such a member failed in numpy's broadcasting ("shape mismatch").
    from sklearn.base import BaseEstimator, ClassifierMixin

    class ThreeColumns(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)[:2]
            return self

        def predict_proba(self, X):
            return np.full((len(X), 3), 1 / 3)

    X, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    ens = SoftVotingEnsemble([("lr", LogisticRegression()), ("odd", ThreeColumns())])
    ens.fit(X, y)
    with pytest.raises(ValueError, match=r"'odd' gives 3 probability columns for its 2 "
                                         r"classes_ \[0 1\]"):
        ens.predict_proba(X)


def test_a_member_that_is_no_estimator_is_named_by_fit_not_by_the_tags():
    # check_is_fitted and the HTML repr raised an AttributeError about __sklearn_tags__.
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import estimator_html_repr

    ens = SoftVotingEnsemble([("lr", LogisticRegression()), ("a", None)])
    assert "SoftVotingEnsemble" in estimator_html_repr(ens)
    with pytest.raises(NotFittedError):
        ens.predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"estimator 'a' \(NoneType\) has no predict_proba"):
        ens.fit(np.zeros((4, 3)), [0, 1, 0, 1])


def test_tags_say_multi_label_where_every_member_takes_label_matrices():
    # The tag stayed False, so make_feature_baseline refused a multi-label fit of an
    # ensemble of MLPClassifier members, which fits one fine.
    from sklearn.neural_network import MLPClassifier
    from sklearn.utils import get_tags

    from ecgsk.baselines import make_feature_baseline

    def multi_label(est):
        return get_tags(est).classifier_tags.multi_label

    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    assert multi_label(SoftVotingEnsemble([("a", mlp), ("b", DecisionTreeClassifier())]))
    assert not multi_label(SoftVotingEnsemble([("a", mlp), ("lr", LogisticRegression())]))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2, 200)).astype(np.float32)
    Y = (rng.random((30, 2)) < 0.5).astype(int)
    model = make_feature_baseline(features=("statistical",), sampling_rate=100).set_params(
        classifier=SoftVotingEnsemble([("m", mlp)]))
    with pytest.warns(Warning):  # the MLP does not converge in 20 iterations
        assert model.fit(X, Y).predict_proba(X).shape == (30, 2)


def test_metadata_routing_sends_sample_weight_to_the_members_that_request_it():
    # With sklearn's routing on, Pipeline.fit refused sample_weight as routed to nothing.
    import sklearn

    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(40, 3)), np.arange(40) % 2, rng.random(40)
    with sklearn.config_context(enable_metadata_routing=True):
        ens = SoftVotingEnsemble([
            ("weighted", LogisticRegression().set_fit_request(sample_weight=True)),
            ("plain", LogisticRegression().set_fit_request(sample_weight=False))])
        make_pipeline(StandardScaler().set_fit_request(sample_weight=False), ens).fit(
            X, y, sample_weight=w)
        fitted = ens  # the pipeline fitted this very object
    Xs = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(fitted.named_estimators_["weighted"].coef_,
                               LogisticRegression().fit(Xs, y, sample_weight=w).coef_)
    np.testing.assert_allclose(fitted.named_estimators_["plain"].coef_,
                               LogisticRegression().fit(Xs, y).coef_)


def test_a_binary_score_at_the_threshold_is_positive_as_a_label_matrixs_is():
    # Pins ">=": a mutant with ">" made a score of exactly 0.5 negative, unlike the
    # multi-label branch and evaluate_predictions, and no test failed.
    from sklearn.dummy import DummyClassifier

    X, y = np.zeros((4, 1)), np.array(["n", "n", "a", "a"])
    ens = SoftVotingEnsemble([("d", DummyClassifier(strategy="prior"))]).fit(X, y)
    assert np.allclose(ens.predict_proba(X)[:, 1], 0.5)
    assert (ens.predict(X) == ens.classes_[1]).all()


def test_a_member_lacking_a_class_gets_its_columns_by_class():
    # The members without a split of their own fit on the records another member's
    # set_validation split leaves: without class 0, the dummy learns [1, 2]. A mutant placing
    # its columns first ([0, 1]) survived every test.
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.dummy import DummyClassifier

    from ecgsk.neural import MarkedSplit

    class Marked(ClassifierMixin, BaseEstimator):
        def __init__(self, train_split=None):
            self.train_split = train_split

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    X, y = np.zeros((9, 1)), np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    ens = SoftVotingEnsemble([("net", Marked(MarkedSplit(y == 0))),
                              ("dummy", DummyClassifier(strategy="prior"))]).fit(X, y)
    assert list(ens.estimators_[1].classes_) == [1, 2]
    np.testing.assert_allclose(ens.predict_proba(X)[0], [1 / 6, 1 / 6 + 1 / 4, 1 / 6 + 1 / 4])
