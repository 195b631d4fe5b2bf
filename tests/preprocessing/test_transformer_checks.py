"""scikit-learn's estimator checks over every transformer of ecgsk.preprocessing
written in _signal.py, _standardize.py, _spectrogram.py and _augment.py.

sklearn's checks feed 2-D ``X``, which these transformers read as
single-lead records whose columns are time samples. The few checks that
cannot apply are listed, with the reason, in ``_expected_failed_checks``;
``xfail_strict=True`` makes the suite fail if one of them starts passing.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from ecgsk.preprocessing import (
    Augmenter,
    BandpassFilter,
    BaselineRemoval,
    Derivatives,
    LeadSelector,
    PadTruncate,
    RepeatPadding,
    Resample,
    Spectrogram,
    Standardizer,
)

from ..conftest import NO_N_FEATURES_FAILS_WITH, assert_fails_for, expected_failures

# The Augmenter's five operations (RandomTimeWarp...) are not here: they are
# parameter holders with no fit, applied by Augmenter (which is checked) and
# by ECGNetClassifier(augment=...); tests/preprocessing/test_augment.py checks
# that they clone and pickle.
ESTIMATORS = [
    PadTruncate(length=4),
    PadTruncate(length=4, crop="random", random_state=0),
    RepeatPadding(),
    Resample(rate=200, sampling_rate=100),
    BaselineRemoval(sampling_rate=100),
    BaselineRemoval(method="median", sampling_rate=100),
    BandpassFilter(sampling_rate=100),
    LeadSelector(leads=[0]),
    Derivatives(order=2),
    Standardizer(),
    Standardizer(per_lead=False),
    # sklearn's test data has 2 to 10 columns (time samples).
    Spectrogram(sampling_rate=100, nperseg=2, noverlap=1),
    Augmenter(random_state=0),
]

NO_N_FEATURES = (
    "X is (n_records, n_leads, n_samples) and a 2-D X is read as single-lead "
    "records whose columns are time samples, so there is no fixed column count "
    "to store in n_features_in_; records of any length are accepted"
)


def _expected_failed_checks(estimator):
    failed = {
        "check_n_features_in": NO_N_FEATURES,
        "check_n_features_in_after_fitting": NO_N_FEATURES,
    }
    if isinstance(estimator, Spectrogram):
        failed["check_fit2d_1feature"] = (
            "a 1-sample record is shorter than nperseg=2: the error names nperseg "
            "rather than sklearn's 'n_features = 1' wording"
        )
    else:
        # Spectrogram rejects records of another length than in fit, so this
        # check passes for it; the others accept any length by design.
        failed["check_transformer_general"] = (
            "it requires transform to reject X with one column fewer than in fit; "
            + NO_N_FEATURES
        )
    if isinstance(estimator, Augmenter):
        reason = ("fit_transform returns augmented training data while transform "
                  "returns X unchanged, by design")
        failed["check_transformer_general"] = reason
        failed["check_transformer_data_not_an_array"] = reason
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks,
                         xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# What each expected failure above fails with: the reason it is listed for.
FAILS_WITH = {
    **NO_N_FEATURES_FAILS_WITH,
    "check_fit2d_1feature": r"shorter than nperseg=2",
}
AUGMENTED = r"fit_transform and transform outcomes not consistent"


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_expected_failures_fail_for_their_reason(estimator):
    for est, check, name in expected_failures(estimator, _expected_failed_checks(estimator)):
        augmented = isinstance(estimator, Augmenter) and name.startswith("check_transformer_")
        assert_fails_for(check, est, AUGMENTED if augmented else FAILS_WITH[name])


# check_transformer_general is expected to fail on its column-count step for
# most transformers; the properties it would also have checked are tested here.

DETERMINISTIC = [est for est in ESTIMATORS
                 if not isinstance(est, Augmenter) and getattr(est, "crop", None) != "random"]


@pytest.mark.parametrize("estimator", DETERMINISTIC, ids=repr)
def test_fit_transform_equals_fit_then_transform(estimator):
    X = np.random.default_rng(0).normal(size=(6, 2, 120)).astype(np.float32)
    if isinstance(estimator, LeadSelector):
        X = X[:, :1]
    direct = clone(estimator).fit_transform(X)
    two_step = clone(estimator).fit(X).transform(X)
    assert direct.dtype == np.float32 and direct.shape[0] == 6
    assert_allclose(direct, two_step, rtol=1e-6)
    # A fitted transformer gives the same output when refitted (idempotent).
    fitted = clone(estimator).fit(X)
    assert_allclose(fitted.fit(X).transform(X), two_step, rtol=1e-6)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_transform_on_one_record_matches_the_batch(estimator):
    X = np.random.default_rng(1).normal(size=(5, 1, 64)).astype(np.float32)
    fitted = clone(estimator).fit(X)
    batch = fitted.transform(X)
    for i in range(len(X)):
        assert_allclose(fitted.transform(X[i:i + 1])[0], batch[i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_transform_requires_the_lead_count_of_fit(estimator):
    X = np.random.default_rng(2).normal(size=(4, 2, 64)).astype(np.float32)
    fitted = clone(estimator).fit(X)
    name = type(estimator).__name__
    for other in (X[:, :1], np.concatenate([X, X[:, :1]], axis=1)):
        with pytest.raises(ValueError, match=rf"X has {other.shape[1]} lead\(s\), but {name} "
                                             r"was fitted on 2 lead\(s\)"):
            fitted.transform(other)
