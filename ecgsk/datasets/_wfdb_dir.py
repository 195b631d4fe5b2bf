"""Reader for any folder of WFDB records, unlabelled."""

from pathlib import Path

import numpy as np
import pandas as pd

from ._base import ECGDataset
from ._utils import check_root, report_dropped

__all__ = ["load_wfdb_dir", "find_records", "read_headers"]


def find_records(root):
    """Record paths (without extension) under ``root``.

    Uses the ``RECORDS`` file where there is one, in its order: the records
    it lists without a header are left out with a warning naming them (a
    partial download). Without ``RECORDS``, or when none of its records is
    there, every ``*.hea`` below, sorted.
    """
    root = Path(root)
    listing = root / "RECORDS"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        paths = [root / n for n in names]
        present = [p for p in paths if Path(f"{p}.hea").is_file()]
        if present:
            reason = f"listed in {listing} without a header file"
            missing = [n for n, p in zip(names, paths) if not Path(f"{p}.hea").is_file()]
            report_dropped(root.name, {reason: len(missing)}, len(paths), {reason: missing})
            return present
    return sorted(p.with_suffix("") for p in root.rglob("*.hea"))


def read_headers(paths):
    """Read WFDB headers, naming the record when one cannot be read."""
    import wfdb

    headers = []
    for p in paths:
        try:
            headers.append(wfdb.rdheader(str(p)))
        except Exception as exc:  # wfdb raises many types for a garbled header
            raise ValueError(f"cannot read the WFDB header of record {p}: {exc}") from exc
    return headers


def load_wfdb_dir(root):
    """Read every WFDB record in a folder (recursively), without labels.

    Parameters
    ----------
    root : str or Path
        A folder of ``.hea`` files and their signal files.

    Returns
    -------
    ECGDataset
        ``y`` and ``classes`` are None; ``meta`` holds each header's sampling
        rate, length, number of signals and lead names; ``sampling_rate`` is
        the common rate, or None when the records differ.

    Examples
    --------
    >>> from ecgsk.datasets import load_wfdb_dir          # doctest: +SKIP
    >>> ds = load_wfdb_dir("my_records/")                 # doctest: +SKIP
    """
    root = check_root(root, "WFDB")
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of WFDB records.")
    paths = find_records(root)
    if not paths:
        raise ValueError(f"no WFDB record (*.hea) under {root}.")
    headers = read_headers(paths)
    meta = pd.DataFrame({
        "record": [p.name for p in paths],
        "fs": [h.fs for h in headers],
        "sig_len": [h.sig_len for h in headers],
        "n_sig": [h.n_sig for h in headers],
        "sig_name": [list(h.sig_name or []) for h in headers],
    })
    rates = meta["fs"].unique()
    return ECGDataset(
        X=np.array([str(p) for p in paths]), y=None, classes=None,
        groups=meta["record"].to_numpy(), folds=None, meta=meta,
        sampling_rate=float(rates[0]) if len(rates) == 1 else None, name="wfdb_dir",
    )
