"""Synthetic multi-lead ECGs with class-specific patterns, for tests and demos.

Beats are sums of Gaussian waves (P, Q, R, S, T), each wave a 3-D cardiac
dipole projected onto the lead axes, in the spirit of ECGSYN (McSharry et
al., 2003) but in time rather than phase. The data is plausible-looking, not
physiological: use it to exercise code, never to judge a model.
"""

import numbers
from itertools import combinations

import numpy as np

from .._validation import check_positive_int, check_sampling_rate

__all__ = ["make_synthetic_ecg", "SYNTHETIC_CLASSES"]

# Lead vectors in (x: left, y: inferior, z: anterior) coordinates. The limb
# leads follow Einthoven's triangle (III = II - I) and Goldberger's augmented
# leads (aVR = -(I + II) / 2, ...); the chest leads are unit vectors in the
# horizontal plane, at these angles from the left towards the front.
_CHEST_ANGLES = (120, 95, 75, 60, 30, 0)  # V1 ... V6


def _standard_lead_axes():
    lead_i = np.array([1.0, 0.0, 0.0])
    lead_ii = np.array([np.cos(np.radians(60)), np.sin(np.radians(60)), 0.0])
    lead_iii = lead_ii - lead_i
    limb = [lead_i, lead_ii, lead_iii, -(lead_i + lead_ii) / 2,
            (lead_i - lead_iii) / 2, (lead_ii + lead_iii) / 2]
    chest = [np.array([np.cos(np.radians(a)), 0.0, np.sin(np.radians(a))])
             for a in _CHEST_ANGLES]
    return np.array(limb + chest)


# Mean waves of a normal beat at 60 bpm: time from the R peak (s), Gaussian
# width (s) and dipole (mV) in (left, inferior, anterior) coordinates.
_WAVES = {
    #      time    width   dipole
    "P": (-0.16, 0.022, (0.08, 0.13, 0.03)),
    "Q": (-0.028, 0.010, (-0.10, -0.02, 0.12)),
    "R": (0.0, 0.011, (0.80, 0.60, -0.20)),
    "S": (0.028, 0.011, (-0.20, -0.20, -0.20)),
    "T": (0.30, 0.050, (0.20, 0.20, 0.12)),
}

_BASE_PATTERNS = ("normal sinus rhythm", "ST elevation / T inversion",
                  "AF-like: irregular RR, no P wave", "wide QRS", "sinus tachycardia")
_COMBOS = list(combinations(range(1, 5), 2))

#: Description of every class ``make_synthetic_ecg`` can generate, by label.
SYNTHETIC_CLASSES = tuple(_BASE_PATTERNS) + tuple(
    " + ".join(_BASE_PATTERNS[i] for i in combo) for combo in _COMBOS
)


def _class_patterns(label):
    """Set of abnormal patterns (1..4) of a class label."""
    if label == 0:
        return set()
    if label <= 4:
        return {label}
    return set(_COMBOS[label - 5])


def _beat_times(rng, seconds, mean_rr, irregular):
    """R-peak times covering ``[-1, seconds + 1]`` seconds."""
    times = []
    t = -rng.uniform(0, mean_rr) - 1.0
    resp_phase = rng.uniform(0, 2 * np.pi)
    while t < seconds + 1.0:
        times.append(t)
        if irregular:
            rr = mean_rr * np.exp(rng.normal(0, 0.25))
            rr = float(np.clip(rr, 0.3, 2.0))
        else:
            # Respiratory sinus arrhythmia (0.25 Hz) plus a little jitter.
            rr = mean_rr * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * t + resp_phase)
                            + rng.normal(0, 0.015))
        t += rr
    return np.array(times), resp_phase


def _record(rng, label, lead_axes, fs, n_samples):
    """One record of shape (n_leads, n_samples) in mV."""
    patterns = _class_patterns(label)
    seconds = n_samples / fs
    tachy, af, wide, ischemic = 4 in patterns, 2 in patterns, 3 in patterns, 1 in patterns
    heart_rate = rng.uniform(105, 150) if tachy else rng.uniform(50, 95)
    mean_rr = 60.0 / heart_rate
    beats, _ = _beat_times(rng, seconds, mean_rr, irregular=af)

    # Record-specific heart: jittered wave dipoles, amplitudes and timing.
    waves = {}
    for name, (offset, width, dipole) in _WAVES.items():
        dipole = np.asarray(dipole) * rng.uniform(0.8, 1.2)
        dipole = dipole + rng.normal(0, 0.06, size=3) * np.abs(dipole).max()
        waves[name] = [offset * rng.uniform(0.9, 1.1), width * rng.uniform(0.9, 1.1), dipole]
    # QT shortens with heart rate (Bazett): T follows sqrt(RR).
    waves["T"][0] *= np.sqrt(mean_rr)
    waves["P"][0] *= np.clip(np.sqrt(mean_rr), 0.8, 1.0)
    if af:
        del waves["P"]
    if wide:
        factor = rng.uniform(2.2, 3.0)
        for name in ("Q", "R", "S"):
            waves[name][0] *= factor
            waves[name][1] *= factor
        # A late R' (notched, bundle-branch-block-like complex).
        waves["R2"] = [waves["S"][0] + 0.04, 0.016, 0.5 * waves["R"][2]]
    if ischemic:
        # Injury current over one territory: anterior, inferior or lateral.
        territory = np.eye(3)[rng.choice([2, 1, 0])]
        waves["ST"] = [0.14 * np.sqrt(mean_rr), 0.045,
                       rng.uniform(0.15, 0.3) * territory * 2.0]
        if rng.uniform() < 0.5:
            waves["T"][2] = -waves["T"][2]

    t = np.arange(n_samples) / fs
    centres, widths, dipoles = [], [], []
    for beat in beats:
        for offset, width, dipole in waves.values():
            centres.append(beat + offset)
            widths.append(width)
            dipoles.append(dipole)
    centres, widths = np.array(centres), np.array(widths)
    gauss = np.exp(-0.5 * ((t[None, :] - centres[:, None]) / widths[:, None]) ** 2)
    heart = np.asarray(dipoles).T @ gauss  # (3, n_samples)

    # Electrode and torso variation: one gain for the limb leads (they come
    # from the same three electrodes), one per chest or extra lead.
    gains = rng.uniform(0.85, 1.15, size=len(lead_axes))
    gains[:6] = gains[0]
    leads = gains[:, None] * (lead_axes @ heart)
    if af:
        # Fibrillatory waves: 4-8 Hz with a wandering frequency, strongest in
        # the anterior leads (V1).
        freq = rng.uniform(4, 8) + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t)
        phase = 2 * np.pi * np.cumsum(freq) / fs
        f_wave = rng.uniform(0.02, 0.05) * np.sin(phase)
        leads += (lead_axes @ np.array([0.3, 0.5, 1.0]))[:, None] * f_wave[None, :]
    # Baseline wander (respiration, movement): two slow sinusoids along
    # random directions, projected like the heart's dipole.
    for _ in range(2):
        direction = rng.normal(0, 0.06, size=3)
        wander = np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * t + rng.uniform(0, 2 * np.pi))
        leads += (lead_axes @ direction)[:, None] * wander[None, :]
    return leads


def make_synthetic_ecg(n_records=100, n_leads=12, sampling_rate=100, seconds=10.0,
                       n_classes=2, noise=0.02, random_state=None):
    """Generate labelled synthetic ECGs.

    Every beat is a sum of Gaussian P, Q, R, S and T waves; each wave is a
    3-D cardiac dipole projected on the lead axes, so the leads differ as in
    a real 12-lead ECG: tall R in II, negative QRS in aVR, rS in V1, R/S
    transition around V3, and the limb leads obey Einthoven's and
    Goldberger's relations (III = II - I, aVR = -(I + II) / 2, ...) up to
    the white noise. Records vary in heart rate, beat-to-beat RR intervals (respiratory sinus
    arrhythmia), wave amplitudes, widths and timing, lead gains, baseline
    wander (two slow sinusoids) and white noise.

    Classes (``y`` values) differ in a learnable but not trivial way:

    - 0: normal sinus rhythm, 50-95 bpm;
    - 1: ST elevation over one territory (anterior, inferior or lateral),
      with T-wave inversion in half of the records;
    - 2: AF-like: irregular RR intervals, no P waves, 4-8 Hz fibrillatory
      waves;
    - 3: wide QRS (2.2-3x wider, with a notched R');
    - 4: sinus tachycardia, 105-150 bpm;
    - 5-10: the pairs of patterns 1-4, in the order (1, 2), (1, 3), (1, 4),
      (2, 3), (2, 4), (3, 4).

    ``SYNTHETIC_CLASSES`` holds the description of each label.

    Parameters
    ----------
    n_records : int, default=100
        Number of records; at least ``n_classes``.
    n_leads : int, default=12
        Number of leads. Up to 12, the standard leads I, II, III, aVR, aVL,
        aVF, V1-V6 in that order (the first ``n_leads``); leads beyond 12
        project on random axes.
    sampling_rate : float, default=100
        Sampling rate in Hz, at least 50.
    seconds : float, default=10.0
        Record duration in seconds.
    n_classes : int, default=2
        Number of classes, from 1 to 11.
    noise : float, default=0.02
        Standard deviation of the white noise in mV.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray of shape (n_records, n_leads, n_samples), float32
        Signals in mV, ``n_samples = round(seconds * sampling_rate)``.
    y : ndarray of shape (n_records,), int64
        Labels in ``range(n_classes)``, balanced: class counts differ by at
        most one. Records come in random order.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecg
    >>> X, y = make_synthetic_ecg(n_records=6, n_classes=3, random_state=0)
    >>> X.shape, X.dtype
    ((6, 12, 1000), dtype('float32'))
    >>> sorted(y.tolist())
    [0, 0, 1, 1, 2, 2]
    """
    n_records = check_positive_int(n_records, name="n_records")
    n_leads = check_positive_int(n_leads, name="n_leads")
    fs = check_sampling_rate(sampling_rate, name="sampling_rate")
    if fs < 50:
        raise ValueError(
            f"sampling_rate must be at least 50 Hz to represent the QRS complex, "
            f"got {sampling_rate!r}."
        )
    if (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real)
            or not np.isfinite(seconds) or seconds <= 0):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}.")
    n_samples = int(round(seconds * fs))
    if n_samples < 1:
        raise ValueError(
            f"seconds={seconds!r} at sampling_rate={sampling_rate!r} gives no sample."
        )
    n_max = len(SYNTHETIC_CLASSES)
    if (isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral)
            or not 1 <= n_classes <= n_max):
        raise ValueError(f"n_classes must be an integer from 1 to {n_max}, got {n_classes!r}.")
    if n_records < n_classes:
        raise ValueError(
            f"n_records={n_records} is smaller than n_classes={n_classes}; "
            "every class needs at least one record."
        )
    if (isinstance(noise, bool) or not isinstance(noise, numbers.Real)
            or not np.isfinite(noise) or noise < 0):
        raise ValueError(f"noise must be a non-negative number of mV, got {noise!r}.")

    from sklearn.utils import check_random_state  # not at import: the download's --help

    rng = check_random_state(random_state)
    lead_axes = _standard_lead_axes()[:n_leads]
    if n_leads > len(lead_axes):
        extra = rng.normal(size=(n_leads - len(lead_axes), 3))
        lead_axes = np.vstack([lead_axes, extra / np.linalg.norm(extra, axis=1,
                                                                 keepdims=True)])
    y = rng.permutation(np.arange(n_records) % n_classes).astype(np.int64)
    X = np.empty((n_records, n_leads, n_samples), dtype=np.float32)
    for i, label in enumerate(y):
        X[i] = _record(rng, int(label), lead_axes, fs, n_samples)
    if noise > 0:
        X += rng.normal(0, noise, size=X.shape).astype(np.float32)
    return X, y
