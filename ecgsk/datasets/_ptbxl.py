"""PTB-XL reader with the tasks of the PTB-XL benchmark (Strodthoff et al. 2020).

Labels follow the benchmark's ``compute_label_aggregations``: every SCP code
of a record counts, whatever its likelihood, and statements are mapped to
tasks through ``scp_statements.csv``.
"""

import ast
import re

import numpy as np
import pandas as pd

from .._validation import check_bool
from ._base import ECGDataset
from ._utils import report_dropped, resolve_root

__all__ = ["load_ptbxl", "PTBXL_TASKS"]

#: Multi-label tasks of the benchmark, and the two binary tasks.
PTBXL_TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all",
               "binary", "binary_report")

# "normales EKG", "normal ECG", Swedish "normalt ekg", but not "abnormal ECG".
NORMAL_REPORT_PATTERN = r"(?<!ab)(?<!un)normal(?:es|t)?\s+(?:ecg|ekg)"


#: Columns of scp_statements.csv that each task reads.
_STATEMENT_COLUMNS = {
    "all": [], "binary_report": [], "form": ["form"], "rhythm": ["rhythm"],
    "diagnostic": ["diagnostic"], "subdiagnostic": ["diagnostic", "diagnostic_subclass"],
    "superdiagnostic": ["diagnostic", "diagnostic_class"],
}


def _read_table(path, columns, index_col=None):
    """Read one of PTB-XL's csv files, naming it and any of ``columns`` it lacks."""
    try:
        table = pd.read_csv(path, index_col=index_col)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} does not exist: PTB-XL ships it beside ptbxl_database.csv; copy it from "
            f"the download, or run `python -m ecgsk.datasets download ptbxl {path.parent} "
            "--records 1`, which fetches PTB-XL's tables and its first record only (files "
            "already there are kept; without --records, every record is fetched).") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable csv file: {exc}") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{path} has no column {', '.join(map(repr, missing))}; is it "
                         "PTB-XL's own file?")
    return table


def _parse_codes(text, ecg_id, root):
    """One record's ``scp_codes`` ("{'NORM': 100.0, ...}") as a dict, naming the record if not."""
    try:
        codes = ast.literal_eval(text) if isinstance(text, str) else None
    except (ValueError, SyntaxError):
        codes = None
    if not isinstance(codes, dict) or not all(
            isinstance(code, str) and isinstance(likelihood, (int, float))
            and not isinstance(likelihood, bool) for code, likelihood in codes.items()):
        raise ValueError(f"ecg_id {ecg_id} of {root / 'ptbxl_database.csv'} has scp_codes "
                         f"{text!r}; expected a dict of codes to likelihoods such as "
                         "{'NORM': 100.0}.")
    return codes


#: Demographic columns that hold numbers (PTB-XL's age, height and weight).
_NUMERIC_META = ("age", "height", "weight")


def _check_ids_and_folds(meta, path):
    """``meta`` (indexed by ``ecg_id``) with numeric folds and demographics; bad ones named.

    A ``strat_fold`` that is not a whole number would turn the whole column
    into text, and every fold of ``split_folds`` would then select no record.
    """
    ids = pd.to_numeric(pd.Series(meta.index), errors="coerce")
    bad_id = ids.isna() | (ids % 1 != 0)
    if bad_id.any():  # NaN or 'x7': no record file name or patient split could follow it
        row = int(np.argmax(bad_id.to_numpy()))
        raise ValueError(f"{path}: row {row + 1} has ecg_id {meta.index[row]!r} "
                         f"({int(bad_id.sum())} such rows in all); ecg_ids are whole numbers.")
    repeated = meta.index[meta.index.duplicated()]
    if len(repeated):
        raise ValueError(f"{path} lists ecg_id {repeated[0]} more than once "
                         f"({len(repeated)} repeated rows in all); each record needs one row.")
    folds = pd.to_numeric(meta["strat_fold"], errors="coerce")
    # A fold outside 1-10 fell in none of split_folds' parts, without a word.
    bad = meta["strat_fold"].notna() & (folds.isna() | (folds % 1 != 0)
                                        | ~folds.between(1, 10))
    if bad.any():
        first = bad.idxmax()
        value = meta.at[first, "strat_fold"]
        shown = repr(value) if isinstance(value, str) else str(value)  # not np.int64(0)
        raise ValueError(f"{path}: strat_fold of ecg_id {first} is {shown}"
                         f" ({int(bad.sum())} such rows in all); folds are the whole numbers "
                         "1-10 (PTB-XL's), or empty for a record without one.")
    meta = meta.assign(strat_fold=folds)
    for col in _NUMERIC_META:  # a stray 'abc' made the column text, and its median fail
        if col not in meta:
            continue
        values, first, n_bad = _as_numbers(meta, col)
        if n_bad:
            raise ValueError(f"{path}: {col} of ecg_id {first} is {meta.at[first, col]!r}"
                             f" ({n_bad} such rows in all); {col} is a number, or empty "
                             "when unknown.")
        meta[col] = values
    return meta


def _as_numbers(frame, column):
    """``frame[column]`` as numbers, the index of its first value that is no number, and how many.

    A blank stays missing (NaN); the index is None when every value is a number.
    """
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & values.isna()
    return values, (bad.idxmax() if bad.any() else None), int(bad.sum())


def _check_statements(statements, path):
    """``statements`` with numeric flag columns; a repeated code or a bad flag is named.

    A code listed twice would map to its last row's class (NORM read as MI,
    say); a flag that is not a number would leave no code of its task.
    """
    repeated = statements.index[statements.index.duplicated()]
    if len(repeated):
        raise ValueError(f"{path} lists the statement {repeated[0]!r} more than once "
                         f"({len(repeated)} repeated rows in all); each code needs one row.")
    for column in ("diagnostic", "form", "rhythm"):
        if column not in statements.columns:
            continue
        flags, first, n_bad = _as_numbers(statements, column)
        if n_bad:
            raise ValueError(f"{path}: {column} of {first!r} is "
                             f"{statements.at[first, column]!r}; the flag columns hold 1.0 "
                             "or nothing.")
        statements = statements.assign(**{column: flags})
    return statements


def _label_map(statements, task):
    """SCP code -> label of ``task`` (None where the code has no label there)."""
    if task == "all":
        return {c: c for c in statements.index}
    if task in ("form", "rhythm"):
        return {c: c for c in statements.index[statements[task] == 1.0]}
    diag = statements[statements.diagnostic == 1.0]
    column = {"diagnostic": None, "subdiagnostic": "diagnostic_subclass",
              "superdiagnostic": "diagnostic_class"}[task]
    if column is None:
        return {c: c for c in diag.index}
    return {c: v for c, v in diag[column].items() if isinstance(v, str) and v}


def _statement_labels(codes, label_map, task):
    """Map one record's SCP codes to the sorted labels of ``task``."""
    if task == "all":  # every code counts, as in the benchmark
        return sorted(set(codes))
    return sorted({label_map[c] for c in codes if c in label_map})


#: The metadata that ``impute_meta`` fills, and how: the patient's demographics.
_IMPUTED = {"age": "median", "height": "median", "weight": "median", "sex": "mode"}


def _impute(meta):
    """Fill missing demographics: median age, height and weight, the commonest sex.

    The fill values come from the training folds (``strat_fold`` 1-8) alone, so
    the validation and test folds' metadata never shape what the training
    records are given; a column with no value there stays missing. The other
    columns are left as they are: in PTB-XL's findings (``heart_axis``,
    ``infarction_stadium1``, ``baseline_drift``, ``extra_beats``,
    ``pacemaker``...) a blank means that nothing was noted, and a mode there
    would give most records a finding they do not have; ``nurse``, ``site``
    and ``validated_by`` are identifiers, and the labels' sources (``scp_codes``,
    ``report``) are never made up.
    """
    meta = meta.copy()
    train = meta[meta["strat_fold"] <= 8]
    for col, how in _IMPUTED.items():
        if col not in meta or not meta[col].isna().any():
            continue
        if how == "median":
            fill = train[col].median()
        else:
            mode = train[col].mode(dropna=True)
            fill = mode.iloc[0] if len(mode) else np.nan
        if not pd.isna(fill):
            meta[col] = meta[col].fillna(fill)
    return meta


def load_ptbxl(root, task="superdiagnostic", sampling_rate=100, *, min_samples=0,
               impute_meta=False, report_pattern=NORMAL_REPORT_PATTERN, download=False):
    """Read PTB-XL records and labels for one benchmark task.

    Parameters
    ----------
    root : str or Path
        Folder holding ``ptbxl_database.csv``, ``scp_statements.csv`` and
        ``records100/`` / ``records500/`` (PhysioNet's layout).
    task : str, default="superdiagnostic"
        One of :data:`PTBXL_TASKS`:

        - ``"superdiagnostic"`` (NORM, MI, STTC, CD, HYP), ``"subdiagnostic"``,
          ``"diagnostic"``, ``"form"``, ``"rhythm"``, ``"all"``: multi-label,
          ``y`` is a 0/1 indicator matrix with columns ``classes``. Records
          without a label for the task are dropped and counted in ``dropped``.
        - ``"binary"``: 0 = normal (superclass set exactly {NORM}), 1 = abnormal;
          records without a superdiagnostic label are dropped.
        - ``"binary_report"``: 0 = normal, 1 = abnormal from the free-text
          ``report`` column, matched by ``report_pattern`` (the SE-ECGNet recipe,
          which names no exact rule). The default pattern reads "otherwise
          normal ECG" as normal, so a report such as "IRBBB, otherwise normal
          ECG" is 0 while ``"binary"`` calls its record abnormal; records
          without a report are dropped and counted.
    sampling_rate : {100, 500}, default=100
        100 reads ``filename_lr``, 500 reads ``filename_hr``. Records whose
        files are absent under ``root`` are dropped and counted.
    min_samples : int, default=0
        Drop labels with at most this many positive records, as the benchmark's
        ``select_data`` does (it uses 0), then the records left without a
        label. Positives are counted over every row of ``ptbxl_database.csv``,
        as the benchmark counts over the whole dataset, so records whose
        files are absent still count. The benchmark skips this step for ``"diagnostic"``, whatever
        its ``min_samples``; here it applies to every multi-label task, so to
        match the benchmark on ``"diagnostic"``, leave it at 0. Multi-label
        tasks only: the binary tasks refuse it.
    impute_meta : bool, default=False
        Fill the missing demographics of ``meta``: the median ``age``,
        ``height`` and ``weight`` and the commonest ``sex``, taken over the
        kept records of the training folds (``strat_fold`` 1-8) only, so that
        nothing of the validation and test folds leaks into the training
        records. Other columns keep their blanks: in PTB-XL's findings
        (``heart_axis``, ``infarction_stadium1``, ``baseline_drift``...) a
        blank means that nothing was noted, not a lost value.
    report_pattern : str, default=NORMAL_REPORT_PATTERN
        Regular expression (case-insensitive) marking a normal report, for
        ``task="binary_report"``.
    download : bool, default=False
        Download PTB-XL from PhysioNet into ``root`` if it is not there.

    Returns
    -------
    ECGDataset
        ``folds`` is ``strat_fold`` (train 1-8, validate 9, test 10 keeps
        patients apart) and ``groups`` is ``patient_id``; a record lacking
        either is dropped and counted.

    Raises
    ------
    ValueError
        For an unknown task or rate, a csv file that lacks a column the task
        reads, or a record whose ``scp_codes`` cannot be read (naming its
        ``ecg_id``).

    Examples
    --------
    >>> from ecgsk.datasets import load_ptbxl            # doctest: +SKIP
    >>> ds = load_ptbxl("data/ptb-xl", task="superdiagnostic")  # doctest: +SKIP
    >>> train, valid, test = ds.split_folds()             # doctest: +SKIP
    """
    if task not in PTBXL_TASKS:
        raise ValueError(f"unknown PTB-XL task {task!r}; choose one of {', '.join(PTBXL_TASKS)}.")
    if sampling_rate not in (100, 500):
        raise ValueError(f"PTB-XL is distributed at 100 or 500 Hz; sampling_rate="
                         f"{sampling_rate!r}. Resample on load with "
                         "WFDBLoader(sampling_rate=...) instead.")
    if (isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer))
            or min_samples < 0):
        raise ValueError(f"min_samples must be a non-negative integer, got {min_samples!r}.")
    if min_samples and task in ("binary", "binary_report"):
        # Dropping a rare superclass would leave {NORM} on records that had another.
        raise ValueError(f"min_samples drops rare labels of a multi-label task; task={task!r} "
                         "has two classes. Pass min_samples=0.")
    check_bool(impute_meta, name="impute_meta")
    if task == "binary_report":
        try:
            re.compile(report_pattern)
        except (re.error, TypeError) as exc:
            raise ValueError(f"report_pattern {report_pattern!r} is not a regular expression: "
                             f"{exc}.") from None
    root = resolve_root(root, marker="ptbxl_database.csv", name="ptbxl", download=download)
    file_col = "filename_lr" if sampling_rate == 100 else "filename_hr"
    meta = _read_table(root / "ptbxl_database.csv", ["ecg_id", "scp_codes", "patient_id",
                                                     "strat_fold", file_col]
                       + (["report"] if task == "binary_report" else []))
    meta = _check_ids_and_folds(meta.set_index("ecg_id"), root / "ptbxl_database.csv")
    shared = meta[file_col].dropna()
    shared = shared[shared.duplicated(keep=False)]
    if len(shared):  # one record in two rows could fall in two folds: train and test
        rows = shared.index[shared == shared.iloc[0]]
        raise ValueError(f"{root / 'ptbxl_database.csv'}: ecg_ids "
                         f"{', '.join(map(str, rows[:2]))} both name the record "
                         f"{shared.iloc[0]!r} in {file_col} ({len(shared)} rows share a record "
                         "in all); each record needs one row.")
    total = len(meta)
    meta["scp_codes"] = [_parse_codes(codes, ecg_id, root)
                         for ecg_id, codes in meta["scp_codes"].items()]
    # min_samples counts over every row of the table, as the benchmark counts over the
    # whole dataset: which signal files are present must not decide a label's fate.
    table_codes = meta["scp_codes"]
    dropped = {}

    # A record without a fold or patient cannot be placed in a split that keeps patients apart.
    unplaced = meta["strat_fold"].isna() | meta["patient_id"].isna()
    dropped["without a strat_fold or patient_id"] = int(unplaced.sum())
    examples = {"without a strat_fold or patient_id": [f"ecg_id {i}" for i in
                                                       meta.index[unplaced][:3]]}
    meta = meta[~unplaced]
    # Both files: a download cut short can leave a header without its signal file.
    gone = [next((f"{f}{ext}" for ext in (".hea", ".dat") if not (root / f"{f}{ext}").is_file()),
                 None) for f in meta[file_col]]
    present = np.array([g is None for g in gone], dtype=bool)
    dropped[f"without {sampling_rate} Hz files"] = int((~present).sum())
    examples[f"without {sampling_rate} Hz files"] = [g for g in gone if g is not None][:3]
    meta = meta[present]

    statements = _check_statements(
        _read_table(root / "scp_statements.csv",
                    _STATEMENT_COLUMNS["superdiagnostic" if task == "binary" else task],
                    index_col=0),
        root / "scp_statements.csv")
    if task == "binary_report":
        report = meta["report"].fillna("")
        has_report = report.str.strip() != ""
        dropped["without a report"] = int((~has_report).sum())
        meta = meta[has_report]
        normal = meta["report"].str.contains(report_pattern, case=False, regex=True)
        y = (~normal).to_numpy().astype(np.int64)
        classes = np.array(["normal", "abnormal"])
    else:
        label_task = "superdiagnostic" if task == "binary" else task
        label_map = _label_map(statements, label_task)
        labels = meta["scp_codes"].apply(lambda c: _statement_labels(c, label_map, label_task))
        if min_samples:
            every = table_codes.apply(lambda c: _statement_labels(c, label_map, label_task))
            counts = pd.Series([l for ls in every for l in ls]).value_counts()
            keep = set(counts[counts > min_samples].index)
            labels = labels.apply(lambda ls: [l for l in ls if l in keep])
        has_label = labels.apply(len) > 0
        dropped[f"without a {label_task} label"] = int((~has_label).sum())
        meta, labels = meta[has_label], labels[has_label]
        if task == "binary":
            y = labels.apply(lambda ls: ls != ["NORM"]).to_numpy().astype(np.int64)
            classes = np.array(["normal", "abnormal"])
        else:
            classes = np.array(sorted({l for ls in labels for l in ls}))
            col = {c: i for i, c in enumerate(classes)}
            y = np.zeros((len(labels), len(classes)), dtype=np.int64)
            for i, ls in enumerate(labels):
                y[i, [col[l] for l in ls]] = 1
    if len(meta) == 0:
        reasons = ", ".join(f"{n} {r}" for r, n in dropped.items() if n)
        raise ValueError(f"no PTB-XL record under {root} is left for task {task!r} at "
                         f"{sampling_rate} Hz ({reasons}).")
    dropped = report_dropped("ptbxl", dropped, total, examples)
    if impute_meta:  # over the records kept, so fill values come from records in the dataset
        meta = _impute(meta)
    X = np.array([str(root / f) for f in meta[file_col]])
    return ECGDataset(
        X=X, y=y, classes=classes, groups=meta["patient_id"].to_numpy(),
        folds=meta["strat_fold"].to_numpy(), meta=meta, sampling_rate=float(sampling_rate),
        name="ptbxl", task=task, dropped=dropped,
    )


