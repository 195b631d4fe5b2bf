"""Tests of ecgsk/features/_wavelet.py: wavelet coefficient statistics."""

import numpy as np
import pytest
import pywt
from numpy.testing import assert_allclose

from ecgsk.features import WaveletFeatures
from ecgsk.features._wavelet import WAVELET_STATS, _coefficient_stats


def by_name(est, F):
    return dict(zip(est.get_feature_names_out(), F.T))


def test_names_follow_pywt_order_and_count():
    est = WaveletFeatures(level=3, lead_names=["I", "II"]).fit(np.zeros((2, 2, 400)))
    names = list(est.get_feature_names_out())
    assert len(names) == est.n_features_out_ == 2 * 4 * len(WAVELET_STATS)
    assert names[0] == "I_cA3_entropy"
    assert names[len(WAVELET_STATS)] == "I_cD3_entropy"
    assert names[4 * len(WAVELET_STATS) - 1] == "I_cD1_energy"
    assert names[-1] == "II_cD1_energy"


def test_coefficient_statistics_match_hand_computation():
    C = np.array([[-1.0, 2.0, -3.0, 4.0]])
    got = dict(zip(WAVELET_STATS, _coefficient_stats(C, n_bins=16)[0]))
    assert got["zero_crossings"] == 3
    assert got["mean_crossings"] == 3  # the mean is 0.5
    assert got["mean"] == 0.5
    assert got["median"] == 0.5
    assert got["var"] == pytest.approx(np.var([-1, 2, -3, 4]))
    assert got["std"] == pytest.approx(np.sqrt(got["var"]))
    assert got["rms"] == pytest.approx(np.sqrt((1 + 4 + 9 + 16) / 4))
    assert got["mean_abs"] == 2.5
    assert got["energy"] == 30
    assert got["p25"] == pytest.approx(np.percentile([-1, 2, -3, 4], 25))
    # four distinct values in four bins: log(4)
    assert got["entropy"] == pytest.approx(np.log(4))


def test_entropy_is_zero_for_constant_and_log_bins_for_uniform_coefficients():
    C = np.stack([np.full(64, 3.0), np.linspace(0, 1, 64, endpoint=False)])
    entropy = _coefficient_stats(C, n_bins=8)[:, 0]
    assert entropy[0] == 0
    assert entropy[1] == pytest.approx(np.log(8))


def test_a_flat_lead_gives_the_same_features_at_any_level():
    # Its coefficients were constant but for rounding: 3 mean crossings and an entropy of
    # 0.34 in cD1 at -1.3, none at 0.
    est = WaveletFeatures(level=3)
    X = np.stack([np.full((1, 1000), c, np.float32) for c in (0.0, 0.7, -1.3)])
    f = by_name(est, est.fit_transform(X))
    for band in ("cA3", "cD3", "cD2", "cD1"):
        for stat in ("entropy", "mean_crossings"):
            assert_allclose(f[f"lead0_{band}_{stat}"], 0.0, atol=0, err_msg=f"{band} {stat}")
    for stat in ("zero_crossings", "mean", "energy"):
        assert_allclose(f[f"lead0_cD1_{stat}"], 0.0, atol=0, err_msg=stat)
    # A lead that moves, beside a flat one, keeps its own coefficients.
    mixed = np.stack([np.full(1000, 0.7), np.sin(np.arange(1000) / 7)])[None]
    alone = est.fit_transform(mixed[:, 1:])
    assert_allclose(est.fit_transform(mixed)[:, alone.shape[1]:], alone)


def test_energy_is_preserved_across_levels_for_an_orthogonal_wavelet():
    # Haar on a power-of-two length: symmetric extension is not used, and
    # the decomposition is orthonormal (Parseval).
    x = np.random.default_rng(0).normal(size=(1, 64))
    est = WaveletFeatures(wavelet="haar", level=3)
    f = by_name(est, est.fit_transform(x))
    total = sum(f[f"lead0_{band}_energy"][0] for band in ("cA3", "cD3", "cD2", "cD1"))
    assert total == pytest.approx(np.sum(x.astype(np.float32).astype(np.float64) ** 2),
                                  rel=1e-6)


def test_matches_pywt_wavedec_coefficients():
    x = np.random.default_rng(1).normal(size=(2, 3, 300)).astype(np.float32)
    est = WaveletFeatures(wavelet="db4", level=2)
    f = by_name(est, est.fit_transform(x))
    cD1 = pywt.wavedec(x[1, 2].astype(np.float64), "db4", level=2)[-1]
    assert f["lead2_cD1_mean"][1] == pytest.approx(cD1.mean())
    assert f["lead2_cD1_p95"][1] == pytest.approx(np.percentile(cD1, 95))
    assert f["lead2_cD1_zero_crossings"][1] == np.count_nonzero(np.diff(cD1 > 0))


@pytest.mark.parametrize("freq, band", [(9.0, "cD3"), (35.0, "cD1"), (18.0, "cD2")])
def test_sine_energy_concentrates_in_the_level_of_its_frequency(freq, band):
    # At 100 Hz: cD1 25-50 Hz, cD2 12.5-25, cD3 6.25-12.5, cD4 3.1-6.25 Hz.
    t = np.arange(1000) / 100
    est = WaveletFeatures()  # db6, level 5: the PTB-XL benchmark setting
    f = by_name(est, est.fit_transform(np.sin(2 * np.pi * freq * t)[None]))
    energy = {b: f[f"lead0_{b}_energy"][0] for b in ("cA5", "cD5", "cD4", "cD3", "cD2", "cD1")}
    assert max(energy, key=energy.get) == band
    assert energy[band] > 0.7 * sum(energy.values())


def test_two_dimensional_input_is_one_lead():
    x = np.random.default_rng(2).normal(size=(3, 256)).astype(np.float32)
    est = WaveletFeatures(level=3)
    assert_allclose(est.fit_transform(x), est.fit_transform(x[:, None, :]))


@pytest.mark.parametrize("params, match", [
    ({"wavelet": "morl"}, "wavelet"),
    ({"wavelet": "db99"}, "wavelet"),
    ({"level": 0}, "level"),
    ({"level": 9}, "level=9 is too deep for records of 300 samples"),
    ({"entropy_bins": 1}, "entropy_bins"),
    ({"nan_policy": "ignore"}, "nan_policy"),
])
def test_bad_parameters_raise_naming_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        WaveletFeatures(**params).fit(np.zeros((2, 300), np.float32))


def test_transform_on_too_short_records_names_the_level():
    est = WaveletFeatures(level=5).fit(np.zeros((2, 1000), np.float32))
    with pytest.raises(ValueError, match="level=5"):
        est.transform(np.zeros((2, 100), np.float32))
