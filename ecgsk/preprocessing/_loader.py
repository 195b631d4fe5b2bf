"""Read WFDB records from disk into ``(n_records, n_leads, n_samples)`` arrays.

:class:`WFDBLoader` is the entry point of most ecgsk pipelines: it turns the
record paths returned by the dataset readers (``load_ptbxl(...).X``) into
float32 signals in millivolts, with optional lead selection, resampling,
padding/cropping, parallel reading and an on-disk cache.

Reading is done by :func:`wfdb.rdrecord`. Its header parser is slow (a few
milliseconds per header, most of the time of a read), which is why the loader
offers ``n_jobs`` (process-parallel reading) and ``cache_dir`` (a cache of the
processed arrays that skips wfdb entirely on a hit).
"""

import hashlib
import json
import math
import numbers
import os
import sys
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._atomic import atomic_write
from .._lock import file_lock
from .._validation import check_bool, check_positive_int, check_sampling_rate
from ._output import SignalOutputMixin

__all__ = ["WFDBLoader"]

# Physical units accepted for ECG leads, as the factor that converts them to mV.
# Keys are lower-cased; WFDB headers spell microvolts "uV" (sometimes "µV").
_UNIT_TO_MV = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "µv": 1e-3,  # micro sign
    "μv": 1e-3,  # greek mu
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "nv": 1e-6,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}

# Extensions stripped from input paths: users often pass the header or data file.
_WFDB_EXTENSIONS = (".hea", ".dat", ".mat")

_CROPS = ("center", "left", "right")
_ON_ERROR = ("raise", "skip")

# Largest up/down factor accepted for resample_poly; beyond it the polyphase
# filter grows huge and the requested rate is almost surely a typo.
_MAX_RESAMPLE_FACTOR = 10_000

# Bumped whenever the content of cache entries changes meaning, or a record that was
# cached may now be refused (2: a data file larger than its header describes; 3: units
# written with a micro sign, which version 2 read as volts).
_CACHE_VERSION = 3


class _RecordError(ValueError):
    """A record could not be read; ``on_error="skip"`` catches exactly these.

    ``kind`` is the exception class shown to the user (``FileNotFoundError``
    for missing files, ``ValueError`` otherwise).
    """

    def __init__(self, message, kind=ValueError):
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):  # keep ``kind`` when sent back from a worker process
        return type(self), (str(self), self.kind)


@dataclass(frozen=True)
class _Options:
    """Validated loader parameters that change the output (and the cache key)."""

    leads: tuple | None
    sampling_rate: float | None
    length: int | None
    crop: str
    pad: bool

    def key(self):
        # Lead names match case-insensitively, so ["II"] and ["ii"] share entries.
        leads = None if self.leads is None else [
            lead.lower() if isinstance(lead, str) else lead for lead in self.leads]
        return [leads, self.sampling_rate, self.length, self.crop, self.pad]


def _strip_extension(path):
    root, ext = os.path.splitext(path)
    return root if ext.lower() in _WFDB_EXTENSIONS else path


def lead_names_of(sig_name):
    """The lead names of a header's ``sig_name``, ``"signal <i>"`` where it gives none.

    A WFDB header may leave a signal's description out; wfdb then reads its
    name as None.
    """
    return [f"signal {i}" if name is None else str(name) for i, name in enumerate(sig_name)]


def _resolve_leads(leads, sig_name, record):
    """Return the channel indices of ``leads`` in a record with ``sig_name``."""
    if leads is None:
        return list(range(len(sig_name)))
    lower = [str(name).lower() for name in sig_name]
    indices = []
    for lead in leads:
        if isinstance(lead, str):
            matches = [i for i, name in enumerate(lower) if name == lead.lower()]
            if not matches:
                raise _RecordError(
                    f"Record {record!r} has no lead named {lead!r}; its leads are "
                    f"{list(sig_name)}."
                )
            if len(matches) > 1:
                raise _RecordError(
                    f"Record {record!r} has {len(matches)} leads named {lead!r} "
                    f"(leads {list(sig_name)}); select them by index instead."
                )
            indices.append(matches[0])
        else:
            if lead >= len(sig_name):
                raise _RecordError(
                    f"Record {record!r} has {len(sig_name)} leads {list(sig_name)}; "
                    f"lead index {lead} is out of range."
                )
            indices.append(lead)
    twice = [lead for lead, i in zip(leads, indices) if indices.count(i) > 1]
    if twice:  # a name and an index of one lead ([1, "II"]) pass the check of the list
        raise _RecordError(
            f"Record {record!r}: leads {twice} all select its lead "
            f"{sig_name[indices[leads.index(twice[0])]]!r}; leads lists a lead twice.")
    return indices


def _unit_factor(unit, lead, record):
    # WFDB's default unit is mV: a header without units means millivolts.
    key = "mv" if unit is None or str(unit).strip() == "" else str(unit).strip().lower()
    try:
        return _UNIT_TO_MV[key]
    except KeyError:
        raise _RecordError(
            f"Record {record!r}, lead {lead!r}: unit {unit!r} is not a voltage, so it "
            "cannot be converted to mV; leave this lead out with leads=[...]."
        ) from None


def _resample_factors(fs, target, record):
    """Return integers (up, down) with ``target / fs == up / down``."""
    # Going through str() keeps decimal rates exact (Fraction(0.1) is not 1/10).
    ratio = Fraction(str(float(target))) / Fraction(str(float(fs)))
    up, down = ratio.numerator, ratio.denominator
    if max(up, down) > _MAX_RESAMPLE_FACTOR:
        raise _RecordError(
            f"Record {record!r}: cannot resample from {fs:g} Hz to {target:g} Hz, "
            f"the ratio {up}/{down} needs a polyphase filter that is too large; "
            "choose a sampling_rate with a simpler ratio to the native rate."
        )
    return up, down


def _fit_length(x, length, crop, pad, record):
    """Crop or zero-pad ``x`` (leads, samples) to ``length`` samples."""
    n = x.shape[1]
    if n > length:
        start = {"left": 0, "center": (n - length) // 2, "right": n - length}[crop]
        return x[:, start:start + length]
    if n < length:
        if not pad:
            raise _RecordError(
                f"Record {record!r} has {n} samples after resampling, fewer than "
                f"length={length}, and pad=False; use pad=True to zero-pad it."
            )
        out = np.zeros((x.shape[0], length), dtype=x.dtype)
        out[:, :n] = x
        return out
    return x


def _number(field):
    """The leading number of a header field (``"500/10(0)"``, ``"1000.0(0)/mV"``), or None."""
    head = field.split("/")[0].split("(")[0]
    try:
        value = float(head)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _check_header_fields(record, header, leads, fs=None):
    """Raise for fields that wfdb replaces by its defaults without a word; return the
    units (by signal index) of ``leads`` that wfdb cannot read, written with a micro sign.

    wfdb reads an unparsable or non-positive sampling frequency as 250 Hz,
    a rate written with an exponent (``1e3``, ``50e1``) as the digits before
    it, and an ADC gain of 0 (an uncalibrated signal) as 200 units per mV;
    the signals would come back at the wrong rate or scale. ``fs`` is the
    rate wfdb read, checked against the header's text where given. Reading
    the text adds about 1% to an uncached load of PTB-XL records
    (``bench/bench_loader.py``, row (g)), and a cache hit reads neither.
    """
    try:
        lines = _header_fields(header)
    except OSError:
        return {}  # wfdb has read it; nothing more to check
    if not lines:
        return {}
    first = lines[0]
    if len(first) >= 3:
        written = _number(first[2])
        if written is None or written <= 0:
            raise _RecordError(
                f"Record {record!r}: its header {header!r} gives the sampling frequency "
                f"{first[2]!r}; expected a positive number of Hz.")
        if fs is not None and not np.isclose(written, fs):
            raise _RecordError(
                f"Record {record!r}: its header {header!r} gives the sampling frequency "
                f"{first[2]!r} ({written:g} Hz), which wfdb reads as {fs:g} Hz; write it "
                f"without an exponent ({written:g}).")
    if "/" in first[0]:
        return {}  # a multi-segment record: its segments' headers are read by _segment_units
    uncalibrated = [(i, ln) for i, ln in enumerate(lines[1:]) if i in leads and len(ln) >= 3
                    and _number(ln[2]) == 0]
    if uncalibrated:
        names = ", ".join(repr(" ".join(ln[8:])) if len(ln) > 8 else f"signal {i}"
                          for i, ln in uncalibrated)
        raise _RecordError(
            f"Record {record!r}: lead(s) {names} have an ADC gain of 0 in {header!r}, "
            "that is, they are uncalibrated and cannot be given in physical units.")
    # wfdb reads headers as ASCII and drops what it cannot: "100/µV" came back as volts,
    # a signal a million times too large. Such units are taken from the text.
    units = {i: ln[2].partition("/")[2] for i, ln in enumerate(lines[1:])
             if i in leads and len(ln) >= 3}
    return {i: unit for i, unit in units.items() if not unit.isascii()}


def _lead_units(record, header, units, sig_name, indices, multi, fs=None):
    """The units of the leads ``indices`` of ``sig_name``, as the signals are in.

    wfdb's ``units``, but those it cannot read (a micro sign) taken from the
    header's text, and a multi-segment record's (``multi``) from its
    segments: wfdb gives it none, or one segment's. ``fs`` and the other
    header checks are :func:`_check_header_fields`'; raises ``_RecordError``.
    Shared by the loader and ``ecgsk.predict``'s plans.
    """
    written = _check_header_fields(record, header, set(indices), fs=fs)
    units = list(units or [None] * len(sig_name))
    for i, unit in written.items():
        units[i] = unit
    if multi:
        of_segments = _segment_units(record, header, {sig_name[i] for i in indices})
        units = [of_segments.get(name, unit) for name, unit in zip(sig_name, units)]
    return [units[i] for i in indices]


def _header_text(path):
    """A header's text: UTF-8 (a micro sign as "µ"), else Latin-1."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _header_fields(path):
    """The fields of each line of a header, comments and empty lines left out."""
    return [ln for ln in (raw.split("#")[0].split() for raw in _header_text(path).splitlines())
            if ln]


def _header_lines(path):
    """The fields of a header's lines after the record line, comments left out."""
    return _header_fields(path)[1:]


def _segment_units(record, header, leads):
    """The unit of each of ``leads`` (names) of a multi-segment record, from its segments.

    wfdb joins the segments' signals in each segment's own units under one
    unit per lead (the first segment's, or none when they differ), and reads
    a segment's ADC gain of 0 as 200 per mV. A lead whose segments disagree
    on its unit, or a segment that is uncalibrated, is refused: part of the
    record would come back at another scale.
    """
    directory = os.path.dirname(record)
    seen = {}  # lead name: (unit, segment)
    try:
        segments = [(ln[0], ln[1] if len(ln) > 1 else "") for ln in _header_lines(header)]
        for segment, length in segments:
            if segment == "~":  # a gap
                continue
            for ln in _header_lines(os.path.join(directory, segment + ".hea")):
                if len(ln) < 9 or " ".join(ln[8:]) not in leads:  # no gain: 200 per mV
                    continue
                name, field = " ".join(ln[8:]), ln[2]
                unit = field.split("/", 1)[1] if "/" in field else "mV"
                if _number(field) == 0 and length != "0":  # a layout segment holds no sample
                    raise _RecordError(
                        f"Record {record!r}: lead {name!r} has an ADC gain of 0 in segment "
                        f"{segment!r}, that is, it is uncalibrated and cannot be given in "
                        "physical units.")
                unit_was, where = seen.setdefault(name, (unit, segment))
                if unit_was.strip().lower() != unit.strip().lower():
                    raise _RecordError(
                        f"Record {record!r}: lead {name!r} is in {unit_was} in segment "
                        f"{where!r} but in {unit} in segment {segment!r}; wfdb joins the "
                        "segments without converting them.")
    except OSError:
        return {}  # wfdb has read them; nothing more to check
    return {name: unit for name, (unit, _) in seen.items()}


def _segment_files(record):
    """The headers and data files of a multi-segment record's segments, from its headers.

    wfdb merges the segments into one record that names no file, so the
    cache key would otherwise hang on the master header alone.
    """
    directory = os.path.dirname(record)
    files = []
    try:
        for segment in (line[0] for line in _header_lines(record + ".hea")):
            if segment == "~":  # a gap: no file
                continue
            header = os.path.join(directory, segment + ".hea")
            files += [header] + [os.path.join(directory, ln[0]) for ln in _header_lines(header)
                                 if ln[0] != "~"]  # a layout segment's signals have no file
    except OSError:
        return []  # no files known: the record is not cached
    return files


def _data_files(record, rec):
    """The files a record's signal was read from (its segments' for a multi-segment one)."""
    if rec.file_name:
        directory = os.path.dirname(record)
        return sorted({os.path.join(directory, f) for f in rec.file_name})
    return sorted(set(_segment_files(record)))


#: Bytes per sample of WFDB's uncompressed formats (212 packs 2 samples in 3 bytes, 310
#: and 311 pack 3 in 4).
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3}


def _check_data_sizes(record, rec, sizes):
    """Refuse a data file larger than the header's signals and samples take.

    wfdb reads what the header describes: a header that lists 6 of a file's
    12 signals reads the file in frames of 6, every "lead" interleaving two,
    and one that announces half the samples reads half the record. The
    truncated case fails in wfdb itself. Compressed formats (FLAC) and
    multi-segment records are not checked. ``sizes`` maps each data file's
    path to its size in bytes.
    """
    if not rec.file_name or not rec.sig_len:
        return
    directory = os.path.dirname(record)
    signals = {}
    for i, name in enumerate(rec.file_name):
        signals.setdefault(name, []).append(i)
    for name, index in signals.items():
        fmt = str(rec.fmt[index[0]])
        if fmt not in _BYTES_PER_SAMPLE:
            continue
        frame = sum((rec.samps_per_frame[i] if rec.samps_per_frame else 1) or 1 for i in index)
        offset = (rec.byte_offset[index[0]] if rec.byte_offset else 0) or 0
        need = offset + math.ceil(rec.sig_len * frame * _BYTES_PER_SAMPLE[fmt])
        # A block size pads the file to whole blocks (PhysioNet's wfdb2mat writes 8).
        block = (rec.block_size[index[0]] if rec.block_size else 0) or 0
        if block > 1:
            need = math.ceil(need / block) * block
        have = sizes.get(os.path.join(directory, name))
        if have is None:  # not stamped (gone since the read): nothing to compare
            continue
        if have > need + 3:  # 212, 310 and 311 may pad the last samples to a whole word
            raise _RecordError(
                f"Record {record!r}: its data file {name!r} holds {have} bytes, but the "
                f"header's {len(index)} signal(s) of {rec.sig_len} samples in format {fmt} "
                f"take {need}; the header does not describe the file (a signal line or "
                "the sample count is wrong), and wfdb would read it as other signals.")


def _header_meta(hea_stat, rec, files, n_samples):
    """Header facts kept in the cache index (valid while the header is unchanged)."""
    return {
        "hea": _stamp(hea_stat),
        "files": files,
        "fs": float(rec.fs),
        "sig_name": lead_names_of(rec.sig_name),
        "sig_len": int(n_samples),
    }


def _output_shape(meta, opts, record):
    """Shape ``(leads, samples)`` that :func:`_read_record` gives a record."""
    n_leads = len(_resolve_leads(opts.leads, meta["sig_name"], record))
    n = meta["sig_len"]
    if opts.sampling_rate is not None and opts.sampling_rate != meta["fs"]:
        up, down = _resample_factors(meta["fs"], opts.sampling_rate, record)
        n = -(-n * up // down)  # resample_poly returns ceil(n * up / down) samples
    if opts.length is not None:
        if n < opts.length and not opts.pad:
            raise _RecordError(f"Record {record!r} is too short.")
        n = opts.length
    return n_leads, n


def _read_record(record, opts):
    """Read and process one record; runs in joblib workers.

    Returns ``(signal, meta)`` with ``signal`` a float32 ``(leads, samples)``
    array, or ``(None, error)`` with a :class:`_RecordError` for a bad record
    (returned rather than raised so that ``on_error="skip"`` can collect it).
    """
    try:
        return _read_record_or_raise(record, opts)
    except _RecordError as exc:
        return None, exc


def _read_records(records, opts):
    """:func:`_read_record` over a chunk of records (one joblib task)."""
    return [_read_record(record, opts) for record in records]


def _read_record_or_raise(record, opts):
    import wfdb  # lazily: keep `import ecgsk` fast

    header = record + ".hea"
    try:
        hea_stat = os.stat(header)
    except OSError:
        raise _RecordError(
            f"Record {record!r}: header file {header!r} does not exist.",
            FileNotFoundError) from None
    try:
        rec = wfdb.rdrecord(record, physical=True)
    except FileNotFoundError as exc:
        missing = exc.filename or "a data file"
        raise _RecordError(
            f"Record {record!r}: data file {missing!r} named in its header does not "
            "exist.", FileNotFoundError) from None
    except Exception as exc:  # wfdb raises many types for corrupt files
        raise _RecordError(
            f"Record {record!r} could not be read by wfdb: the header {header!r} "
            f"or its data files are corrupt or truncated ({type(exc).__name__}: "
            f"{exc})."
        ) from None

    # The data files as read, stamped right after wfdb's read: the cache keeps the signal
    # only under these, so a file changed before the entry is stored is not cached under its
    # new state. (A change during the read itself is not seen.)
    files = _data_files(record, rec)
    try:
        stamps = [_stat(path) for path in files]
    except OSError:  # gone since: the signal is returned, not cached
        stamps = None
    signal = rec.p_signal
    if signal is None or rec.sig_name is None or rec.fs is None:
        raise _RecordError(f"Record {record!r} has no signals in its header {header!r}.")
    if signal.ndim != 2 or signal.shape[1] != len(rec.sig_name):
        raise _RecordError(
            f"Record {record!r}: wfdb returned signals of shape {signal.shape} for "
            f"{len(rec.sig_name)} leads; the data files do not match the header.")
    expected = rec.sig_len
    if expected and signal.shape[0] < expected:
        raise _RecordError(
            f"Record {record!r}: its data files hold {signal.shape[0]} samples but "
            f"the header announces {expected}; the data file is truncated.")
    if signal.shape[0] == 0:
        raise _RecordError(f"Record {record!r} holds no samples.")
    # The sizes of the stamps just taken: no second stat per file.
    _check_data_sizes(record, rec, dict(zip(files, (st[0] for st in stamps or ()))))

    sig_name = lead_names_of(rec.sig_name)
    indices = _resolve_leads(opts.leads, sig_name, record)
    units = _lead_units(record, header, rec.units, sig_name, indices,
                        multi=not rec.file_name, fs=rec.fs)
    names = [sig_name[i] for i in indices]
    x = np.array(signal[:, indices].T, dtype=np.float64)
    for row, (unit, name) in enumerate(zip(units, names)):
        factor = _unit_factor(unit, name, record)
        if factor != 1.0:
            x[row] *= factor
    bad = ~np.isfinite(x)
    if bad.any():
        counts = bad.sum(axis=1)
        where = ", ".join(f"{names[r]!r} ({counts[r]} samples, first at sample "
                          f"{int(np.argmax(bad[r]))})" for r in np.flatnonzero(counts))
        raise _RecordError(
            f"Record {record!r} has invalid (NaN) samples in lead(s) {where}; "
            "WFDB marks unrecorded samples this way.")

    fs = float(rec.fs)
    if opts.sampling_rate is not None and opts.sampling_rate != fs:
        from scipy.signal import resample_poly

        up, down = _resample_factors(fs, opts.sampling_rate, record)
        if x.shape[1] < 2:  # resample_poly's line padding gives NaN for one sample
            raise _RecordError(
                f"Record {record!r} holds 1 sample: too short to resample from {fs:g} to "
                f"{opts.sampling_rate:g} Hz.")
        if x.shape[1] * up < down:
            raise _RecordError(
                f"Record {record!r}: its {x.shape[1]} samples at {fs:g} Hz give no "
                f"sample at {opts.sampling_rate:g} Hz.")
        # padtype="line" extends each lead's trend past its ends, so a lead
        # that starts or ends off zero gets no filter ringing at the edges.
        x = resample_poly(x, up, down, axis=1, padtype="line")
    if opts.length is not None:
        x = _fit_length(x, opts.length, opts.crop, opts.pad, record)
    meta = _header_meta(hea_stat, rec, files, signal.shape[0])
    meta[_READ_STAMPS] = stamps
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(x, dtype=np.float32)
    huge = ~np.isfinite(out).all(axis=1)
    if huge.any():  # finite in float64, beyond float32's range (a gain of 1e-37, say)
        raise _RecordError(
            f"Record {record!r} has samples beyond float32's range (|x| > "
            f"{np.finfo(np.float32).max:.1e}) in lead(s) "
            f"{', '.join(repr(names[r]) for r in np.flatnonzero(huge))}; is the header's "
            "gain right?")
    return out, meta


class _RecordCache:
    """On-disk cache of processed records, one raw float32 file per record.

    Layout under ``cache_dir``::

        ecgsk-wfdb-v2/index.json           header facts per record path
        ecgsk-wfdb-v2/index.lock           held while the index is rewritten
        ecgsk-wfdb-v2/entries/ab/<sha256>.f32

    The name of an entry is a hash of the absolute record path, the loader
    options and the size, ``mtime_ns``, inode and change time of the header
    and of every data file (a multi-segment record's segment headers and files included), so
    a changed file changes the name and its old entry is no longer found. A
    signal is stored only if its files are still as they were just after
    wfdb read them. The index maps a record path to facts from its header (data file
    names, native rate, lead names, number of samples); it is trusted only
    while the header's stamp is unchanged, so a hit never parses a
    header. The output shape follows from these facts and the options, so an
    entry is stored as raw little-endian float32 and read with
    :func:`numpy.fromfile`, without the ``.npy`` header parsing that would
    dominate a warm load; its size is checked against the expected shape.
    Entries and the index are written to a temporary file and moved into
    place with :func:`os.replace`, so a crash never leaves a corrupt entry.
    """

    def __init__(self, cache_dir, opts):
        # "~/cache" as ecgsk.cache reads it, not a folder named "~" in the working one.
        self.root = os.path.join(os.path.expanduser(os.fspath(cache_dir)),
                                 f"ecgsk-wfdb-v{_CACHE_VERSION}")
        self.opts = opts
        self.index_path = os.path.join(self.root, "index.json")
        self.index = self._read_index()
        self.new = {}
        self.write_failed = False
        self.made_dirs = set()  # skip a mkdir syscall per entry

    def _read_index(self):
        try:
            with open(self.index_path, encoding="utf-8") as f:
                index = json.load(f)
        except (OSError, ValueError):
            return {}
        return index if isinstance(index, dict) else {}

    def _entry_path(self, record, meta):
        stamps = []
        for path in [record + ".hea", *meta["files"]]:
            stamps.append([path, *_stat(path)])
        key = json.dumps([record, self.opts.key(), stamps])
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self.root, "entries", digest[:2], digest + ".f32")

    def locate(self, record):
        """Return ``(entry_path, shape, meta)`` of a valid entry, else None.

        Only file metadata is read here; :meth:`read_into` reads the entry
        straight into the output array.
        """
        meta = self.index.get(record)
        # Not a dict (an index edited by hand, say): a miss, as a bad field is.
        if not isinstance(meta, dict) or not meta.get("files"):  # nothing keys the entry
            return None
        try:
            if _stat(record + ".hea") != meta["hea"]:
                return None
            shape = _output_shape(meta, self.opts, record)
            path = self._entry_path(record, meta)
            if os.path.getsize(path) != 4 * shape[0] * shape[1]:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no entry, changed file, or a stale index entry: a miss
        return path, shape, meta

    @staticmethod
    def read_into(path, out):
        """Fill the C-contiguous float32 array ``out`` from an entry; False if short."""
        try:
            with open(path, "rb") as f:
                complete = (f.readinto(memoryview(out).cast("B")) == out.nbytes
                            and not f.read(1))
        except OSError:
            return False
        if complete and sys.byteorder != "little":
            out.byteswap(inplace=True)
        return complete

    def store(self, record, signal, meta):
        """Write one entry atomically; a cache failure never fails the load.

        After a first failed write (read-only or full disk) the cache stops
        writing for this call, so it warns once rather than once per record.
        """
        read = meta.pop(_READ_STAMPS, None)
        if self.write_failed:
            return
        try:
            if _stat(record + ".hea") != meta["hea"]:
                return  # the header changed while it was read: do not cache
            if read is None or [_stat(f) for f in meta["files"]] != read:
                return  # so did a data file, or a segment's: do not cache
            path = self._entry_path(record, meta)
            folder = os.path.dirname(path)
            if folder not in self.made_dirs:
                os.makedirs(folder, exist_ok=True)
                self.made_dirs.add(folder)
            atomic_write(path, lambda f: signal.astype("<f4", copy=False).tofile(f))
        except OSError as exc:
            self.write_failed = True
            warnings.warn(f"WFDBLoader could not write its cache entry for "
                          f"{record!r}, so it stops writing to {self.root} in this "
                          f"call: {exc}", RuntimeWarning, stacklevel=4)
            return
        self.new[record] = meta

    def flush(self):
        """Merge new header facts into the on-disk index (atomic replace).

        The read, merge and move hold a lock on ``index.lock`` beside the
        index: two loaders flushing at once each merged into the index they
        had read, and the later move lost the other's records.
        """
        if not self.new:
            return
        try:
            os.makedirs(self.root, exist_ok=True)
            with file_lock(os.path.join(self.root, "index.lock")):
                index = self._read_index()  # another process may have added records
                index.update(self.new)
                data = json.dumps(index).encode("utf-8")
                atomic_write(self.index_path, lambda f: f.write(data))
        except OSError as exc:
            warnings.warn(f"WFDBLoader could not write its cache index: {exc}",
                          RuntimeWarning, stacklevel=4)
            index = {**self._read_index(), **self.new}
        self.index = index
        self.new = {}


#: Seconds between two writes of the cache index during a load (and one at its end).
_FLUSH_EVERY_S = 30.0

#: Key of the data files' stamps (:func:`_stat`) taken when a record was read (not indexed).
_READ_STAMPS = "read_stamps"


def _stat(path):
    """A file's stamp: a rewrite changes it even where size and mtime are kept.

    ``cp -p``, ``rsync -t`` and ``tar -x`` keep a file's mtime, and coarse
    file systems (FAT's 2 s) repeat it; no program sets the inode's change
    time, and a rewrite by rename gives another inode.
    """
    return _stamp(os.stat(path))


def _stamp(st):
    """:func:`_stat` of an ``os.stat`` result."""
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


def _header_reference(record, opts):
    """``(lead_names, rate)`` of the output from a record's header alone.

    ``(None, None)`` for a multi-segment header without one layout of
    signals: the first :meth:`WFDBLoader.transform` learns them instead.
    """
    import wfdb

    header = record + ".hea"
    if not os.path.isfile(header):
        raise _RecordError(f"Record {record!r}: header file {header!r} does not exist.",
                           FileNotFoundError)
    try:
        head = wfdb.rdheader(record)
    except Exception as exc:  # noqa: BLE001 -- wfdb raises many types for a corrupt header
        raise _RecordError(f"Record {record!r} could not be read by wfdb: the header "
                           f"{header!r} is corrupt ({type(exc).__name__}: {exc}).") from None
    if not head.sig_name or not head.fs:
        return None, None
    sig_name = lead_names_of(head.sig_name)
    names = [sig_name[i] for i in _resolve_leads(opts.leads, sig_name, record)]
    rate = opts.sampling_rate if opts.sampling_rate is not None else float(head.fs)
    return names, rate


class WFDBLoader(SignalOutputMixin, TransformerMixin, BaseEstimator):
    """Read WFDB records into float32 arrays in millivolts.

    ``transform`` reads the records named by its input, a 1-D array of record
    paths (``str`` or :class:`pathlib.Path`, with or without the ``.hea``,
    ``.dat`` or ``.mat`` extension), with :func:`wfdb.rdrecord`. Signals are
    converted to mV from the units in each header (mV, uV, V).

    ``fit(X)`` checks the parameters and reads the header of the first
    record of ``X`` (no signal): its leads (``lead_names_``) and, with
    ``sampling_rate=None``, its native rate (``sampling_rate_``). ``fit()``
    without records leaves them to the first ``transform``. Later calls, such
    as a fitted pipeline's ``predict`` on new records, check that their
    records match: with ``leads=None`` (all leads, in file
    order) a record listing the same leads in another order would otherwise
    be read into the wrong rows. Leads chosen with ``leads`` are not checked
    against the first call's names: the parameter says which channels to read.

    Parameters
    ----------
    leads : list of str or int, default=None
        Leads to keep, in this order: names (matched case-insensitively against
        the header's signal names) or 0-based channel indices. ``None`` keeps
        all leads, and then all records must have the same leads. Every record
        must have every requested lead.
    sampling_rate : float, default=None
        Output rate in Hz. ``None`` keeps the native rate, which all records
        must then share. Otherwise each record is resampled on load with
        :func:`scipy.signal.resample_poly` (anti-aliased polyphase filtering).
    length : int, default=None
        Number of samples per record after resampling. ``None`` requires all
        records to have the same length. Longer records are cropped (see
        ``crop``); shorter ones are zero-padded at the end, or rejected when
        ``pad=False``.
    crop : {"center", "left", "right"}, default="center"
        Which part of a record longer than ``length`` is kept: the middle, the
        first or the last ``length`` samples.
    pad : bool, default=True
        Zero-pad records shorter than ``length`` at the end. With ``False`` such
        a record is an error (or skipped with ``on_error="skip"``).
    n_jobs : int, default=1
        Number of joblib workers reading records, ``-1`` for all cores. They
        are processes (loky) unless a ``joblib.parallel_config(backend=...)``
        context says otherwise: wfdb's header parsing, most of the work,
        holds the GIL, so threads are no faster than one process. On 2 cores,
        2 processes read PTB-XL 1.6x faster than one once started, which
        takes a second or two per session (``bench/bench_loader.py``).
    cache_dir : str or path-like, default=None
        Folder of an on-disk cache of the processed records: one file per
        record and set of parameters that change the output (``leads``,
        ``sampling_rate``, ``length``, ``crop``, ``pad``). An entry is used
        only while the size and modification time of the record's header and
        data files are unchanged, and a hit skips wfdb entirely. Entries are
        written atomically, so an interrupted run leaves no corrupt entry.
        Entries of changed files are not deleted; delete the folder at any
        time to reclaim the space.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a record that cannot be read (missing or corrupt
        files, unknown lead, NaN samples, too short with ``pad=False``):
        raise, or leave it out, list it in ``skipped_`` and warn. Inconsistent
        records (different native rates with ``sampling_rate=None``, different
        lengths with ``length=None``, different leads with ``leads=None``)
        always raise, as they point to a wrong parameter rather than a bad file.
    progress : bool, default=False
        Show a tqdm progress bar while reading.

    Attributes
    ----------
    skipped_ : list of (str, str)
        Set by :meth:`transform`: the ``(path, reason)`` of each record left
        out with ``on_error="skip"``, in input order; empty when none was.
    loaded_index_ : ndarray of int
        Set by :meth:`transform`: positions in the input of the rows of the
        output, to align labels with ``y[loader.loaded_index_]``.
    lead_names_ : list of str
        Set by :meth:`fit` from its first record's header, else by the first
        :meth:`transform` after it: lead names of the output, as spelled in
        that record.
    sampling_rate_ : float
        Set with ``lead_names_``: sampling rate of the output in Hz.

    See Also
    --------
    ecgsk.datasets.load_ptbxl : Returns record paths for this loader.
    ecgsk.preprocessing.PadTruncate : Pad or crop arrays already in memory.
    ecgsk.preprocessing.Resample : Resample arrays already in memory.

    Notes
    -----
    Why not ``parametrize_with_checks``: the input is record paths, not a
    numeric matrix, so sklearn's generic checks (which feed random floats) do
    not apply; the tests check cloning, pickling and parameters explicitly.

    Examples
    --------
    >>> import os
    >>> import numpy as np
    >>> import wfdb
    >>> from tempfile import TemporaryDirectory
    >>> from ecgsk.preprocessing import WFDBLoader
    >>> tmp = TemporaryDirectory()
    >>> folder = tmp.name
    >>> t = np.arange(500) / 250
    >>> sig = np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)], axis=1)
    >>> wfdb.wrsamp("rec1", fs=250, units=["mV", "mV"], sig_name=["I", "II"],
    ...             p_signal=sig, fmt=["16", "16"], write_dir=folder)
    >>> loader = WFDBLoader(leads=["ii"], sampling_rate=125, length=200)
    >>> X = loader.fit_transform([os.path.join(folder, "rec1")])
    >>> X.shape, X.dtype
    ((1, 1, 200), dtype('float32'))
    >>> loader.lead_names_, loader.sampling_rate_
    (['II'], 125.0)
    >>> tmp.cleanup()
    """

    def __init__(self, leads=None, sampling_rate=None, length=None, crop="center",
                 pad=True, n_jobs=1, cache_dir=None, on_error="raise", progress=False):
        self.leads = leads
        self.sampling_rate = sampling_rate
        self.length = length
        self.crop = crop
        self.pad = pad
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.on_error = on_error
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags

    def _check_params(self):
        leads = self.leads
        if leads is not None:
            if isinstance(leads, (str, bytes)) or not hasattr(leads, "__iter__"):
                raise ValueError(
                    f"leads must be None or a list of lead names or indices, got "
                    f"{leads!r}; for one lead write leads=[{leads!r}].")
            leads = tuple(leads)
            if not leads:
                raise ValueError("leads is an empty list; use None to keep all leads.")
            for lead in leads:
                if isinstance(lead, str):
                    continue
                if (isinstance(lead, bool) or not isinstance(lead, numbers.Integral)
                        or lead < 0):
                    raise ValueError(
                        f"leads must hold lead names (str) or non-negative channel "
                        f"indices (int); got {lead!r} in {list(leads)}.")
            leads = tuple(lead if isinstance(lead, str) else int(lead) for lead in leads)
            keys = [lead.lower() if isinstance(lead, str) else lead for lead in leads]
            if len(set(keys)) != len(keys):
                raise ValueError(f"leads lists a lead twice: {list(leads)}.")
        rate = check_sampling_rate(self.sampling_rate, allow_none=True)
        length = check_positive_int(self.length, name="length", allow_none=True)
        if self.crop not in _CROPS:
            raise ValueError(f"crop must be one of {_CROPS}, got {self.crop!r}.")
        check_bool(self.pad, name="pad")
        if (isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, numbers.Integral)
                or self.n_jobs == 0):
            raise ValueError(
                f"n_jobs must be a non-zero integer (-1 for all cores), got {self.n_jobs!r}.")
        if self.cache_dir is not None and not isinstance(self.cache_dir, (str, os.PathLike)):
            raise ValueError(f"cache_dir must be None or a folder path, got {self.cache_dir!r}.")
        if self.on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, got {self.on_error!r}.")
        check_bool(self.progress, name="progress")
        return _Options(leads=leads, sampling_rate=rate, length=length,
                        crop=self.crop, pad=bool(self.pad))

    def fit(self, X=None, y=None):
        """Check the parameters; learn the leads and rate of the first record's header.

        ``fit(train).transform(test)`` then refuses test records whose leads
        or rate differ from the training records', as a fitted pipeline's
        ``predict`` does.

        Parameters
        ----------
        X : array-like of shape (n_records,), default=None
            Record paths. Only the header of the first one is read (of the
            first readable one with ``on_error="skip"``). None learns
            nothing: the next :meth:`transform` sets ``lead_names_`` and
            ``sampling_rate_``.
        y : None
            Ignored.

        Returns
        -------
        self : WFDBLoader
            The loader.

        Raises
        ------
        FileNotFoundError, ValueError
            The first record's header is missing or unreadable, or lacks a
            requested lead (``on_error="raise"``).
        """
        opts = self._check_params()
        for name in ("lead_names_", "sampling_rate_"):  # learnt again below, or by transform
            self.__dict__.pop(name, None)
        if X is not None:
            _, records = self._check_paths(X)
            for record in records:
                try:
                    names, rate = _header_reference(record, opts)
                except _RecordError as exc:
                    if self.on_error == "raise":
                        raise exc.kind(str(exc)) from None
                    continue
                if names is not None:
                    self.lead_names_, self.sampling_rate_ = names, rate
                break
        return self

    @staticmethod
    def _check_paths(X):
        if isinstance(X, (str, bytes, os.PathLike)):
            raise TypeError(
                f"X must be a 1-D array-like of record paths, got the single path "
                f"{X!r}; wrap it in a list: [path].")
        try:
            paths = np.asarray(X, dtype=object)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"X must be a 1-D array-like of record paths: {exc}") from None
        if paths.ndim == 2 and paths.shape[1] == 1:
            paths = paths[:, 0]
        if paths.ndim != 1:
            raise ValueError(
                f"X must be a 1-D array-like of record paths; got shape {paths.shape}.")
        if paths.size == 0:
            raise ValueError("X is empty: no record paths to read.")
        records = []
        for i, path in enumerate(paths):
            if not isinstance(path, (str, os.PathLike)):
                raise TypeError(
                    f"X[{i}] is {path!r} ({type(path).__name__}); record paths must be "
                    "str or pathlib.Path.")
            # "~" read as the dataset readers, predict and cache_dir read it
            records.append(os.path.abspath(os.path.expanduser(
                _strip_extension(os.fspath(path)))))
        return [os.fspath(p) for p in paths], records

    def transform(self, X):
        """Read the records.

        Parameters
        ----------
        X : array-like of shape (n_records,)
            Record paths (str or path-like), with or without extension; a
            leading ``~`` is the home folder.

        Returns
        -------
        signals : ndarray of shape (n_loaded, n_leads, n_samples), dtype float32
            Signals in mV. ``n_loaded`` is ``n_records`` minus the records
            skipped with ``on_error="skip"``.

        Raises
        ------
        FileNotFoundError
            A header or data file is missing (``on_error="raise"``).
        ValueError
            A record is corrupt, truncated, lacks a requested lead or holds
            NaN samples (``on_error="raise"``), records are inconsistent with
            each other or with those of the first call after :meth:`fit`, or
            no record could be read.
        """
        opts = self._check_params()
        given, records = self._check_paths(X)
        n = len(records)
        cache = _RecordCache(self.cache_dir, opts) if self.cache_dir is not None else None
        # One (shape, meta, source) per record: source is the signal read by
        # wfdb, the path of a cache entry, or the _RecordError of a bad record.
        items = [None] * n
        if cache is not None:
            for i, record in enumerate(records):
                hit = cache.locate(record)
                if hit is not None:
                    items[i] = hit[1], hit[2], hit[0]
        todo = [i for i in range(n) if items[i] is None]

        from tqdm.auto import tqdm

        flushed = time.monotonic()
        with tqdm(total=n, initial=n - len(todo), unit="record",
                  desc="Reading WFDB records", disable=not self.progress) as bar:
            try:
                for i, (signal, meta) in zip(todo, self._read_all(records, todo, opts)):
                    if signal is None:
                        if self.on_error == "raise":
                            raise meta.kind(str(meta))
                        items[i] = None, None, meta
                    else:
                        if cache is not None:
                            cache.store(records[i], signal, meta)
                            # Now and then too, not only at the end: the entries of a
                            # load killed by SIGKILL or SIGTERM are then found again.
                            if time.monotonic() - flushed >= _FLUSH_EVERY_S:
                                cache.flush()
                                flushed = time.monotonic()
                        items[i] = signal.shape, meta, signal
                    bar.update()
            finally:
                if cache is not None:
                    cache.flush()
        return self._assemble(given, records, items, opts, cache)

    def _read_all(self, records, todo, opts):
        """Yield ``_read_record`` results for ``records[i]``, ``i`` in ``todo``, in order."""
        if self.n_jobs == 1 or len(todo) < 2:
            for i in todo:
                yield _read_record(records[i], opts)
            return
        from joblib import Parallel, delayed, effective_n_jobs

        # Records go to the workers in chunks: one round trip per record costs
        # about as much as reading it. Four chunks per worker balance the load.
        size = -(-len(todo) // (4 * effective_n_jobs(self.n_jobs)))
        size = max(1, min(size, 64))
        chunks = [[records[i] for i in todo[k:k + size]] for k in range(0, len(todo), size)]
        parallel = Parallel(n_jobs=self.n_jobs, prefer="processes", return_as="generator")
        for results in parallel(delayed(_read_records)(chunk, opts) for chunk in chunks):
            yield from results

    def _assemble(self, given, records, items, opts, cache):
        kept = [i for i in range(len(records)) if items[i][1] is not None]
        skipped = [(given[i], str(items[i][2])) for i in range(len(records))
                   if items[i][1] is None]
        if not kept:
            raise ValueError(
                f"None of the {len(records)} records could be read; the first error "
                f"was: {skipped[0][1]}")
        if skipped:
            warnings.warn(
                f"WFDBLoader skipped {len(skipped)} of {len(records)} records that could "
                "not be read; see its skipped_ attribute for the records and reasons, "
                "and loaded_index_ to align labels.", UserWarning, stacklevel=3)

        first = kept[0]
        ref_shape, ref_meta, _ = items[first]
        ref_names = self._lead_names(ref_meta, opts, records[first])
        ref_lower = [name.lower() for name in ref_names]
        for i in kept[1:]:
            shape, meta, _ = items[i]
            if opts.sampling_rate is None and meta["fs"] != ref_meta["fs"]:
                raise ValueError(
                    f"Records have different sampling rates: {records[first]!r} is at "
                    f"{ref_meta['fs']:g} Hz but {records[i]!r} is at {meta['fs']:g} Hz; "
                    "pass sampling_rate= to resample them on load.")
            if opts.leads is None and [n.lower() for n in meta["sig_name"]] != ref_lower:
                raise ValueError(
                    f"Records have different leads: {records[first]!r} has "
                    f"{ref_names} but {records[i]!r} has {meta['sig_name']}; pass "
                    "leads=[...] to select common leads.")
            if shape[1] != ref_shape[1]:
                raise ValueError(
                    f"Records have different lengths: {records[first]!r} has "
                    f"{ref_shape[1]} samples but {records[i]!r} has {shape[1]}; pass "
                    "length= to pad or crop them to a common length.")

        out = np.empty((len(kept), *ref_shape), dtype=np.float32)
        for row, i in enumerate(kept):
            source = items[i][2]
            if not isinstance(source, str):
                out[row] = source
            elif not cache.read_into(source, out[row]):
                # The entry vanished or changed since it was located: read the
                # record itself. It was fine a moment ago, so errors raise here.
                signal, meta = _read_record_or_raise(records[i], opts)
                if signal.shape != ref_shape:
                    raise ValueError(f"Record {records[i]!r} changed while it was read.")
                out[row] = signal
        rate = opts.sampling_rate if opts.sampling_rate is not None else ref_meta["fs"]
        self._check_as_before(ref_names if opts.leads is None else None, rate, records[first])
        self.skipped_ = skipped
        self.loaded_index_ = np.asarray(kept, dtype=np.intp)
        self.lead_names_ = ref_names
        self.sampling_rate_ = rate
        return out

    def _check_as_before(self, lead_names, rate, record):
        """Refuse records whose leads or rate differ from the first call's after fit.

        ``lead_names`` None: the leads were chosen by the ``leads`` parameter,
        so that records of any lead names give the same rows.
        """
        before = getattr(self, "lead_names_", None)
        if (lead_names is not None and before is not None
                and [n.lower() for n in lead_names] != [n.lower() for n in before]):
            raise ValueError(
                f"Record {record!r} has the leads {lead_names}, but the records read "
                f"first after fit had {before}, in this order; pass leads={before!r} to "
                "read these leads in that order.")
        before = getattr(self, "sampling_rate_", None)
        if before is not None and rate != before:
            raise ValueError(
                f"Record {record!r} is at {rate:g} Hz, but the records read first after "
                f"fit were at {before:g} Hz; pass sampling_rate={before:g} to resample "
                "them on load.")

    @staticmethod
    def _lead_names(meta, opts, record):
        indices = _resolve_leads(opts.leads, meta["sig_name"], record)
        return [meta["sig_name"][i] for i in indices]
