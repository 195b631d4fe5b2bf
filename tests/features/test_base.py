"""ecgsk/features/_base.py: what every feature transformer shares."""

import warnings

import numpy as np
import pytest

from ecgsk.datasets import make_synthetic_ecg
from ecgsk.features import (
    BeatTemplate,
    RhythmFeatures,
    StatisticalFeatures,
    WaveletFeatures,
)


@pytest.fixture(scope="module")
def records():
    X, _ = make_synthetic_ecg(n_records=4, n_leads=1, n_classes=2, random_state=0)
    return X  # 10 s at 100 Hz


@pytest.mark.parametrize("make, named", [
    (lambda: StatisticalFeatures(sampling_rate=100), "energy"),
    (lambda: WaveletFeatures(), "energy, zero_crossings, mean_crossings"),
    (lambda: RhythmFeatures(sampling_rate=100), "n_beats"),
])
def test_records_of_another_length_are_said_where_features_grow_with_it(records, make,
                                                                        named):
    features = make().fit(records)
    assert features.n_samples_in_ == records.shape[2]
    longer = np.concatenate([records, records], axis=-1)
    with pytest.warns(UserWarning, match=rf"fitted on records of 1000 samples and now "
                                         rf"transforms records of 2000: its features "
                                         rf"{named} sum or count"):
        features.transform(longer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features.transform(records)  # the length of fit: nothing to say


def test_features_of_any_length_say_nothing(records):
    template = BeatTemplate(sampling_rate=100).fit(records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        template.transform(np.concatenate([records, records], axis=-1))


@pytest.mark.parametrize("make", [
    lambda: StatisticalFeatures(sampling_rate=100),
    lambda: WaveletFeatures(level=3),
], ids=["StatisticalFeatures", "WaveletFeatures"])
def test_features_are_computed_a_block_of_records_at_a_time(make, monkeypatch):
    # The whole X went through _compute at once, in float64 with temporaries of X's
    # size: 12 times the input's memory, 12.6 GB for PTB-XL at 100 Hz.
    from ecgsk.features import _base

    X = np.random.default_rng(0).normal(size=(23, 2, 300)).astype(np.float32)
    whole = make().fit(X)
    expected = whole.transform(X)
    monkeypatch.setattr(_base, "_BLOCK", 5)
    est = make()
    sizes = []
    compute = type(est)._compute
    monkeypatch.setattr(type(est), "_compute",
                        lambda self, X: sizes.append(len(X)) or compute(self, X))
    np.testing.assert_array_equal(est.fit_transform(X), expected)
    np.testing.assert_array_equal(est.transform(X), expected)
    assert max(sizes) == 5 and sum(sizes) == 2 * 23


def test_the_amplitude_check_sees_every_record_not_one_block(records, monkeypatch):
    # Computed a block at a time, the check named a record by its place in its block
    # ("record 1" for record 11), and warned that no record swung when one block was flat.
    from ecgsk.features import _base

    monkeypatch.setattr(_base, "_BLOCK", 5)
    X = np.zeros((12, 1, records.shape[2]), dtype=np.float32)
    X[10:] = records[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RhythmFeatures(sampling_rate=100).fit_transform(X)
    X[11] *= 1000  # in µV
    with pytest.raises(ValueError, match=r"RhythmFeatures: record 11 swings"):
        RhythmFeatures(sampling_rate=100).fit_transform(X)
    with pytest.raises(ValueError, match=r"BeatTemplate: record 11 swings"):
        BeatTemplate(sampling_rate=100).fit_transform(X)
