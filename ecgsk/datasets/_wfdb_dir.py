"""Reader for any folder of WFDB records, unlabelled."""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import ECGDataset
from ._utils import check_root, report_dropped

__all__ = ["load_wfdb_dir", "find_records", "read_headers"]


def find_records(root, missing=None):
    """Record paths (without extension) under ``root``.

    Uses the ``RECORDS`` file where there is one, in its order; an entry
    naming a folder below it (PhysioNet's nested listings, ``p00/``) stands
    for the records in that folder, found the same way, and a record listed
    twice is read once. The listed records without a header are left out
    with a warning naming them (a partial download). Without ``RECORDS``,
    every ``*.hea`` below, sorted, but for the segments of a multi-segment
    record (and its layout header), which are parts of that record; the
    same when none of its entries is there (a stale or foreign
    ``RECORDS``), with a warning saying so.

    With ``missing`` (a list), the listed records without a header are
    appended to it instead, for the caller to count with the records it
    drops itself.
    """
    return _find_records(Path(root), set(), missing)


def _find_records(root, seen, missing_out=None):
    seen.add(root.resolve())
    listing = root / "RECORDS"
    if listing.is_file():
        # A BOM made the first name another; bytes that are not UTF-8 ended the read.
        text = listing.read_text(encoding="utf-8-sig", errors="surrogateescape")
        names = [line.strip() for line in text.splitlines() if line.strip()]
        outside = [n for n in names if Path(n).is_absolute() or ".." in Path(n).parts]
        if outside:
            warnings.warn(f"{listing} lists {len(outside)} record(s) outside {root}, which are "
                          f"left out: {outside[0]!r}{', ...' if len(outside) > 1 else ''}.",
                          UserWarning, stacklevel=3)
            names = [n for n in names if n not in outside]
        present, missing = [], []
        for name in names:
            path = root / name
            if path.is_dir():
                folder = path.resolve()
                # Each folder once, and none that holds this one: "." or a link back would
                # loop. A folder linked from elsewhere (another disk) is read.
                if folder not in seen and not root.resolve().is_relative_to(folder):
                    present += _find_records(path, seen, missing_out)
            elif Path(f"{path}.hea").is_file():
                present.append(path)
            else:
                missing.append(name)
        present = list(dict.fromkeys(present))
        missing = list(dict.fromkeys(missing))  # a line repeated is one record
        if present:
            if missing_out is not None:
                missing_out += [str(root / name) for name in missing]
            else:
                reason = f"listed in {listing} without a header file"
                report_dropped(root.name, {reason: len(missing)}, len(present) + len(missing),
                               {reason: missing})
            return present
    found = _without_segments(sorted(p.with_suffix("") for p in _headers_below(root)))
    if listing.is_file() and found:
        none = (f"none of its {len(names)} entr{'y' if len(names) == 1 else 'ies'} is present"
                if names else "it lists no record")
        warnings.warn(f"{listing}: {none} (a stale or foreign RECORDS file?), so every header "
                      f"found ({len(found)} record{'' if len(found) == 1 else 's'}) is read "
                      "instead.", UserWarning, stacklevel=3)
    return found


def _without_segments(records):
    """``records`` less those that a multi-segment record among them names as its segments.

    A multi-segment header's record line reads ``name/n_segments ...``, and
    its next lines name the segments (``~`` for a gap), each a record of its
    own header in the same folder.
    """
    segments = set()
    for record in records:
        try:
            with open(f"{record}.hea", encoding="latin-1") as fh:
                lines = [ln for ln in (raw.split("#")[0].split() for raw in fh) if ln]
        except OSError:
            continue  # read_headers names it
        if lines and "/" in lines[0][0]:
            segments.update(record.parent / ln[0] for ln in lines[1:] if ln[0] != "~")
    return [record for record in records if record not in segments]


def _headers_below(root):
    """Every ``*.hea`` below ``root``, through linked folders too, each folder once.

    Hidden folders are left out: ``.git``, and the staging folder of a download
    (``.ecgsk-download``) whose files are not yet checked against their sums.
    """
    seen = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up (or to a folder already walked) would loop
            subfolders[:] = []
            continue
        seen.add(real)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        yield from (Path(folder) / name for name in files if name.endswith(".hea"))


def read_headers(paths):
    """Read WFDB headers, naming the record when one cannot be read.

    wfdb reads an unparsable or non-positive sampling frequency as its
    default, 250 Hz, and one with an exponent (``1e3``) as the digits before
    it; such a header's ``fs`` is set to NaN instead, with one warning naming
    the records (:class:`~ecgsk.preprocessing.WFDBLoader`
    refuses to read them).
    """
    import wfdb

    headers, bad = [], []
    for p in paths:
        try:
            header = wfdb.rdheader(str(p))
        except Exception as exc:  # wfdb raises many types for a garbled header
            hea = Path(f"{p}.hea")
            why = ("the file is empty" if hea.is_file() and hea.stat().st_size == 0
                   else f"{type(exc).__name__}: {exc}")
            raise ValueError(f"cannot read the WFDB header {hea} of record {p}: {why}") from exc
        reason = _bad_rate(p, header)
        if reason:
            header.fs = float("nan")
            bad.append(reason)
        headers.append(header)
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        warnings.warn(f"{len(bad)} of {len(headers)} records have no valid sampling frequency; "
                      f"their rate is NaN: {' '.join(bad[:3])}{more}", UserWarning, stacklevel=2)
    return headers


def missing_signal_files(paths, headers):
    """For each record, the first signal file its header names that is not there, or None.

    A multi-segment record's segments are records of their own, read (and
    refused, when broken) by the loader.
    """
    missing = []
    for path, header in zip(paths, headers):
        names = getattr(header, "file_name", None) or []
        gone = [name for name in dict.fromkeys(names) if name != "~"
                and not (Path(path).parent / name).is_file()]
        missing.append(gone[0] if gone else None)
    return missing


def _bad_rate(path, header):
    """Why the rate wfdb read for ``header`` is one it substituted, or None.

    The header's text is checked as :class:`~ecgsk.preprocessing.WFDBLoader`
    checks it: wfdb reads an unparsable or non-positive rate as 250 Hz, and
    one written with an exponent (``5e2``, ``50e1``) as the digits before it.
    """
    from ..preprocessing._loader import _check_header_fields, _RecordError

    if header.fs is not None:
        try:
            _check_header_fields(str(path), f"{path}.hea", set(), fs=header.fs)
        except _RecordError as exc:
            return str(exc)
    return None


def load_wfdb_dir(root):
    """Read every WFDB record in a folder (recursively), without labels.

    Parameters
    ----------
    root : str or Path
        A folder of ``.hea`` files and their signal files.

    Returns
    -------
    ECGDataset
        ``y`` and ``classes`` are None; ``groups`` and ``meta["record"]``
        name each record by its path under ``root`` (``patient001/s0010_re``),
        so same-named records of two folders stay apart; ``meta`` holds each
        header's sampling rate (NaN, with a warning, for a header whose rate is unparsable or
        not positive), length, number of signals and lead names;
        ``sampling_rate`` is the common rate, or None when the records differ
        or a rate is unknown.

    Examples
    --------
    >>> from ecgsk.datasets import load_wfdb_dir          # doctest: +SKIP
    >>> ds = load_wfdb_dir("my_records/")                 # doctest: +SKIP
    """
    root = check_root(root, "WFDB")
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of WFDB records.")
    absent = []
    paths = find_records(root, missing=absent)
    if not paths:
        raise ValueError(f"no WFDB record (*.hea) under {root}.")
    headers = read_headers(paths)
    missing = missing_signal_files(paths, headers)
    reason = "whose header names a signal file that is not there"
    unlisted = "listed in a RECORDS file without a header file"
    dropped = report_dropped(
        "wfdb_dir", {unlisted: len(absent), reason: sum(m is not None for m in missing)},
        len(paths) + len(absent),
        {unlisted: [Path(a).relative_to(root).as_posix() for a in absent][:3],
         reason: [f"{p.relative_to(root).as_posix()} ({m})"  # the record's folder too
                  for p, m in zip(paths, missing) if m is not None][:3]})
    kept = [i for i, m in enumerate(missing) if m is None]
    if not kept:
        raise ValueError(f"no WFDB record under {root} has its signal files.")
    paths, headers = [paths[i] for i in kept], [headers[i] for i in kept]
    meta = pd.DataFrame({
        # The path under root: records of one name in two folders (patients) stay two.
        "record": [p.relative_to(root).as_posix() for p in paths],
        "fs": [h.fs for h in headers],
        "sig_len": [h.sig_len for h in headers],
        "n_sig": [h.n_sig for h in headers],
        "sig_name": [list(h.sig_name or []) for h in headers],
    })
    rates = meta["fs"].unique()  # an unknown (NaN) rate is no common one
    common = float(rates[0]) if len(rates) == 1 and np.isfinite(rates[0]) else None
    return ECGDataset(
        X=np.array([str(p) for p in paths]), y=None, classes=None,
        groups=meta["record"].to_numpy(), folds=None, meta=meta,
        sampling_rate=common, name="wfdb_dir", dropped=dropped,
    )
