"""Tests of ecgsk/datasets/_synthetic.py."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ecgsk.datasets import make_synthetic_ecg
from ecgsk.datasets._synthetic import SYNTHETIC_CLASSES


def test_shape_dtype_and_balanced_labels():
    X, y = make_synthetic_ecg(n_records=23, n_leads=12, sampling_rate=100, seconds=10,
                              n_classes=5, random_state=0)
    assert X.shape == (23, 12, 1000) and X.dtype == np.float32
    assert y.shape == (23,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=5)
    assert counts.sum() == 23 and counts.max() - counts.min() <= 1
    assert np.isfinite(X).all()


@pytest.mark.parametrize("fs, seconds, n_samples", [(250, 2.0, 500), (300, 1.5, 450),
                                                    (500, 10, 5000)])
def test_number_of_samples(fs, seconds, n_samples):
    X, _ = make_synthetic_ecg(n_records=2, sampling_rate=fs, seconds=seconds, random_state=0)
    assert X.shape[2] == n_samples


def test_reproducible_and_seed_dependent():
    X1, y1 = make_synthetic_ecg(n_records=6, random_state=3)
    X2, y2 = make_synthetic_ecg(n_records=6, random_state=3)
    assert_array_equal(X1, X2) and assert_array_equal(y1, y2)
    X3, _ = make_synthetic_ecg(n_records=6, random_state=4)
    assert not np.allclose(X1, X3)


def test_all_eleven_classes():
    X, y = make_synthetic_ecg(n_records=22, n_classes=11, seconds=2, random_state=0)
    assert_array_equal(np.bincount(y), np.full(11, 2))
    assert len(SYNTHETIC_CLASSES) == 11


def test_limb_leads_obey_einthoven_and_goldberger():
    X, _ = make_synthetic_ecg(n_records=4, n_classes=4, noise=0.0, random_state=0)
    lead_i, lead_ii, lead_iii, avr, avl, avf = X[:, :6].transpose(1, 0, 2)
    assert_allclose(lead_iii, lead_ii - lead_i, atol=1e-5)
    assert_allclose(avr, -(lead_i + lead_ii) / 2, atol=1e-5)
    assert_allclose(avl, lead_i - lead_ii / 2, atol=1e-5)
    assert_allclose(avf, lead_ii - lead_i / 2, atol=1e-5)


def test_plausible_amplitudes_in_mv():
    X, _ = make_synthetic_ecg(n_records=10, n_classes=1, sampling_rate=250, random_state=0)
    # Tall R in lead II, negative QRS in aVR, both around 1 mV.
    assert np.all((X[:, 1].max(axis=1) > 0.5) & (X[:, 1].max(axis=1) < 2.0))
    assert np.all(X[:, 3].min(axis=1) < -0.5)
    assert np.all(-X[:, 3].min(axis=1) > X[:, 3].max(axis=1))


def test_noise_is_white_noise_of_the_requested_std():
    # The noise is drawn after the clean signals, so the same seed gives the
    # same clean records.
    X0, _ = make_synthetic_ecg(n_records=8, noise=0.0, random_state=1)
    X1, _ = make_synthetic_ecg(n_records=8, noise=0.1, random_state=1)
    residual = X1 - X0
    assert residual.std() == pytest.approx(0.1, rel=0.02)
    assert abs(residual.mean()) < 0.005


def test_more_than_12_leads_and_a_single_lead():
    X, _ = make_synthetic_ecg(n_records=3, n_leads=15, noise=0.0, random_state=0)
    assert X.shape[1] == 15
    corr = np.corrcoef(X[0])
    assert np.all(np.abs(corr[12:, :][:, np.r_[0:12]]) < 0.9999)
    X1, _ = make_synthetic_ecg(n_records=3, n_leads=1, random_state=0)
    assert X1.shape == (3, 1, 1000)


def _rr_intervals(x, fs):
    from wfdb.processing import xqrs_detect

    peaks = xqrs_detect(x.astype(np.float64), fs=fs, verbose=False)
    return np.diff(peaks) / fs


def test_r_peaks_give_the_class_heart_rate_and_rhythm():
    """wfdb's XQRS detector finds the beats in lead II at the class's rate."""
    fs = 250
    X, y = make_synthetic_ecg(n_records=15, n_classes=5, sampling_rate=fs, random_state=0)
    rate, irregularity = np.empty(15), np.empty(15)
    for i in range(15):
        rr = _rr_intervals(X[i, 1], fs)
        assert len(rr) >= 6  # at least 7 beats in 10 s
        rate[i], irregularity[i] = 60 / rr.mean(), rr.std() / rr.mean()
    # Normal sinus rhythm 50-95 bpm, tachycardia 105-150 bpm (+-5 for detection).
    assert np.all((rate[y == 0] > 45) & (rate[y == 0] < 100))
    assert np.all((rate[y == 4] > 100) & (rate[y == 4] < 155))
    # Sinus rhythm is regular; AF-like records are not.
    assert np.all(irregularity[y == 0] < 0.08)
    assert np.all(irregularity[y == 2] > 0.12)


def test_classes_are_learnable_but_not_trivial():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_synthetic_ecg(n_records=150, n_classes=5, random_state=0)
    d = np.diff(X, axis=2)
    features = np.concatenate(
        [X.std(axis=2), np.percentile(X, [5, 50, 95], axis=2).transpose(1, 0, 2).reshape(150, -1),
         np.abs(d).mean(axis=2)], axis=1)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = cross_val_score(model, features, y, cv=3).mean()
    assert accuracy > 0.6  # chance is 0.2
    # A template matcher on the raw samples does much worse: beats fall at
    # random times, so a class is not one waveform.
    from sklearn.neighbors import NearestCentroid

    raw = cross_val_score(NearestCentroid(), X.reshape(150, -1), y, cv=3).mean()
    assert raw < accuracy - 0.2


@pytest.mark.parametrize("params, match", [
    ({"n_classes": 0}, "n_classes"),
    ({"n_classes": 12}, "n_classes must be an integer from 1 to 11"),
    ({"n_classes": 2.0}, "n_classes"),
    ({"n_records": 3, "n_classes": 4}, "n_records=3 is smaller than n_classes=4"),
    ({"n_records": 0}, "n_records"),
    ({"n_leads": 0}, "n_leads"),
    ({"sampling_rate": 0}, "sampling_rate"),
    ({"sampling_rate": np.nan}, "sampling_rate"),
    ({"sampling_rate": 20}, "at least 50 Hz"),
    ({"seconds": 0}, "seconds"),
    ({"seconds": 1e-4}, "gives no sample"),
    ({"noise": -0.1}, "noise"),
])
def test_bad_arguments(params, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_ecg(**params)
