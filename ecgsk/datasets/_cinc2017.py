"""PhysioNet/CinC Challenge 2017 reader (AF classification from a single lead)."""

from pathlib import Path

import numpy as np
import pandas as pd

from ._base import ECGDataset
from ._utils import report_dropped, resolve_root

__all__ = ["load_cinc2017", "CINC2017_CLASSES"]

#: Normal rhythm, AF, other rhythm, noisy.
CINC2017_CLASSES = ("N", "A", "O", "~")


def load_cinc2017(root, *, download=False):
    """Read the CinC 2017 training records and their reference labels.

    Parameters
    ----------
    root : str or Path
        Folder holding ``training2017/REFERENCE.csv`` (or that folder itself).
    download : bool, default=False
        Download the challenge data from PhysioNet into ``root`` if absent.

    Returns
    -------
    ECGDataset
        ``y`` holds the labels ``"N"``, ``"A"``, ``"O"`` and ``"~"`` (noisy);
        ``classes`` lists them in that order. Records carry no patient id, so
        ``groups`` is the record name and ``folds`` is None. Single lead, 300 Hz,
        9 to 61 s long.

    Examples
    --------
    >>> from ecgsk.datasets import load_cinc2017          # doctest: +SKIP
    >>> ds = load_cinc2017("data/cinc2017")               # doctest: +SKIP
    """
    folder = resolve_root(root, marker="REFERENCE.csv", name="cinc2017", download=download,
                          subdirs=("training2017", "training"))
    try:
        ref = pd.read_csv(folder / "REFERENCE.csv", header=None, dtype=str)
    except pd.errors.EmptyDataError:
        ref = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{folder / 'REFERENCE.csv'} is not a readable csv file of "
                         f"'record,label' lines: {exc}") from None
    if ref.empty:
        raise ValueError(f"{folder / 'REFERENCE.csv'} is empty: it lists a 'record,label' line "
                         "for each record.")
    if ref.shape[1] != 2:  # a first line of three fields made the records an index
        line = int(np.argmax(ref.iloc[:, 2:].notna().any(axis=1).to_numpy())) + 1 \
            if ref.shape[1] > 2 else 1
        raise ValueError(f"{folder / 'REFERENCE.csv'}: line {line} has {ref.shape[1]} field(s); "
                         "each line is 'record,label'.")
    ref.columns = ["record", "label"]
    ref["record"] = ref["record"].str.strip()
    ref["label"] = ref["label"].str.strip()
    bad = ~ref["label"].isin(CINC2017_CLASSES)
    if bad.any():
        unknown = sorted({"(none)" if pd.isna(v) else v for v in ref["label"][bad]})
        shown = ", ".join(f"{r} ({'none' if pd.isna(v) else repr(v)})"
                          for r, v in zip(ref["record"][bad][:3], ref["label"][bad][:3]))
        raise ValueError(f"{folder / 'REFERENCE.csv'} has unknown labels {unknown}, first at "
                         f"{shown}; expected {list(CINC2017_CLASSES)}.")
    doubled = ref["record"][ref["record"].duplicated()].unique()
    if len(doubled):
        raise ValueError(f"{folder / 'REFERENCE.csv'} lists {len(doubled)} record(s) more than "
                         f"once: {', '.join(doubled[:3])}{', ...' if len(doubled) > 3 else ''}; "
                         "each record needs exactly one label.")
    # PhysioNet's copy nests records in A00/, A01/, ...; the challenge zip does not.
    paths, listed = {}, set(ref["record"])
    for hea in sorted(folder.rglob("*.hea")):
        if hea.stem in paths and hea.stem in listed:
            raise ValueError(f"record {hea.stem} of {folder / 'REFERENCE.csv'} has two headers "
                             f"under {folder}: {paths[hea.stem]}.hea and {hea}; keep one.")
        paths[hea.stem] = hea.with_suffix("")
    # Both files: a download cut short can leave a header without its signal file.
    present = np.array([r in paths and Path(f"{paths[r]}.mat").is_file() for r in ref["record"]],
                       dtype=bool)
    reason = "listed in REFERENCE.csv without a header or .mat file"
    # Records with both files but no label (an older or partial REFERENCE.csv): counted
    # and said, as every record a reader leaves out.
    unlisted = [stem for stem, path in paths.items()
                if stem not in listed and Path(f"{path}.mat").is_file()]
    unlabelled = "with a header and .mat file but no line in REFERENCE.csv"
    dropped = report_dropped("cinc2017", {reason: int((~present).sum()),
                                          unlabelled: len(unlisted)},
                             len(ref) + len(unlisted),
                             {reason: ref["record"][~present][:3].tolist(),
                              unlabelled: unlisted[:3]})
    ref = ref[present].reset_index(drop=True)
    if len(ref) == 0:
        raise ValueError(f"none of the records in {folder / 'REFERENCE.csv'} exists under {folder}.")
    X = np.array([str(paths[r]) for r in ref["record"]])
    return ECGDataset(
        X=X, y=ref["label"].to_numpy(), classes=np.array(CINC2017_CLASSES),
        groups=ref["record"].to_numpy(), folds=None, meta=ref, sampling_rate=300.0,
        name="cinc2017", task="af", dropped=dropped,
    )
