"""Signal conditioning transformers: length, rate, filters, leads, derivatives.

Every transformer here takes float32 signals of shape ``(n_records, n_leads,
n_samples)`` (2-D input is read as single-lead records), validates them with
:func:`ecgsk._validation.check_signal_input` and returns a float32 3-D array.
Filters are built with :mod:`scipy.signal` and applied forward and backward
(zero phase), so they do not shift the waves in time.
"""

import numbers
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
from scipy import ndimage, signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_bool,
    check_lead_names,
    check_positive_int,
    check_sampling_rate,
    check_seed,
    check_signal_input,
    fitting_anew,
)
from ._output import SignalOutputMixin

__all__ = [
    "PadTruncate",
    "Resample",
    "BaselineRemoval",
    "BandpassFilter",
    "LeadSelector",
    "Derivatives",
    "STANDARD_LEADS",
]

#: Names of the standard 12 leads, in the usual order.
STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF",
                  "V1", "V2", "V3", "V4", "V5", "V6")


class _SignalTransformer(SignalOutputMixin, TransformerMixin, BaseEstimator):
    """Common input handling for transformers on ``(n, leads, samples)`` arrays.

    Subclasses validate their parameters in ``_check_params`` (called by
    :meth:`fit`), may store more fitted attributes in ``_fit`` and implement
    ``_transform`` on a validated float32 3-D array.  Fitting records
    ``n_leads_in_``, the number of leads seen in ``fit``; :meth:`transform`
    requires as many.
    """

    def fit(self, X, y=None):
        """Fit the transformer: validate the parameters and learn from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Training signals; 2-D input is read as single-lead records.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        with fitting_anew(self):  # a failed fit leaves none of its attributes
            self._check_params()
            X = check_signal_input(X)
            self.n_leads_in_ = X.shape[1]
            self._fit(X)
        return self

    def transform(self, X):
        """Transform the signals.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples)
            Signals; 2-D input is read as single-lead records.

        Returns
        -------
        Xt : ndarray of float32
            The transformed signals, always 3-D; the class docstring gives
            the output shape.
        """
        check_is_fitted(self)
        X = check_signal_input(X, min_samples=self._min_samples())
        self._check_n_leads(X)
        return self._transform(X)

    # -- hooks for subclasses ----------------------------------------------
    def _check_params(self):
        pass

    def _fit(self, X):
        pass

    def _min_samples(self):
        return 1

    def _check_n_leads(self, X):
        if X.shape[1] != self.n_leads_in_:
            raise ValueError(
                f"X has {X.shape[1]} lead(s), but {type(self).__name__} was "
                f"fitted on {self.n_leads_in_} lead(s)."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _required_rate(value, name, owner):
    """Validate a sampling rate that has no safe default."""
    if value is None:
        raise ValueError(
            f"{owner} needs {name} (in Hz), got None. It has no default "
            "because a wrong rate would silently give a wrong result."
        )
    return check_sampling_rate(value, name=name)


def _check_real(value, name, *, low=None, high=None, low_inclusive=False):
    """Validate a finite real parameter, optionally ``low < value < high``."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if low is not None and (value < low if low_inclusive else value <= low):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value!r}.")
    if high is not None and value >= high:
        raise ValueError(f"{name} must be < {high}, got {value!r}.")
    return float(value)


def _check_low_edge(value, name, fs):
    """Refuse a low cutoff so far below Nyquist that the filter's start-up state is singular.

    Below a millionth of the Nyquist frequency, :func:`scipy.signal.sosfiltfilt`
    raised numpy's LinAlgError ("Singular matrix") or started from wrong states.
    """
    floor = 1e-6 * fs / 2
    if value < floor:
        raise ValueError(
            f"{name}={value!r} Hz is too low for sampling_rate={fs:g} Hz: a Butterworth "
            f"filter below {floor:.3g} Hz (a millionth of the Nyquist frequency) is "
            "numerically singular; raise it, or leave the filter out.")


def _sosfiltfilt(sos, X):
    """Zero-phase ``sosfiltfilt`` along time, safe for very short records.

    scipy pads each end by ``3 * (2 * n_sections + 1 - ...)`` samples; records
    not longer than that are padded by ``n_samples - 1`` samples instead.
    """
    sos = np.array(sos)  # a writable copy: scipy rejects read-only sections
    n_samples = X.shape[-1]
    zeros = min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
    padlen = min(3 * (2 * len(sos) + 1 - zeros), n_samples - 1)
    return signal.sosfiltfilt(sos, X, axis=-1, padlen=padlen).astype(np.float32)


class PadTruncate(_SignalTransformer):
    """Pad or crop every record to a fixed number of samples.

    Records shorter than ``length`` are padded at the end with
    ``pad_value``; longer ones are cropped. Records of different lengths
    (CinC 2017's are 9 to 61 s) may come as a list, or a 1-D object array,
    of ``(n_leads, n_samples)`` arrays (``(n_samples,)`` for one lead): each
    is padded or cropped alone, and the output is one array.

    Parameters
    ----------
    length : int
        Number of samples of every output record. Required.
    crop : {"center", "left", "random"}, default="center"
        Which part of a longer record is kept: the middle, the beginning, or
        a random window. ``"random"`` is a training-time augmentation: only
        :meth:`fit_transform` (what a :class:`~sklearn.pipeline.Pipeline`
        calls while fitting) draws random windows; :meth:`transform` always
        crops the center, so predictions are deterministic.
    pad_value : float, default=0.0
        Value appended to records shorter than ``length``.
    random_state : int, RandomState instance or None, default=None
        Seeds the random windows of ``crop="random"``.

    Attributes
    ----------
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import PadTruncate
    >>> X = np.arange(10, dtype=np.float32).reshape(2, 5)
    >>> PadTruncate(length=3).fit_transform(X)[:, 0]
    array([[1., 2., 3.],
           [6., 7., 8.]], dtype=float32)
    >>> PadTruncate(length=7, pad_value=-1).fit_transform(X)[0, 0]
    array([ 0.,  1.,  2.,  3.,  4., -1., -1.], dtype=float32)
    >>> records = [np.ones((2, 4)), np.arange(8.0).reshape(2, 4).repeat(2, axis=1)]
    >>> PadTruncate(length=6).fit_transform(records)[:, 0]
    array([[1., 1., 1., 1., 0., 0.],
           [0., 1., 1., 2., 2., 3.]], dtype=float32)
    """

    _CROPS = ("center", "left", "random")

    def __init__(self, length=None, crop="center", pad_value=0.0, random_state=None):
        self.length = length
        self.crop = crop
        self.pad_value = pad_value
        self.random_state = random_state

    def _check_params(self):
        if self.length is None:
            raise ValueError("PadTruncate needs length (number of output samples), got None.")
        check_positive_int(self.length, name="length")
        if self.crop not in self._CROPS:
            raise ValueError(f"crop must be one of {self._CROPS}, got {self.crop!r}.")
        if abs(_check_real(self.pad_value, "pad_value")) > float(np.finfo(np.float32).max):
            raise ValueError(f"pad_value must fit in float32 (the output's type), "
                             f"got {self.pad_value!r}.")
        check_seed(self.random_state)

    def fit(self, X, y=None):
        """Fit the transformer: validate the parameters and learn the lead count.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples), \
                or list of arrays of shape (n_leads, n_samples_i)
            Training signals; records of different lengths as a list.
        y : None
            Ignored.

        Returns
        -------
        self : PadTruncate
        """
        self._check_params()
        return super().fit(self._one_length(X))

    def transform(self, X):
        """Pad or crop the signals (the center of a longer record, or its start).

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples), \
                or list of arrays of shape (n_leads, n_samples_i)
            Signals; records of different lengths as a list.

        Returns
        -------
        Xt : ndarray of shape (n_records, n_leads, length), float32
        """
        check_is_fitted(self)
        self._check_params()
        return super().transform(self._one_length(X))

    def _one_length(self, X, rng=None):
        """Records of different lengths, each padded or cropped alone; other input as given.

        ``rng`` draws the windows of ``crop="random"``; without it a longer
        record keeps its start (``crop="left"``) or its center.
        """
        if isinstance(X, np.ndarray) and (X.dtype != object or X.ndim != 1):
            return X
        if not isinstance(X, (list, tuple, np.ndarray)):
            return X
        if not isinstance(X, np.ndarray):  # a list: ragged when its records' shapes differ
            try:
                one_shape = len({np.shape(record) for record in X}) <= 1
            except ValueError:  # a record that is itself ragged
                one_shape = False
            if one_shape:
                return X  # one length: the usual checks and messages
        records = []
        for i, record in enumerate(X):
            try:
                record = np.asarray(record, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"X[{i}] is not an array of numbers: {exc}") from None
            record = record[None] if record.ndim == 1 else record
            if record.ndim != 2 or 0 in record.shape:
                raise ValueError(f"X[{i}] has shape {np.shape(X[i])}: each record of a list "
                                 "must be (n_leads, n_samples), or (n_samples,) for one lead.")
            records.append(record)
        leads = sorted({record.shape[0] for record in records})
        if len(leads) > 1:
            first = {n: next(i for i, r in enumerate(records) if r.shape[0] == n)
                     for n in leads[:2]}
            raise ValueError(
                f"X's records differ in lead count: X[{first[leads[0]]}] has {leads[0]}, "
                f"X[{first[leads[1]]}] {leads[1]}; PadTruncate brings records to one length, "
                "not to one lead count (LeadSelector, or WFDBLoader(leads=...)).")
        out = np.empty((len(records), leads[0], self.length), dtype=np.float32)
        for i, record in enumerate(records):  # each by _transform, as a batch of one
            n = record.shape[1]
            starts = (np.array([rng.randint(0, n - self.length + 1)])
                      if rng is not None and n > self.length else None)
            out[i] = self._transform(record[None], starts=starts)[0]
        return out

    def _transform(self, X, starts=None):
        n, n_leads, n_samples = X.shape
        length = self.length
        if n_samples >= length:
            if starts is None:
                start = 0 if self.crop == "left" else (n_samples - length) // 2
                # A copy even when nothing is cut: never the caller's own array.
                return X[:, :, start:start + length].copy()
            idx = starts[:, None] + np.arange(length)
            return np.take_along_axis(X, idx[:, None, :], axis=2)
        out = np.full((n, n_leads, length), self.pad_value, dtype=np.float32)
        out[:, :, :n_samples] = X
        return out

    def fit_transform(self, X, y=None):
        """Fit, then pad or crop; random windows when ``crop="random"``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_leads, n_samples) or (n_records, n_samples), \
                or list of arrays of shape (n_leads, n_samples_i)
            Training signals; records of different lengths as a list.
        y : None
            Ignored.

        Returns
        -------
        Xt : ndarray of shape (n_records, n_leads, length), float32
            Padded or cropped signals.
        """
        self._check_params()
        random = self.crop == "random"
        X = self._one_length(X, rng=check_seed(self.random_state) if random else None)
        self.fit(X)
        X = check_signal_input(X)
        if self.crop != "random" or X.shape[2] <= self.length:
            return self._transform(X)
        rng = check_seed(self.random_state)
        starts = rng.randint(0, X.shape[2] - self.length + 1, size=X.shape[0])
        return self._transform(X, starts=starts)


class Resample(_SignalTransformer):
    """Resample signals to another rate with a polyphase filter.

    Uses :func:`scipy.signal.resample_poly` (anti-aliasing FIR filter,
    Kaiser window) with the rational factor ``up_ / down_``, the fraction
    closest to ``rate / sampling_rate`` with a denominator of at most 1000
    (exact for the usual rates: 500 to 100 Hz is 1/5, 360 to 500 Hz is
    25/18). The output has ``ceil(n_samples * up_ / down_)`` samples. Each
    lead's trend is extended past its ends (``padtype="line"``), as
    :class:`WFDBLoader` does when it resamples: a lead that starts or ends
    off zero gets no filter ringing at its edges.

    Parameters
    ----------
    rate : float
        Target sampling rate in Hz. Required.
    sampling_rate : float
        Sampling rate of the input in Hz. Required.

    Attributes
    ----------
    up_ : int
        Upsampling factor.
    down_ : int
        Downsampling factor.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import Resample
    >>> X = np.zeros((2, 12, 5000), dtype=np.float32)
    >>> Resample(rate=100, sampling_rate=500).fit_transform(X).shape
    (2, 12, 1000)
    """

    def __init__(self, rate=None, sampling_rate=None):
        self.rate = rate
        self.sampling_rate = sampling_rate

    def _check_params(self):
        rate = _required_rate(self.rate, "rate", "Resample")
        fs = _required_rate(self.sampling_rate, "sampling_rate", "Resample")
        ratio = Fraction(rate / fs).limit_denominator(1000)
        if rate * 1000 < fs:  # 1/1000 is the smallest ratio the denominator can give
            raise ValueError(
                f"rate={self.rate!r} is too small relative to "
                f"sampling_rate={self.sampling_rate!r} (ratio below 1/1000)."
            )
        self.up_, self.down_ = ratio.numerator, ratio.denominator

    def _min_samples(self):
        # padtype="line" fits a line to each record: through one sample, it is NaN.
        return 1 if self.up_ == self.down_ else 2

    def _transform(self, X):
        if self.up_ == self.down_:
            return X.copy()
        return signal.resample_poly(X, self.up_, self.down_, axis=-1,
                                    padtype="line").astype(np.float32)


class BaselineRemoval(_SignalTransformer):
    """Remove baseline wander.

    Parameters
    ----------
    method : {"highpass", "median"}, default="highpass"
        ``"highpass"``: a 2nd-order Butterworth high-pass at ``cutoff`` Hz,
        applied forward and backward with :func:`scipy.signal.sosfiltfilt`
        (zero phase, effective 4th order). ``"median"``: the classic
        two-stage median filter; the baseline is the median of the median
        (windows ``window`` seconds long) and is subtracted from the signal.
    sampling_rate : float
        Sampling rate of the input in Hz. Required.
    cutoff : float, default=0.5
        High-pass cutoff in Hz (``method="highpass"`` only).
    window : tuple of two floats, default=(0.2, 0.6)
        Widths in seconds of the two median filters (``method="median"``
        only). The first (200 ms) removes the QRS complex and P waves, the
        second (600 ms) the T waves. Each is rounded to an odd number of
        samples, at least 3.

    Attributes
    ----------
    sos_ : ndarray of shape (n_sections, 6) or None
        High-pass filter sections; None for ``method="median"``.
    window_samples_ : tuple of int or None
        Median window widths in samples; None for ``method="highpass"``.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Notes
    -----
    Records no longer than the filter's edge padding (a few dozen samples)
    are padded by ``n_samples - 1`` samples, the most scipy allows.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import BaselineRemoval
    >>> t = np.arange(1000) / 100
    >>> X = (np.sin(2 * np.pi * 10 * t) + 1.0 + 0.5 * t)[None]  # 10 Hz + drift
    >>> Xt = BaselineRemoval(sampling_rate=100).fit_transform(X)
    >>> bool(abs(Xt[0, 0, 200:800].mean()) < 0.01)
    True
    """

    def __init__(self, method="highpass", sampling_rate=None, cutoff=0.5,
                 window=(0.2, 0.6)):
        self.method = method
        self.sampling_rate = sampling_rate
        self.cutoff = cutoff
        self.window = window

    def _check_params(self):
        if self.method not in ("highpass", "median"):
            raise ValueError(
                f"method must be 'highpass' or 'median', got {self.method!r}."
            )
        fs = _required_rate(self.sampling_rate, "sampling_rate", "BaselineRemoval")
        self.sos_ = None
        self.window_samples_ = None
        if self.method == "highpass":
            _check_low_edge(_check_real(self.cutoff, "cutoff", low=0, high=fs / 2), "cutoff",
                            fs)
            self.sos_ = signal.butter(2, self.cutoff, btype="highpass", fs=fs,
                                      output="sos")
        else:
            window = self.window
            if not isinstance(window, (tuple, list, np.ndarray)) or np.shape(window) != (2,):
                raise ValueError(
                    "window must be a pair of widths in seconds such as "
                    f"(0.2, 0.6), got {window!r}."
                )
            for w in window:
                _check_real(w, "window", low=0)
            samples = tuple(int(max(1, round(w * fs))) // 2 * 2 + 1 for w in window)
            if min(samples) < 3:  # both of 1 sample: the baseline is the signal, all 0 out
                raise ValueError(
                    f"window={tuple(float(w) for w in window)!r} s is shorter than 3 samples "
                    f"at sampling_rate={fs:g} Hz: a median over 1 sample leaves the signal "
                    "as it is (with both so, the output is all zeros); widen it (the default "
                    "is (0.2, 0.6)).")
            self.window_samples_ = samples

    def _transform(self, X):
        if self.method == "highpass":
            return _sosfiltfilt(self.sos_, X)
        w1, w2 = self.window_samples_
        baseline = ndimage.median_filter(X, size=(1, 1, w1), mode="reflect")
        baseline = ndimage.median_filter(baseline, size=(1, 1, w2), mode="reflect")
        return (X - baseline).astype(np.float32)


class BandpassFilter(_SignalTransformer):
    """Zero-phase Butterworth band-pass filter.

    The filter is designed with :func:`scipy.signal.butter` as second-order
    sections and applied forward and backward with
    :func:`scipy.signal.sosfiltfilt`, so the waves keep their timing.

    Parameters
    ----------
    low : float, default=0.5
        Lower cutoff in Hz.
    high : float, default=40.0
        Upper cutoff in Hz; must be below the Nyquist frequency
        ``sampling_rate / 2``.
    sampling_rate : float
        Sampling rate of the input in Hz. Required.
    order : int, default=4
        Butterworth order (of each edge; doubled by the forward-backward
        pass).

    Attributes
    ----------
    sos_ : ndarray of shape (n_sections, 6)
        Filter sections.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Notes
    -----
    Records no longer than the filter's edge padding (a few dozen samples)
    are padded by ``n_samples - 1`` samples, the most scipy allows.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import BandpassFilter
    >>> t = np.arange(5000) / 250
    >>> slow, hum = np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 60 * t)
    >>> Xt = BandpassFilter(sampling_rate=250).fit_transform((slow + hum)[None])
    >>> error = Xt[0, 0] - slow  # only the 10 Hz sine is left
    >>> bool(np.abs(error[1000:4000]).max() < 0.05)
    True
    """

    def __init__(self, low=0.5, high=40.0, sampling_rate=None, order=4):
        self.low = low
        self.high = high
        self.sampling_rate = sampling_rate
        self.order = order

    def _check_params(self):
        fs = _required_rate(self.sampling_rate, "sampling_rate", "BandpassFilter")
        check_positive_int(self.order, name="order")
        low = _check_real(self.low, "low", low=0)
        high = _check_real(self.high, "high", low=0)
        if high >= fs / 2:
            raise ValueError(
                f"high={self.high!r} Hz must be below the Nyquist frequency "
                f"{fs / 2:g} Hz of sampling_rate={self.sampling_rate!r}."
            )
        if low >= high:
            raise ValueError(f"low={self.low!r} must be below high={self.high!r}.")
        _check_low_edge(low, "low", fs)
        self.sos_ = signal.butter(self.order, [low, high], btype="bandpass",
                                  fs=fs, output="sos")

    def _transform(self, X):
        return _sosfiltfilt(self.sos_, X)


class LeadSelector(_SignalTransformer):
    """Keep some leads, chosen by index or by name.

    Parameters
    ----------
    leads : int, str or sequence of int or str
        Leads to keep, in the output order. Names are matched to
        ``lead_names`` ignoring case. Required.
    lead_names : sequence of str, default=None
        Names of the input leads, in order. None means the standard 12
        leads ``I, II, III, aVR, aVL, aVF, V1, ..., V6``.

    Attributes
    ----------
    indices_ : ndarray of int
        Input lead index of each output lead.
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import LeadSelector
    >>> X = np.arange(12, dtype=np.float32).reshape(1, 12, 1)
    >>> selector = LeadSelector(leads=["ii", "V1"]).fit(X)
    >>> selector.indices_
    array([1, 6])
    >>> selector.transform(X)[0, :, 0]
    array([1., 6.], dtype=float32)
    """

    def __init__(self, leads=None, lead_names=None):
        self.leads = leads
        self.lead_names = lead_names

    def _fit(self, X):
        n_leads = X.shape[1]
        leads = self.leads
        if leads is None:
            raise ValueError("LeadSelector needs leads (indices or names), got None.")
        if isinstance(leads, (str, numbers.Integral)):
            leads = [leads]
        if isinstance(leads, (dict, set)) or not isinstance(leads, Iterable):
            raise ValueError(f"leads must be a lead index or name, or a sequence of them (in "
                             f"output order), got {leads!r}.")
        leads = list(leads)
        if not leads:
            raise ValueError("leads is empty: select at least one lead.")
        if self.lead_names is None:
            names = STANDARD_LEADS
        else:
            names = check_lead_names(self.lead_names)
            lower = [n.lower() for n in names]
            doubled = sorted({lead for lead in leads if isinstance(lead, str)
                              and lower.count(lead.lower()) > 1})
            if doubled:
                raise ValueError(f"lead_names holds {', '.join(doubled)} more than once, so "
                                 "selecting it by name is ambiguous; pass its index instead.")
            if len(names) != n_leads:
                raise ValueError(f"lead_names has {len(names)} names but X has {n_leads} "
                                 "lead(s); pass the names of X's leads as lead_names.")
        lookup = {str(name).lower(): i for i, name in enumerate(names)}
        indices = []
        for lead in leads:
            if isinstance(lead, str):
                if lead.lower() not in lookup:
                    raise ValueError(
                        f"leads: unknown lead name {lead!r}; available leads: "
                        f"{', '.join(map(str, names))}."
                    )
                if len(names) != n_leads:  # only the default names can differ here
                    raise ValueError(
                        f"leads selects {lead!r} by name, but without lead_names the names are the "
                        f"standard 12 ({', '.join(STANDARD_LEADS)}) and X has {n_leads} "
                        "lead(s); pass the names of X's leads as lead_names, or select "
                        "by index."
                    )
                indices.append(lookup[lead.lower()])
            elif isinstance(lead, numbers.Integral) and not isinstance(lead, bool):
                if not 0 <= lead < n_leads:
                    raise ValueError(
                        f"leads: lead index {lead} is out of range for X with "
                        f"{n_leads} lead(s) (indices 0 to {n_leads - 1})."
                    )
                indices.append(int(lead))
            else:
                raise ValueError(
                    f"leads must hold lead indices or names, got {lead!r}."
                )
        twice = [lead for lead, i in zip(leads, indices) if indices.count(i) > 1]
        if twice:
            raise ValueError(f"leads lists a lead twice: {twice} select lead index "
                             f"{indices[leads.index(twice[0])]} more than once.")
        self.indices_ = np.asarray(indices, dtype=np.intp)

    def _transform(self, X):
        self._check_n_leads(X)
        return np.ascontiguousarray(X[:, self.indices_, :])


class Derivatives(_SignalTransformer):
    """Add (or keep only) time derivatives of every lead.

    Derivatives are taken with :func:`numpy.gradient` along time, per sample
    interval (central differences inside, one-sided at the edges), so they
    are in signal units per sample; the second derivative is the gradient of
    the first.

    Output channels come in blocks of ``n_leads``: with ``append=True`` and
    ``order=2`` the output is ``[x, dx, d2x]``, i.e. channel
    ``k * n_leads + j`` is block ``k`` of input lead ``j``. With
    ``append=False`` the ``x`` block is left out.

    Parameters
    ----------
    order : {1, 2}, default=1
        Highest derivative order.
    append : bool, default=True
        Keep the input leads in front of the derivatives.

    Attributes
    ----------
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import Derivatives
    >>> X = np.array([[0.0, 1.0, 4.0, 9.0, 16.0]])  # t ** 2
    >>> Derivatives(order=2).fit_transform(X)[0]
    array([[ 0. ,  1. ,  4. ,  9. , 16. ],
           [ 1. ,  2. ,  4. ,  6. ,  7. ],
           [ 1. ,  1.5,  2. ,  1.5,  1. ]], dtype=float32)
    """

    def __init__(self, order=1, append=True):
        self.order = order
        self.append = append

    def _check_params(self):
        if isinstance(self.order, bool) or self.order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {self.order!r}.")
        check_bool(self.append, name="append")

    def _min_samples(self):
        return 2

    def _transform(self, X):
        blocks = [X] if self.append else []
        dx = np.gradient(X, axis=-1)
        blocks.append(dx)
        if self.order == 2:
            blocks.append(np.gradient(dx, axis=-1))
        return np.concatenate(blocks, axis=1).astype(np.float32, copy=False)


class RepeatPadding(_SignalTransformer):
    """Fill each record's trailing padding with repeats of the record.

    Records padded to one length (:class:`WFDBLoader` with ``length``, or
    :class:`PadTruncate`) end in a run of ``pad_value`` in every lead. A
    network trained on random crops (``crop_length`` of
    :class:`~ecgsk.neural.ECGNetClassifier`) then learns from crops of that
    run alone, labelled as the record, and its sliding windows over the run
    weigh in the record's prediction: a CinC 2017 record of 9 s padded to
    30 s is two thirds padding. This transformer finds, per record, the
    trailing samples where every lead equals ``pad_value``, and fills them
    with each lead repeated from its start (``np.tile`` cut to length). A
    record that is all ``pad_value``, or does not end in it, is
    left as it is. The output has the input's shape.

    Parameters
    ----------
    pad_value : float, default=0.0
        The value the records were padded with.

    Attributes
    ----------
    n_leads_in_ : int
        Number of leads seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.preprocessing import RepeatPadding
    >>> X = np.array([[1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0]])
    >>> RepeatPadding().fit_transform(X)[0]
    array([[1., 2., 3., 1., 2., 3., 1.]], dtype=float32)
    """

    def __init__(self, pad_value=0.0):
        self.pad_value = pad_value

    def _check_params(self):
        _check_real(self.pad_value, "pad_value")

    def _kept(self, X):
        """Samples of each record up to its last one that is not padding (0: all padding)."""
        n_samples = X.shape[2]
        live = (X != np.float32(self.pad_value)).any(axis=1)  # (records, samples)
        return np.where(live.any(axis=1), n_samples - np.argmax(live[:, ::-1], axis=1), 0)

    def _transform(self, X):
        n_samples = X.shape[2]
        kept = self._kept(X)
        padded = np.flatnonzero((kept > 0) & (kept < n_samples))
        out = np.array(X, dtype=np.float32, copy=True)
        for i in padded:
            out[i] = out[i][:, np.arange(n_samples) % kept[i]]
        return out
