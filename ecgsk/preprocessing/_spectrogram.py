"""Short-time Fourier magnitude of ECG signals, for time-frequency networks."""

import numpy as np
from scipy import signal
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_is_fitted

from .._validation import check_bool, check_positive_int, check_signal_input
from ._signal import _check_real, _required_rate, _SignalTransformer

__all__ = ["Spectrogram"]

#: Records transformed at a time (memory: a small multiple of one block, not of X).
_BLOCK = 256


class Spectrogram(_SignalTransformer):
    """Short-time Fourier transform magnitude (or log-magnitude) of every lead.

    Computed with :func:`scipy.signal.stft` (Hann window, zero-padded ends,
    ``scaling="spectrum"``), so a sine of amplitude ``A`` at a bin frequency
    gives a magnitude of about ``A / 2`` in its frames.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required.
    nperseg : int, default=64
        Window length in samples; records must be at least this long.
    noverlap : int, default=32
        Overlap of consecutive windows in samples, ``0 <= noverlap < nperseg``.
    log : bool, default=True
        Return ``log(magnitude + eps)`` instead of the magnitude.
    eps : float, default=1e-6
        Added to the magnitude before the logarithm; at least float32's
        smallest normal number (about 1.2e-38), so that silence gives a
        finite logarithm.

    Attributes
    ----------
    frequencies_ : ndarray of shape (n_freqs,)
        Frequency of each row in Hz; ``n_freqs = nperseg // 2 + 1``.
    times_ : ndarray of shape (n_frames,)
        Centre time of each frame in seconds.
    n_samples_in_ : int
        Record length seen in :meth:`fit`; :meth:`transform` requires the
        same length so that ``times_`` describes its output.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`; :meth:`transform` requires as many.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import Spectrogram
    >>> t = np.arange(1000) / 100
    >>> X = np.sin(2 * np.pi * 12.5 * t)[None]  # 12.5 Hz sine, 1 record
    >>> spec = Spectrogram(sampling_rate=100, nperseg=32, noverlap=16, log=False)
    >>> S = spec.fit_transform(X)
    >>> S.shape  # (records, leads, frequencies, frames)
    (1, 1, 17, 64)
    >>> float(spec.frequencies_[S[0, 0, :, 10].argmax()])
    12.5
    """

    def __init__(self, sampling_rate=None, nperseg=64, noverlap=32, log=True, eps=1e-6):
        self.sampling_rate = sampling_rate
        self.nperseg = nperseg
        self.noverlap = noverlap
        self.log = log
        self.eps = eps

    def _check_params(self):
        _required_rate(self.sampling_rate, "sampling_rate", "Spectrogram")
        check_positive_int(self.nperseg, name="nperseg")
        if (isinstance(self.noverlap, bool) or not isinstance(self.noverlap, (int, np.integer))
                or not 0 <= self.noverlap < self.nperseg):
            raise ValueError(
                f"noverlap must be an integer with 0 <= noverlap < nperseg="
                f"{self.nperseg}, got {self.noverlap!r}."
            )
        check_bool(self.log, name="log")
        tiny = float(np.finfo(np.float32).tiny)
        _check_real(self.eps, "eps", low=tiny, low_inclusive=True)  # float32 holds it

    def _check_length(self, X):
        if X.shape[2] < self.nperseg:
            raise ValueError(
                f"X has {X.shape[2]} samples per record, shorter than "
                f"nperseg={self.nperseg}; pad the records (PadTruncate) or "
                "lower nperseg."
            )

    def _stft(self, x):
        return signal.stft(x, fs=self.sampling_rate, window="hann",
                           nperseg=self.nperseg, noverlap=self.noverlap, axis=-1)

    def _fit(self, X):
        self._check_length(X)
        self.n_samples_in_ = X.shape[2]
        freqs, times, _ = self._stft(np.zeros(self.n_samples_in_, dtype=np.float32))
        self.frequencies_ = freqs
        self.times_ = times

    def transform(self, X):
        """Compute the magnitude or log-magnitude spectrogram.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals of the length seen in :meth:`fit`.

        Returns
        -------
        S : ndarray of shape (n_records, n_leads, n_freqs, n_frames), float32
            Spectrogram of every lead.
        """
        check_is_fitted(self)
        X = check_signal_input(X)
        self._check_n_leads(X)
        if X.shape[2] != self.n_samples_in_:
            raise ValueError(
                f"X has {X.shape[2]} samples per record, but Spectrogram was "
                f"fitted on records of {self.n_samples_in_} samples."
            )
        shape = (len(self.frequencies_), len(self.times_))
        # A block of records at a time: the STFT of every record at once, with its
        # magnitude and log, took 15 times the input's memory (16 GB for PTB-XL at 100 Hz).
        S = np.empty(X.shape[:2] + shape, dtype=np.float32)
        for block in gen_batches(len(X), _BLOCK):
            _, _, Z = self._stft(X[block])
            if Z.shape[2:] != shape:
                raise ValueError(
                    f"Spectrogram now gives {Z.shape[2]} frequencies x {Z.shape[3]} frames, "
                    f"but was fitted for {shape[0]} x {shape[1]} (frequencies_, times_): "
                    "nperseg or noverlap changed after fit; fit it again.")
            magnitude = np.abs(Z)
            if self.log:
                magnitude = np.log(magnitude + self.eps)
            S[block] = magnitude
        return S
