"""Tests of ecgsk/features/_randomconv.py against the published MiniRocket design."""

from itertools import combinations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ecgsk.features import RandomConvFeatures
from ecgsk.features._randomconv import _fit_dilations, _quantiles


def reference_convolution(z, kernel, dilation):
    """Plain dilated convolution with zero 'same' padding, written from the paper."""
    pad = 4 * dilation
    zp = np.pad(z.astype(np.float64), pad)
    return sum(kernel[j] * zp[j * dilation:j * dilation + len(z)] for j in range(9))


def reference_transform(est, X):
    """Loop-by-loop MiniRocket features with the fitted parameters of ``est``."""
    out = np.empty((len(X), est.n_features_out_))
    for i, record in enumerate(X):
        col = 0
        for di, (d, n_f) in enumerate(zip(est.dilations_, est.n_features_per_dilation_)):
            for k in range(84):
                z = record[est.channel_mask_[di, k]].sum(axis=0)
                c = reference_convolution(z, est.kernels_[k], d)
                if (di + k) % 2 == 1:  # alternate pairs drop the padded ends
                    c = c[4 * d:len(z) - 4 * d]
                for _ in range(n_f):
                    out[i, col] = np.mean(c > est.biases_[col])
                    col += 1
    return out


def test_the_84_base_kernels():
    est = RandomConvFeatures(n_kernels=84, random_state=0).fit(np.zeros((2, 50)))
    K = est.kernels_
    assert K.shape == (84, 9)
    assert set(np.unique(K)) == {-1.0, 2.0}
    assert_array_equal((K == 2).sum(axis=1), 3)
    assert_array_equal(K.sum(axis=1), 0)  # 6 * -1 + 3 * 2
    positions = {tuple(np.flatnonzero(row == 2)) for row in K}
    assert positions == set(combinations(range(9), 3))


def test_dilations_and_feature_count_follow_the_reference_recipe():
    # n_samples = 33: log2((33 - 1) / 8) = 2, three dilations 1, 2, 4
    dilations, per_dilation = _fit_dilations(33, 3 * 84, 32)
    assert_array_equal(dilations, [1, 2, 4])
    assert_array_equal(per_dilation, [1, 1, 1])
    dilations, per_dilation = _fit_dilations(1000, 10_000, 32)
    assert dilations[0] == 1 and dilations[-1] <= (1000 - 1) / 8
    assert np.all(np.diff(dilations) > 0)
    assert per_dilation.sum() == 10_000 // 84
    est = RandomConvFeatures(n_kernels=1000, random_state=0).fit(np.zeros((3, 2, 200)))
    assert est.n_features_out_ == 84 * (1000 // 84) == 924
    assert len(est.get_feature_names_out()) == 924


def test_quantiles_are_the_golden_ratio_sequence():
    phi = (1 + np.sqrt(5)) / 2
    assert_allclose(_quantiles(4), [phi % 1, 2 * phi % 1, 3 * phi % 1, 4 * phi % 1], rtol=1e-6)


def test_features_match_a_loop_by_loop_reference_implementation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 4, 120)).astype(np.float32)
    est = RandomConvFeatures(n_kernels=4 * 84, random_state=1).fit(X)
    X_new = rng.normal(size=(3, 4, 120)).astype(np.float32)
    # PPV counts can differ by one where float32 and float64 outputs straddle a bias.
    assert_allclose(est.transform(X_new), reference_transform(est, X_new), atol=1.5 / 120)


def test_biases_are_quantiles_of_training_convolutions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 100)).astype(np.float32)  # one training record
    est = RandomConvFeatures(n_kernels=2 * 84, random_state=0).fit(x)
    quantiles = _quantiles(est.n_features_out_)
    col = 0
    for di, (d, n_f) in enumerate(zip(est.dilations_, est.n_features_per_dilation_)):
        for k in range(84):
            c = reference_convolution(x[0][est.channel_mask_[di, k]].sum(axis=0),
                                      est.kernels_[k], d)
            for _ in range(n_f):
                assert est.biases_[col] == pytest.approx(np.quantile(c, quantiles[col]),
                                                         abs=1e-4)
                col += 1
    # On its only training record, a fully padded feature is about 1 - quantile.
    F = est.transform(x)[0]
    padded = np.array([(di + k) % 2 == 0
                       for di, n_f in enumerate(est.n_features_per_dilation_)
                       for k in range(84) for _ in range(n_f)])
    assert_allclose(F[padded], 1 - quantiles[padded], atol=2 / 100)


def test_biases_come_from_training_data_only():
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(6, 2, 150)).astype(np.float32)
    X_test = 5 * rng.normal(size=(4, 2, 150)).astype(np.float32) + 3
    est = RandomConvFeatures(n_kernels=2 * 84, random_state=0).fit(X_train)
    biases = est.biases_.copy()
    F_test = est.transform(X_test)
    assert_array_equal(est.biases_, biases)  # transform learns nothing
    refit = RandomConvFeatures(n_kernels=2 * 84, random_state=0).fit(X_test)
    assert not np.allclose(refit.biases_, biases)
    assert_allclose(F_test, reference_transform(est, X_test), atol=1.5 / 150)


def test_ppv_in_unit_interval_and_float32():
    X = np.random.default_rng(0).normal(size=(8, 12, 250)).astype(np.float32)
    F = RandomConvFeatures(n_kernels=1000, random_state=0).fit_transform(X)
    assert F.dtype == np.float32 and F.shape == (8, 924)
    assert F.min() >= 0 and F.max() <= 1
    assert F.std(axis=0).max() > 0.1  # features vary across records


def test_deterministic_given_random_state():
    X = np.random.default_rng(0).normal(size=(6, 12, 200)).astype(np.float32)
    a = RandomConvFeatures(n_kernels=500, random_state=3).fit(X)
    b = RandomConvFeatures(n_kernels=500, random_state=3).fit(X)
    c = RandomConvFeatures(n_kernels=500, random_state=4).fit(X)
    assert_array_equal(a.transform(X), b.transform(X))
    assert_array_equal(a.channel_mask_, b.channel_mask_)
    assert not np.array_equal(a.channel_mask_, c.channel_mask_)
    assert not np.array_equal(a.biases_, c.biases_)


def test_lead_combinations_follow_the_multivariate_variant():
    X = np.random.default_rng(0).normal(size=(4, 12, 200)).astype(np.float32)
    est = RandomConvFeatures(n_kernels=2000, random_state=0).fit(X)
    sizes = est.channel_mask_.sum(axis=-1)
    # floor(2 ** U(0, log2(min(12, 9) + 1))): 1 to 9 leads
    assert sizes.min() == 1 and sizes.max() <= 9
    assert 2.5 < sizes.mean() < 4.5  # E[floor(2^U)] is about 3.4
    single = RandomConvFeatures(n_kernels=500, random_state=0).fit(X[:, :1])
    assert single.channel_mask_.all()


def test_parallel_threads_give_the_same_features():
    X = np.random.default_rng(0).normal(size=(130, 2, 200)).astype(np.float32)
    est = RandomConvFeatures(n_kernels=500, random_state=0).fit(X)
    serial = est.transform(X)
    est.set_params(n_jobs=2)
    assert_array_equal(est.transform(X), serial)


def test_numpy_without_bitwise_count_gives_the_same_features(monkeypatch):
    # setup.cfg's floor is numpy 1.26, which lacks np.bitwise_count (numpy 2): transform
    # raised AttributeError there.
    from ecgsk.features._randomconv import _set_bits

    X = np.random.default_rng(0).normal(size=(12, 2, 200)).astype(np.float32)
    est = RandomConvFeatures(n_kernels=168, random_state=0).fit(X)
    with_numpy_2 = est.transform(X)
    every_byte = np.arange(256, dtype=np.uint8)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert [int(n) for n in _set_bits(every_byte)] == [bin(b).count("1") for b in range(256)]
    assert_array_equal(est.transform(X), with_numpy_2)


def test_short_records_are_zero_padded_to_the_kernel_length():
    X = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    est = RandomConvFeatures(n_kernels=84, random_state=0).fit(X)
    assert_array_equal(est.dilations_, [1])
    assert_allclose(est.transform(X),
                    est.fit(np.pad(X, ((0, 0), (0, 4)))).transform(np.pad(X, ((0, 0), (0, 4)))))


@pytest.mark.parametrize("params, match", [
    ({"n_kernels": 83}, "n_kernels"),
    ({"n_kernels": 1000.0}, "n_kernels"),
    ({"max_dilations_per_kernel": 0}, "max_dilations_per_kernel"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"random_state": "abc"}, r"random_state must be None, an int or a numpy RandomState, got 'abc'"),
])
def test_bad_parameters_raise_naming_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        RandomConvFeatures(**params).fit(np.zeros((2, 100), np.float32))


def test_other_record_length_in_transform_is_rejected():
    est = RandomConvFeatures(n_kernels=84, random_state=0).fit(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="120 samples per record.*fitted on 100"):
        est.transform(np.zeros((2, 120), np.float32))
