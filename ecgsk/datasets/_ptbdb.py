"""PTB Diagnostic ECG Database reader."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import ECGDataset
from ._utils import check_root, report_dropped, resolve_root
from ._wfdb_dir import find_records, missing_signal_files, read_headers

__all__ = ["load_ptbdb"]

_REASON = re.compile(r"reason for admission:\s*(.*)", re.IGNORECASE)


def load_ptbdb(root, *, download=False):
    """Read PTB Diagnostic records with the diagnosis of each header.

    The label is the "Reason for admission" comment of the record's header
    (e.g. ``"Myocardial infarction"``, ``"Healthy control"``). Records whose
    header has no such comment, or ``n/a``, are dropped and counted.

    Parameters
    ----------
    root : str or Path
        Folder holding the ``patientNNN/`` folders (and ``RECORDS``).
    download : bool, default=False
        Download the database from PhysioNet into ``root`` if absent.

    Returns
    -------
    ECGDataset
        ``groups`` is the patient folder; 15 leads (12 standard + Frank
        vx, vy, vz) at 1000 Hz.

    Examples
    --------
    >>> from ecgsk.datasets import load_ptbdb             # doctest: +SKIP
    >>> ds = load_ptbdb("data/ptbdb")                     # doctest: +SKIP
    """
    folder = check_root(root, "ptbdb")
    if not ((folder / "RECORDS").is_file() or any(folder.glob("patient*/*.hea"))):
        # Nothing here: download if asked, else a clear error.
        folder = resolve_root(root, marker="RECORDS", name="ptbdb", download=download)
    absent = []
    paths = find_records(folder, missing=absent)
    if not paths:
        raise ValueError(f"no PTB Diagnostic record (no .hea header) under {folder}.")
    headers = read_headers(paths)
    missing = missing_signal_files(paths, headers)
    rows = []
    for path, hdr in zip(paths, headers):
        reason = None
        for line in hdr.comments or []:
            m = _REASON.search(line)
            if m:
                reason = m.group(1).strip()
        rows.append({"record": path.name, "patient": path.parent.name, "label": reason,
                     "sig_len": hdr.sig_len, "fs": hdr.fs, "n_sig": hdr.n_sig})
    meta = pd.DataFrame(rows)
    has_files = np.array([m is None for m in missing], dtype=bool)
    labelled = (meta["label"].notna()
                & ~meta["label"].fillna("").str.lower().isin(["", "n/a"])).to_numpy()
    no_files = "whose header names a signal file that is not there"
    unlisted = "listed in RECORDS without a header file"
    ok = has_files & labelled
    dropped = report_dropped(
        "ptbdb", {unlisted: len(absent), no_files: int((~has_files).sum()),
                  "without a reason for admission": int((has_files & ~labelled).sum())},
        len(meta) + len(absent),
        {unlisted: [Path(a).relative_to(folder).as_posix() for a in absent][:3],
         no_files: [f"{p.parent.name}/{p.name} ({m})" for p, m in
                    zip(paths, missing) if m is not None][:3],
                    "without a reason for admission": [
                        f"{p.parent.name}/{p.name}" for p, keep in
                        zip(paths, has_files & ~labelled) if keep][:3]})
    meta = meta[ok].reset_index(drop=True)
    X = np.array([str(p) for p, keep in zip(paths, ok) if keep])
    if len(X) == 0:
        raise ValueError(f"no PTB Diagnostic record under {folder} has its signal files and "
                         "states a reason for admission.")
    return ECGDataset(
        X=X, y=meta["label"].to_numpy(), classes=np.array(sorted(meta["label"].unique())),
        groups=meta["patient"].to_numpy(), folds=None, meta=meta, sampling_rate=1000.0,
        name="ptbdb", task="diagnosis", dropped=dropped,
    )
