"""Tests of ecgsk/preprocessing/_standardize.py."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ecgsk.preprocessing import Standardizer


@pytest.fixture
def leads_with_offsets(rng):
    # 3 leads with very different means and spreads.
    X = rng.normal(size=(20, 3, 500)) * np.array([0.1, 1.0, 5.0])[:, None]
    return (X + np.array([-2.0, 0.0, 3.0])[:, None]).astype(np.float32)


def test_hand_computed_example():
    X = np.array([[[1.0, 3.0], [10.0, 30.0]], [[5.0, 7.0], [50.0, 70.0]]])
    scaler = Standardizer(eps=0).fit(X)
    # Lead 0 holds 1, 3, 5, 7: mean 4, population std sqrt(5).
    assert_allclose(scaler.mean_, [4.0, 40.0])
    assert_allclose(scaler.scale_, [np.sqrt(5), 10 * np.sqrt(5)])
    assert_allclose(scaler.transform(X)[0, 0], [-3 / np.sqrt(5), -1 / np.sqrt(5)], rtol=1e-6)


def test_per_lead_zero_mean_unit_std_on_training_data(leads_with_offsets):
    Xt = Standardizer().fit_transform(leads_with_offsets)
    assert Xt.dtype == np.float32 and Xt.shape == leads_with_offsets.shape
    assert_allclose(Xt.mean(axis=(0, 2)), 0.0, atol=1e-5)
    assert_allclose(Xt.std(axis=(0, 2)), 1.0, rtol=1e-5)


def test_global_statistics(leads_with_offsets):
    scaler = Standardizer(per_lead=False).fit(leads_with_offsets)
    X64 = leads_with_offsets.astype(np.float64)
    assert_allclose(scaler.mean_, np.full(3, X64.mean()), rtol=1e-9)
    assert_allclose(scaler.scale_, np.full(3, X64.std()) + 1e-8, rtol=1e-9)
    Xt = scaler.transform(leads_with_offsets)
    assert Xt.mean() == pytest.approx(0.0, abs=1e-5)
    assert Xt.std() == pytest.approx(1.0, rel=1e-5)
    # Leads keep their relative spread: lead 2 stays 50x wider than lead 0.
    ratio = Xt[:, 2].std() / Xt[:, 0].std()
    assert ratio == pytest.approx(50, rel=0.05)


def test_new_data_uses_the_training_statistics(leads_with_offsets):
    scaler = Standardizer().fit(leads_with_offsets)
    X_new = np.zeros((2, 3, 10), dtype=np.float32)
    expected = -scaler.mean_ / scaler.scale_
    assert_allclose(scaler.transform(X_new)[:, :, 0], np.tile(expected, (2, 1)), rtol=1e-5)


def test_inverse_transform_round_trip(leads_with_offsets):
    scaler = Standardizer().fit(leads_with_offsets)
    back = scaler.inverse_transform(scaler.transform(leads_with_offsets))
    assert_allclose(back, leads_with_offsets, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("eps", [1e-8, 0])
def test_flat_lead_is_only_centred(eps):
    X = np.ones((4, 2, 50), dtype=np.float32)
    X[:, 1] = np.random.default_rng(0).normal(size=(4, 50))
    scaler = Standardizer(eps=eps).fit(X)
    assert scaler.scale_[0] == 1 + eps  # as StandardScaler: a zero std is taken as 1
    assert_array_equal(scaler.transform(X)[:, 0], 0.0)
    # A lead flat in training but not at prediction is centred, not blown up.
    later = X.copy()
    later[:, 0] += 0.5
    assert_allclose(scaler.transform(later)[:, 0], 0.5)


def test_lead_count_must_match_fit(leads_with_offsets):
    scaler = Standardizer().fit(leads_with_offsets)
    with pytest.raises(ValueError, match=r"X has 2 lead\(s\), but Standardizer was fitted on 3"):
        scaler.transform(leads_with_offsets[:, :2])
    with pytest.raises(ValueError, match="fitted on 3"):
        scaler.inverse_transform(leads_with_offsets[:, :2])


@pytest.mark.parametrize("params, match", [
    ({"eps": -1.0}, "eps"), ({"eps": np.nan}, "eps"), ({"per_lead": "yes"}, "per_lead"),
])
def test_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        Standardizer(**params).fit(np.zeros((2, 1, 5)))


def test_nan_input_names_the_record():
    X = np.zeros((3, 2, 10))
    X[1, 1, 3] = np.inf
    with pytest.raises(ValueError, match="first at index 1"):
        Standardizer().fit(X)


def test_real_ptbxl_records(ptbxl_root):
    import wfdb
    X = np.stack([wfdb.rdsamp(str(ptbxl_root / f"records100/00000/{i:05d}_lr"))[0].T
                  for i in range(1, 6)])
    Xt = Standardizer().fit_transform(X)
    assert_allclose(Xt.mean(axis=(0, 2)), 0.0, atol=1e-5)
    assert_allclose(Xt.std(axis=(0, 2)), 1.0, rtol=1e-4)
