"""A fit that fails leaves the estimator unfitted, and a refit keeps nothing of the last fit.

Without this, a failed fit could leave some fitted attributes of the new
fit beside the old ones: ``check_is_fitted`` would pass and the estimator
would transform or predict from half a fit (an ensemble from the members
that finished).
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from ecgsk.baselines import DecisionProba
from ecgsk.ensemble import SoftVotingEnsemble
from ecgsk.features import (
    BeatFeatures,
    BeatTemplate,
    RandomConvFeatures,
    RhythmFeatures,
    StatisticalFeatures,
    WaveletFeatures,
)
from ecgsk.preprocessing import (
    Augmenter,
    BandpassFilter,
    BaselineRemoval,
    Derivatives,
    LeadSelector,
    PadTruncate,
    Resample,
    Spectrogram,
    Standardizer,
)

TRANSFORMERS = [
    PadTruncate(length=300), Resample(rate=50, sampling_rate=100),
    BaselineRemoval(sampling_rate=100), BandpassFilter(sampling_rate=100),
    LeadSelector(leads=[0]), Derivatives(), Spectrogram(sampling_rate=100), Standardizer(),
    Augmenter(random_state=0), StatisticalFeatures(sampling_rate=100),
    RhythmFeatures(sampling_rate=100), WaveletFeatures(level=2),
    BeatFeatures(sampling_rate=100), BeatTemplate(sampling_rate=100),
    RandomConvFeatures(n_kernels=84, random_state=0),
]


def _signals(n=6, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(1000) / 100
    beats = np.sin(2 * np.pi * 1.2 * t) ** 31  # a peak every 0.83 s
    return (beats + 0.05 * rng.normal(size=(n, 2, 1000))).astype(np.float32)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_a_failed_fit_leaves_a_transformer_unfitted(transformer):
    X = _signals()
    transformer.fit(X)
    bad = X.copy()
    bad[1, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        transformer.fit(bad)
    assert not [k for k in vars(transformer) if k.endswith("_") and not k.startswith("_")]
    with pytest.raises(NotFittedError):
        transformer.transform(X)
    transformer.fit(X).transform(X)  # and a good fit works again


@pytest.mark.parametrize("features", [StatisticalFeatures(sampling_rate=100, nan_policy="raise"),
                                      RhythmFeatures(sampling_rate=100, nan_policy="raise")],
                         ids=lambda t: type(t).__name__)
def test_features_whose_fit_fails_on_nan_features_fail_check_is_fitted(features):
    # The fit fails after the feature names are kept (a flat lead's NaN features): its
    # private _names_fitted_ stayed, and check_is_fitted, which counts it, passed.
    with pytest.raises(ValueError, match="NaN feature"):
        features.fit(np.zeros((3, 1, 300), dtype=np.float32))
    with pytest.raises(NotFittedError):
        check_is_fitted(features)


def test_a_refit_keeps_no_imputer_of_an_earlier_nan_policy():
    X = _signals()
    features = StatisticalFeatures(sampling_rate=100).fit(X)
    assert hasattr(features, "imputer_")
    features.set_params(nan_policy="keep").fit(X[:3])
    assert not hasattr(features, "imputer_")
    features.set_params(nan_policy="impute")
    with pytest.raises(ValueError, match="nan_policy"):  # fitted with "keep": fit it again
        features.transform(X)


def test_an_ensemble_whose_member_fails_is_not_fitted():
    rng = np.random.default_rng(0)
    A, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    ens = SoftVotingEnsemble([("lr", LogisticRegression()),
                              ("tree", DecisionTreeClassifier(max_depth=1))]).fit(A, y)
    ens.set_params(tree__max_depth=-1)  # the second member now fails
    with pytest.raises(ValueError, match="max_depth"):
        ens.fit(A, y)
    with pytest.raises(NotFittedError):  # not the mean of the first member alone
        ens.predict_proba(A)


def test_decision_proba_keeps_no_n_features_in_of_an_earlier_fit():
    rng = np.random.default_rng(0)
    A, y = rng.normal(size=(40, 5)), np.repeat([0, 1], 20)
    proba = DecisionProba(RidgeClassifier()).fit(A, y)
    assert proba.n_features_in_ == 5

    class NoCount(RidgeClassifier):  # a member that records no n_features_in_
        def fit(self, X, y):
            super().fit(X, y)
            del self.n_features_in_
            return self

    proba.set_params(estimator=NoCount()).fit(A[:, :3], y)
    assert not hasattr(proba, "n_features_in_")
