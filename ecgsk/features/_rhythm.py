"""RR-interval (heart rate and rhythm irregularity) features from detected R peaks.

R peaks are found with the QRS detectors of :mod:`wfdb.processing`
(GQRS, a port of PhysioNet's ``gqrs``, or XQRS); the RR statistics follow the
HRV standard (Task Force of the ESC and NASPE, Circulation 93:1043, 1996) and
the irregularity measures used to detect atrial fibrillation from RR
intervals:

- normalized RMSSD (RMSSD / mean RR), turning-point ratio and Shannon
  entropy of the RR histogram: Dash, Chon, Lu and Raeder, "Automatic real
  time detection of atrial fibrillation", Ann. Biomed. Eng. 37:1701, 2009;
- Poincaré plot SD1 and SD2: Brennan, Palaniswami and Kamen, "Do existing
  measures of Poincaré plot geometry reflect nonlinear features of heart
  rate variability?", IEEE Trans. Biomed. Eng. 48:1342, 2001.
"""

import hashlib
import numbers
import threading
import warnings
from collections import OrderedDict
from fractions import Fraction

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import signal, stats

from ._base import BaseFeatures, check_choice, check_int, required_rate

__all__ = ["RhythmFeatures"]

#: Names of the features, in output order (prefixed by the lead name).
RHYTHM_FEATURES = (
    "n_beats", "heart_rate", "mean_rr", "median_rr", "std_rr", "rmssd", "pnn50",
    "cv_rr", "nrmssd", "tpr", "rr_entropy", "sd1", "sd2", "too_few_beats",
)

_DETECTORS = ("gqrs", "xqrs")
# XQRS's 0.1 s matched filter is 10 samples at 100 Hz, where it counts T
# waves as beats: on 193 PTB-XL records (lead II, 10 s) it found 5.1 beats
# per record more than GQRS at 500 Hz, 1.6 once resampled to 250 Hz, and
# GQRS at 100 Hz 0.06 (bench/bench_features.py). XQRS runs at >= 250 Hz.
_XQRS_MIN_RATE = 250
# At 1000 Hz XQRS found no beat in 4 of 8 PTB-XL records (upsampled from 500 Hz, lead II)
# nor in PTB Diagnostic's s0010_re; at 500 Hz it found them all. Faster signals are
# resampled to 500 Hz for it.
_XQRS_MAX_RATE = 500
# GQRS refuses signals below about 58 Hz ("Sampling rate is too low"); lower
# rates are resampled to 100 Hz for it, as XQRS's are to 250 Hz.
_GQRS_MIN_RATE = 60
# Shorter records cannot hold a beat sequence and defeat the detectors' filters.
_MIN_SECONDS = 1.0
_ENTROPY_BINS = 16
# R peaks of recently seen signals (see _detect_qrs): about 50 beats of int64
# per 30 s record, so at most some 25 MB.
_QRS_CACHE_SIZE = 65536
_QRS_CACHE = OrderedDict()
_QRS_CACHE_LOCK = threading.Lock()


def _resampled(sig, fs, target):
    """``sig`` resampled (polyphase) from ``fs`` to about ``target`` Hz, and its rate."""
    ratio = Fraction(target / fs).limit_denominator(100)
    return (signal.resample_poly(sig, ratio.numerator, ratio.denominator, padtype="line"),
            fs * ratio.numerator / ratio.denominator)


def _detect_qrs(sig, fs, detector):
    """Sample indices of the R peaks of one lead (sorted, unique, read-only).

    Detection is most of the cost of the rhythm and beat features, and a
    ``FeatureUnion`` of both sees every record twice, so the detections of
    the last ``_QRS_CACHE_SIZE`` signals are kept per process, keyed by a
    digest of the signal's bytes.
    """
    sig = np.ascontiguousarray(sig, dtype=np.float64)
    key = (hashlib.blake2b(sig.tobytes(), digest_size=16).digest(), sig.size, float(fs),
           detector)
    with _QRS_CACHE_LOCK:
        if key in _QRS_CACHE:
            _QRS_CACHE.move_to_end(key)
            return _QRS_CACHE[key]
    qrs = _run_detector(sig, fs, detector)
    qrs.setflags(write=False)
    with _QRS_CACHE_LOCK:
        _QRS_CACHE[key] = qrs
        while len(_QRS_CACHE) > _QRS_CACHE_SIZE:
            _QRS_CACHE.popitem(last=False)
    return qrs


def clear_qrs_cache():
    """Forget the cached R peaks (benchmarks time detection from an empty cache)."""
    with _QRS_CACHE_LOCK:
        _QRS_CACHE.clear()


def _run_detector(sig, fs, detector):
    """:func:`_detect_qrs` without the cache."""
    n = sig.size
    if n < _MIN_SECONDS * fs or np.ptp(sig) == 0:
        return np.empty(0, dtype=np.int64)
    from wfdb import processing  # lazy: wfdb is slow to import

    rate = fs
    if detector == "gqrs":
        if fs < _GQRS_MIN_RATE:
            sig, rate = _resampled(sig, fs, 100)
        qrs = processing.gqrs_detect(sig=sig, fs=rate)
    else:
        target = min(max(fs, _XQRS_MIN_RATE), _XQRS_MAX_RATE)
        if target != fs:
            sig, rate = _resampled(sig, fs, target)
        xqrs = processing.XQRS(sig=sig, fs=rate)
        xqrs.detect(verbose=False)
        qrs = xqrs.qrs_inds
    qrs = np.round(np.asarray(qrs, dtype=np.float64) * fs / rate)
    return np.unique(np.clip(qrs, 0, n - 1).astype(np.int64))


def _rr_statistics(rr):
    """RR features (all but ``n_beats`` and the flag) of RR intervals in seconds.

    ``rr`` must hold at least three intervals. Standard deviations use
    ``ddof=1``.
    """
    rr = np.asarray(rr, dtype=np.float64)
    drr = np.diff(rr)
    mean_rr = rr.mean()
    std_rr = rr.std(ddof=1)
    rmssd = np.sqrt(np.mean(drr ** 2))
    # RR intervals are whole samples over fs: a difference of exactly 50 ms comes out a
    # rounding error either side of 0.05 (80 -> 85 samples at 100 Hz below, 75 -> 80
    # above). 1 ns of slack lets no tie count, and no real difference is that close.
    pnn50 = np.mean(np.abs(drr) > 0.05 + 1e-9)
    # Turning points: interior intervals larger or smaller than both
    # neighbours. An i.i.d. random series has a ratio of 2/3 (Dash 2009).
    left, mid, right = rr[:-2], rr[1:-1], rr[2:]
    turning = ((mid > left) & (mid > right)) | ((mid < left) & (mid < right))
    tpr = turning.mean()
    counts, _ = np.histogram(rr, bins=_ENTROPY_BINS)
    rr_entropy = stats.entropy(counts) / np.log(_ENTROPY_BINS)
    # Poincaré plot (RR_n, RR_n+1): spread across and along the identity line.
    sd1 = np.std((rr[1:] - rr[:-1]) / np.sqrt(2), ddof=1)
    sd2 = np.std((rr[1:] + rr[:-1]) / np.sqrt(2), ddof=1)
    return [60.0 / mean_rr, mean_rr, np.median(rr), std_rr, rmssd, pnn50,
            std_rr / mean_rr, rmssd / mean_rr, tpr, rr_entropy, sd1, sd2]


def _record_features(sig, fs, detector, min_beats):
    qrs = _detect_qrs(sig, fs, detector)
    n_beats = qrs.size
    if n_beats < min_beats:
        return [n_beats] + [np.nan] * (len(RHYTHM_FEATURES) - 2) + [1.0]
    from wfdb import processing

    rr = processing.calc_rr(qrs, fs=fs, rr_units="seconds")
    return [n_beats] + _rr_statistics(rr) + [0.0]


#: gqrs's thresholds are in mV (it reads the signal as 5 uV steps, wfdb's default ADC gain
#: of 200 per mV): in uV it takes noise for beats (150 bpm for 64), in V it finds none. In
#: 800 PTB-XL and CinC 2017 records (in mV), no sample is more than 8.9 from its lead's
#: median, and in each some sample is at least 0.27 from it: in uV, hundreds. Beyond
#: _GQRS_MAX_SWING, the signal is not in mV; beyond _GQRS_MAX_MV, gqrs overflows in wfdb.
_GQRS_MAX_SWING = 100.0
_GQRS_MAX_MV = 1e4
#: Below this swing in every record of a batch (27 times under the smallest of those
#: 800 records), the signals are in V or flat, and gqrs finds no beat in any of them.
_GQRS_MIN_SWING = 0.01


def _check_amplitude(signals, detector, owner):
    """Name the first record too large for ``gqrs`` to be in mV (µV or ADC counts, say).

    Records that are all too small to be in mV (in V, say) get a warning,
    not an error: one flat record (a lead off) is legitimate, and so is a
    batch of them; its features are those of a record without beats.
    """
    if detector != "gqrs" or not len(signals):
        return
    signals = np.asarray(signals).reshape(len(signals), -1, np.shape(signals)[-1])
    peak, swing = np.empty(len(signals)), np.empty(len(signals))
    for start in range(0, len(signals), 256):  # a few temporary copies of 256 records only
        part = signals[start:start + 256]
        peak[start:start + 256] = np.abs(part).max(axis=(1, 2))
        swing[start:start + 256] = np.abs(
            part - np.median(part, axis=2, keepdims=True)).max(axis=(1, 2))
    bad = (peak > _GQRS_MAX_MV) | (swing > _GQRS_MAX_SWING)
    if bad.any():
        i = int(np.argmax(bad))
        what = (f"swings {swing[i]:.3g} away from its median" if swing[i] > _GQRS_MAX_SWING
                else f"reaches {peak[i]:.3g} in amplitude")
        raise ValueError(
            f"{owner}: record {i} {what}; the QRS detector (gqrs) reads signals in mV, where "
            "an ECG spans a few mV. Convert the signals to mV (are they in uV or ADC "
            "counts?), or pass detector='xqrs'.")
    if swing.max() < _GQRS_MIN_SWING:
        warnings.warn(
            f"{owner}: no record swings more than {swing.max():.3g} away from its median; "
            "the QRS detector (gqrs) reads signals in mV, where an ECG spans a few mV, and "
            "finds no beat in any of them. Convert the signals to mV (are they in V?).",
            UserWarning, stacklevel=5)


def _chunk_features(record_features, signals, *args):
    return [record_features(s, *args) for s in signals]


def _map_records(record_features, signals, n_jobs, *args):
    """``[record_features(s, *args) for s in signals]``, in joblib chunks.

    With more than one worker the records are split into ``4 * n_jobs``
    chunks (fewer for few records), one joblib task each, so that a task
    amortises its start-up over many records.
    """
    n_jobs = effective_n_jobs(n_jobs)
    if n_jobs == 1 or len(signals) < 2:
        return _chunk_features(record_features, signals, *args)
    chunks = np.array_split(np.arange(len(signals)), min(len(signals), 4 * n_jobs))
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_chunk_features)(record_features, signals[idx], *args) for idx in chunks
    )
    return [row for part in parts for row in part]


class _OneLeadBeatFeatures(BaseFeatures):
    """Features computed from the R peaks of one lead, record by record.

    Shared by :class:`RhythmFeatures`, :class:`~ecgsk.features.BeatFeatures`
    and :class:`~ecgsk.features.BeatTemplate`, which take its parameters
    (the ``__init__`` below, documented in each subclass) and set:

    - ``_FEATURES``: the feature names, in output order, unprefixed;
    - ``_features_of_record``: a module-level function
      ``(signal, fs, detector, min_beats) -> row`` (a ``staticmethod``), run
      on each record of the detection lead, in joblib workers when
      ``n_jobs`` asks for them. ``BeatTemplate``, which reads every lead,
      overrides ``_compute`` and ``_feature_names`` instead.
    """

    _FEATURES = ()
    _min_samples = 1

    def __init__(self, sampling_rate=None, lead=0, detector="gqrs", min_beats=4, n_jobs=1,
                 lead_names=None, nan_policy="impute"):
        self.sampling_rate = sampling_rate
        self.lead = lead
        self.detector = detector
        self.min_beats = min_beats
        self.n_jobs = n_jobs
        self.lead_names = lead_names
        self.nan_policy = nan_policy

    def _check_params(self):
        owner = type(self).__name__
        fs = required_rate(self.sampling_rate, owner)
        if fs < 50:
            raise ValueError(
                f"{owner} needs sampling_rate >= 50 Hz to detect QRS complexes, "
                f"got {self.sampling_rate!r}."
            )
        check_choice(self.detector, "detector", _DETECTORS)
        check_int(self.min_beats, "min_beats", low=4)
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool)
                                        or not isinstance(self.n_jobs, numbers.Integral)
                                        or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be a non-zero integer or None, got {self.n_jobs!r}.")
        return fs

    def _fit(self, X):
        n_leads = X.shape[1]
        names = self._check_lead_names(n_leads)
        lead = self.lead
        if isinstance(lead, str):
            if self.lead_names is None or lead not in names:
                raise ValueError(
                    f"lead={lead!r} is not one of lead_names={self.lead_names!r}."
                )
            self.lead_index_ = names.index(lead)
        elif isinstance(lead, numbers.Integral) and not isinstance(lead, bool):
            if not -n_leads <= lead < n_leads:
                raise ValueError(f"lead={lead!r} is out of range: X has {n_leads} lead(s).")
            self.lead_index_ = int(lead) % n_leads
        else:
            raise ValueError(f"lead must be a lead index or a lead name, got {lead!r}.")

    def _feature_names(self):
        prefix = self._lead_label_list()[self.lead_index_]
        return [f"{prefix}_{name}" for name in self._FEATURES]

    def _check_records(self, X):
        _check_amplitude(X[:, self.lead_index_, :], self.detector, type(self).__name__)

    def _compute(self, X):
        fs = self._check_params()
        signals = X[:, self.lead_index_, :]
        rows = _map_records(self._features_of_record, signals, self.n_jobs, fs,
                            self.detector, self.min_beats)
        return np.asarray(rows, dtype=np.float64).reshape(len(signals), len(self._FEATURES))


class RhythmFeatures(_OneLeadBeatFeatures):
    """Heart rate, RR variability and RR irregularity features of one lead.

    R peaks are detected on lead ``lead`` with :mod:`wfdb.processing`
    (``detector="gqrs"``: :func:`~wfdb.processing.gqrs_detect`;
    ``"xqrs"``: :class:`~wfdb.processing.XQRS`, run silently, on the signal
    resampled to 250 Hz when ``sampling_rate`` is lower, because its 0.1 s
    filter mistakes T waves for beats at 100 Hz, and to 500 Hz when it is
    higher, where it missed every beat of some records at 1000 Hz; the
    peaks are given back at ``sampling_rate``). From the RR intervals
    (in seconds):

    ============== =========================================================
    n_beats        number of detected beats
    heart_rate     60 / mean RR, beats per minute
    mean_rr        mean RR (s)
    median_rr      median RR (s)
    std_rr         standard deviation of RR (SDNN, s, ``ddof=1``)
    rmssd          root mean square of successive RR differences (s)
    pnn50          fraction of successive differences above 50 ms
    cv_rr          std_rr / mean_rr
    nrmssd         rmssd / mean_rr, the normalized RMSSD of Dash et al. 2009
    tpr            turning-point ratio: fraction of interior RR intervals
                   larger or smaller than both neighbours (2/3 for a random
                   series, lower for smooth sinus rhythm; Dash et al. 2009)
    rr_entropy     Shannon entropy of the 16-bin RR histogram divided by
                   log(16), in [0, 1] (Dash et al. 2009)
    sd1, sd2       Poincaré plot spread across and along the identity line
                   (s, ``ddof=1``; Brennan et al. 2001)
    too_few_beats  1.0 when fewer than ``min_beats`` beats were found
    ============== =========================================================

    Atrial fibrillation raises nrmssd, tpr and sd1. ``rr_entropy`` is Dash
    et al.'s: its 16 bins span each record's own shortest to longest
    interval, so it measures the shape of the RR histogram and not its
    spread (a record's jitter of a few milliseconds fills the bins as AF
    does). On records of 30 s it tells AF from sinus rhythm little: an
    AUROC of 0.55 on 80 normal and 80 AF records of CinC 2017, where
    nrmssd has 0.93. A record
    with fewer than ``min_beats`` beats (flat, too short, noise the detector
    rejects) never raises: its RR features are NaN, ``too_few_beats`` is 1,
    and ``nan_policy`` decides what the classifier sees. Records shorter
    than one second are not searched for beats.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz, at least 50 (GQRS sees signals
        below 60 Hz resampled to 100 Hz). Required.
    lead : int or str, default=0
        Lead to detect beats on: an index, or a name from ``lead_names``.
    detector : {"gqrs", "xqrs"}, default="gqrs"
        QRS detector of :mod:`wfdb.processing`. GQRS is the default: on 193
        PTB-XL records (lead II) it found at 100 Hz the beats it found at
        500 Hz (mean absolute difference 0.24 beat per record), where XQRS
        at 100 Hz found 5.1 more per record (T waves) and, resampled to
        250 Hz, 1.6 more. GQRS is also about twice as fast. XQRS depends on
        the polarity of the lead: on CinC 2017 records, whose polarity
        varies, it found 4 beats in 30 s of one (A00022) and 38 in the same
        record inverted, where GQRS found 38 in both; a count at or above
        ``min_beats`` is not flagged in ``too_few_beats``. GQRS takes no
        RR interval under 0.28 s (wfdb's ``RRmin``) and loses track before
        that: a sustained rhythm faster than about 190 bpm (SVT, VT, flutter
        at 1:1) comes out at about half its rate. On synthetic records
        192 bpm read 192, but 194 bpm read 124 and 220 bpm 110, where XQRS
        found 220. Lowering the limit is no free fix: at 0.2 s GQRS counted
        other beats in 330 of 1,000 CinC 2017 records (one more in most).
    min_beats : int, default=4
        Fewest beats for RR features, at least 4 (three RR intervals, what
        the turning-point ratio needs).
    n_jobs : int or None, default=1
        Records are processed in parallel with :mod:`joblib` on this many
        workers (``-1``: all cores).
    lead_names : sequence of str or None, default=None
        Names of all input leads; the detection lead's name prefixes the
        feature names (``"II_heart_rate"``). ``lead0``... when None.
    nan_policy : {"impute", "keep", "raise"}, default="impute"
        What to do with the NaN features of records with too few beats:
        fill them with the training median (``too_few_beats`` still marks
        them), keep NaN, or raise. See :mod:`ecgsk.features`.

    Attributes
    ----------
    lead_index_ : int
        Index of the detection lead.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.
    lead_names_ : list of str
        The lead names of the feature names: ``lead_names``, or
        ``lead0``, ``lead1``... without them.
    n_samples_in_ : int
        Record length (samples) seen in :meth:`fit`.
    n_features_out_ : int
        Number of output features (14).
    imputer_ : sklearn.impute.SimpleImputer
        The median imputer fitted on the training features (only with
        ``nan_policy="impute"``).

    See Also
    --------
    StatisticalFeatures : amplitude and spectral statistics.
    BeatFeatures : beat morphology and RR sample entropy from the same R peaks.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.features import RhythmFeatures
    >>> fs = 250
    >>> t = np.arange(10 * fs) / fs
    >>> beats = np.arange(0.4, 10, 0.8)           # 75 beats per minute
    >>> X = sum(np.exp(-((t - b) / 0.01) ** 2) for b in beats)[None]
    >>> rhythm = RhythmFeatures(sampling_rate=fs)
    >>> F = rhythm.fit_transform(X)
    >>> names = list(rhythm.get_feature_names_out())
    >>> names[:3]
    ['lead0_n_beats', 'lead0_heart_rate', 'lead0_mean_rr']
    >>> round(float(F[0, names.index("lead0_heart_rate")]))
    75
    """

    _length_dependent = ("n_beats",)

    _FEATURES = RHYTHM_FEATURES
    _features_of_record = staticmethod(_record_features)
