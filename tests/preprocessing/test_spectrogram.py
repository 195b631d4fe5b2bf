"""Tests of ecgsk/preprocessing/_spectrogram.py."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from ecgsk.preprocessing import Spectrogram


def _sines(freqs, fs=100, seconds=10):
    t = np.arange(int(fs * seconds)) / fs
    return np.stack([np.sin(2 * np.pi * f * t) for f in freqs])


def test_peak_at_the_sine_frequency_with_half_amplitude():
    # 12.5 Hz and 25 Hz fall on bins of a 32-sample window at 100 Hz.
    X = _sines([12.5, 25.0])[None]  # 1 record, 2 leads
    spec = Spectrogram(sampling_rate=100, nperseg=32, noverlap=16, log=False).fit(X)
    S = spec.transform(X)
    assert S.shape == (1, 2, 17, len(spec.times_)) and S.dtype == np.float32
    inner = S[0, :, :, 2:-2]  # frames away from the zero-padded ends
    assert_allclose(spec.frequencies_[inner[0].argmax(axis=0)], 12.5)
    assert_allclose(spec.frequencies_[inner[1].argmax(axis=0)], 25.0)
    # Hann window, "spectrum" scaling: amplitude 1 gives magnitude 1/2.
    assert_allclose(inner.max(axis=1), 0.5, rtol=1e-3)


def test_frequencies_and_times():
    X = np.zeros((3, 1000))
    spec = Spectrogram(sampling_rate=250, nperseg=64, noverlap=32).fit(X)
    assert_allclose(spec.frequencies_, np.fft.rfftfreq(64, 1 / 250))
    # Frames every 32 samples (0.128 s), from the first sample to past the end.
    assert_allclose(np.diff(spec.times_), 32 / 250)
    assert spec.times_[0] == 0 and spec.times_[-1] >= 999 / 250
    assert spec.transform(X).shape == (3, 1, 33, len(spec.times_))


def test_log_is_log_of_magnitude_plus_eps(rng):
    X = rng.normal(size=(2, 3, 300))
    magnitude = Spectrogram(sampling_rate=100, log=False).fit_transform(X)
    log = Spectrogram(sampling_rate=100, eps=1e-3).fit_transform(X)
    assert_allclose(log, np.log(magnitude + 1e-3), rtol=1e-5, atol=1e-5)
    silent = Spectrogram(sampling_rate=100).fit_transform(np.zeros((1, 300)))
    assert_allclose(silent, np.log(1e-6))


def test_record_shorter_than_nperseg():
    with pytest.raises(ValueError, match="X has 50 samples per record, shorter than nperseg=64"):
        Spectrogram(sampling_rate=100).fit(np.zeros((2, 50)))


def test_transform_needs_the_fitted_length():
    spec = Spectrogram(sampling_rate=100).fit(np.zeros((2, 500)))
    with pytest.raises(ValueError, match="X has 400 samples.*fitted on records of 500"):
        spec.transform(np.zeros((2, 400)))


@pytest.mark.parametrize("params, match", [
    ({}, "sampling_rate"),
    ({"sampling_rate": 0}, "sampling_rate"),
    ({"sampling_rate": 100, "nperseg": 0}, "nperseg"),
    ({"sampling_rate": 100, "noverlap": 64}, "noverlap"),
    ({"sampling_rate": 100, "noverlap": -1}, "noverlap"),
    ({"sampling_rate": 100, "eps": 0}, "eps"),
    ({"sampling_rate": 100, "eps": 1e-50}, r"eps must be >= 1\.17.*e-38, got 1e-50"),
    ({"sampling_rate": 100, "log": "yes"}, "log"),
])
def test_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        Spectrogram(**params).fit(np.zeros((1, 1, 200)))


def test_silence_gives_a_finite_log_at_the_smallest_eps():
    eps = float(np.finfo(np.float32).tiny)
    S = Spectrogram(sampling_rate=100, nperseg=4, noverlap=2, eps=eps).fit_transform(
        np.zeros((1, 1, 8), np.float32))
    np.testing.assert_allclose(S, np.log(eps), rtol=1e-6)


def test_nan_input_names_the_record():
    X = np.zeros((3, 200))
    spec = Spectrogram(sampling_rate=100).fit(X)
    X[2, 5] = np.nan
    with pytest.raises(ValueError, match="first at index 2"):
        spec.transform(X)


def test_real_record_power_in_the_qrs_band(cinc_root):
    """A CinC 2017 ECG has more energy at 5-15 Hz than above 60 Hz."""
    import wfdb
    x = wfdb.rdsamp(str(cinc_root / "training2017/A00001"))[0][:3000, 0]
    spec = Spectrogram(sampling_rate=300, nperseg=128, noverlap=64, log=False)
    S = spec.fit_transform(x[None])[0, 0]
    f = spec.frequencies_
    qrs = S[(f >= 5) & (f <= 15)].mean()
    high = S[f >= 60].mean()
    assert qrs > 10 * high


def test_window_changed_after_fit_needs_a_refit(rng):
    X = rng.normal(size=(2, 1, 500)).astype(np.float32)
    spec = Spectrogram(sampling_rate=100).fit(X)
    spec.set_params(nperseg=32, noverlap=16)
    with pytest.raises(ValueError, match=r"now gives 17 frequencies x 33 frames, but was fitted "
                                         r"for 33 x 17"):
        spec.transform(X)
    assert spec.fit(X).transform(X).shape == (2, 1, 17, 33)


def test_records_are_transformed_a_block_at_a_time(monkeypatch):
    # The STFT of every record at once, with its magnitude and log, took 15 times the
    # input's memory (16 GB for PTB-XL at 100 Hz).
    from ecgsk.preprocessing import _spectrogram

    X = np.random.default_rng(0).normal(size=(23, 2, 500)).astype(np.float32)
    expected = Spectrogram(sampling_rate=100).fit_transform(X)
    monkeypatch.setattr(_spectrogram, "_BLOCK", 5)
    sizes = []
    stft = _spectrogram.Spectrogram._stft
    monkeypatch.setattr(_spectrogram.Spectrogram, "_stft",
                        lambda self, x: (x.ndim == 3 and sizes.append(len(x))) or stft(self, x))
    spec = Spectrogram(sampling_rate=100).fit(X)  # its STFT of one record of zeros
    np.testing.assert_array_equal(spec.transform(X), expected)
    assert expected.dtype == np.float32 and max(sizes) == 5
