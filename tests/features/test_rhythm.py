"""Tests of ecgsk/features/_rhythm.py: RR features from wfdb QRS detection."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ecgsk.features import BeatFeatures, RhythmFeatures
from ecgsk.features._rhythm import RHYTHM_FEATURES, _rr_statistics


def ecg_like(beat_times, fs, seconds):
    """A clean ECG-like signal (Gaussian P, Q, R, S, T waves) with R peaks at ``beat_times``."""
    t = np.arange(int(round(seconds * fs))) / fs
    waves = [(-0.2, 0.025, 0.15), (-0.03, 0.01, -0.15), (0.0, 0.012, 1.2),
             (0.03, 0.01, -0.3), (0.3, 0.05, 0.35)]  # (offset s, width s, mV)
    x = np.zeros_like(t)
    for b in beat_times:
        for offset, width, amp in waves:
            x += amp * np.exp(-0.5 * ((t - b - offset) / width) ** 2)
    return x.astype(np.float32)


def regular_beats(hr, seconds, first=0.5):
    return np.arange(first, seconds - 0.4, 60.0 / hr)


def irregular_beats(seconds, rng, low=0.45, high=1.15):
    times, t = [], 0.5
    while t < seconds - 0.4:
        times.append(t)
        t += rng.uniform(low, high)
    return np.array(times)


def frame(F, est):
    return dict(zip(est.get_feature_names_out(), F.T))


# -- the RR statistics against hand computations ------------------------------

def test_rr_statistics_match_hand_computation():
    # Alternating 0.8 s / 1.0 s intervals.
    rr = [0.8, 1.0, 0.8, 1.0, 0.8]
    got = dict(zip(RHYTHM_FEATURES[1:-1], _rr_statistics(rr)))
    mean = 0.88
    std = np.sqrt((3 * 0.08 ** 2 + 2 * 0.12 ** 2) / 4)  # ddof=1
    expected = {
        "heart_rate": 60 / mean, "mean_rr": mean, "median_rr": 0.8, "std_rr": std,
        "rmssd": 0.2, "pnn50": 1.0, "cv_rr": std / mean, "nrmssd": 0.2 / mean,
        # every interior interval is a peak or a trough
        "tpr": 1.0,
        # two occupied bins of 3 and 2 intervals
        "rr_entropy": -(0.6 * np.log(0.6) + 0.4 * np.log(0.4)) / np.log(16),
        # successive differences +-0.2 s: SD1 = std(+-0.2 / sqrt 2, ddof=1)
        "sd1": np.sqrt(4 * 0.02 / 3),
        # every sum RR_n + RR_n+1 is 1.8 s: no spread along the identity line
        "sd2": 0.0,
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_rr_entropy_reads_the_histograms_shape_not_its_spread():
    # As the docstring says: Dash's bins span the record's own range, so intervals 20
    # times as spread out give the same entropy, while nrmssd grows 20 times.
    rr = np.random.default_rng(0).normal(0.8, 0.005, 40)
    spread = 0.8 + 20 * (rr - 0.8)
    narrow, wide = (dict(zip(RHYTHM_FEATURES[1:-1], _rr_statistics(r))) for r in (rr, spread))
    assert wide["rr_entropy"] == pytest.approx(narrow["rr_entropy"], abs=1e-12)
    assert wide["nrmssd"] == pytest.approx(20 * narrow["nrmssd"], rel=0.05)


@pytest.mark.parametrize("fs", [100, 300, 500])
@pytest.mark.parametrize("pair_ms", [(600, 650), (750, 800), (800, 850), (900, 950)])
def test_pnn50_counts_no_difference_of_exactly_50_ms(fs, pair_ms):
    # RR intervals in whole samples over fs, as wfdb's calc_rr gives them: a difference of
    # exactly 50 ms came out just above 0.05 s for some pairs and just below for others.
    from wfdb import processing
    a, b = (ms * fs // 1000 for ms in pair_ms)
    qrs = np.cumsum([0] + [a, b] * 4)
    rr = processing.calc_rr(qrs, fs=fs, rr_units="seconds")
    got = dict(zip(RHYTHM_FEATURES[1:-1], _rr_statistics(rr)))
    assert got["pnn50"] == 0.0
    qrs = np.cumsum([0] + [a, b + 1] * 4)  # one sample more: above 50 ms, every one counts
    got = dict(zip(RHYTHM_FEATURES[1:-1], _rr_statistics(
        processing.calc_rr(qrs, fs=fs, rr_units="seconds"))))
    assert got["pnn50"] == 1.0


def test_rr_statistics_of_a_monotone_series_have_no_turning_point():
    got = dict(zip(RHYTHM_FEATURES[1:-1], _rr_statistics([0.6, 0.7, 0.8, 0.9])))
    assert got["tpr"] == 0.0
    assert got["pnn50"] == 1.0  # every difference is 100 ms
    assert got["rmssd"] == pytest.approx(0.1)
    assert got["rr_entropy"] == pytest.approx(np.log(4) / np.log(16))


# -- detection on synthetic ECGs ----------------------------------------------

@pytest.mark.parametrize("detector", ["gqrs", "xqrs"])
@pytest.mark.parametrize("fs", [50, 100, 250, 1000])  # 50 Hz: below what GQRS accepts
def test_75_bpm_gives_rr_0_8_s_and_heart_rate_75(detector, fs):
    beats = regular_beats(75, 10)
    X = ecg_like(beats, fs, 10)[None]
    est = RhythmFeatures(sampling_rate=fs, detector=detector, nan_policy="raise")
    f = frame(est.fit_transform(X), est)
    assert f["lead0_n_beats"][0] == pytest.approx(len(beats), abs=1)
    assert f["lead0_mean_rr"][0] == pytest.approx(0.8, abs=0.01)
    assert f["lead0_median_rr"][0] == pytest.approx(0.8, abs=0.01)
    assert f["lead0_heart_rate"][0] == pytest.approx(75, abs=1)
    assert f["lead0_std_rr"][0] < 0.015
    assert f["lead0_pnn50"][0] == 0.0
    assert f["lead0_too_few_beats"][0] == 0.0


def test_xqrs_finds_the_beats_of_a_1000_hz_record(ptbdb_root):
    # PTB Diagnostic records are at 1000 Hz, where XQRS found no beat; at 250 and 500 Hz
    # it finds 81.8 bpm in lead ii of s0010_re, as GQRS does at 100 Hz (80.1).
    from ecgsk.preprocessing import WFDBLoader

    X = WFDBLoader(leads=["ii"]).fit_transform([ptbdb_root / "patient001" / "s0010_re"])
    est = RhythmFeatures(sampling_rate=1000, detector="xqrs", nan_policy="keep")
    f = frame(est.fit_transform(X), est)
    assert f["lead0_heart_rate"][0] == pytest.approx(81.8, abs=1)
    assert f["lead0_too_few_beats"][0] == 0.0


@pytest.mark.parametrize("detector", ["gqrs", "xqrs"])
def test_irregular_rr_scores_higher_irregularity_than_regular(detector):
    fs, seconds = 250, 30
    rng = np.random.default_rng(0)
    irregular = irregular_beats(seconds, rng)
    X = np.stack([ecg_like(regular_beats(75, seconds), fs, seconds),
                  ecg_like(irregular, fs, seconds)])
    est = RhythmFeatures(sampling_rate=fs, detector=detector, nan_policy="raise")
    f = frame(est.fit_transform(X), est)
    true_rr = np.diff(irregular)
    assert f["lead0_mean_rr"][1] == pytest.approx(true_rr.mean(), abs=0.02)
    assert f["lead0_rmssd"][1] == pytest.approx(np.sqrt(np.mean(np.diff(true_rr) ** 2)),
                                                rel=0.1)
    for name in ("std_rr", "rmssd", "nrmssd", "cv_rr", "pnn50", "rr_entropy", "sd1", "sd2"):
        assert f[f"lead0_{name}"][1] > f[f"lead0_{name}"][0] + 0.05 * abs(
            f[f"lead0_{name}"][1]), name
    assert f["lead0_nrmssd"][1] > 0.2 > f["lead0_nrmssd"][0]


def test_detection_lead_is_chosen_by_index_or_name():
    fs = 250
    X = np.stack([np.zeros(2500, np.float32), ecg_like(regular_beats(60, 10), fs, 10)])[None]
    by_name = RhythmFeatures(sampling_rate=fs, lead="II", lead_names=["I", "II"])
    F = by_name.fit_transform(X)
    assert by_name.lead_index_ == 1
    assert list(by_name.get_feature_names_out()) == [f"II_{n}" for n in RHYTHM_FEATURES]
    assert F[0, 1] == pytest.approx(60, abs=1)
    assert_allclose(RhythmFeatures(sampling_rate=fs, lead=-1).fit_transform(X), F)
    flat_lead = RhythmFeatures(sampling_rate=fs, lead=0, nan_policy="keep").fit_transform(X)
    assert flat_lead[0, -1] == 1.0


def test_parallel_jobs_give_the_same_features():
    fs = 100
    rng = np.random.default_rng(1)
    X = np.stack([ecg_like(irregular_beats(10, rng), fs, 10) for _ in range(6)])
    serial = RhythmFeatures(sampling_rate=fs).fit_transform(X)
    parallel = RhythmFeatures(sampling_rate=fs, n_jobs=2).fit_transform(X)
    assert_allclose(parallel, serial)


def test_rhythm_and_beat_features_detect_each_record_once(monkeypatch):
    from collections import OrderedDict

    from sklearn.pipeline import FeatureUnion

    from ecgsk.features import _rhythm

    calls = []

    def counting(sig, fs, detector):
        calls.append(sig.size)
        return run_detector(sig, fs, detector)

    run_detector = _rhythm._run_detector
    monkeypatch.setattr(_rhythm, "_QRS_CACHE", OrderedDict())
    monkeypatch.setattr(_rhythm, "_run_detector", counting)
    fs = 100
    rng = np.random.default_rng(2)
    X = np.stack([ecg_like(irregular_beats(10, rng), fs, 10) for _ in range(4)])
    union = FeatureUnion([("rhythm", RhythmFeatures(sampling_rate=fs)),
                          ("beats", BeatFeatures(sampling_rate=fs))])
    F = union.fit_transform(X)
    assert len(calls) == 4  # not 8: the beat features reuse the rhythm features' R peaks
    X_changed = X.copy()
    X_changed[0, 500:] *= 0.5  # another signal is detected again
    union.transform(X_changed)
    assert len(calls) == 5
    monkeypatch.setattr(_rhythm, "_QRS_CACHE", OrderedDict())
    assert_allclose(union.transform(X), F)  # the cache changes no feature
    assert len(calls) == 9


# -- records without enough beats ----------------------------------------------

def _with_flat_record():
    fs = 250
    X = np.stack([ecg_like(regular_beats(75, 10), fs, 10),
                  ecg_like(regular_beats(60, 10), fs, 10),
                  np.zeros(2500, np.float32)])
    return X, fs


def test_flat_record_is_flagged_with_nan_features_when_kept():
    X, fs = _with_flat_record()
    est = RhythmFeatures(sampling_rate=fs, nan_policy="keep")
    f = frame(est.fit_transform(X), est)
    assert f["lead0_too_few_beats"].tolist() == [0.0, 0.0, 1.0]
    assert f["lead0_n_beats"][2] == 0
    for name in RHYTHM_FEATURES[1:-1]:
        assert np.isnan(f[f"lead0_{name}"][2]) and np.isfinite(f[f"lead0_{name}"][:2]).all()


def test_impute_fills_with_training_medians_and_keeps_the_flag():
    X, fs = _with_flat_record()
    est = RhythmFeatures(sampling_rate=fs)  # nan_policy="impute"
    F = est.fit_transform(X)
    f = frame(F, est)
    assert np.isfinite(F).all()
    # median of 75 and 60 bpm
    assert f["lead0_heart_rate"][2] == pytest.approx((f["lead0_heart_rate"][0]
                                                      + f["lead0_heart_rate"][1]) / 2)
    assert f["lead0_heart_rate"][2] == pytest.approx(67.5, abs=1)
    assert f["lead0_too_few_beats"][2] == 1.0
    # transform imputes new records with the medians learned in fit
    F_new = est.transform(np.zeros((1, 2500), np.float32))
    assert_allclose(F_new[0, 1:-1], F[2, 1:-1])


def test_nan_policy_raise_names_the_record():
    X, fs = _with_flat_record()
    with pytest.raises(ValueError, match="first at record 2.*nan_policy"):
        RhythmFeatures(sampling_rate=fs, nan_policy="raise").fit(X)


def test_too_short_or_short_of_beats_records_never_crash():
    fs = 100
    X = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float32)  # 0.5 s
    for detector in ("gqrs", "xqrs"):
        F = RhythmFeatures(sampling_rate=fs, detector=detector, nan_policy="keep").fit_transform(X)
        assert F[:, -1].tolist() == [1.0, 1.0, 1.0]
    # at most three beats are fewer than min_beats=4
    X = ecg_like([1.0, 2.0, 3.0], 250, 4)[None]
    F = RhythmFeatures(sampling_rate=250, nan_policy="keep").fit_transform(X)
    assert 1 <= F[0, 0] <= 3 and F[0, -1] == 1.0 and np.isnan(F[0, 1])


def test_two_dimensional_input_is_one_lead():
    X = ecg_like(regular_beats(75, 10), 100, 10)[None]
    est = RhythmFeatures(sampling_rate=100)
    assert_allclose(est.fit_transform(X), est.fit_transform(X[:, None, :]))


# -- parameter validation -------------------------------------------------------

@pytest.mark.parametrize("cls", [RhythmFeatures, BeatFeatures])
@pytest.mark.parametrize("params, match", [
    ({}, "needs sampling_rate"),
    ({"sampling_rate": 30}, "needs sampling_rate >= 50"),
    ({"sampling_rate": -1}, "sampling_rate"),
    ({"sampling_rate": 100, "detector": "pan-tompkins"}, "detector"),
    ({"sampling_rate": 100, "min_beats": 3}, "min_beats"),
    ({"sampling_rate": 100, "lead": 5}, "lead=5 is out of range"),
    ({"sampling_rate": 100, "lead": "V1"}, "lead='V1'"),
    ({"sampling_rate": 100, "lead": 1.5}, "lead must be"),
    ({"sampling_rate": 100, "n_jobs": 0}, "n_jobs"),
    ({"sampling_rate": 100, "nan_policy": "drop"}, "nan_policy"),
    ({"sampling_rate": 100, "lead_names": ["I"]}, "lead_names has 1 name"),
])
def test_bad_parameters_raise_naming_the_parameter(cls, params, match):
    """Both transformers on R peaks share the validation, and name themselves."""
    X = np.zeros((2, 2, 200), np.float32)
    with pytest.raises(ValueError, match=match) as err:
        cls(**params).fit(X)
    if "needs" in match:
        assert cls.__name__ in str(err.value)


@pytest.mark.parametrize("name", ["RhythmFeatures", "BeatFeatures", "BeatTemplate"])
@pytest.mark.parametrize("scale", [
    1e3,  # a record in uV: gqrs took noise for beats (150 bpm for 64 in a PTB-XL record)
    1e6,  # in nV: gqrs raised OverflowError deep inside wfdb
])
def test_signals_not_in_mv_are_named_before_gqrs_reads_them(name, scale):
    import ecgsk.features

    from ecgsk.datasets import make_synthetic_ecg

    X, _ = make_synthetic_ecg(3, 1, 100, 5, random_state=0)
    X = X.copy()
    X[1] *= scale
    cls = getattr(ecgsk.features, name)
    with pytest.raises(ValueError, match=rf"{name}: record 1 swings .* away from its median; the QRS "
                                         r"detector \(gqrs\) reads signals in mV"):
        cls(sampling_rate=100).fit_transform(X)
    rows = cls(sampling_rate=100, detector="xqrs").fit_transform(X)  # as the message offers
    assert rows.shape[0] == 3


@pytest.mark.parametrize("name", ["RhythmFeatures", "BeatFeatures", "BeatTemplate"])
def test_signals_in_volts_are_warned_about(name):
    # gqrs finds no beat in a signal in V; every record is then a "no beats" row.
    import warnings

    import ecgsk.features

    from ecgsk.datasets import make_synthetic_ecg

    X, _ = make_synthetic_ecg(3, 1, 100, 5, random_state=0)
    cls = getattr(ecgsk.features, name)
    with pytest.warns(UserWarning, match=rf"{name}: no record swings more than .* away from its "
                                         r"median; the QRS detector \(gqrs\) reads signals in "
                                         r"mV.*\(are they in V\?\)"):
        cls(sampling_rate=100).fit_transform(X / 1000)
    X = X.copy()
    X[1] = 0.0  # one flat record (a lead off) among records in mV: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(sampling_rate=100).fit_transform(X)


def _ecg_like(beat_times, fs, seconds):
    """P, Q, R, S and T waves as Gaussians around each beat time."""
    t = np.arange(int(round(seconds * fs))) / fs
    x = np.zeros_like(t)
    for b in beat_times:
        for off, w, a in [(-0.2, .025, .15), (-.03, .01, -.15), (0, .012, 1.2), (.03, .01, -.3),
                          (.3, .05, .35)]:
            x += a * np.exp(-0.5 * ((t - b - off) / w) ** 2)
    return x.astype(np.float32)


def test_a_record_of_exactly_min_beats_beats_is_scored():
    # "fewer than min_beats" is flagged: a mutant flagging "at most" survived every test.
    X = _ecg_like([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 250, 7)[None]
    n = int(RhythmFeatures(sampling_rate=250, nan_policy="keep").fit_transform(X)[0, 0])
    assert n >= 4
    F = RhythmFeatures(sampling_rate=250, min_beats=n, nan_policy="keep").fit_transform(X)
    assert F[0, -1] == 0.0 and np.isfinite(F[0, 1])
