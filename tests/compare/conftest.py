"""Fixtures: tiny pipeline modules (stores and the signal cache: tests/conftest.py).

The pipeline modules are written to temporary files and passed by path, as
a user's own pipelines would be.
"""

import pytest

from ..conftest import new_store, write_module  # noqa: F401

STATS_LR = '''
"""Statistical features (ecgsk.features.StatisticalFeatures), one-vs-rest logistic regression."""

from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ecgsk.features import StatisticalFeatures

DATASET = "ptbxl"
TASK = ("superdiagnostic", "binary")
SAMPLING_RATE = 100


def make_pipeline(C=1.0, random_state=None):
    return Pipeline([
        ("features", StatisticalFeatures(sampling_rate=SAMPLING_RATE)),
        ("scale", StandardScaler()),
        ("clf", OneVsRestClassifier(LogisticRegression(C=C, max_iter=300,
                                                       random_state=random_state))),
    ])


def search_space(trial):
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}
'''

FLAT_LR = '''
"""Every 10th sample of every lead, flattened, and logistic regression."""

from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

DATASET = {dataset!r}
TASK = {task!r}
SAMPLING_RATE = 50
LENGTH = 500


def flatten(X, step=10):
    return X[:, :, ::step].reshape(len(X), -1)


def make_pipeline(C=0.1, step=10):
    clf = LogisticRegression(C=C, max_iter=300)
    return Pipeline([
        ("flatten", FunctionTransformer(flatten, kw_args={{"step": step}})),
        ("clf", OneVsRestClassifier(clf) if DATASET == "ptbxl" else clf),
    ])


def search_space(trial):
    return {{"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}}
'''

FAILING = '''
"""Logistic regression on a few samples that fails on its second fit (a diverging fold)."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50

FITS = []


class FailsOnSecondFit(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        FITS.append(len(X))
        if len(FITS) == 2:
            raise RuntimeError("loss diverged on the second fit")
        features = X[:, :, ::25].reshape(len(X), -1)
        self.model_ = OneVsRestClassifier(LogisticRegression()).fit(features, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X[:, :, ::25].reshape(len(X), -1))


def make_pipeline():
    return FailsOnSecondFit()


def search_space(trial):
    return {}
'''


COUNTED = '''
"""Every 10th sample and logistic regression; counts its fits and is interrupted where asked.

Each fit appends the module's file name to the file $ECGSK_TEST_FITS; the
fit whose line number is $ECGSK_TEST_INTERRUPT_AT raises KeyboardInterrupt,
as Ctrl-C would.
"""

import os

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 500


class Counted(ClassifierMixin, BaseEstimator):
    def __init__(self, C=0.1):
        self.C = C

    def fit(self, X, y):
        with open(os.environ["ECGSK_TEST_FITS"], "a") as log:
            log.write(os.path.basename(__file__) + "\\n")
        with open(os.environ["ECGSK_TEST_FITS"]) as log:
            n = len(log.readlines())
        if str(n) == os.environ.get("ECGSK_TEST_INTERRUPT_AT"):
            raise KeyboardInterrupt
        clf = OneVsRestClassifier(LogisticRegression(C=self.C, max_iter=300))
        self.model_ = clf.fit(X[:, :, ::10].reshape(len(X), -1), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X[:, :, ::10].reshape(len(X), -1))


def make_pipeline(C=0.1):
    return Counted(C=C)


def search_space(trial):
    return {"C": trial.suggest_float("C", 0.01, 1.0)}
'''

@pytest.fixture(scope="session")
def pipeline_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipelines")
    return {
        "stats_lr": write_module(folder, "stats_lr", STATS_LR),
        "flat_lr": write_module(folder, "flat_lr", FLAT_LR.format(
            dataset="ptbxl", task=("superdiagnostic", "binary"))),
    }
