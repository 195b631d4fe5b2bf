"""Tests of ecgsk/features/_statistical.py against hand-computed values."""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ecgsk.features import StatisticalFeatures


def features(X, **params):
    est = StatisticalFeatures(**params)
    F = est.fit_transform(X)
    return dict(zip(est.get_feature_names_out(), F.T)), est


def sine(freq, amp=1.0, fs=100, seconds=10, phase=0.3):
    t = np.arange(int(fs * seconds)) / fs
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def test_feature_names_and_shape():
    X = np.zeros((3, 2, 500), np.float32) + np.arange(500, dtype=np.float32)
    f, est = features(X, sampling_rate=100, percentiles=(10, 2.5), bands=((1, 5),),
                      lead_names=["II", "V1"])
    names = list(est.get_feature_names_out())
    per_lead = ["mean", "std", "min", "max", "p10", "p2.5", "skewness", "kurtosis",
                "energy", "zero_crossing_rate", "power_1_5Hz", "dominant_frequency"]
    assert names == [f"{lead}_{s}" for lead in ("II", "V1") for s in per_lead]
    assert est.n_features_out_ == 24
    assert est.fit_transform(X).shape == (3, 24)


def test_moments_and_percentiles_of_a_ramp():
    x = np.linspace(0, 1, 101, dtype=np.float64)  # 101 evenly spaced values
    f, _ = features(x[None], sampling_rate=100, bands=((1, 10),))
    assert f["lead0_mean"][0] == pytest.approx(0.5)
    assert f["lead0_std"][0] == pytest.approx(np.sqrt((101 ** 2 - 1) / 12) / 100)
    assert f["lead0_min"][0] == 0 and f["lead0_max"][0] == pytest.approx(1)
    for q in (5, 25, 50, 75, 95):
        assert f[f"lead0_p{q}"][0] == pytest.approx(q / 100, abs=1e-6)
    assert f["lead0_skewness"][0] == pytest.approx(0, abs=1e-6)
    # excess kurtosis of n equally spaced values: -6 (n^2 + 1) / (5 (n^2 - 1))
    assert f["lead0_kurtosis"][0] == pytest.approx(-6 * (101 ** 2 + 1) / (5 * (101 ** 2 - 1)),
                                                   rel=1e-5)


def test_skewness_sign_follows_the_tail():
    x = np.zeros(200, np.float32)
    x[:5] = 10.0  # a few large positive values: right tail
    f, _ = features(np.stack([x, -x]), sampling_rate=100)
    assert f["lead0_skewness"][0] > 3 and f["lead0_skewness"][1] < -3
    assert f["lead0_kurtosis"][0] > 3


def test_energy_zero_crossings_band_power_and_dominant_frequency_of_a_sine():
    amp, freq, fs, seconds = 2.0, 10.0, 100, 10
    f, _ = features(sine(freq, amp, fs, seconds)[None], sampling_rate=fs)
    # energy = integral of x^2 = A^2 / 2 * duration
    assert f["lead0_energy"][0] == pytest.approx(amp ** 2 / 2 * seconds, rel=1e-4)
    # a sine crosses zero twice per period
    assert f["lead0_zero_crossing_rate"][0] == pytest.approx(2 * freq, abs=0.11)
    # all the power A^2 / 2 lands in the 4-15 Hz band
    assert f["lead0_power_4_15Hz"][0] == pytest.approx(amp ** 2 / 2, rel=0.02)
    assert f["lead0_power_0.5_4Hz"][0] < 1e-3 * amp ** 2
    assert f["lead0_power_15_40Hz"][0] < 1e-3 * amp ** 2
    assert f["lead0_dominant_frequency"][0] == pytest.approx(freq, abs=0.25)


@pytest.mark.parametrize("freq, band", [(2.0, "0.5_4"), (25.0, "15_40")])
def test_band_power_of_a_sine_lands_in_its_band(freq, band):
    X = sine(freq, amp=1.5)[None] + 0.3  # an offset is not power in any band
    f, _ = features(X, sampling_rate=100)
    bands = ["0.5_4", "4_15", "15_40"]
    powers = {b: f[f"lead0_power_{b}Hz"][0] for b in bands}
    assert powers[band] == pytest.approx(1.5 ** 2 / 2, rel=0.02)
    assert sum(powers.values()) == pytest.approx(powers[band], rel=0.01)
    assert f["lead0_mean"][0] == pytest.approx(0.3, abs=1e-3)
    assert f["lead0_dominant_frequency"][0] == pytest.approx(freq, abs=0.25)


def test_sum_of_sines_splits_power_between_bands():
    X = sine(2.0, 1.0)[None] + sine(25.0, 0.5)[None]
    f, _ = features(X, sampling_rate=100)
    assert f["lead0_power_0.5_4Hz"][0] == pytest.approx(0.5, rel=0.02)
    assert f["lead0_power_15_40Hz"][0] == pytest.approx(0.125, rel=0.02)
    assert f["lead0_dominant_frequency"][0] == pytest.approx(2.0, abs=0.25)


def test_leads_are_computed_independently_and_2d_is_one_lead():
    a, b = sine(5.0, 1.0), sine(20.0, 3.0)
    f, _ = features(np.stack([a, b])[None], sampling_rate=100)
    assert f["lead0_max"][0] == pytest.approx(1.0, abs=0.01)
    assert f["lead1_max"][0] == pytest.approx(3.0, abs=0.03)
    est = StatisticalFeatures(sampling_rate=100)
    assert_allclose(est.fit_transform(np.stack([a, b])),
                    est.fit_transform(np.stack([a, b])[:, None, :]))


def test_flat_lead_has_undefined_shape_statistics():
    X = np.stack([sine(5.0), sine(7.0), np.full(1000, 0.4, np.float32)])
    f, _ = features(X, sampling_rate=100, nan_policy="keep")
    for name in ("skewness", "kurtosis", "dominant_frequency"):
        assert np.isnan(f[f"lead0_{name}"][2]) and np.isfinite(f[f"lead0_{name}"][:2]).all()
    assert f["lead0_std"][2] == 0 and f["lead0_zero_crossing_rate"][2] == 0
    imputed, _ = features(X, sampling_rate=100)
    assert imputed["lead0_dominant_frequency"][2] == pytest.approx(6.0, abs=0.25)  # median
    with pytest.raises(ValueError, match="record 2"):
        StatisticalFeatures(sampling_rate=100, nan_policy="raise").fit(X)


@pytest.mark.parametrize("params, match", [
    ({}, "sampling_rate"),
    ({"sampling_rate": 0}, "sampling_rate"),
    ({"sampling_rate": 100, "bands": ((15, 60),)}, "Nyquist"),
    ({"sampling_rate": 100, "bands": ((5, 1),)}, "bands"),
    ({"sampling_rate": 100, "bands": (5,)}, "bands"),
    ({"sampling_rate": 100, "percentiles": (50, 101)}, "percentiles"),
    ({"sampling_rate": 100, "percentiles": "50"}, "percentiles"),
    ({"sampling_rate": 100, "nan_policy": None}, "nan_policy"),
    ({"sampling_rate": 100, "lead_names": "I"}, "lead_names"),
    ({"sampling_rate": 100, "lead_names": 2}, "lead_names must be a sequence of strings, one "
                                              "per lead, got 2"),  # "'int' is not iterable"
    # Two columns of one name each: the frame's D["lead0_p2.5"] gave both.
    ({"sampling_rate": 100, "percentiles": (2.5, 2.500001, 50, 50)},
     r"percentiles name the feature\(s\) \['p2.5', 'p50'\] twice"),
    ({"sampling_rate": 100, "bands": ((0.5, 4), (0.5, 4.0000001))},
     r"bands name the feature\(s\) \['0.5_4Hz'\] twice"),
])
def test_bad_parameters_raise_naming_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        StatisticalFeatures(**params).fit(np.zeros((2, 300), np.float32))


def test_bad_input_raises_a_clear_error():
    est = StatisticalFeatures(sampling_rate=100)
    with pytest.raises(ValueError, match="NaN"):
        est.fit(np.full((2, 300), np.nan))
    with pytest.raises(ValueError, match="Expected 2D array|3-D|2-D"):
        est.fit(np.zeros(300))
    fitted = est.fit(np.zeros((2, 2, 300), np.float32) + 1)
    with pytest.raises(ValueError, match="2 lead"):
        fitted.transform(np.zeros((2, 300), np.float32))


def test_parameters_changed_after_fit_need_a_refit():
    X = np.random.default_rng(0).normal(size=(4, 2, 500))
    est = StatisticalFeatures(sampling_rate=100).fit(X)
    est.set_params(percentiles=[50])
    with pytest.raises(ValueError, match="now computes 26 features, but was fitted to give 34"):
        est.transform(X)
    assert est.fit(X).transform(X).shape == (4, 26)  # refitted, it gives its new table
    kept = StatisticalFeatures(sampling_rate=100, nan_policy="keep").fit(X)
    kept.set_params(nan_policy="impute")
    with pytest.raises(ValueError, match="no training medians to impute with"):
        kept.transform(X)


def test_names_and_table_stay_those_of_the_fit_after_set_params():
    # get_feature_names_out followed percentiles, bands and sampling_rate set after fit:
    # 13 names for 17 columns, or an error; and percentiles (10, 90) for (25, 75) gave
    # another table under the fitted names.
    from ecgsk.features import WaveletFeatures

    X = np.random.default_rng(0).normal(size=(4, 1, 1000))
    est = StatisticalFeatures(sampling_rate=100, percentiles=(25, 75)).fit(X)
    fitted = list(est.get_feature_names_out())
    table = est.transform(X)
    est.set_params(percentiles=(10, 90))
    assert list(est.get_feature_names_out()) == fitted
    with pytest.raises(ValueError, match=re.escape(
            "StatisticalFeatures now computes other features than the 14 it was fitted to "
            "give (new: 'lead0_p10', 'lead0_p90'; gone: 'lead0_p25', 'lead0_p75'): its "
            "parameters changed after fit; fit it again.")):
        est.transform(X)
    est.set_params(percentiles=(25, 75), lead_names=["X"])  # back; names wait for a refit
    np.testing.assert_array_equal(est.transform(X), table)
    est.set_params(sampling_rate=None)
    assert list(est.get_feature_names_out()) == fitted
    wavelet = WaveletFeatures(level=5).fit(X)
    names = list(wavelet.get_feature_names_out())
    wavelet.set_params(level=2)
    assert list(wavelet.get_feature_names_out()) == names and len(names) == 84


def test_feature_names_are_the_ones_fitted_with():
    # get_feature_names_out read lead_names as set after the fit: other names, or an
    # error for another count, for the columns the fit made.
    import pickle

    X = np.random.default_rng(0).normal(size=(4, 2, 500))
    est = StatisticalFeatures(sampling_rate=100, lead_names=["II", "V1"], percentiles=(),
                              bands=()).fit(X)
    fitted = list(est.get_feature_names_out())
    assert est.lead_names_ == ["II", "V1"] and fitted[0] == "II_mean"
    est.set_params(lead_names=["A"])
    assert list(est.get_feature_names_out()) == fitted
    assert list(est.fit(X[:, :1]).get_feature_names_out())[0] == "A_mean"  # a refit renames
    old = pickle.loads(pickle.dumps(est))
    del old.lead_names_  # pickled before lead_names_: recomputed from lead_names
    assert list(old.get_feature_names_out()) == list(est.get_feature_names_out())


def test_a_band_holds_its_low_edge_not_its_high_edge():
    # Bands are lo <= f < hi: a mutant with lo < f <= hi moved a 4 Hz sine's power from
    # (4, 15) to (0.5, 4), and no test failed.
    t = np.arange(1000) / 100
    X = np.sin(2 * np.pi * 4.0 * t)[None, None, :]
    f = StatisticalFeatures(sampling_rate=100, bands=((0.5, 4), (4, 15)))
    F = f.fit_transform(X)[0]
    names = list(f.get_feature_names_out())
    low = F[next(i for i, n in enumerate(names) if "0.5_4Hz" in n)]
    high = F[next(i for i, n in enumerate(names) if "4_15Hz" in n)]
    assert high > 2 * low
