"""Per-lead amplitude statistics and Welch spectral band powers."""

import numbers
import warnings

import numpy as np
from scipy import signal, stats

from ._base import BaseFeatures, required_rate

__all__ = ["StatisticalFeatures"]


def _format_number(value):
    """``5 -> "5"``, ``2.5 -> "2.5"``: compact numbers for feature names."""
    return f"{value:g}"


class StatisticalFeatures(BaseFeatures):
    """Amplitude statistics and spectral band powers of every lead.

    For each lead, in this order:

    - ``mean``, ``std`` (population, ``ddof=0``), ``min``, ``max`` in mV;
    - ``p<q>`` for every ``q`` in ``percentiles`` (:func:`numpy.percentile`,
      linear interpolation);
    - ``skewness`` and ``kurtosis`` (excess, Fisher's definition) from
      :func:`scipy.stats.skew` and :func:`scipy.stats.kurtosis`; NaN for a
      flat lead, where they are undefined;
    - ``energy``: the integral of the squared signal over time,
      ``sum(x**2) / sampling_rate`` in mV²·s;
    - ``zero_crossing_rate``: sign changes of the mean-removed signal per
      second (about ``2 f`` for a sine of ``f`` Hz);
    - ``power_<lo>_<hi>Hz`` for every band: the Welch power spectral density
      (:func:`scipy.signal.welch`, Hann windows of 4 s or the whole record
      if shorter, 50 % overlap, constant detrend) summed over
      ``lo <= f < hi`` times the frequency step, in mV². A sine of amplitude
      ``A`` inside the band gives about ``A**2 / 2``;
    - ``dominant_frequency``: the frequency (Hz, above 0) of the largest
      Welch density; NaN for a flat lead, which has none.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz. Required; every band must lie
        below the Nyquist frequency ``sampling_rate / 2``.
    percentiles : sequence of float, default=(5, 25, 50, 75, 95)
        Percentiles to report, each in ``[0, 100]``.
    bands : sequence of (low, high) pairs, default=((0.5, 4), (4, 15), (15, 40))
        Frequency bands in Hz, ``0 <= low < high <= sampling_rate / 2``.
    lead_names : sequence of str or None, default=None
        Names of the leads used in the feature names; ``lead0``, ``lead1``...
        when None.
    nan_policy : {"impute", "keep", "raise"}, default="impute"
        What to do with undefined features (skewness, kurtosis and dominant
        frequency of a flat lead): fill them with the training median, keep
        NaN, or raise. See
        :mod:`ecgsk.features`.

    Attributes
    ----------
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.
    lead_names_ : list of str
        The lead names of the feature names: ``lead_names``, or
        ``lead0``, ``lead1``... without them.
    n_samples_in_ : int
        Record length (samples) seen in :meth:`fit`.
    n_features_out_ : int
        Number of output features, ``n_leads_in_ * (9 + len(percentiles) +
        len(bands))``.
    imputer_ : sklearn.impute.SimpleImputer
        The median imputer fitted on the training features (only with
        ``nan_policy="impute"``).

    See Also
    --------
    WaveletFeatures : statistics of wavelet coefficients.
    RhythmFeatures : RR-interval statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.features import StatisticalFeatures
    >>> t = np.arange(1000) / 100                    # 10 s at 100 Hz
    >>> X = 2 * np.sin(2 * np.pi * 10 * t + 0.3)[None]  # one record, 10 Hz sine
    >>> feats = StatisticalFeatures(sampling_rate=100, bands=((4, 15), (15, 40)))
    >>> F = feats.fit_transform(X)
    >>> names = list(feats.get_feature_names_out())
    >>> names[:4]
    ['lead0_mean', 'lead0_std', 'lead0_min', 'lead0_max']
    >>> round(float(F[0, names.index("lead0_power_4_15Hz")]), 2)  # A**2 / 2
    2.0
    >>> float(F[0, names.index("lead0_dominant_frequency")])
    10.0
    >>> float(F[0, names.index("lead0_zero_crossing_rate")])  # 199 changes in 10 s
    19.9
    """

    _length_dependent = ("energy",)

    def __init__(self, sampling_rate=None, percentiles=(5, 25, 50, 75, 95),
                 bands=((0.5, 4), (4, 15), (15, 40)), lead_names=None,
                 nan_policy="impute"):
        self.sampling_rate = sampling_rate
        self.percentiles = percentiles
        self.bands = bands
        self.lead_names = lead_names
        self.nan_policy = nan_policy

    def _check_params(self):
        fs = required_rate(self.sampling_rate, "StatisticalFeatures")
        try:
            q = np.asarray(self.percentiles, dtype=np.float64)
        except (TypeError, ValueError):
            q = None
        if q is None or q.ndim != 1 or not np.all((q >= 0) & (q <= 100)):
            raise ValueError(
                f"percentiles must be a sequence of numbers in [0, 100], got "
                f"{self.percentiles!r}."
            )
        bands = []
        if isinstance(self.bands, (str, bytes)) or not hasattr(self.bands, "__iter__"):
            raise ValueError(f"bands must be a sequence of (low, high) pairs, got {self.bands!r}.")
        for band in self.bands:
            ok = (isinstance(band, (tuple, list, np.ndarray)) and len(band) == 2
                  and all(isinstance(b, numbers.Real) and not isinstance(b, bool)
                          for b in band))
            if not ok or not 0 <= band[0] < band[1]:
                raise ValueError(
                    f"bands must be (low, high) pairs in Hz with 0 <= low < high, got "
                    f"{band!r} in bands={self.bands!r}."
                )
            if band[1] > fs / 2:
                raise ValueError(
                    f"band {tuple(band)!r} in bands reaches above the Nyquist frequency "
                    f"{fs / 2:g} Hz of sampling_rate={self.sampling_rate!r}; it cannot "
                    "be measured."
                )
            bands.append((float(band[0]), float(band[1])))
        # Two columns of one name: 2.5 and 2.500001 are both "p2.5", and a frame's
        # D["lead0_p2.5"] gave both.
        for what, names in (
                ("percentiles", [f"p{_format_number(p)}" for p in q]),
                ("bands", [f"{_format_number(lo)}_{_format_number(hi)}Hz" for lo, hi in bands])):
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{what} name the feature(s) {twice} twice; give distinct "
                                 f"{what}, got {getattr(self, what)!r}.")
        return fs, q, bands

    def _feature_suffixes(self):
        _, q, bands = self._check_params()
        return (["mean", "std", "min", "max"]
                + [f"p{_format_number(p)}" for p in q]
                + ["skewness", "kurtosis", "energy", "zero_crossing_rate"]
                + [f"power_{_format_number(lo)}_{_format_number(hi)}Hz" for lo, hi in bands]
                + ["dominant_frequency"])

    def _compute(self, X):
        fs, q, bands = self._check_params()
        X = X.astype(np.float64)
        n, n_leads, n_samples = X.shape
        mean = X.mean(axis=-1)
        std = X.std(axis=-1)
        flat = np.ptp(X, axis=-1) == 0
        with warnings.catch_warnings():
            # scipy warns about precision loss on (nearly) constant leads;
            # they are set to NaN just below.
            warnings.simplefilter("ignore", RuntimeWarning)
            skew = stats.skew(X, axis=-1)
            kurt = stats.kurtosis(X, axis=-1, fisher=True)
        skew[flat] = np.nan
        kurt[flat] = np.nan
        energy = np.sum(X ** 2, axis=-1) / fs
        centred = X - mean[..., None]
        crossings = np.count_nonzero(np.diff(np.signbit(centred), axis=-1), axis=-1)
        zcr = crossings / (n_samples / fs)

        nperseg = int(min(n_samples, round(4 * fs)))
        freqs, psd = signal.welch(X, fs=fs, nperseg=nperseg, axis=-1)
        df = freqs[1] - freqs[0] if freqs.size > 1 else fs
        powers = [psd[..., (freqs >= lo) & (freqs < hi)].sum(axis=-1) * df for lo, hi in bands]
        positive = freqs > 0
        if positive.any():
            dominant = freqs[positive][np.argmax(psd[..., positive], axis=-1)]
            dominant = np.where(flat, np.nan, dominant)
        else:  # a single-sample record has no frequency above 0
            dominant = np.full((n, n_leads), np.nan)

        columns = ([mean, std, X.min(axis=-1), X.max(axis=-1)]
                   + list(np.percentile(X, q, axis=-1))
                   + [skew, kurt, energy, zcr] + powers + [dominant])
        # (n_features_per_lead, n, n_leads) -> (n, n_leads * n_features_per_lead)
        F = np.stack(columns, axis=-1)
        return F.reshape(n, -1)

