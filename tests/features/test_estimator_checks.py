"""scikit-learn's estimator checks over every transformer of ecgsk.features.

sklearn's checks feed 2-D ``X``, which the feature transformers read as
single-lead records whose columns are time samples. Checks that cannot apply
are listed with their reason in ``_expected_failed_checks``;
``xfail_strict=True`` fails the suite if one of them starts passing.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from ecgsk.features import (
    BeatFeatures,
    BeatTemplate,
    RandomConvFeatures,
    RhythmFeatures,
    StatisticalFeatures,
    WaveletFeatures,
)

from ..conftest import NO_N_FEATURES_FAILS_WITH, assert_fails_for, expected_failures

ESTIMATORS = [
    StatisticalFeatures(sampling_rate=100),
    StatisticalFeatures(sampling_rate=100, nan_policy="keep"),
    RhythmFeatures(sampling_rate=100),
    RhythmFeatures(sampling_rate=100, detector="xqrs", nan_policy="keep"),
    BeatFeatures(sampling_rate=100),
    BeatFeatures(sampling_rate=100, detector="xqrs", nan_policy="keep"),
    BeatTemplate(sampling_rate=100),
    # sklearn's test data has 2 to 10 columns (time samples): one Haar level fits.
    WaveletFeatures(wavelet="haar", level=1),
    RandomConvFeatures(n_kernels=3 * 84, random_state=0),
]

NO_N_FEATURES = (
    "X is (n_records, n_leads, n_samples) and a 2-D X is read as single-lead "
    "records whose columns are time samples, so there is no fixed column count "
    "to store in n_features_in_"
)


def _expected_failed_checks(estimator):
    failed = {
        "check_n_features_in": NO_N_FEATURES,
        "check_n_features_in_after_fitting": NO_N_FEATURES,
    }
    if not isinstance(estimator, RandomConvFeatures):
        # RandomConvFeatures rejects another record length (its dilations
        # depend on it); the others summarise records of any length, and warn
        # where some of their features grow with it (tests/features/test_base.py).
        failed["check_transformer_general"] = (
            "it requires transform to reject X with one column fewer than in fit; "
            "these features are defined for records of any length, by design (those "
            "that sum or count over the record, such as energy, warn of another length)"
        )
    if isinstance(estimator, WaveletFeatures):
        failed["check_fit2d_1feature"] = (
            "a 1-sample record cannot be decomposed: the error names the number of "
            "samples rather than sklearn's 'n_features = 1' wording"
        )
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks,
                         xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# What each expected failure above fails with: the reason it is listed for.
FAILS_WITH = {
    **NO_N_FEATURES_FAILS_WITH,
    "check_fit2d_1feature": r"X has 1 samples per record; at least 2 are needed",
}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_expected_failures_fail_for_their_reason(estimator):
    for est, check, name in expected_failures(estimator, _expected_failed_checks(estimator)):
        assert_fails_for(check, est, FAILS_WITH[name])


def _signals():
    return np.random.default_rng(0).normal(size=(6, 2, 300)).astype(np.float32)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_fit_transform_equals_fit_then_transform(estimator):
    X = _signals()
    direct = clone(estimator).fit_transform(X)
    two_step = clone(estimator).fit(X).transform(X)
    assert direct.shape == (6, len(clone(estimator).fit(X).get_feature_names_out()))
    assert_allclose(direct, two_step, equal_nan=True)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_pickle_round_trip_gives_the_same_features(estimator):
    X = _signals()
    fitted = clone(estimator).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_allclose(restored.transform(X), fitted.transform(X), equal_nan=True)
    assert_array_equal(restored.get_feature_names_out(), fitted.get_feature_names_out())


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_wrong_number_of_leads_in_transform_is_rejected(estimator):
    X = _signals()
    fitted = clone(estimator).fit(X)
    with pytest.raises(ValueError, match="lead"):
        fitted.transform(X[:, :1])
