"""Beat morphology and RR sample entropy features from detected R peaks.

Features that separate atrial fibrillation, other rhythms and noise in
single-lead records (PhysioNet/CinC Challenge 2017), computed around the R
peaks found by the QRS detectors of :mod:`wfdb.processing` (see
:mod:`ecgsk.features._rhythm`):

- the median beat as a template, the correlation of each beat with it, and
  the presence of repeating P waves: morphology features of the kind used
  by the top entries of the Challenge, e.g. Datta et al., "Identifying
  normal, AF and other abnormal ECG rhythms using a cascaded binary
  classifier", Computing in Cardiology 44, 2017; Zabihi et al., "Detection
  of atrial fibrillation in ECG hand-held devices using a random forest
  classifier", Computing in Cardiology 44, 2017; the Challenge itself:
  Clifford et al., "AF classification from a short single lead ECG
  recording: the PhysioNet/Computing in Cardiology Challenge 2017",
  Computing in Cardiology 44, 2017;
- premature beats followed by a compensatory pause, the RR signature of
  ectopic beats that RR irregularity measures confuse with AF;
- sample entropy of the RR intervals: Richman and Moorman, "Physiological
  time-series analysis using approximate entropy and sample entropy",
  Am. J. Physiol. Heart Circ. Physiol. 278:H2039, 2000; and its coefficient
  of sample entropy (COSEn), designed to detect AF in short RR series: Lake
  and Moorman, "Accurate estimation of entropy in very short physiological
  time series: the problem of atrial fibrillation detection in implanted
  ventricular devices", Am. J. Physiol. Heart Circ. Physiol. 300:H319, 2011.
"""

import numpy as np

from ._base import BaseFeatures
from ._rhythm import _detect_qrs, _map_records, _OneLeadBeatFeatures

__all__ = ["BeatFeatures", "BeatTemplate"]

#: Times (s, relative to the R peak) at which BeatTemplate samples the template.
TEMPLATE_TIMES = np.round(np.arange(-0.24, 0.44 + 1e-9, 0.02), 2)
#: Names of BeatTemplate's features (prefixed by the lead name).
TEMPLATE_FEATURES = tuple(f"template_{round(1000 * t):+d}ms" for t in TEMPLATE_TIMES)
#: Names of the features, in output order (prefixed by the lead name).
BEAT_FEATURES = (
    "beat_corr_mean", "beat_corr_std", "beat_corr_min", "p_corr_mean", "p_to_qrs",
    "t_to_r", "qrs_width", "r_amp_cv", "premature_frac", "rr_sampen", "cosen",
    "too_few_beats",
)

# Windows around the R peak, in seconds: the beat, and within it the P wave,
# the QRS complex and the T wave.
_BEAT = (-0.25, 0.45)
_P_WAVE = (-0.25, -0.07)
_QRS = (-0.05, 0.05)
_T_WAVE = (0.15, 0.45)
# The QRS width is measured within this distance of the R peak (s).
_QRS_HALF_SPAN = 0.12
# Detected peaks are moved to the extremum of the signal within this distance
# (s): GQRS marks beats 20-35 ms before the R peak (synthetic beats, 100-500 Hz).
_PEAK_SEARCH = 0.08
# Premature beat: RR below 0.85 median RR, followed by a pause above 1.1 median.
_PREMATURE = 0.85
_PAUSE = 1.1
# Sample entropy of the RR series: template length and tolerance (s), the
# values of Lake and Moorman 2011.
_SAMPEN_M = 1
_SAMPEN_R = 0.03


def _offsets(window, fs):
    """Sample offsets (first, last, both included) of a window in seconds."""
    return int(round(window[0] * fs)), int(round(window[1] * fs))


def _sample_entropy(x, m, r):
    """Sample entropy ``SampEn(m, r)`` of a short series.

    Richman and Moorman, Am. J. Physiol. Heart Circ. Physiol. 278:H2039,
    2000: with the ``N - m`` templates ``x[i:i + m]`` (``i < N - m``), ``B``
    counts the pairs ``i < j`` of templates within ``r`` of each other
    (Chebyshev distance ``<= r``) and ``A`` the pairs that are still within
    ``r`` when extended to length ``m + 1``; ``SampEn = -ln(A / B)``. Self
    matches are not counted. Vectorised over all pairs: ``O(N^2)`` memory,
    for series of a few hundred values.

    Parameters
    ----------
    x : array-like of shape (N,)
        The series.
    m : int
        Template length, at least 1.
    r : float
        Tolerance, in the units of ``x``.

    Returns
    -------
    sampen : float
        NaN when undefined: fewer than ``m + 2`` values, or no pair of
        templates matches (``A = 0`` or ``B = 0``).
    """
    x = np.asarray(x, dtype=np.float64)
    n_templates = x.size - m
    if n_templates < 2:
        return np.nan
    dist = np.abs(x[:, None] - x[None, :])
    # Chebyshev distance between templates i and j (i, j < N - m) of length m,
    # then of length m + 1.
    cheb = np.zeros((n_templates, n_templates))
    for k in range(m):
        np.maximum(cheb, dist[k:k + n_templates, k:k + n_templates], out=cheb)
    longer = np.maximum(cheb, dist[m:m + n_templates, m:m + n_templates])
    upper = np.triu_indices(n_templates, 1)
    b = np.count_nonzero(cheb[upper] <= r)
    a = np.count_nonzero(longer[upper] <= r)
    if a == 0 or b == 0:
        return np.nan
    return float(np.log(b / a))


def _pearson_rows(rows, ref):
    """Pearson correlation of each row of ``rows`` with ``ref``; NaN for a flat one."""
    rows = rows - rows.mean(axis=1, keepdims=True)
    ref = ref - ref.mean()
    den = np.sqrt(np.einsum("ij,ij->i", rows, rows)) * np.sqrt(ref @ ref)
    num = rows @ ref
    out = np.full(len(rows), np.nan)
    ok = den > 0
    out[ok] = np.clip(num[ok] / den[ok], -1.0, 1.0)
    return out


def _ratio(num, den):
    """``num / den``, NaN unless ``den`` is positive and both are finite."""
    if not (np.isfinite(num) and np.isfinite(den)) or den <= 0:
        return np.nan
    return float(num / den)


def _refine_peaks(sig, qrs, fs):
    """Move detected beats onto their R peaks; also return the peak amplitudes.

    Each beat's baseline is the median of its beat window (the record is
    mirrored at its ends); the peak is the sample within ``_PEAK_SEARCH``
    seconds of the detection that lies farthest from the baseline on the
    side (above or below) where the beats of the record deviate most, so
    that all beats of a lead with deep S waves align on the same wave.
    Returns the sorted unique peaks and the absolute deviation from the
    baseline at each one.
    """
    n = sig.size
    lo, hi = _offsets(_BEAT, fs)
    half = max(1, int(round(_PEAK_SEARCH * fs)))
    padded = np.pad(sig, (-lo, hi), mode="reflect")  # records are >= 1 s > 0.45 s

    def baselines(peaks):
        return np.median(padded[peaks[:, None] + np.arange(hi - lo + 1)], axis=1)

    shifts = np.arange(-half, half + 1)
    positions = qrs[:, None] + shifts
    dev = padded[positions - lo] - baselines(qrs)[:, None]
    polarity = 1.0 if np.median(dev.max(axis=1)) >= np.median(-dev.min(axis=1)) else -1.0
    score = np.where((positions >= 0) & (positions < n), polarity * dev, -np.inf)
    peaks = np.unique(positions[np.arange(len(qrs)), np.argmax(score, axis=1)])
    return peaks, np.abs(sig[peaks] - baselines(peaks))


def _qrs_width(dev, r, half):
    """Width (samples, linearly interpolated) of the run of ``dev`` above ``dev[r] / 2``.

    Only the contiguous run containing ``r``, within ``half`` samples of it,
    counts; a run reaching that limit is cut there.
    """
    thr = dev[r] / 2
    first, last = max(r - half, 0), min(r + half, len(dev) - 1)
    below = np.flatnonzero(dev[first:r] <= thr)
    if below.size:
        i = first + below[-1]  # dev[i] <= thr < dev[i + 1]
        left = i + (thr - dev[i]) / (dev[i + 1] - dev[i])
    else:
        left = first
    below = np.flatnonzero(dev[r + 1:last + 1] <= thr)
    if below.size:
        i = r + 1 + below[0]  # dev[i - 1] > thr >= dev[i]
        right = i - (thr - dev[i]) / (dev[i - 1] - dev[i])
    else:
        right = last
    return right - left


def _valid_stats(values):
    """Mean, standard deviation (``ddof=1``) and minimum of the finite values."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    std = values.std(ddof=1) if values.size >= 2 else np.nan
    return values.mean(), std, values.min()


def _beat_windows(sig, fs, detector, min_beats):
    """R peaks, their amplitudes, and the peaks whose beat window fits in the record.

    ``None`` when fewer than ``min_beats`` beats are found, or fewer than
    two beat windows fit in the record.
    """
    qrs = _detect_qrs(sig, fs, detector)
    if qrs.size < min_beats:
        return None
    peaks, amps = _refine_peaks(sig, qrs, fs)
    lo, hi = _offsets(_BEAT, fs)
    complete = peaks[(peaks + lo >= 0) & (peaks + hi < sig.size)]
    if peaks.size < min_beats or complete.size < 2:
        return None
    return peaks, amps, complete


def _record_features(sig, fs, detector, min_beats):
    sig = np.asarray(sig, dtype=np.float64)
    found = _beat_windows(sig, fs, detector, min_beats)
    if found is None:
        return [np.nan] * (len(BEAT_FEATURES) - 1) + [1.0]
    peaks, amps, complete = found
    lo, hi = _offsets(_BEAT, fs)
    beats = sig[complete[:, None] + np.arange(lo, hi + 1)]
    template = np.median(beats, axis=0)
    r = -lo  # index of the R peak in a beat window
    p_wave = slice(*(k - lo + d for k, d in zip(_offsets(_P_WAVE, fs), (0, 1))))
    qrs_win = slice(*(k - lo + d for k, d in zip(_offsets(_QRS, fs), (0, 1))))
    t_wave = slice(*(k - lo + d for k, d in zip(_offsets(_T_WAVE, fs), (0, 1))))

    corr_mean, corr_std, corr_min = _valid_stats(_pearson_rows(beats, template))
    p_corr_mean = _valid_stats(_pearson_rows(beats[:, p_wave], template[p_wave]))[0]
    p_to_qrs = _ratio(template[p_wave].std(), template[qrs_win].std())
    dev = np.abs(template - np.median(template))
    t_to_r = _ratio(dev[t_wave].max(), dev[r])
    half = max(1, int(round(_QRS_HALF_SPAN * fs)))
    qrs_width = _qrs_width(dev, r, half) / fs if dev[r] > 0 else np.nan
    amp_mean = amps.mean()
    r_amp_cv = _ratio(amps.std(ddof=1), amp_mean)

    # RR intervals in samples: integers, so that the sample entropy tolerance
    # compares exactly at low sampling rates (30 ms is 3 samples at 100 Hz).
    rr = np.diff(peaks)
    median_rr = np.median(rr)
    premature = (rr[:-1] < _PREMATURE * median_rr) & (rr[1:] > _PAUSE * median_rr)
    tolerance = _SAMPEN_R * fs
    sampen = _sample_entropy(rr, _SAMPEN_M, tolerance)
    cosen = sampen + np.log(2 * tolerance) - np.log(rr.mean()) if np.isfinite(sampen) else np.nan

    return [corr_mean, corr_std, corr_min, p_corr_mean, p_to_qrs, t_to_r, qrs_width,
            r_amp_cv, premature.mean(), sampen, cosen, 0.0]


class BeatFeatures(_OneLeadBeatFeatures):
    """Beat morphology, premature beats and RR sample entropy of one lead.

    R peaks are detected on lead ``lead`` as in :class:`RhythmFeatures`
    (:mod:`wfdb.processing`'s GQRS or XQRS), then each detection is moved to
    the extremum of the signal within 80 ms (GQRS marks beats 20-35 ms
    before the R peak). Around each R peak, the beat window runs from
    -0.25 s to +0.45 s; beats whose window leaves the record are skipped,
    and the per-sample median of the others is the record's template beat.
    Within a window, the P wave is [-0.25, -0.07] s, the QRS complex
    [-0.05, +0.05] s and the T wave [+0.15, +0.45] s. With ``d`` the
    absolute deviation of the template from its median:

    ============== =========================================================
    beat_corr_mean mean Pearson correlation of each beat with the template
                   (ectopic beats and noise lower it)
    beat_corr_std  their standard deviation (``ddof=1``)
    beat_corr_min  their minimum
    p_corr_mean    mean correlation of each beat's P window with the
                   template's: P waves repeat in sinus rhythm, and are
                   absent or replaced by fibrillatory waves in AF
    p_to_qrs       standard deviation of the template's P window divided
                   by that of its QRS window
    t_to_r         largest ``d`` in the T window divided by ``d`` at R
    qrs_width      seconds during which ``d`` exceeds half its value at R:
                   the contiguous run containing R, within 0.12 s of it,
                   with linear interpolation between samples
    r_amp_cv       coefficient of variation (``ddof=1``) of the R peak
                   amplitudes, each the absolute deviation of the signal at
                   the peak from the median of its beat window
    premature_frac fraction of pairs of successive RR intervals where an
                   interval below 0.85 median RR (a premature beat) is
                   followed by one above 1.1 median RR (a compensatory
                   pause)
    rr_sampen      sample entropy of the RR series, ``m=1``, tolerance
                   ``r=0.03`` s (Richman and Moorman 2000); NaN when no
                   pair of RR intervals matches
    cosen          coefficient of sample entropy of Lake and Moorman 2011,
                   ``rr_sampen + ln(2 r) - ln(mean RR)`` (r and RR in
                   seconds): higher in AF
    too_few_beats  1.0 when fewer than ``min_beats`` beats were found, or
                   fewer than two beat windows fit in the record
    ============== =========================================================

    Ratios with a zero denominator (a flat template window) and correlations
    of flat windows are NaN. A record with too few beats (flat, too short,
    noise the detector rejects) never raises: its features are NaN,
    ``too_few_beats`` is 1, and ``nan_policy`` decides what the classifier
    sees. All windows are converted to samples with ``sampling_rate``, so the
    features mean the same at 100 Hz and 500 Hz (up to the resolution of
    the samples).

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz, at least 50 (GQRS sees signals
        below 60 Hz resampled to 100 Hz). Required.
    lead : int or str, default=0
        Lead to detect beats on: an index, or a name from ``lead_names``.
    detector : {"gqrs", "xqrs"}, default="gqrs"
        QRS detector of :mod:`wfdb.processing`, as in
        :class:`RhythmFeatures` (XQRS runs on the signal resampled to
        250 Hz when ``sampling_rate`` is lower, to 500 Hz when higher).
    min_beats : int, default=4
        Fewest beats for the features, at least 4.
    n_jobs : int or None, default=1
        Records are processed in parallel with :mod:`joblib` on this many
        workers (``-1``: all cores).
    lead_names : sequence of str or None, default=None
        Names of all input leads; the detection lead's name prefixes the
        feature names (``"II_cosen"``). ``lead0``... when None.
    nan_policy : {"impute", "keep", "raise"}, default="impute"
        What to do with NaN features: fill them with the training median
        (``too_few_beats`` still marks records with too few beats), keep
        NaN, or raise. See :mod:`ecgsk.features`.

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
        Number of output features (12).
    imputer_ : sklearn.impute.SimpleImputer
        The median imputer fitted on the training features (only with
        ``nan_policy="impute"``).

    See Also
    --------
    RhythmFeatures : heart rate and RR variability from the same R peaks.
    StatisticalFeatures : amplitude and spectral statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.features import BeatFeatures
    >>> fs = 250
    >>> t = np.arange(10 * fs) / fs
    >>> beats = np.arange(0.4, 10, 0.8)           # 75 beats per minute
    >>> waves = [(-0.2, 0.02, 0.15), (0.0, 0.01, 1.0), (0.3, 0.04, 0.3)]  # P, R, T
    >>> X = sum(a * np.exp(-((t - b - o) / w) ** 2)
    ...         for b in beats for o, w, a in waves)[None]
    >>> beat = BeatFeatures(sampling_rate=fs)
    >>> F = beat.fit_transform(X)
    >>> names = list(beat.get_feature_names_out())
    >>> names[:3]
    ['lead0_beat_corr_mean', 'lead0_beat_corr_std', 'lead0_beat_corr_min']
    >>> f = dict(zip(names, F[0]))
    >>> round(float(f["lead0_beat_corr_mean"]), 2), round(float(f["lead0_p_corr_mean"]), 2)
    (1.0, 1.0)
    >>> float(f["lead0_premature_frac"]), float(f["lead0_too_few_beats"])
    (0.0, 0.0)
    """

    _FEATURES = BEAT_FEATURES
    _features_of_record = staticmethod(_record_features)


def _template_of_record(record, fs, detector, min_beats, lead):
    """The median beat of every lead of ``record``, around the R peaks of ``lead``."""
    record = np.asarray(record, dtype=np.float64)
    found = _beat_windows(record[lead], fs, detector, min_beats)
    if found is None:
        return [np.nan] * (len(record) * len(TEMPLATE_TIMES))
    lo, hi = _offsets(_BEAT, fs)
    complete = found[2]
    templates = np.median(record[:, complete[:, None] + np.arange(lo, hi + 1)], axis=1)
    templates -= np.median(templates, axis=1, keepdims=True)
    times = np.arange(lo, hi + 1) / fs
    return [v for t in templates for v in np.interp(TEMPLATE_TIMES, times, t)]


class BeatTemplate(_OneLeadBeatFeatures):
    """The median beat of every lead, sampled every 20 ms, as features.

    Beats are found as in :class:`BeatFeatures`, on lead ``lead`` (the R
    peaks of :mod:`wfdb.processing`'s detector, moved to the signal's
    extremum). Every lead is then cut into the same beat windows, from
    -0.25 s to +0.45 s around those R peaks, and their per-sample median is
    the lead's template. Each template, minus its median (the baseline), is
    linearly interpolated at the 35 times -0.24, -0.22, ..., +0.44 s from
    the R peak: the P wave, QRS complex, ST segment and T wave in signal
    units, whatever the sampling rate. A tree model reads morphology from
    them that the summary features of :class:`BeatFeatures` leave out
    (T-wave inversion, ST deviation, Q waves, bundle-branch QRS shapes).
    A 12-lead record gives 12 x 35 features; select leads first
    (:class:`~ecgsk.preprocessing.LeadSelector`) for fewer.

    A record with too few beats (see :class:`BeatFeatures`) never raises:
    its features are NaN, and ``nan_policy`` decides what the classifier
    sees (use it with :class:`BeatFeatures`, whose ``too_few_beats`` flags
    such records). The R peaks are detected once per signal for
    :class:`RhythmFeatures`, :class:`BeatFeatures` and this transformer.

    Parameters
    ----------
    sampling_rate : float
        Sampling rate of the input in Hz, at least 50 (GQRS sees signals
        below 60 Hz resampled to 100 Hz). Required.
    lead : int or str, default=0
        Lead to detect beats on: an index, or a name from ``lead_names``.
        Templates are taken of every lead.
    detector : {"gqrs", "xqrs"}, default="gqrs"
        QRS detector of :mod:`wfdb.processing`, as in
        :class:`RhythmFeatures`.
    min_beats : int, default=4
        Fewest beats for a template, at least 4.
    n_jobs : int or None, default=1
        Records are processed in parallel with :mod:`joblib` on this many
        workers (``-1``: all cores).
    lead_names : sequence of str or None, default=None
        Names of all input leads; each lead's name prefixes its features
        (``"V1_template_+0ms"``). ``lead0``... when None.
    nan_policy : {"impute", "keep", "raise"}, default="impute"
        What to do with NaN features: fill them with the training median,
        keep NaN, or raise. See :mod:`ecgsk.features`.

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
        Number of output features (35 per lead).
    imputer_ : sklearn.impute.SimpleImputer
        The median imputer fitted on the training features (only with
        ``nan_policy="impute"``).

    See Also
    --------
    BeatFeatures : summary features of the same template and beats.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.features import BeatTemplate
    >>> fs = 250
    >>> t = np.arange(10 * fs) / fs
    >>> beats = np.arange(0.4, 10, 0.8)           # 75 beats per minute
    >>> waves = [(-0.2, 0.02, 0.15), (0.0, 0.01, 1.0), (0.3, 0.04, 0.3)]  # P, R, T
    >>> X = sum(a * np.exp(-((t - b - o) / w) ** 2)
    ...         for b in beats for o, w, a in waves)[None]
    >>> template = BeatTemplate(sampling_rate=fs)
    >>> F = template.fit_transform(X)
    >>> names = list(template.get_feature_names_out())
    >>> names[0], names[-1], len(names)
    ('lead0_template_-240ms', 'lead0_template_+440ms', 35)
    >>> f = dict(zip(names, F[0]))
    >>> [round(float(f[f"lead0_template_{ms}ms"]), 2) for ms in ("-200", "+0", "+300")]
    [0.15, 1.0, 0.3]
    """

    _FEATURES = TEMPLATE_FEATURES

    def _feature_names(self):  # every lead's, not only the detection lead's
        return BaseFeatures._feature_names(self)

    def _feature_suffixes(self):
        return list(self._FEATURES)

    def _compute(self, X):
        fs = self._check_params()
        rows = _map_records(_template_of_record, X, self.n_jobs, fs, self.detector,
                            self.min_beats, self.lead_index_)
        return np.asarray(rows, dtype=np.float64).reshape(len(X), -1)
