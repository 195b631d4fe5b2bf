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
"""

import argparse
from pathlib import Path

import pandas as pd

LINKED = ("scp_statements.csv", "records100", "records500")


def split_patients(source, out):
    """Write ``out/A/ptb-xl`` (even ``patient_id``) and ``out/B/ptb-xl`` (odd).

    Returns the number of records of each, ``{"A": n_a, "B": n_b}``.
    """
    source, out = Path(source).resolve(), Path(out)
    database = source / "ptbxl_database.csv"
    if not database.is_file():
        raise FileNotFoundError(f"{source} has no ptbxl_database.csv: not a PTB-XL root.")
    meta = pd.read_csv(database, index_col="ecg_id")
    odd = meta["patient_id"].astype("int64") % 2 == 1
    sizes = {}
    for name, rows in (("A", meta[~odd]), ("B", meta[odd])):
        root = out / name / "ptb-xl"
        root.mkdir(parents=True, exist_ok=True)
        rows.to_csv(root / "ptbxl_database.csv")
        for entry in LINKED:
            link = root / entry
            if (source / entry).exists() and not link.exists():
                link.symlink_to(source / entry)
        sizes[name] = len(rows)
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a PTB-XL root (ptbxl_database.csv, records100/)")
    parser.add_argument("out", help="folder that receives A/ptb-xl and B/ptb-xl")
    args = parser.parse_args(argv)
    sizes = split_patients(args.source, args.out)
    for name, n in sizes.items():
        print(f"{Path(args.out) / name / 'ptb-xl'}: {n} records")


if __name__ == "__main__":
    main()
