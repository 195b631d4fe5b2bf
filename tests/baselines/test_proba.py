"""DecisionProba: predict_proba from decision values."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from ecgsk.baselines import DecisionProba


@parametrize_with_checks([DecisionProba(RidgeClassifier())])
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_dataframe_column_names_are_kept():
    # Not among parametrize_with_checks' checks in sklearn 1.9; feature_names_in_ was
    # missing, so sklearn's check failed ("does not have a feature_names_in_ attribute").
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    check_dataframe_column_names_consistency("DecisionProba", DecisionProba(RidgeClassifier()))


def test_binary_logistic_map_keeps_auroc(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    model = DecisionProba(RidgeClassifier()).fit(X, y)
    d = model.decision_function(X)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], expit(d))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y, proba[:, 1]) == roc_auc_score(y, d)
    np.testing.assert_array_equal(model.predict(X), (d > 0).astype(int))


def test_multiclass_softmax_and_multilabel_logistic(rng):
    X = rng.normal(size=(90, 4))
    y = np.argmax(X[:, :3], axis=1)
    proba = DecisionProba(RidgeClassifier()).fit(X, y).predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    Y = (X[:, :2] > 0).astype(int)
    model = DecisionProba(RidgeClassifier()).fit(X, Y)
    np.testing.assert_allclose(model.predict_proba(X), expit(model.decision_function(X)))


def test_needs_decision_function():
    from sklearn.neighbors import KNeighborsClassifier

    with pytest.raises(ValueError, match="KNeighborsClassifier has no decision_function"):
        DecisionProba(KNeighborsClassifier()).fit([[0.0], [1.0]], [0, 1])
    clone(DecisionProba(LogisticRegression()))


def test_a_wrapped_object_that_is_no_estimator_is_named_by_fit_not_by_the_tags():
    # Every tag query (check_is_fitted, predict before fit, Jupyter's HTML repr) raised
    # an AttributeError about __sklearn_tags__.
    from sklearn.exceptions import NotFittedError
    from sklearn.utils import estimator_html_repr

    wrapper = DecisionProba(None)
    assert "DecisionProba" in estimator_html_repr(wrapper)
    with pytest.raises(NotFittedError):
        wrapper.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="estimator NoneType has no decision_function"):
        wrapper.fit([[0.0], [1.0]], [0, 1])


def test_one_class_is_refused(rng):
    # RidgeClassifier fits one class; its decision values became two columns for that one
    # class, whose larger column contradicted predict.
    model = DecisionProba(RidgeClassifier())
    with pytest.raises(ValueError, match=r"y holds one class \(1\); DecisionProba needs at "
                                         r"least two"):
        model.fit(rng.normal(size=(20, 3)), np.ones(20, dtype=int))
    assert not hasattr(model, "classes_")


def test_metadata_routing_sends_sample_weight_to_the_estimator_that_requests_it():
    # With sklearn's routing on, Pipeline.fit refused sample_weight as routed to nothing.
    import sklearn
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(40, 3)), np.arange(40) % 2, rng.random(40)
    with sklearn.config_context(enable_metadata_routing=True):
        model = DecisionProba(RidgeClassifier().set_fit_request(sample_weight=True))
        make_pipeline(StandardScaler().set_fit_request(sample_weight=False), model).fit(
            X, y, sample_weight=w)
    expected = RidgeClassifier().fit(StandardScaler().fit_transform(X), y, sample_weight=w)
    np.testing.assert_allclose(model.estimator_.coef_, expected.coef_)
    assert not np.allclose(model.estimator_.coef_, RidgeClassifier().fit(
        StandardScaler().fit_transform(X), y).coef_)
