"""Tests of ecgsk/preprocessing/_signal.py: length, rate, filters, leads, derivatives."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import signal
from sklearn.base import clone

from ecgsk.preprocessing import (
    BandpassFilter,
    BaselineRemoval,
    Derivatives,
    LeadSelector,
    PadTruncate,
    RepeatPadding,
    Resample,
)

STANDARD_12 = ["I", "II", "III", "aVR", "aVL", "aVF",
               "V1", "V2", "V3", "V4", "V5", "V6"]


def _sine(freq, fs, seconds, amplitude=1.0):
    t = np.arange(int(round(fs * seconds))) / fs
    return amplitude * np.sin(2 * np.pi * freq * t)


def _amplitude_at(x, freq, fs):
    """Amplitude of the ``freq`` Hz component of ``x`` (lock-in projection)."""
    t = np.arange(x.size) / fs
    return 2 * np.abs(np.mean(x * np.exp(-2j * np.pi * freq * t)))


# -- PadTruncate -------------------------------------------------------------

def test_pad_truncate_pads_at_the_end_with_pad_value():
    X = np.arange(10, dtype=np.float32).reshape(2, 1, 5)
    Xt = PadTruncate(length=8, pad_value=-1.0).fit_transform(X)
    assert Xt.shape == (2, 1, 8) and Xt.dtype == np.float32
    assert_array_equal(Xt[1, 0], [5, 6, 7, 8, 9, -1, -1, -1])


@pytest.mark.parametrize("crop, expected", [("center", [3, 4, 5, 6]),
                                            ("left", [0, 1, 2, 3])])
def test_pad_truncate_crops(crop, expected):
    X = np.arange(10, dtype=np.float32)[None, None]
    assert_array_equal(PadTruncate(length=4, crop=crop).fit_transform(X)[0, 0], expected)


def test_pad_truncate_same_length_and_2d_input():
    X = np.arange(12, dtype=np.float32).reshape(3, 4)  # 3 single-lead records
    Xt = PadTruncate(length=4).fit_transform(X)
    assert Xt.shape == (3, 1, 4)
    assert_array_equal(Xt[:, 0], X)


def test_pad_truncate_random_crop_only_when_fitting():
    n_records, n_samples, length = 40, 100, 30
    X = np.tile(np.arange(n_samples, dtype=np.float32), (n_records, 2, 1))
    padder = PadTruncate(length=length, crop="random", random_state=0)
    Xt = padder.fit_transform(X)
    starts = Xt[:, 0, 0].astype(int)
    # Each record is a contiguous window, the same on every lead.
    windows = starts[:, None] + np.arange(length)[None, :]
    assert_array_equal(Xt, np.repeat(windows[:, None, :], 2, axis=1))
    assert starts.min() >= 0 and starts.max() <= n_samples - length
    assert len(np.unique(starts)) > 10  # windows really are random
    # Reproducible with the same seed.
    assert_array_equal(clone(padder).fit_transform(X), Xt)
    # Prediction-time transform is the deterministic center crop.
    assert_array_equal(padder.transform(X)[:, 0, 0], np.full(n_records, 35))
    # Every start is drawn, the last one too (no window held the last sample without it).
    short = PadTruncate(length=length, crop="random", random_state=0).fit_transform(
        X[:, :, : length + 2])
    assert set(short[:, 0, 0].tolist()) == {0.0, 1.0, 2.0}
    # An odd excess is split as WFDBLoader's length= splits it: the extra sample at the end.
    odd = np.tile(np.arange(length + 7, dtype=np.float32), (2, 1, 1))
    assert_array_equal(PadTruncate(length=length).fit_transform(odd)[:, 0, 0], [3, 3])


def test_pad_truncate_takes_records_of_different_lengths_as_a_list():
    # Ragged input was refused by the input check, whose message sent the user to
    # PadTruncate; CinC 2017's records run from 9 to 61 s.
    rng = np.random.default_rng(0)
    records = [rng.normal(size=(2, n)).astype(np.float32) for n in (70, 100, 130)]
    padder = PadTruncate(length=100, pad_value=-1.0)
    Xt = padder.fit_transform(records)
    assert Xt.shape == (3, 2, 100) and padder.n_leads_in_ == 2
    assert_array_equal(Xt[0, :, :70], records[0])
    assert (Xt[0, :, 70:] == -1).all()
    assert_array_equal(Xt[1], records[1])
    assert_array_equal(Xt[2], records[2][:, 15:115])  # the center, as for one array
    assert_array_equal(padder.transform(records), Xt)
    as_objects = np.empty(3, dtype=object)
    as_objects[:] = records
    assert_array_equal(padder.transform(as_objects), Xt)
    assert_array_equal(PadTruncate(length=100, crop="left").fit_transform(records)[2],
                       records[2][:, :100])
    single = [np.arange(5.0), np.arange(9.0)]  # one lead: 1-D records
    assert_array_equal(PadTruncate(length=7).fit_transform(single)[:, 0],
                       [[0, 1, 2, 3, 4, 0, 0], [1, 2, 3, 4, 5, 6, 7]])
    # Random windows when fitting, within each record and reproducibly; the center after.
    tiles = [np.tile(np.arange(n, dtype=np.float32), (1, 1)) for n in (300, 400) * 10]
    randomly = PadTruncate(length=50, crop="random", random_state=0)
    starts = randomly.fit_transform(tiles)[:, 0, 0].astype(int)
    assert len(set(starts)) > 5 and all(s <= len(t[0]) - 50 for s, t in zip(starts, tiles))
    assert_array_equal(clone(randomly).fit_transform(tiles)[:, 0, 0], starts)
    assert_array_equal(randomly.transform(tiles)[:2, 0, 0], [125, 175])


@pytest.mark.parametrize("records, message", [
    ([np.zeros((1, 9)), np.zeros((2, 9))], r"X's records differ in lead count: X\[0\] has 1, "
                                           r"X\[1\] 2; PadTruncate brings records to one length"),
    ([np.zeros((1, 9)), np.zeros((1, 2, 9))], r"X\[1\] has shape \(1, 2, 9\): each record"),
    ([np.zeros(5), np.full(7, np.nan)], "NaN or infinite values in 1 record.*first at index 1"),
    ([np.zeros(5), "ab"], r"X\[1\] is not an array of numbers"),
])
def test_pad_truncate_names_the_record_a_list_cannot_take(records, message):
    with pytest.raises(ValueError, match=message):
        PadTruncate(length=6).fit_transform(records)


@pytest.mark.parametrize("params, match", [
    ({}, "length"),
    ({"length": 0}, "length"),
    ({"length": 2.5}, "length"),
    ({"length": 4, "crop": "middle"}, "crop"),
    ({"length": 4, "pad_value": np.nan}, "pad_value"),
    ({"length": 4, "pad_value": -1e40}, r"pad_value must fit in float32 .* got -1e\+40"),
    ({"length": 4, "random_state": "abc"}, r"random_state must be None, an int or a numpy RandomState, got 'abc'"),  # checked in fit, for any crop
])
def test_pad_truncate_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        PadTruncate(**params).fit(np.zeros((2, 1, 10)))


def test_pad_truncate_pads_with_float32s_largest_value():
    big = float(np.finfo(np.float32).max)
    Xt = PadTruncate(length=4, pad_value=-big).fit_transform(np.zeros((1, 1, 2)))
    assert Xt[0, 0, -1] == -big and np.isfinite(Xt).all()


# -- RepeatPadding -----------------------------------------------------------

def test_repeat_padding_fills_the_trailing_padding_of_each_record():
    X = np.zeros((4, 2, 10), dtype=np.float32)
    X[0, 0, :4] = [1, 2, 3, 4]
    X[0, 1, :5] = [5, 0, 0, 0, 6]  # a zero inside a record is signal; padding is all leads
    X[2] = 7.0  # not padded
    X[3, 1, :3] = [-1, 0, -2]  # padded in both leads from sample 3
    out = RepeatPadding().fit_transform(X)
    assert out.shape == X.shape and out.dtype == np.float32
    assert_array_equal(out[0, 0], [1, 2, 3, 4, 0, 1, 2, 3, 4, 0])
    assert_array_equal(out[0, 1], [5, 0, 0, 0, 6, 5, 0, 0, 0, 6])
    assert_array_equal(out[1], X[1])  # all padding: nothing to repeat
    assert_array_equal(out[2], X[2])
    assert_array_equal(out[3], np.tile(X[3, :, :3], 4)[:, :10])
    assert_array_equal(X[0, 0, 4:], 0)  # the input is untouched
    other = X.copy()
    other[other == 0] = -9.0
    assert_array_equal(RepeatPadding(pad_value=-9.0).fit_transform(other)[3, 1],
                       [-1, -9, -2] * 3 + [-1])


@pytest.mark.parametrize("pad_value", [np.nan, "0", True])
def test_repeat_padding_refuses_a_pad_value_that_is_no_finite_number(pad_value):
    with pytest.raises(ValueError, match="pad_value must be a finite number"):
        RepeatPadding(pad_value=pad_value).fit(np.zeros((2, 1, 10)))


# -- Resample ----------------------------------------------------------------

def test_resample_500_to_100_keeps_the_sine():
    fs, freq = 500, 5.0
    X = np.stack([_sine(freq, fs, 10), 2 * _sine(freq, fs, 10)])[:, None]
    resampler = Resample(rate=100, sampling_rate=fs).fit(X)
    assert (resampler.up_, resampler.down_) == (1, 5)
    Xt = resampler.transform(X)
    assert Xt.shape == (2, 1, 1000) and Xt.dtype == np.float32
    # Same frequency and amplitude, now at 100 Hz.
    assert_allclose(Xt[:, 0, 100:-100], np.stack([_sine(freq, 100, 10),
                                                  2 * _sine(freq, 100, 10)])[:, 100:-100],
                    atol=0.01)
    spectrum = np.abs(np.fft.rfft(Xt[0, 0]))
    assert np.fft.rfftfreq(1000, 1 / 100)[spectrum.argmax()] == pytest.approx(freq)


@pytest.mark.parametrize("rate, fs", [(500, 100), (100, 500), (500, 360)])
def test_resample_keeps_a_lead_off_zero_at_its_edges(rate, fs):
    # A baseline offset and a slope: zero padding would ring towards 0 at both ends.
    t = np.arange(1000) / fs
    X = np.stack([np.full(1000, 1.0), 0.5 + 0.2 * t])[None].astype(np.float32)
    Xt = Resample(rate=rate, sampling_rate=fs).fit_transform(X)[0]
    t_out = np.arange(Xt.shape[1]) / rate
    # The filter's gain at 0 Hz is 1 to within 0.1 %; zero padding was 60 % off at the ends.
    assert_allclose(Xt[0], 1.0, rtol=2e-3)
    assert_allclose(Xt[1], 0.5 + 0.2 * t_out, rtol=2e-3)


@pytest.mark.parametrize("rate, fs, up, down, n_out", [
    (250, 100, 5, 2, 2500),
    (500, 360, 25, 18, 1389),  # ceil(1000 * 25 / 18)
    (100, 100, 1, 1, 1000),
])
def test_resample_factors_and_length(rate, fs, up, down, n_out):
    X = np.random.default_rng(0).normal(size=(2, 3, 1000))
    resampler = Resample(rate=rate, sampling_rate=fs).fit(X)
    assert (resampler.up_, resampler.down_) == (up, down)
    assert resampler.transform(X).shape == (2, 3, n_out)


@pytest.mark.parametrize("name", ["rate", "sampling_rate"])
@pytest.mark.parametrize("value", [None, 0, -100, np.nan, np.inf, "100", True])
def test_resample_rejects_impossible_rates(name, value):
    params = {"rate": 100, "sampling_rate": 500, name: value}
    with pytest.raises(ValueError, match=name):
        Resample(**params).fit(np.zeros((1, 1, 50)))


@pytest.mark.parametrize("rate", [0.2, 0.3, 0.499])
def test_resample_refuses_a_ratio_below_one_thousandth(rate):
    # 0.3 Hz from 500 Hz would round to 1/1000 (0.5 Hz): refused rather than off by 67%.
    with pytest.raises(ValueError, match=r"rate=.* too small .*ratio below 1/1000"):
        Resample(rate=rate, sampling_rate=500).fit(np.zeros((1, 1, 50)))
    resampler = Resample(rate=0.5, sampling_rate=500).fit(np.zeros((1, 1, 50)))
    assert (resampler.up_, resampler.down_) == (1, 1000)


def test_resample_ptbxl_500hz_matches_the_100hz_release(ptbxl_root):
    """PTB-XL ships each record at 500 Hz and at 100 Hz: resampling one gives the other."""
    import wfdb
    for ecg_id in (1, 2, 3):
        hi, _ = wfdb.rdsamp(str(ptbxl_root / f"records500/00000/{ecg_id:05d}_hr"))
        lo, _ = wfdb.rdsamp(str(ptbxl_root / f"records100/00000/{ecg_id:05d}_lr"))
        Xt = Resample(rate=100, sampling_rate=500).fit_transform(hi.T[None])[0]
        assert Xt.shape == lo.T.shape == (12, 1000)
        for lead in range(12):
            corr = np.corrcoef(Xt[lead, 20:-20], lo[20:-20, lead])[0, 1]
            assert corr > 0.99, (ecg_id, lead, corr)


# -- BaselineRemoval ---------------------------------------------------------

@pytest.mark.parametrize("method", ["highpass", "median"])
def test_baseline_removal_removes_slow_drift(method):
    fs = 100
    ecg_like = _sine(5, fs, 20)
    drift = 0.5 * _sine(0.1, fs, 20) + 0.3
    X = (ecg_like + drift)[None, None]
    Xt = BaselineRemoval(method=method, sampling_rate=fs).fit_transform(X)[0, 0]
    middle = slice(300, -300)
    # Before: the drift is up to 0.8 mV; after: only a small residual.
    assert np.abs(X[0, 0] - ecg_like)[middle].max() > 0.5
    assert np.abs(Xt - ecg_like)[middle].max() < 0.05
    assert _amplitude_at(Xt, 0.1, fs) < 0.02
    assert _amplitude_at(Xt, 5, fs) == pytest.approx(1.0, abs=0.02)


def test_baseline_removal_median_keeps_a_narrow_spike_on_a_drift():
    fs = 250
    x = np.linspace(0, 2, 10 * fs)  # a 2 mV ramp
    spikes = np.zeros_like(x)
    spikes[::fs] = 1.0  # 1 mV "R peaks", one per second
    Xt = BaselineRemoval(method="median", sampling_rate=fs).fit_transform((x + spikes)[None])
    # Away from the ends (half a 600 ms window), the spikes keep their
    # height and the ramp is gone.
    inner = slice(100, -100)
    assert_allclose(Xt[0, 0, fs:-fs:fs], 1.0, atol=1e-3)
    assert np.abs((Xt[0, 0] - spikes)[inner]).max() < 1e-3


def test_baseline_removal_window_and_filter_attributes():
    median = BaselineRemoval(method="median", sampling_rate=100).fit(np.zeros((1, 50)))
    assert median.window_samples_ == (21, 61) and median.sos_ is None
    # A pair as an array, as a grid search may give it, was refused as not a pair.
    grid = BaselineRemoval(method="median", sampling_rate=100, window=np.array([0.2, 0.6]))
    assert grid.fit(np.zeros((1, 50))).window_samples_ == (21, 61)
    hp = BaselineRemoval(sampling_rate=500, cutoff=0.7).fit(np.zeros((1, 50)))
    _, h = signal.sosfreqz(hp.sos_, worN=[0.7], fs=500)
    assert abs(h[0]) == pytest.approx(1 / np.sqrt(2), rel=1e-6)  # -3 dB at the cutoff


@pytest.mark.parametrize("params, match", [
    ({"sampling_rate": None}, "sampling_rate"),
    ({"sampling_rate": -1}, "sampling_rate"),
    ({"sampling_rate": 100, "method": "wavelet"}, "method"),
    ({"sampling_rate": 100, "cutoff": 50}, "cutoff"),
    ({"sampling_rate": 100, "cutoff": 0}, "cutoff"),
    ({"sampling_rate": 100, "method": "median", "window": 0.2}, "window"),
    ({"sampling_rate": 100, "method": "median", "window": (0.2, -1)}, "window"),
    ({"sampling_rate": 100, "method": "median", "window": np.ones((2, 2))}, "window"),
    # Medians of 1 sample: the output was all zeros; a cutoff this low, numpy's LinAlgError.
    ({"sampling_rate": 500, "method": "median", "window": (0.001, 0.6)},
     r"window=\(0\.001, 0\.6\) s is shorter than 3 samples at sampling_rate=500 Hz"),
    ({"sampling_rate": 500, "cutoff": 1e-7},
     r"cutoff=1e-07 Hz is too low for sampling_rate=500 Hz: a Butterworth filter below "
     r"0\.00025 Hz"),
])
def test_baseline_removal_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        BaselineRemoval(**params).fit(np.zeros((1, 1, 100)))


def test_baseline_removal_real_record_keeps_the_beats(cinc_root):
    """On a CinC 2017 record, drift power drops while QRS-band power stays."""
    import wfdb
    fs = 300
    x = wfdb.rdsamp(str(cinc_root / "training2017/A00001"))[0][:, 0]
    Xt = BaselineRemoval(sampling_rate=fs).fit_transform(x[None])[0, 0]
    f, p_in = signal.welch(x, fs=fs, nperseg=4096)
    _, p_out = signal.welch(Xt, fs=fs, nperseg=4096)
    drift, qrs = (f > 0) & (f < 0.2), (f > 5) & (f < 15)
    assert p_out[drift].sum() < 0.1 * p_in[drift].sum()
    assert p_out[qrs].sum() == pytest.approx(p_in[qrs].sum(), rel=0.02)


# -- BandpassFilter ----------------------------------------------------------

def test_bandpass_keeps_10hz_and_removes_60hz():
    fs = 250
    slow, hum = _sine(10, fs, 20), _sine(60, fs, 20)
    bandpass = BandpassFilter(low=0.5, high=40, sampling_rate=fs).fit((slow + hum)[None])
    Xt = bandpass.transform((slow + hum)[None])[0, 0]
    middle = slice(5 * fs, -5 * fs)
    # Forward-backward filtering multiplies each amplitude by |H(f)|**2.
    _, h = signal.sosfreqz(bandpass.sos_, worN=[10, 60], fs=fs)
    assert _amplitude_at(Xt[middle], 10, fs) == pytest.approx(abs(h[0]) ** 2, abs=0.01)
    assert _amplitude_at(Xt[middle], 60, fs) == pytest.approx(abs(h[1]) ** 2, abs=0.005)
    assert _amplitude_at(Xt[middle], 60, fs) < 0.05
    # Zero phase: the 10 Hz sine is not delayed.
    assert np.abs(Xt - slow)[middle].max() < 0.05


def test_bandpass_matches_scipy_and_handles_short_records():
    X = np.random.default_rng(0).normal(size=(3, 2, 500)).astype(np.float32)
    bandpass = BandpassFilter(sampling_rate=100).fit(X)
    assert_allclose(bandpass.transform(X), signal.sosfiltfilt(bandpass.sos_, X, axis=-1),
                    rtol=1e-5, atol=1e-6)
    # Records shorter than scipy's default edge padding still filter.
    short = bandpass.transform(X[:, :, :10])
    assert short.shape == (3, 2, 10) and np.isfinite(short).all()


@pytest.mark.parametrize("params, match", [
    ({}, "sampling_rate"),
    ({"sampling_rate": np.nan}, "sampling_rate"),
    ({"sampling_rate": 100, "high": 50}, "Nyquist"),
    ({"sampling_rate": 100, "low": 30, "high": 20}, "low"),
    ({"sampling_rate": 100, "low": 0}, "low"),
    ({"sampling_rate": 100, "order": 0}, "order"),
    ({"sampling_rate": 500, "low": 1e-7}, r"low=1e-07 Hz is too low for sampling_rate=500 Hz"),
])
def test_bandpass_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        BandpassFilter(**params).fit(np.zeros((1, 1, 100)))


# -- LeadSelector -------------------------------------------------------------

def _lead_numbered(n_leads=12):
    return np.arange(n_leads, dtype=np.float32)[None, :, None].repeat(4, axis=2)


@pytest.mark.parametrize("leads, expected", [
    (["v1", "AVR"], [6, 3]),
    ("II", [1]),
    ([0, 11], [0, 11]),
    (5, [5]),
    (["I", 7], [0, 7]),
])
def test_lead_selector_by_name_and_index(leads, expected):
    selector = LeadSelector(leads=leads).fit(_lead_numbered())
    assert_array_equal(selector.indices_, expected)
    assert_array_equal(selector.transform(_lead_numbered())[0, :, 0], expected)


def test_lead_selector_custom_names():
    names = ["MLII", "V5", "x"]
    Xt = LeadSelector(leads=["v5", "mlii"], lead_names=names).fit_transform(_lead_numbered(3))
    assert_array_equal(Xt[0, :, 0], [1, 0])


@pytest.mark.parametrize("params, n_leads, match", [
    ({"leads": ["V7"]}, 12, r"leads: unknown lead name 'V7'; available leads: I, II, III, aVR"),
    ({"leads": []}, 12, "empty"),
    ({}, 12, "leads"),
    ({"leads": [12]}, 12, r"leads: lead index 12 is out of range for X with 12 lead\(s\) "
                          r"\(indices 0 to 11\)"),
    ({"leads": [-1]}, 12, "leads: lead index -1 is out of range"),
    # The user gave no lead_names: the message said "lead_names has 12 names".
    ({"leads": ["V1"]}, 3, r"leads selects 'V1' by name, but without lead_names the names are the "
                           r"standard 12 \(I, II, .*, V6\) and X has 3 lead\(s\)"),
    ({"leads": [1.5]}, 12, "indices or names"),
    # lead_names are checked even when the leads are indices
    ({"leads": [0], "lead_names": "abc"}, 3, "lead_names must be a sequence of strings"),
    # a number: "'int' object is not iterable"
    ({"leads": [0], "lead_names": 12}, 3, "lead_names must be a sequence of strings, one per "
                                          "lead, got 12"),
    ({"leads": [0], "lead_names": ["I", "II"]}, 3, "lead_names has 2 names but X has 3"),
    ({"leads": 1.0}, 12, r"leads must be a lead index or name, or a sequence of them .*1.0"),
    ({"leads": {0: 1}}, 12, r"leads must be a lead index or name, or a sequence"),
    ({"leads": ["a"], "lead_names": ["A", "a", "B"]}, 3,
     r"lead_names holds a more than once, so selecting it by name is ambiguous"),
    # A lead selected twice came out twice, as WFDBLoader refuses.
    ({"leads": [1, 1]}, 12, r"leads lists a lead twice: \[1, 1\] select lead index 1"),
    ({"leads": ["V1", "ii", "II"]}, 12, r"leads lists a lead twice: \['ii', 'II'\] select "
                                         r"lead index 1 more than once"),
])
def test_lead_selector_errors(params, n_leads, match):
    with pytest.raises(ValueError, match=match):
        LeadSelector(**params).fit(_lead_numbered(n_leads))


def test_lead_selector_lead_count_must_match_fit():
    selector = LeadSelector(leads=[0]).fit(_lead_numbered(12))
    with pytest.raises(ValueError, match="X has 3 lead.*fitted on 12"):
        selector.transform(_lead_numbered(3))


def test_lead_selector_on_ptbxl_names(ptbxl_root):
    """PTB-XL headers spell the augmented leads 'AVR', 'AVL', 'AVF'."""
    import wfdb
    sig, fields = wfdb.rdsamp(str(ptbxl_root / "records100/00000/00001_lr"))
    assert "AVR" in fields["sig_name"]
    Xt = LeadSelector(leads=["aVR", "V1"], lead_names=fields["sig_name"]).fit_transform(
        sig.T[None])
    assert_allclose(Xt[0], sig[:, [3, 6]].T, rtol=1e-6)


# -- Derivatives ---------------------------------------------------------------

def test_derivatives_of_a_ramp():
    X = (3.0 * np.arange(20))[None, None] + np.array([0.0, 5.0])[None, :, None]
    Xt = Derivatives(order=2).fit_transform(X)
    assert Xt.shape == (1, 6, 20)
    assert_allclose(Xt[0, :2], X[0])  # [x, dx, d2x] blocks of 2 leads each
    assert_allclose(Xt[0, 2:4], 3.0)
    assert_allclose(Xt[0, 4:6], 0.0, atol=1e-5)


def test_derivatives_of_a_sine_match_central_differences():
    # Central differences of sin(w n) are exactly sin(w) cos(w n) inside.
    w, n = 0.1, np.arange(200)
    X = np.sin(w * n)[None, None]
    Xt = Derivatives(order=2, append=False).fit_transform(X)
    assert Xt.shape == (1, 2, 200)
    assert_allclose(Xt[0, 0, 1:-1], np.sin(w) * np.cos(w * n[1:-1]), atol=1e-6)
    # Its central differences in turn are exactly -sin(w)**2 sin(w n).
    assert_allclose(Xt[0, 1, 2:-2], -(np.sin(w) ** 2) * np.sin(w * n[2:-2]), atol=1e-6)
    # Close to the analytic derivative w cos(w n) for a smooth signal.
    assert_allclose(Xt[0, 0, 1:-1], w * np.cos(w * n[1:-1]), atol=2e-4)


def test_derivatives_order_1_append_false():
    X = np.array([[0.0, 1.0, 4.0, 9.0]])
    assert_allclose(Derivatives(append=False).fit_transform(X)[0, 0], [1, 2, 4, 5])


@pytest.mark.parametrize("params, match", [
    ({"order": 3}, "order"), ({"order": True}, "order"), ({"append": "yes"}, "append"),
])
def test_derivatives_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        Derivatives(**params).fit(np.zeros((1, 1, 5)))


def test_pad_truncate_never_returns_the_callers_array():
    X = np.zeros((2, 1, 10), np.float32)  # already the length asked: nothing to cut
    Xt = PadTruncate(length=10).fit(X).transform(X)
    assert not np.shares_memory(Xt, X)
    Xt *= 2  # a later in-place step must not write to the caller's records
    assert_array_equal(X, 0)


def test_resample_needs_two_samples_to_change_the_rate():
    # resample_poly's padtype="line" fits a line through a record's samples:
    # through one, every output sample was NaN.
    resample = Resample(rate=500, sampling_rate=100).fit(np.zeros((1, 1, 5)))
    with pytest.raises(ValueError, match="1 samples per record; at least 2"):
        resample.transform(np.ones((1, 1, 1)))
    same = Resample(rate=100, sampling_rate=100).fit(np.zeros((1, 1, 5)))
    assert_array_equal(same.transform(np.ones((1, 1, 1))), np.ones((1, 1, 1)))


def test_derivatives_need_two_samples():
    derivatives = Derivatives().fit(np.zeros((1, 1, 5)))
    with pytest.raises(ValueError, match="1 samples per record; at least 2"):
        derivatives.transform(np.zeros((1, 1, 1)))


# -- shared input validation ----------------------------------------------------

ALL = [PadTruncate(length=10), Resample(rate=50, sampling_rate=100),
       BaselineRemoval(sampling_rate=100), BandpassFilter(sampling_rate=100),
       LeadSelector(leads=[0]), Derivatives()]


@pytest.mark.parametrize("transformer", ALL, ids=lambda t: type(t).__name__)
def test_nan_input_names_the_record(transformer):
    X = np.zeros((4, 1, 50))
    transformer = clone(transformer).fit(X)
    X[2, 0, 7] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*first at index 2"):
        transformer.transform(X)
    with pytest.raises(ValueError, match="NaN or infinite.*first at index 2"):
        clone(transformer).fit(X)


@pytest.mark.parametrize("transformer", ALL, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("shape", [(50,), (2, 1, 1, 50)])
def test_wrong_rank_is_rejected(transformer, shape):
    with pytest.raises(ValueError, match="2D|3-D"):
        clone(transformer).fit(np.zeros(shape))


@pytest.mark.parametrize("transformer", ALL, ids=lambda t: type(t).__name__)
def test_pickle_round_trip_gives_the_same_output(transformer):
    X = np.random.default_rng(1).normal(size=(3, 1, 200)).astype(np.float32)
    fitted = clone(transformer).fit(X)
    assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(X), fitted.transform(X))
