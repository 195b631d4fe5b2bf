"""Tests of ecgsk/features/_beats.py: template-beat morphology, premature beats, RR entropy."""

import warnings
from itertools import combinations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ecgsk.features import BeatFeatures, BeatTemplate, RhythmFeatures, _beats
from ecgsk.features._beats import BEAT_FEATURES, TEMPLATE_FEATURES, _sample_entropy

with warnings.catch_warnings():
    # wfdb's own import warns (pandas deprecations); import it before the
    # tests that turn every warning into an error.
    warnings.simplefilter("ignore")
    import wfdb.processing  # noqa: F401


def ecg_like(beat_times, fs, seconds, *, p_amp=0.15, qrs_width=0.012, r_amps=None,
             t_amp=0.35, noise=0.0, f_waves=0.0, rng=None):
    """A clean ECG-like signal (Gaussian P, Q, R, S, T waves) with R peaks at ``beat_times``.

    ``p_amp=0`` drops the P waves, ``t_amp < 0`` inverts the T waves; ``qrs_width`` is the standard deviation
    of the R wave (s); ``r_amps`` gives each beat's R amplitude (1.2 mV);
    ``noise`` adds white noise and ``f_waves`` a 6 Hz fibrillatory wave
    (mV) drawn from ``rng``.
    """
    t = np.arange(int(round(seconds * fs))) / fs
    x = np.zeros_like(t)
    r_amps = np.full(len(beat_times), 1.2) if r_amps is None else r_amps
    for b, r_amp in zip(beat_times, r_amps):
        waves = [(-0.2, 0.025, p_amp), (-0.03, 0.01, -0.15), (0.0, qrs_width, r_amp),
                 (0.03, 0.01, -0.3), (0.3, 0.05, t_amp)]  # (offset s, width s, mV)
        for offset, width, amp in waves:
            x += amp * np.exp(-0.5 * ((t - b - offset) / width) ** 2)
    if noise:
        x += noise * rng.normal(size=t.size)
    if f_waves:
        x += f_waves * np.sin(2 * np.pi * 6 * t + rng.uniform(0, 2 * np.pi))
    return x.astype(np.float32)


def regular_beats(hr, seconds, first=0.5):
    return np.arange(first, seconds - 0.5, 60.0 / hr)


def irregular_beats(seconds, rng, low=0.45, high=1.15):
    times, t = [], 0.5
    while t < seconds - 0.5:
        times.append(t)
        t += rng.uniform(low, high)
    return np.array(times)


def premature_beats(seconds, every=5, normal=0.8, early=0.5, pause=1.1):
    """Sinus beats at ``normal`` s with one premature beat every ``every`` beats."""
    times, t, i = [], 0.5, 0
    while t < seconds - 0.5:
        times.append(t)
        i += 1
        t += early if i % every == 0 else pause if i % every == 1 and i > 1 else normal
    return np.array(times)


def frame(F, est):
    return dict(zip(est.get_feature_names_out(), F.T))


def features(X, fs, **params):
    est = BeatFeatures(sampling_rate=fs, nan_policy="keep", **params)
    return frame(est.fit_transform(X), est)


# -- sample entropy against hand and brute-force computations -------------------

def brute_sample_entropy(x, m, r):
    n = len(x) - m  # templates counted for both lengths (Richman & Moorman 2000)
    b = sum(max(abs(x[i + k] - x[j + k]) for k in range(m)) <= r
            for i, j in combinations(range(n), 2))
    a = sum(max(abs(x[i + k] - x[j + k]) for k in range(m + 1)) <= r
            for i, j in combinations(range(n), 2))
    return np.nan if a == 0 or b == 0 else -np.log(a / b)


def test_sample_entropy_matches_hand_computation():
    # Templates of length 1 (the first 5 values): 1-1 and 2-2 match, B = 2;
    # of length 2: (1, 2) and (1, 2) match, (2, 3) and (2, 4) do not, A = 1.
    assert _sample_entropy([1, 2, 3, 1, 2, 4], 1, 0.5) == pytest.approx(np.log(2))
    # A periodic series repeats every template: A = B, entropy 0.
    assert _sample_entropy([1, 2, 1, 2, 1, 2], 1, 0.5) == 0.0
    assert _sample_entropy(np.full(10, 0.8), 1, 0.03) == 0.0
    # Undefined: no matching pair, or too short a series.
    assert np.isnan(_sample_entropy([1, 2, 3, 4, 5], 1, 0.5))
    assert np.isnan(_sample_entropy([1, 1, 2, 5], 1, 0.5))  # B = 1, A = 0
    assert np.isnan(_sample_entropy([1.0, 1.0], 1, 0.5))


@pytest.mark.parametrize("m", [1, 2])
def test_sample_entropy_matches_brute_force(m):
    rng = np.random.default_rng(m)
    for _ in range(5):
        x = rng.integers(50, 60, size=40)  # integer RR: exact ties at the tolerance
        assert_allclose(_sample_entropy(x, m, 3), brute_sample_entropy(x, m, 3),
                        equal_nan=True)


# -- synthetic rhythms -----------------------------------------------------------

@pytest.mark.parametrize("detector", ["gqrs", "xqrs"])
@pytest.mark.parametrize("fs", [100, 250, 500])
def test_regular_sinus_beats_repeat_with_their_p_waves(fs, detector):
    rng = np.random.default_rng(0)
    X = ecg_like(regular_beats(75, 30), fs, 30, noise=0.01, rng=rng)[None]
    f = features(X, fs, detector=detector)
    assert f["lead0_too_few_beats"][0] == 0.0
    assert f["lead0_beat_corr_mean"][0] > 0.99
    assert f["lead0_beat_corr_min"][0] > 0.97
    assert f["lead0_beat_corr_std"][0] < 0.01
    assert f["lead0_p_corr_mean"][0] > 0.9
    assert f["lead0_premature_frac"][0] == 0.0
    # identical RR intervals: every template matches, SampEn 0, and COSEn
    # is ln(2 r) - ln(mean RR) with r = 0.03 s and RR = 0.8 s
    assert f["lead0_rr_sampen"][0] == pytest.approx(0.0, abs=0.05)
    assert f["lead0_cosen"][0] == pytest.approx(np.log(0.06 / 0.8), abs=0.05)
    # T wave 0.35 mV against an R wave of 1.2 mV (measured from the median)
    assert 0.2 < f["lead0_t_to_r"][0] < 0.35
    # the R wave (sd 12 ms) narrowed by the Q and S waves: 26 ms at half height
    assert 0.018 < f["lead0_qrs_width"][0] < 0.035
    assert 0.05 < f["lead0_p_to_qrs"][0] < 0.2
    assert f["lead0_r_amp_cv"][0] < 0.05


@pytest.mark.parametrize("fs", [100, 300])
def test_af_like_rhythm_loses_the_p_waves_and_raises_the_entropy(fs):
    rng = np.random.default_rng(1)
    X = np.stack([
        ecg_like(regular_beats(75, 30), fs, 30, noise=0.01, rng=rng),
        # AF: no P wave, fibrillatory waves, RR intervals drawn at random
        ecg_like(irregular_beats(30, rng), fs, 30, p_amp=0, noise=0.01, f_waves=0.05,
                 rng=rng),
    ])
    f = features(X, fs)
    assert f["lead0_too_few_beats"].tolist() == [0.0, 0.0]
    assert f["lead0_p_corr_mean"][1] < 0.5 < f["lead0_p_corr_mean"][0] - 0.3
    assert f["lead0_p_to_qrs"][1] < f["lead0_p_to_qrs"][0]
    assert f["lead0_rr_sampen"][1] > f["lead0_rr_sampen"][0] + 1
    assert f["lead0_cosen"][1] > f["lead0_cosen"][0] + 1
    # the QRS complexes themselves are unchanged
    assert f["lead0_beat_corr_mean"][1] > 0.9


def test_premature_beats_followed_by_a_pause_are_counted():
    fs = 100
    rng = np.random.default_rng(2)
    X = np.stack([ecg_like(regular_beats(75, 30), fs, 30, noise=0.01, rng=rng),
                  ecg_like(premature_beats(30), fs, 30, noise=0.01, rng=rng)])
    f = features(X, fs)
    assert f["lead0_premature_frac"][0] == 0.0
    # one premature beat and pause in every five intervals
    assert f["lead0_premature_frac"][1] == pytest.approx(0.2, abs=0.03)


def test_premature_beats_without_a_pause_are_not_counted():
    fs = 100
    # alternating short and long intervals around the median: the short ones
    # are not below 0.85 of it
    beats = np.cumsum(np.r_[0.5, np.tile([0.75, 0.85], 18)])
    f = features(ecg_like(beats, fs, 30)[None], fs)
    assert f["lead0_premature_frac"][0] == 0.0


def test_wider_qrs_gives_a_wider_qrs_width_at_every_rate():
    widths = {}
    for fs in (100, 250, 500):
        X = np.stack([ecg_like(regular_beats(75, 20), fs, 20, qrs_width=w)
                      for w in (0.012, 0.025, 0.04)])
        widths[fs] = features(X, fs)["lead0_qrs_width"]
        assert np.all(np.diff(widths[fs]) > 0.01), widths[fs]
    # interpolated between samples: 100 Hz agrees with 500 Hz within 5 ms
    assert_allclose(widths[100], widths[500], atol=0.005)


def test_noise_and_changing_r_amplitudes_lower_the_beat_agreement():
    fs = 250
    rng = np.random.default_rng(3)
    beats = regular_beats(75, 30)
    X = np.stack([
        ecg_like(beats, fs, 30, noise=0.01, rng=rng),
        ecg_like(beats, fs, 30, noise=0.25, rng=rng),
        ecg_like(beats, fs, 30, r_amps=np.where(np.arange(len(beats)) % 2, 1.6, 0.8),
                 noise=0.01, rng=rng),
    ])
    f = features(X, fs)
    assert f["lead0_beat_corr_mean"][1] < f["lead0_beat_corr_mean"][0] - 0.1
    assert f["lead0_beat_corr_std"][1] > f["lead0_beat_corr_std"][0]
    assert f["lead0_beat_corr_min"][1] < f["lead0_beat_corr_min"][0]
    # amplitudes alternate 0.8 / 1.6 mV: cv about 1/3
    assert f["lead0_r_amp_cv"][2] == pytest.approx(1 / 3, abs=0.05)
    assert f["lead0_r_amp_cv"][0] < 0.05


def test_inverted_lead_gives_the_same_features():
    fs = 250
    x = ecg_like(regular_beats(70, 20), fs, 20, noise=0.01, rng=np.random.default_rng(4))
    f = features(np.stack([x, -x]), fs)
    for name in BEAT_FEATURES:
        assert f[f"lead0_{name}"][1] == pytest.approx(f[f"lead0_{name}"][0], abs=0.01), name


def test_beats_whose_window_leaves_the_record_are_skipped(monkeypatch):
    fs = 100
    x = ecg_like([0.1, 1.0, 1.9, 2.8], fs, 3.0).astype(np.float64)
    monkeypatch.setattr(_beats, "_detect_qrs", lambda sig, fs, detector: np.array(
        [10, 100, 190, 280]))
    # windows [-0.25, +0.45] s: only the beats at 1.0 s and 1.9 s fit
    row = dict(zip(BEAT_FEATURES, _beats._record_features(x, fs, "gqrs", 4)))
    assert row["too_few_beats"] == 0.0
    assert row["beat_corr_mean"] == pytest.approx(1.0, abs=1e-6)
    assert row["beat_corr_std"] == pytest.approx(0.0, abs=1e-6)
    # one window only: too few, though four beats were found
    monkeypatch.setattr(_beats, "_detect_qrs", lambda sig, fs, detector: np.array(
        [10, 100, 260, 280]))
    row = _beats._record_features(x, fs, "gqrs", 4)
    assert row[-1] == 1.0 and np.isnan(row[:-1]).all()


def test_detection_lead_is_chosen_by_index_or_name():
    fs = 250
    X = np.stack([np.zeros(2500, np.float32), ecg_like(regular_beats(60, 10), fs, 10)])[None]
    by_name = BeatFeatures(sampling_rate=fs, lead="II", lead_names=["I", "II"])
    F = by_name.fit_transform(X)
    assert by_name.lead_index_ == 1
    assert by_name.n_features_out_ == len(BEAT_FEATURES) == 12
    assert list(by_name.get_feature_names_out()) == [f"II_{n}" for n in BEAT_FEATURES]
    assert F[0, -1] == 0.0
    assert_allclose(BeatFeatures(sampling_rate=fs, lead=-1).fit_transform(X), F)
    flat_lead = BeatFeatures(sampling_rate=fs, lead=0, nan_policy="keep").fit_transform(X)
    assert flat_lead[0, -1] == 1.0


def test_same_lead_as_rhythm_features():
    fs = 100
    X = np.zeros((1, 3, 1000), np.float32)
    beats = BeatFeatures(sampling_rate=fs, lead=2).fit(X)
    rhythm = RhythmFeatures(sampling_rate=fs, lead=2).fit(X)
    assert beats.lead_index_ == rhythm.lead_index_ == 2
    assert beats.get_feature_names_out()[0] == "lead2_beat_corr_mean"


def test_parallel_jobs_give_the_same_features():
    fs = 100
    rng = np.random.default_rng(5)
    X = np.stack([ecg_like(irregular_beats(10, rng), fs, 10, noise=0.02, rng=rng)
                  for _ in range(6)])
    serial = BeatFeatures(sampling_rate=fs, nan_policy="keep").fit_transform(X)
    parallel = BeatFeatures(sampling_rate=fs, n_jobs=2, nan_policy="keep").fit_transform(X)
    assert_allclose(parallel, serial, equal_nan=True)


def test_two_dimensional_input_is_one_lead():
    X = ecg_like(regular_beats(75, 10), 100, 10)[None]
    est = BeatFeatures(sampling_rate=100)
    assert_allclose(est.fit_transform(X), est.fit_transform(X[:, None, :]))


# -- records without enough beats, and no warnings ------------------------------

def _with_flat_record():
    fs = 250
    X = np.stack([ecg_like(regular_beats(75, 10), fs, 10),
                  ecg_like(regular_beats(60, 10), fs, 10, qrs_width=0.02),
                  np.zeros(2500, np.float32)])
    return X, fs


def test_flat_record_is_flagged_with_nan_features_when_kept():
    X, fs = _with_flat_record()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = features(X, fs)
    assert f["lead0_too_few_beats"].tolist() == [0.0, 0.0, 1.0]
    for name in BEAT_FEATURES[:-1]:
        assert np.isnan(f[f"lead0_{name}"][2]) and np.isfinite(f[f"lead0_{name}"][:2]).all()


def test_impute_fills_with_training_medians_and_keeps_the_flag():
    X, fs = _with_flat_record()
    est = BeatFeatures(sampling_rate=fs)  # nan_policy="impute"
    F = est.fit_transform(X)
    f = frame(F, est)
    assert np.isfinite(F).all()
    assert f["lead0_qrs_width"][2] == pytest.approx((f["lead0_qrs_width"][0]
                                                    + f["lead0_qrs_width"][1]) / 2)
    assert f["lead0_too_few_beats"][2] == 1.0
    # transform imputes new records with the medians learned in fit
    F_new = est.transform(np.zeros((1, 2500), np.float32))
    assert_allclose(F_new[0, :-1], F[2, :-1])


def test_nan_policy_raise_names_the_record():
    X, fs = _with_flat_record()
    with pytest.raises(ValueError, match="first at record 2.*nan_policy"):
        BeatFeatures(sampling_rate=fs, nan_policy="raise").fit(X)


@pytest.mark.parametrize("detector", ["gqrs", "xqrs"])
@pytest.mark.parametrize("nan_policy", ["keep", "impute"])
def test_flat_short_and_odd_records_never_warn_or_crash(detector, nan_policy):
    fs = 100
    rng = np.random.default_rng(6)
    n = 10 * fs
    t = np.arange(n) / fs
    X = np.stack([
        np.zeros(n), np.ones(n),                         # flat
        np.r_[np.zeros(n // 2), np.ones(n // 2)],        # one step
        np.sign(np.sin(2 * np.pi * 1.2 * t)),            # square wave: flat windows
        rng.normal(size=n),                              # noise
        np.r_[ecg_like(regular_beats(75, 5), fs, 5), np.zeros(n // 2)],  # zero-padded
    ]).astype(np.float32)
    short = rng.normal(size=(2, 50)).astype(np.float32)  # 0.5 s
    few = ecg_like([1.0, 2.0, 3.0], fs, 4)[None]         # three beats < min_beats
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BeatFeatures(sampling_rate=fs, detector=detector, nan_policy=nan_policy)
        F = est.fit_transform(X)
        F_short = est.transform(short)
        F_few = est.transform(few)
    assert F[:2, -1].tolist() == [1.0, 1.0]
    assert F_short[:, -1].tolist() == [1.0, 1.0] and F_few[0, -1] == 1.0
    if nan_policy == "keep":
        assert np.isnan(F[:2, :-1]).all() and np.isnan(F_short[:, :-1]).all()
        assert np.isnan(F_few[0, :-1]).all()
    else:
        assert np.isfinite(F).all() and np.isfinite(F_short).all() and np.isfinite(F_few).all()


# Parameter validation is shared with RhythmFeatures: tests/features/test_rhythm.py.


# -- real data ---------------------------------------------------------------------

def test_cinc2017_af_records_have_higher_cosen_and_fewer_p_waves(cinc_root):
    from ecgsk.datasets import load_cinc2017
    from ecgsk.preprocessing import WFDBLoader

    ds = load_cinc2017(cinc_root)
    y = np.asarray(ds.y)
    af, normal = np.flatnonzero(y == "A")[:15], np.flatnonzero(y == "N")[:15]
    # 30 s at 100 Hz, the rate of our CinC pipelines
    X = WFDBLoader(sampling_rate=100, length=3000).fit_transform(ds.X[np.r_[af, normal]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        f = features(X, 100)
    is_af = np.arange(len(X)) < len(af)
    assert f["lead0_too_few_beats"].sum() <= 2
    # Measured medians on these records: COSEn -0.53 (AF) and -2.42
    # (normal); P-wave correlation 0.23 and 0.83.
    cosen_af = np.nanmedian(f["lead0_cosen"][is_af])
    cosen_normal = np.nanmedian(f["lead0_cosen"][~is_af])
    assert cosen_af > cosen_normal + 1.0
    assert (np.nanmedian(f["lead0_p_corr_mean"][~is_af])
            > np.nanmedian(f["lead0_p_corr_mean"][is_af]) + 0.2)


# -- BeatTemplate: the median beat sampled every 20 ms ---------------------------

def template(X, fs, **params):
    est = BeatTemplate(sampling_rate=fs, nan_policy="keep", **params)
    F = est.fit_transform(X)
    assert list(est.get_feature_names_out()) == [f"lead0_{n}" for n in TEMPLATE_FEATURES]
    return F


@pytest.mark.parametrize("fs", [100, 300, 500])
def test_template_samples_the_p_r_and_t_waves_at_their_times(fs):
    F = template(ecg_like(regular_beats(75, 10), fs, 10)[None], fs)[0]
    at = dict(zip(TEMPLATE_FEATURES, F))
    assert len(F) == 35
    # The template minus its median: the isoelectric PR segment (-100 ms)
    # sits a little below 0, since the median sample is on a P or T wave.
    level = at["template_-100ms"]
    assert -0.05 < level < 0
    assert at["template_+0ms"] - level == pytest.approx(1.2, abs=0.02)  # R
    assert at["template_-200ms"] - level == pytest.approx(0.15, abs=0.01)  # P
    assert at["template_+300ms"] - level == pytest.approx(0.35, abs=0.01)  # T


def test_template_is_the_same_at_every_sampling_rate_and_follows_the_t_wave():
    beats = regular_beats(75, 10)
    at_100 = template(ecg_like(beats, 100, 10)[None], 100)[0]
    at_500 = template(ecg_like(beats, 500, 10)[None], 500)[0]
    assert_allclose(at_100, at_500, atol=0.05)
    inverted = dict(zip(TEMPLATE_FEATURES, template(
        ecg_like(beats, 250, 10, t_amp=-0.35)[None], 250)[0]))
    assert inverted["template_+300ms"] - inverted["template_-100ms"] == pytest.approx(
        -0.35, abs=0.01)


def test_template_is_the_median_beat_so_a_rare_ectopic_beat_leaves_it():
    fs, beats = 250, regular_beats(75, 30)
    r_amps = np.full(len(beats), 1.2)
    r_amps[::6] = 3.0  # every sixth beat much taller
    F = template(ecg_like(beats, fs, 30, r_amps=r_amps)[None], fs)[0]
    at = dict(zip(TEMPLATE_FEATURES, F))
    assert at["template_+0ms"] - at["template_-100ms"] == pytest.approx(1.2, abs=0.02)


def test_every_lead_gets_a_template_around_the_detection_leads_r_peaks():
    fs, beats = 250, regular_beats(75, 10)
    lead = ecg_like(beats, fs, 10)
    t_only = ecg_like(beats, fs, 10, p_amp=0.0, r_amps=np.zeros(len(beats)))
    X = np.stack([np.zeros_like(lead), lead, -lead, t_only])[None]  # no beats on lead 0
    est = BeatTemplate(sampling_rate=fs, lead="II", lead_names=["I", "II", "III", "T"],
                       nan_policy="keep")
    F = est.fit_transform(X)
    names = list(est.get_feature_names_out())
    assert F.shape == (1, 4 * 35) and est.n_features_out_ == 140
    assert names[:2] == ["I_template_-240ms", "I_template_-220ms"]
    assert names[-1] == "T_template_+440ms"
    by_lead = F[0].reshape(4, 35)
    assert_allclose(by_lead[0], 0.0)  # flat, but the beats of lead II still place it
    assert_allclose(by_lead[2], -by_lead[1], atol=1e-6)
    at = dict(zip(TEMPLATE_FEATURES, by_lead[3]))
    assert at["template_+300ms"] - at["template_+0ms"] == pytest.approx(0.35, abs=0.02)
    # detecting on another lead changes what the templates are aligned to
    on_lead_0 = BeatTemplate(sampling_rate=fs, lead=0, nan_policy="keep").fit_transform(X)
    assert np.isnan(on_lead_0).all()


def test_template_of_a_record_without_beats_is_nan_or_imputed():
    X, fs = _with_flat_record()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F = template(X, fs)
    assert np.isnan(F[2]).all() and np.isfinite(F[:2]).all()
    imputed = BeatTemplate(sampling_rate=fs).fit_transform(X)
    assert_allclose(imputed[2], np.median(F[:2], axis=0))


def test_ptbxl_templates_show_r_upright_in_lead_ii_and_inverted_in_avr(ptbxl_root):
    from ecgsk.datasets import load_ptbxl
    from ecgsk.preprocessing import WFDBLoader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # records without a label are left out
        ds = load_ptbxl(ptbxl_root, task="superdiagnostic")
    X = WFDBLoader(sampling_rate=100, length=1000).fit_transform(ds.X[:30])
    est = BeatTemplate(sampling_rate=100, lead=1, nan_policy="keep")  # R peaks of lead II
    F = est.fit_transform(X).reshape(30, 12, 35)
    assert np.isfinite(F).all()
    r = F[:, :, TEMPLATE_FEATURES.index("template_+0ms")]
    # Lead order I, II, III, aVR, ...: aVR looks at the heart from the
    # right shoulder, so its QRS is inverted. Measured: all 30 records.
    assert (r[:, 1] > 0.2).mean() >= 0.9
    assert (r[:, 3] < -0.2).mean() >= 0.9
