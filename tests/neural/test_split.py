"""set_validation: networks validate on exactly the marked records, wherever they sit."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from ecgsk.ensemble import SoftVotingEnsemble
from ecgsk.neural import ECGNetClassifier, set_validation
from ecgsk.preprocessing import Standardizer


class MeanNet(nn.Module):
    def __init__(self, in_channels=1, n_classes=2):
        super().__init__()
        self.head = nn.Linear(in_channels, n_classes)

    def forward(self, x):
        return self.head(x.mean(dim=-1))


def _net(**kw):
    return ECGNetClassifier(MeanNet, **{"max_epochs": 2, "batch_size": 8, "random_state": 0,
                                        **kw})


@pytest.fixture
def data(rng):
    X = rng.normal(size=(40, 2, 16)).astype(np.float32)
    y = np.array([0, 1] * 20)
    is_valid = np.zeros(40, dtype=bool)
    is_valid[-10:] = True
    return X, y, is_valid


def _valid_rows(net, X, y):
    _, valid = net.get_split_datasets(X, y)
    return np.stack([np.asarray(valid[i][0]) for i in range(len(valid))])


def test_net_validates_on_the_marked_rows_only(data):
    X, y, is_valid = data
    net = _net()
    assert set_validation(net, is_valid) == 1
    net.fit(X, y)
    np.testing.assert_array_equal(_valid_rows(net, X, y), X[is_valid])
    assert net.history[-1, "valid_loss"] > 0  # validation really ran


def test_reaches_nets_in_pipelines_and_ensembles(data):
    X, y, is_valid = data
    ens = SoftVotingEnsemble([
        ("a", Pipeline([("scale", Standardizer()), ("net", _net())])),
        ("b", Pipeline([("net", _net(random_state=1))])),
        ("other", Pipeline([("flat", FunctionTransformer(lambda Z: Z.reshape(len(Z), -1))),
                            ("prior", DummyClassifier(strategy="prior"))])),
    ])
    y = np.array([0, 0, 1] * 10 + [1] * 10)  # share of 1: 1/3 in training rows, 1/2 in all
    assert set_validation(ens, is_valid) == 2
    ens.fit(X, y)
    for member in ens.estimators_[:2]:
        net = member.named_steps["net"]
        Xt = member[:-1].transform(X) if len(member) > 1 else X
        np.testing.assert_array_equal(_valid_rows(net, Xt, y), Xt[is_valid])
    # the member without a network never sees the validation records
    np.testing.assert_allclose(ens.estimators_[2].named_steps["prior"].class_prior_,
                               [2 / 3, 1 / 3])
    # the split survives clone (a parameter, not fitted state)
    assert set_validation(clone(ens), is_valid) == 2


def test_no_network_returns_zero_and_leaves_estimator_alone(data):
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression()
    assert set_validation(lr, data[2]) == 0
    assert lr.get_params() == LogisticRegression().get_params()


@pytest.mark.parametrize("mask, match", [
    (np.zeros(5, dtype=bool), "some records"),
    (np.ones(5, dtype=bool), "some records"),
    (np.array([0, 1, 0]), "boolean"),
    (np.zeros((2, 2), dtype=bool), "1-D"),
])
def test_bad_masks(mask, match):
    with pytest.raises(ValueError, match=match):
        set_validation(_net(), mask)


def test_wrong_length_mask_fails_clearly_at_fit(data):
    X, y, _ = data
    net = _net()
    set_validation(net, np.array([True] + [False] * 9))
    with pytest.raises(ValueError, match="marks 10 records but fit got 40"):
        net.fit(X, y)


def test_members_fitted_on_the_training_records_get_their_per_record_fit_params(data):
    # The member without a network got groups of all 40 records with 30 records to fit.
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Recorder(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, groups=None):
            self.classes_, self.groups_, self.n_ = np.unique(y), groups, len(X)
            return self

        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    X, y, is_valid = data
    groups = np.arange(40) // 2
    ens = SoftVotingEnsemble([("net", _net()), ("other", Recorder())])
    set_validation(ens, is_valid)
    ens.fit(X, y, groups=groups)
    other = ens.named_estimators_["other"]
    assert other.n_ == 30
    np.testing.assert_array_equal(other.groups_, groups[~is_valid])


def test_a_member_without_the_validation_records_may_lack_a_class(data):
    # A rare class whose patients all fell in the validation split was missing from the
    # member fitted without them: "estimator 'prior' learned the classes [0 1], not
    # [0 1 2]", and compare's fold failed. Its columns are now placed by class.
    X, _, is_valid = data
    y = np.where(is_valid, 2, np.arange(40) % 2)  # class 2 only among the validation rows
    y[np.flatnonzero(is_valid)[:2]] = [0, 1]
    other = Pipeline([("flat", FunctionTransformer(lambda Z: Z.reshape(len(Z), -1))),
                      ("prior", DummyClassifier(strategy="prior"))])
    ens = SoftVotingEnsemble([("net", _net()), ("other", other)], weights=[1, 3])
    set_validation(ens, is_valid)
    ens.fit(X, y)
    net, fitted = ens.estimators_
    assert list(ens.classes_) == [0, 1, 2] and list(fitted.classes_) == [0, 1]
    expected = net.predict_proba(X) / 4
    expected[:, :2] += 3 * fitted.predict_proba(X) / 4
    np.testing.assert_allclose(ens.predict_proba(X), expected, rtol=1e-6)
    assert ens.predict_proba(X)[:, 2].max() <= 0.25 + 1e-6  # only the net's share of class 2
