"""Split a PTB-XL root into two roots of disjoint patients, to check external scoring.

``python -m ecgsk.compare --test-data`` scores a second root on every record
whose patient no fit learnt from. Nobody here has a second PTB-XL root of
unseen patients, so this script makes one from the shared records: root
``A`` holds the patients with an even ``patient_id``, root ``B`` the odd
ones, each with every one of its records (all ten ``strat_fold`` values).
Train on ``A`` and score ``B`` the way a user scores records of other
patients::

    python bench/split_patients.py ../shared/data/ptb-xl /tmp/roots
    python -m ecgsk.compare --pipelines ecgsk_ptbxl randomconv_ridge --dataset ptbxl \\
        --task superdiagnostic --data /tmp/roots/A/ptb-xl --test-data /tmp/roots/B/ptb-xl \\
        --no-cv

Each root gets its own ``ptbxl_database.csv`` (the rows of its patients) and
symbolic links to the source's ``scp_statements.csv``, ``records100/`` and
``records500/``; no signal is copied.

CinC 2017 records carry no patient id. ``--cinc N`` splits a CinC 2017 root
instead: ``A`` keeps the records of ``REFERENCE.csv`` but its last ``N``,
``B`` those last ``N`` (later recordings, a block of its own), each as
``cinc2017/training2017/`` with its ``REFERENCE.csv`` and links to the
records' ``.hea`` and ``.mat`` files::

    python bench/split_patients.py ../shared/data/cinc2017 /tmp/cinc --cinc 1400
"""

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ecgsk.datasets._utils import resolve_root  # noqa: E402

LINKED = ("scp_statements.csv", "records100", "records500")


def _link(target, folder, name):
    """``folder/name`` pointing to ``target`` (nothing when the target is absent)."""
    link = Path(folder) / name
    if os.path.lexists(target) and not os.path.lexists(link):
        link.symlink_to(target)


def split_patients(source, out):
    """Write ``out/A/ptb-xl`` (even ``patient_id``) and ``out/B/ptb-xl`` (odd).

    Returns the number of records of each, ``{"A": n_a, "B": n_b}``.
    """
    source = resolve_root(source, marker="ptbxl_database.csv", name="ptbxl", download=False)
    meta = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    odd = meta["patient_id"].astype("int64") % 2 == 1
    sizes = {}
    for name, rows in (("A", meta[~odd]), ("B", meta[odd])):
        root = Path(out) / name / "ptb-xl"
        root.mkdir(parents=True, exist_ok=True)
        rows.to_csv(root / "ptbxl_database.csv")
        for entry in LINKED:
            _link(source / entry, root, entry)
        sizes[name] = len(rows)
    return sizes


def split_records(source, out, last):
    """Write ``out/A/cinc2017`` (all but the last ``last`` records) and ``out/B/cinc2017``.

    Returns the number of records of each, ``{"A": n_a, "B": n_b}``.
    """
    folder = resolve_root(source, marker="REFERENCE.csv", name="cinc2017", download=False,
                          subdirs=("training2017", "training"))
    ref = pd.read_csv(folder / "REFERENCE.csv", header=None, names=["record", "label"])
    if not 0 < int(last) < len(ref):
        raise ValueError(f"--cinc must be between 1 and {len(ref) - 1} (the records of "
                         f"{folder / 'REFERENCE.csv'}), got {last}.")
    sizes = {}
    for name, rows in (("A", ref.iloc[:-int(last)]), ("B", ref.iloc[-int(last):])):
        root = Path(out) / name / "cinc2017" / "training2017"
        root.mkdir(parents=True, exist_ok=True)
        rows.to_csv(root / "REFERENCE.csv", header=False, index=False)
        for record in rows["record"]:
            for ext in (".hea", ".mat"):
                _link(folder / f"{record}{ext}", root, f"{record}{ext}")
        sizes[name] = len(rows)
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a PTB-XL root (ptbxl_database.csv, records100/), or "
                                           "a CinC 2017 root with --cinc")
    parser.add_argument("out", help="folder that receives A/ and B/")
    parser.add_argument("--cinc", type=int, metavar="N", default=None,
                        help="split a CinC 2017 root: its last N records make B")
    args = parser.parse_args(argv)
    try:
        if args.cinc is None:
            sizes, sub = split_patients(args.source, args.out), "ptb-xl"
        else:
            sizes, sub = split_records(args.source, args.out, args.cinc), "cinc2017"
    except (OSError, ValueError) as exc:  # no such source or table, out is a file...
        parser.error(str(exc))
    for name, n in sizes.items():
        print(f"{Path(args.out) / name / sub}: {n} records")


if __name__ == "__main__":
    main()
