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
