"""ECG records drawn as on paper: the clinical 12-lead grid, and relevance overlaid per lead."""

import math
import numbers

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from .._validation import check_sampling_rate
from ..preprocessing._signal import STANDARD_LEADS  # one tuple, read by the loader too

__all__ = ["plot_ecg", "plot_relevance", "STANDARD_LEADS", "CLINICAL_LAYOUT"]

#: Leads of the 3 x 4 grid of a clinical print-out, row by row; column ``c``
#: shows seconds ``[c * T / 4, (c + 1) * T / 4)`` of its leads.
CLINICAL_LAYOUT = (("I", "aVR", "V1", "V4"),
                   ("II", "aVL", "V2", "V5"),
                   ("III", "aVF", "V3", "V6"))

_MM_PER_S = 25.0    # paper speed
_MM_PER_MV = 10.0   # gain
_MINOR = "#f7c6c6"  # 1 mm lines
_MAJOR = "#ee8f8f"  # 5 mm lines


def _check_record(signal, lead_names, sampling_rate, name="signal"):
    signal = np.asarray(signal, dtype=float)
    if signal.ndim == 1:
        signal = signal[None]
    if signal.ndim != 2 or signal.shape[1] < 2:
        raise ValueError(f"{name} must be one record of shape (leads, samples), got shape "
                         f"{signal.shape}.")
    if lead_names is None and signal.shape[0] > signal.shape[1]:
        # wfdb.rdsamp gives (samples, leads): read as 5,000 leads of 12 samples, the
        # figure was thousands of inches tall and saving it ran out of memory.
        raise ValueError(f"{name} has shape {signal.shape}: more leads than samples. Is it "
                         "(samples, leads), as wfdb.rdsamp gives it? Pass its transpose "
                         "(signal.T), or lead_names for that many leads.")
    if not np.isfinite(signal).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    if lead_names is None:
        lead_names = (list(STANDARD_LEADS) if len(signal) == 12
                      else [f"lead {i + 1}" for i in range(len(signal))])
    lead_names = [str(n) for n in lead_names]
    if len(lead_names) != len(signal):
        raise ValueError(f"lead_names names {len(lead_names)} leads but {name} has "
                         f"{len(signal)}.")
    # A string raised TypeError at '>', and an infinite rate drew every sample at 0 s.
    return signal, lead_names, check_sampling_rate(sampling_rate)


def _locator(step):
    locator = MultipleLocator(step)
    # A 1 mm line every 0.04 s is 1,500 of them on a 60 s CinC record: past matplotlib's
    # limit of 1,000 ticks, it warned on every draw.
    locator.MAXTICKS = 100_000
    return locator


def _paper_grid(ax):
    """Pink millimetre paper: 1 mm (0.04 s, 0.1 mV) and 5 mm (0.2 s, 0.5 mV) lines."""
    ax.xaxis.set_major_locator(_locator(0.2))
    ax.xaxis.set_minor_locator(_locator(0.04))
    ax.yaxis.set_major_locator(_locator(0.5))
    ax.yaxis.set_minor_locator(_locator(0.1))
    ax.grid(which="minor", color=_MINOR, linewidth=0.4)
    ax.grid(which="major", color=_MAJOR, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(which="both", length=0, labelsize=7)
    # Label whole seconds only; the other major lines stay unlabelled.
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda v, _: f"{v:.0f}" if abs(v - round(v)) < 1e-6 else ""))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: ""))
    for spine in ax.spines.values():
        spine.set_color(_MAJOR)


def _calibration_pulse(ax, x0, baseline):
    """The 1 mV, 0.2 s reference pulse at the start of a row."""
    ax.plot([x0, x0 + 0.04, x0 + 0.04, x0 + 0.16, x0 + 0.16, x0 + 0.2],
            [baseline, baseline, baseline + 1, baseline + 1, baseline, baseline],
            color="black", linewidth=0.9, gid="calibration")


def plot_ecg(signal, sampling_rate, lead_names=None, *, rhythm_lead="II", row_height=3.0,
             title=None, dpi=100):
    """Draw one record as a clinical ECG print-out on millimetre paper.

    A 12-lead record with the standard leads (matched by name, case-insensitive,
    in any order) is drawn in the usual grid: 3 rows × 4 columns of 2.5 s
    for a 10 s record (:data:`CLINICAL_LAYOUT`: column ``c`` shows the
    ``c``-th quarter of the recording time of its three leads) and a rhythm
    strip of ``rhythm_lead`` over the whole record below. Other records
    (1, 2, 15 leads, other names) get one full-length strip per lead. The
    scale is the clinical one when the figure is printed at 100 %: 25 mm/s
    and 10 mm/mV, on 1 mm / 5 mm pink grid lines, with a 1 mV calibration
    pulse before the start of each row (at -0.3 s).

    The figure has one axes, in seconds (x) and mV (y); row ``r`` (from the
    top, 0-based) has its baseline at ``-r * row_height`` mV, so a lead's
    line holds ``signal + baseline``; each line's label is its lead name.

    Parameters
    ----------
    signal : array-like of shape (leads, samples)
        One record in mV.
    sampling_rate : float
        Hz.
    lead_names : list of str or None
        Names of the leads; the 12 standard leads in PTB-XL's order when
        None and there are 12, else ``"lead 1"``, ...
    rhythm_lead : str or None, default="II"
        Lead of the rhythm strip of the 12-lead layout; None leaves it out.
    row_height : float, default=3.0
        mV between row baselines (30 mm).
    title : str or None
        Figure title, above the paper.
    dpi : int, default=100
        Resolution of the figure in dots per inch; its size in inches, and so
        the clinical scale (25 mm/s, 10 mm/mV), does not depend on it.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.plots import plot_ecg
    >>> fig = plot_ecg(np.zeros((12, 1000)), sampling_rate=100)
    >>> [line.get_label() for line in fig.axes[0].lines if line.get_gid() == "lead"][:4]
    ['I', 'aVR', 'V1', 'V4']
    """
    signal, lead_names, fs = _check_record(signal, lead_names, sampling_rate)
    if (isinstance(row_height, bool) or not isinstance(row_height, numbers.Real)
            or not math.isfinite(row_height) or row_height <= 0):
        raise ValueError(f"row_height must be a positive number of mV, got {row_height!r}.")
    n = signal.shape[1]
    duration = n / fs
    t = np.arange(n) / fs
    lookup = {name.lower(): i for i, name in enumerate(lead_names)}
    clinical = len(signal) == 12 and all(lead.lower() in lookup for lead in STANDARD_LEADS)
    # (lead index, first sample, last sample, row) of every segment drawn.
    segments = []
    if clinical:
        edges = np.linspace(0, n, 5).round().astype(int)
        for r, row in enumerate(CLINICAL_LAYOUT):
            for c, lead in enumerate(row):
                segments.append((lookup[lead.lower()], edges[c], edges[c + 1], r))
        n_rows = 3
        if rhythm_lead is not None:
            if not isinstance(rhythm_lead, str) or rhythm_lead.lower() not in lookup:
                raise ValueError(f"rhythm_lead={rhythm_lead!r} is not a lead of the record "
                                 f"({lead_names}).")
            segments.append((lookup[rhythm_lead.lower()], 0, n, 3))
            n_rows = 4
    else:
        segments = [(i, 0, n, i) for i in range(len(signal))]
        n_rows = len(signal)

    margin_l, margin_r, margin_b, margin_t = 14.0, 6.0, 12.0, (10.0 if title else 4.0)
    lead_in = 0.4  # seconds of paper before the record, for the calibration pulses
    width_mm = (duration + lead_in) * _MM_PER_S
    height_mm = n_rows * row_height * _MM_PER_MV
    fig_w, fig_h = width_mm + margin_l + margin_r, height_mm + margin_b + margin_t
    fig = Figure(figsize=(fig_w / 25.4, fig_h / 25.4), dpi=dpi)
    ax = fig.add_axes((margin_l / fig_w, margin_b / fig_h, width_mm / fig_w, height_mm / fig_h))
    _paper_grid(ax)
    top = 0.6 * row_height
    ax.set_xlim(-lead_in, duration)
    ax.set_ylim(top - n_rows * row_height, top)
    for lead, start, stop, row in segments:
        baseline = -row * row_height
        ax.plot(t[start:stop], signal[lead, start:stop] + baseline, color="black",
                linewidth=0.7, label=lead_names[lead], gid="lead")
        ax.text(t[start] + 0.05, baseline + 0.35 * row_height,
                lead_names[lead], fontsize=8, fontweight="bold", va="center")
    for row in range(n_rows):
        _calibration_pulse(ax, -0.3, -row * row_height)
    ax.set_xlabel(f"Time (s) — {_MM_PER_S:g} mm/s")
    ax.set_ylabel(f"mV — {_MM_PER_MV:g} mm/mV")
    if title:
        fig.suptitle(title, y=1 - 2.0 / fig_h)
    return fig


#: Columns of a relevance band at most: fewer than the pixels of its axes at 100 dpi.
_BAND_COLUMNS = 800


def plot_relevance(signal, relevance, sampling_rate=None, lead_names=None, *, title=None,
                   cmap="Reds", vmax=None, label="relevance"):
    """Draw a record with a relevance map behind it, one panel per lead.

    Each lead gets its own panel (shared time axis): the signal as a black
    line, and its relevance as a coloured band behind it (an image of one
    row, darker where the relevance is higher). All panels share one colour
    scale, from 0 to ``vmax``, so leads compare. A record of more than 800
    samples is drawn in 800 columns or fewer, each the largest relevance of
    its samples, so that a peak of one sample still shows.

    Parameters
    ----------
    signal : array-like of shape (leads, samples)
        One record (mV, or the network's input scale).
    relevance : array-like of shape (leads, samples)
        Non-negative relevance (saliency, Grad-CAM, permutation importance).
        Negative values are drawn as 0.
    sampling_rate : float or None
        Hz; the x axis is in seconds. None draws sample indices.
    lead_names : list of str or None
        As :func:`plot_ecg`.
    title : str or None
        Figure title.
    cmap : str, default="Reds"
        Matplotlib colormap of the relevance bands and the colour bar.
    vmax : float or None
        Top of the colour scale; the largest relevance when None.
    label : str, default="relevance"
        Colour bar label.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[:leads]`` are the lead panels (the lead's name labels the
        y axis; the signal's line over the relevance image); the last axes
        is the colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.plots import plot_relevance
    >>> x = np.zeros((2, 500)); rel = np.zeros((2, 500)); rel[1, 100:150] = 1
    >>> fig = plot_relevance(x, rel, sampling_rate=100, lead_names=["I", "II"])
    >>> [ax.get_ylabel() for ax in fig.axes[:2]]
    ['I', 'II']
    """
    signal, lead_names, fs = _check_record(signal, lead_names,
                                           1.0 if sampling_rate is None else sampling_rate)
    relevance = np.asarray(relevance, dtype=float)
    if relevance.ndim == 1:
        relevance = relevance[None]
    if relevance.shape != signal.shape:
        raise ValueError(f"relevance has shape {relevance.shape} but signal has shape "
                         f"{signal.shape}; they must match.")
    if not np.isfinite(relevance).all():
        raise ValueError("relevance holds NaN or infinite values.")
    relevance = np.clip(relevance, 0, None)
    top = float(relevance.max()) if vmax is None else float(vmax)
    top = top if top > 0 else 1.0
    n_leads, n = signal.shape
    t = np.arange(n) / fs
    end = n / fs
    fig = Figure(figsize=(11, max(2.5, 0.75 * n_leads + 1.0)), layout="constrained")
    axes = fig.subplots(n_leads, 1, sharex=True, squeeze=False)[:, 0]
    # At most _BAND_COLUMNS columns, each the largest relevance of its samples: with one
    # column per sample, more samples than the band has pixels drew only some of them, and
    # a one-sample saliency peak could vanish.
    block = -(-n // _BAND_COLUMNS)
    columns = -(-n // block)
    bands = np.zeros((n_leads, columns * block))
    bands[:, :n] = relevance
    bands = bands.reshape(n_leads, columns, block).max(axis=2)
    image = None
    for ax, lead, rel, name in zip(axes, signal, bands, lead_names):
        low, high = float(lead.min()), float(lead.max())
        pad = 0.1 * (high - low) if high > low else 0.5
        image = ax.imshow(rel[None, :], aspect="auto", cmap=cmap, vmin=0, vmax=top,
                          extent=(0, columns * block / fs, low - pad, high + pad),
                          interpolation="nearest", origin="lower")
        ax.plot(t, lead, color="black", linewidth=0.6)
        ax.set_ylim(low - pad, high + pad)
        ax.set_xlim(0, end)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("Time (s)" if sampling_rate is not None else "Sample")
    fig.colorbar(image, ax=list(axes), label=label, fraction=0.02, pad=0.01)
    if title:
        fig.suptitle(title)
    return fig
