"""PTB-XL reader: the benchmark's tasks on the shared records."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import PTBXL_TASKS, load_ptbxl


@pytest.fixture(scope="module")
def superdiag(ptbxl_root):
    with pytest.warns(UserWarning, match="left out 16 of 1487"):
        return load_ptbxl(ptbxl_root, task="superdiagnostic")


def test_superdiagnostic_counts(superdiag):
    ds = superdiag
    assert len(ds) == 1471
    assert list(ds.classes) == ["CD", "HYP", "MI", "NORM", "STTC"]
    counts = dict(zip(ds.classes, ds.y.sum(axis=0)))
    assert counts == {"NORM": 801, "STTC": 334, "CD": 303, "MI": 274, "HYP": 161}
    assert ds.y.shape == (1471, 5) and set(np.unique(ds.y)) == {0, 1}
    assert sorted(np.unique(ds.folds)) == list(range(1, 11))
    assert ds.dropped == {"without a superdiagnostic label": 16}


def test_paths_are_absolute_records(superdiag):
    from pathlib import Path

    paths = [Path(p) for p in superdiag.X[:20]]
    assert all(p.is_absolute() and p.with_suffix(".hea").is_file() for p in paths)
    assert all(p.name.endswith("_lr") for p in paths)


def test_groups_and_meta_aligned(superdiag, ptbxl_root):
    raw = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id")
    ids = superdiag.meta.index.to_numpy()
    np.testing.assert_array_equal(superdiag.groups, raw.loc[ids, "patient_id"].to_numpy())
    np.testing.assert_array_equal(superdiag.folds, raw.loc[ids, "strat_fold"].to_numpy())
    assert all(str(p).endswith(f) for p, f in zip(superdiag.X, raw.loc[ids, "filename_lr"]))


def test_split_folds_keeps_patients_apart(superdiag):
    train, valid, test = superdiag.split_folds()
    assert len(train) + len(valid) + len(test) == len(superdiag)
    assert set(np.unique(test.folds)) == {10} and set(np.unique(valid.folds)) == {9}
    assert not set(train.groups) & set(test.groups)
    assert not set(train.groups) & set(valid.groups)


def test_rows_sharing_a_record_are_named_by_the_record_they_share(ptbxl_root, tmp_path):
    # Rows 1 and 3 share a record, rows 2 and 4 another: the message named rows 1 and 2.
    root = _edited_copy(ptbxl_root, tmp_path, "ptbxl_database.csv", lambda f: f.assign(
        filename_lr=[f.filename_lr.iloc[0], f.filename_lr.iloc[1]] * 2
        + list(f.filename_lr[4:])))
    table = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    first, third = table.index[0], table.index[2]
    with pytest.raises(ValueError, match=rf"ecg_ids {first}, {third} both name the record "
                                         rf"'{table.filename_lr.iloc[0]}' in filename_lr \(4 "
                                         r"rows share a record in all\)"):
        load_ptbxl(root)


def test_split_folds_refuses_overlapping_folds_and_empty_parts(superdiag):
    for train, valid, test in [((1, 2), (2, 9), (10,)), ((1, 2), (9,), (2, 10)),
                               ((1, 2), (9, 10), (10,))]:
        with pytest.raises(ValueError, match=r"train, valid and test folds overlap"):
            superdiag.split_folds(train=train, valid=valid, test=test)
    with pytest.raises(ValueError, match=r"the test folds \[11\] select no records of 'ptbxl'"):
        superdiag.split_folds(test=11)
    with pytest.raises(ValueError, match=r"the train folds \[12\] select no records"):
        superdiag.split_folds(train=12)
    assert len(superdiag.split_folds(valid=11)[1]) == 0
    no_folds = superdiag.subset(np.arange(10))
    no_folds.folds = None
    with pytest.raises(ValueError, match=r"defines no folds; split it with an sklearn splitter"):
        no_folds.split_folds()


@pytest.mark.parametrize("none", [None, ()])
def test_split_folds_without_validation(superdiag, none):
    # None gave an empty dataset (it read as the fold set {None}), () gave None.
    train, valid, test = superdiag.split_folds(train=range(1, 10), valid=none)
    assert valid is None and len(train) + len(test) == len(superdiag)
    assert superdiag.split_folds(test=None)[2] is None


def test_binary_counts(ptbxl_root):
    with pytest.warns(UserWarning):
        ds = load_ptbxl(ptbxl_root, task="binary")
    assert list(ds.classes) == ["normal", "abnormal"]
    assert np.bincount(ds.y).tolist() == [770, 701]


def test_binary_is_exactly_norm(ptbxl_root, superdiag):
    with pytest.warns(UserWarning):
        ds = load_ptbxl(ptbxl_root, task="binary")
    only_norm = (superdiag.y.sum(1) == 1) & (superdiag.y[:, list(superdiag.classes).index("NORM")] == 1)
    np.testing.assert_array_equal(ds.y, (~only_norm).astype(int))


def test_binary_report_uses_report_text(ptbxl_root):
    with pytest.warns(UserWarning, match="without a report"):
        ds = load_ptbxl(ptbxl_root, task="binary_report")
    reports = ds.meta["report"].str.lower()
    assert (ds.y[reports.str.contains("sonst normales ekg").to_numpy()] == 0).all()
    assert (ds.y[reports.str.contains("abnormal ecg").to_numpy()] == 1).all()
    assert 0.3 < ds.y.mean() < 0.8


@pytest.mark.parametrize("task", ["subdiagnostic", "diagnostic", "form", "rhythm", "all"])
def test_multilabel_tasks(ptbxl_root, task):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = load_ptbxl(ptbxl_root, task=task)
    assert ds.y.shape == (len(ds), len(ds.classes))
    assert (ds.y.sum(axis=1) >= 1).all(), "records without a label must be dropped"
    assert (ds.y.sum(axis=0) >= 1).all(), "every class column has a positive record"
    statements = pd.read_csv(ptbxl_root / "scp_statements.csv", index_col=0)
    if task in ("form", "rhythm"):
        assert set(ds.classes) <= set(statements.index[statements[task] == 1.0])
    if task == "all":
        assert set(ds.classes) <= set(statements.index) and len(ds) == 1487
    if task == "subdiagnostic":
        assert set(ds.classes) <= set(statements.diagnostic_subclass.dropna())


@pytest.mark.parametrize("task", ["all", "diagnostic"])
def test_each_records_labels_are_its_codes_of_the_task_read_independently(ptbxl_root, task):
    # "all" counts every code whatever its likelihood (SR is mostly 0), "diagnostic" the
    # diagnostic statements alone: neither rule was checked record by record.
    import ast
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = load_ptbxl(ptbxl_root, task=task)
    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(ptbxl_root / "scp_statements.csv", index_col=0)
    allowed = (set(statements.index) if task == "all"
               else set(statements.index[statements.diagnostic == 1.0]))
    classes = np.asarray(ds.classes)
    for ecg_id, row in zip(ds.meta.index, ds.y):
        codes = set(ast.literal_eval(table.at[ecg_id, "scp_codes"]))
        assert set(classes[row == 1]) == codes & allowed, ecg_id


def test_min_samples_keeps_labels_seen_more_often_only(ptbxl_root):
    # The benchmark keeps a label seen more than min_samples times in the table: exactly
    # min_samples is dropped.
    import ast
    import warnings

    table = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id")
    counts = pd.Series([c for codes in table.scp_codes for c in ast.literal_eval(codes)])
    counts = counts.value_counts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        every = load_ptbxl(ptbxl_root, task="all")
        label = next(c for c in every.classes if counts[c] >= 2)
        at = load_ptbxl(ptbxl_root, task="all", min_samples=int(counts[label]))
        below = load_ptbxl(ptbxl_root, task="all", min_samples=int(counts[label]) - 1)
    assert label not in at.classes and label in below.classes
    assert set(at.classes) == {c for c in every.classes if counts[c] > counts[label]}


def test_rhythm_sinus_is_majority(ptbxl_root):
    with pytest.warns(UserWarning, match="without a rhythm label"):
        ds = load_ptbxl(ptbxl_root, task="rhythm")
    counts = dict(zip(ds.classes, ds.y.sum(0)))
    assert max(counts, key=counts.get) == "SR"


def test_min_samples_drops_rare_labels(ptbxl_root):
    with pytest.warns(UserWarning):
        ds = load_ptbxl(ptbxl_root, task="diagnostic", min_samples=10)
    assert (ds.y.sum(axis=0) > 10).all()


def test_min_samples_counts_every_row_of_the_table(ptbxl_root):
    # The counts were taken over the records whose files were present: at 500 Hz (about
    # 180 records here), CRBBB, ISC_, RAO/RAE, RVH and SEHYP were dropped as rare from the
    # records that the 100 Hz load labelled with them.
    def labels(rate):
        with pytest.warns(UserWarning):
            ds = load_ptbxl(ptbxl_root, task="subdiagnostic", sampling_rate=rate,
                            min_samples=2)
        return {i: set(ds.classes[row == 1]) for i, row in zip(ds.meta.index, ds.y)}

    high, low = labels(500), labels(100)
    assert len(high) > 100 and set(high) <= set(low)
    assert {i: low[i] for i in high} == high


def test_500hz_uses_high_resolution_files(ptbxl_root):
    with pytest.warns(UserWarning, match="without 500 Hz files"):
        ds = load_ptbxl(ptbxl_root, task="superdiagnostic", sampling_rate=500)
    assert ds.sampling_rate == 500.0
    assert all(p.endswith("_hr") and "records500" in p for p in ds.X)
    assert 0 < len(ds) <= 200


def test_min_samples_is_refused_for_the_binary_tasks(ptbxl_root):
    # Dropping a rare superclass left {NORM} on records that had another: abnormal
    # records (NORM and 1AVB, say) became normal.
    for task in ("binary", "binary_report"):
        with pytest.raises(ValueError, match=f"min_samples drops rare labels of a multi-label "
                                             f"task; task='{task}' has two classes"):
            load_ptbxl(ptbxl_root, task=task, min_samples=310)


def test_impute_meta_never_makes_up_a_report(ptbxl_root, tmp_path):
    # The most common report ("normal ECG") filled a blank one: the record was labelled
    # normal in binary_report.
    root = _edited_copy(ptbxl_root, tmp_path, "ptbxl_database.csv",
                        lambda f: f.assign(report=[""] + list(f.report[1:])))
    with pytest.warns(UserWarning, match="1 without a report"):
        ds = load_ptbxl(root, task="binary_report", impute_meta=True)
    first = pd.read_csv(root / "ptbxl_database.csv", index_col="ecg_id").index[0]
    assert first not in ds.meta.index


def test_impute_meta(ptbxl_root):
    with pytest.warns(UserWarning):
        raw = load_ptbxl(ptbxl_root)
    with pytest.warns(UserWarning):
        ds = load_ptbxl(ptbxl_root, impute_meta=True)
    train = raw.meta[raw.folds <= 8]
    assert raw.meta["height"].isna().any()
    assert not ds.meta["height"].isna().any()
    missing = raw.meta["height"].isna().to_numpy()
    assert (ds.meta["height"].to_numpy()[missing] == train["height"].median()).all()
    assert raw.meta["weight"].isna().any() and not ds.meta["weight"].isna().any()
    # A blank finding means that nothing was noted: the mode gave 80% of the records a left
    # axis deviation, and most of them extra beats and electrode problems.
    for col in ("heart_axis", "infarction_stadium2", "baseline_drift", "extra_beats",
                "electrodes_problems", "pacemaker", "nurse", "validated_by"):
        assert raw.meta[col].isna().any(), col
        pd.testing.assert_series_equal(ds.meta[col], raw.meta[col])


def test_impute_meta_takes_nothing_from_the_validation_and_test_folds(ptbxl_root, tmp_path):
    # The fill values were taken over all folds: the test fold's heights moved the
    # height given to training records.
    def edit(frame):
        frame = frame.copy()
        frame.loc[frame.strat_fold <= 8, "height"] = np.nan
        frame.loc[frame.index[frame.strat_fold <= 8][:2], "height"] = [150.0, 160.0]
        frame.loc[frame.strat_fold >= 9, "height"] = 300.0
        return frame

    root = _edited_copy(ptbxl_root, tmp_path, "ptbxl_database.csv", edit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = load_ptbxl(root, impute_meta=True)
    train = ds.folds <= 8
    assert ds.meta["height"][~train].eq(300.0).all()
    assert set(ds.meta["height"][train]) == {150.0, 160.0, 155.0}


def test_unknown_task(ptbxl_root):
    with pytest.raises(ValueError, match="unknown PTB-XL task 'superclass'.*superdiagnostic"):
        load_ptbxl(ptbxl_root, task="superclass")


@pytest.mark.parametrize("rate", [250, 0, -100, "100"])
def test_impossible_sampling_rate(ptbxl_root, rate):
    with pytest.raises(ValueError, match="100 or 500 Hz"):
        load_ptbxl(ptbxl_root, sampling_rate=rate)


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ptbxl_database.csv does not exist. Point at "
                                                r"the folder that holds it, or download ptbxl "
                                                r"there: `python -m ecgsk.datasets download "
                                                r"ptbxl .*` \(download=True in Python\)"):
        load_ptbxl(tmp_path / "nowhere")


def test_the_folder_of_another_dataset_is_named_as_such(ptbxl_root, cinc_root):
    from ecgsk.datasets import load_cinc2017

    with pytest.raises(FileNotFoundError, match=r"It holds cinc2017 records, not ptbxl ones: "
                                                r"point at the ptbxl folder, or read this one as "
                                                r"cinc2017\.$"):  # not: download PTB-XL there
        load_ptbxl(cinc_root)
    with pytest.raises(FileNotFoundError, match=r"It holds ptbxl records, not cinc2017 ones"):
        load_cinc2017(ptbxl_root)


def test_a_root_one_level_too_high_names_the_folder_below(tmp_path, ptbxl_root, cinc_root,
                                                          ptbdb_root):
    # data/ holding ptb-xl/, cinc/ and ptbdb/: each reader names its own folder
    # instead of suggesting a download of data that is there. PTB-XL's RECORDS
    # file (PTB Diagnostic's marker) must not pass for PTB Diagnostic.
    from ecgsk.datasets import load_cinc2017, load_ptbdb

    for name, target in [("ptb-xl", ptbxl_root), ("cinc", cinc_root), ("ptbdb", ptbdb_root)]:
        (tmp_path / name).symlink_to(target, target_is_directory=True)
    for load, folder in [(load_ptbxl, "ptb-xl"), (load_cinc2017, "cinc"), (load_ptbdb, "ptbdb")]:
        with pytest.raises(FileNotFoundError) as err:
            load(tmp_path)
        assert str(err.value).endswith(f"It is in {tmp_path / folder}: point at that folder.")


def test_a_root_inside_the_dataset_names_the_folder_above(ptbxl_root):
    # records100/ of PTB-XL: the download it suggested would nest a second copy there.
    with pytest.raises(FileNotFoundError) as err:
        load_ptbxl(ptbxl_root / "records100")
    assert str(err.value).endswith(f"It is in {ptbxl_root.resolve()}, above this folder: "
                                   "point at that folder.")
    with pytest.raises(FileNotFoundError) as err:
        load_ptbxl(ptbxl_root / "records100" / "00000")  # two levels down
    assert f"It is in {ptbxl_root.resolve()}, above" in str(err.value)


def test_a_linked_root_is_named_as_typed_not_where_the_link_leads(tmp_path, ptbxl_root):
    # Through a link to the data folder, the hint named the link's target: "It is in
    # /real/data/ptb-xl", a folder the user never typed.
    link = tmp_path / "data"
    link.symlink_to(ptbxl_root.parent, target_is_directory=True)
    with pytest.raises(FileNotFoundError) as err:
        load_ptbxl(link)
    assert str(err.value).startswith(f"no ptbxl data at {link}: ")
    assert str(err.value).endswith(f"It is in {link / ptbxl_root.name}: point at that folder.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = load_ptbxl(link / ptbxl_root.name)
        assert ds.X[0].startswith(str(link / ptbxl_root.name / "records100"))
        # ".." after a link goes up from the link's target, as the shell's ls does.
        inside = tmp_path / "inside"
        inside.symlink_to(ptbxl_root / "records100", target_is_directory=True)
        assert len(load_ptbxl(inside / "..")) == len(ds)


def test_empty_selection(tmp_path, ptbxl_root):
    # A copy of the metadata whose records are all absent: nothing to select.
    import shutil

    shutil.copy(ptbxl_root / "ptbxl_database.csv", tmp_path)
    shutil.copy(ptbxl_root / "scp_statements.csv", tmp_path)
    with pytest.raises(ValueError, match="no PTB-XL record .* left.*1487 without 100 Hz files"):
        load_ptbxl(tmp_path)


def _edited_copy(ptbxl_root, tmp_path, table, edit):
    from ..conftest import copy_ptbxl

    root, _ = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl", per_fold=2)
    path = root / table
    frame = pd.read_csv(path, index_col=0)
    frame = edit(frame)
    frame.to_csv(path)
    return root


@pytest.mark.parametrize("table, edit, task, message", [
    ("ptbxl_database.csv", lambda f: f.drop(columns="scp_codes"), "superdiagnostic",
     r"ptbxl_database.csv has no column 'scp_codes'; is it PTB-XL's own file\?"),
    ("ptbxl_database.csv", lambda f: f.drop(columns=["strat_fold", "report"]), "binary_report",
     r"ptbxl_database.csv has no column 'strat_fold', 'report'"),
    ("ptbxl_database.csv", lambda f: f.reset_index(drop=True), "all",
     r"ptbxl_database.csv has no column 'ecg_id'"),
    ("scp_statements.csv", lambda f: f.drop(columns="diagnostic_class"), "binary",
     r"scp_statements.csv has no column 'diagnostic_class'"),
    ("scp_statements.csv", lambda f: f.drop(columns="rhythm"), "rhythm",
     r"scp_statements.csv has no column 'rhythm'"),
    ("ptbxl_database.csv", lambda f: f.assign(scp_codes=["{'NORM': 100"] + list(f.scp_codes[1:])),
     "superdiagnostic", r"ecg_id \d+ of .*ptbxl_database.csv has scp_codes \"\{'NORM': 100\"; "
                        r"expected a dict"),
    ("ptbxl_database.csv", lambda f: f.head(0), "superdiagnostic",
     r"no PTB-XL record under .* is left"),
    ("ptbxl_database.csv",
     lambda f: f.assign(strat_fold=["ten"] + list(f.strat_fold[1:-1]) + [2.5]), "superdiagnostic",
     r"ptbxl_database.csv: strat_fold of ecg_id \d+ is 'ten' \(2 such rows in all\); folds are "
     r"the whole numbers 1-10"),
    # Fold 0 or 11 fell in none of split_folds' parts, without a word.
    ("ptbxl_database.csv",
     lambda f: f.assign(strat_fold=[0] + list(f.strat_fold[1:-1]) + [11]), "superdiagnostic",
     r"strat_fold of ecg_id \d+ is 0 \(2 such rows in all\); folds are the whole numbers 1-10"),
    # One record in two rows could fall in the training and the test folds.
    ("ptbxl_database.csv", lambda f: f.assign(filename_lr=[f.filename_lr.iloc[1]]
                                              + list(f.filename_lr[1:])), "superdiagnostic",
     r"ptbxl_database.csv: ecg_ids \d+, \d+ both name the record 'records100/.*' in "
     r"filename_lr \(2 rows share a record in all\)"),
    # An ecg_id of NaN or "x7" was accepted without a word.
    ("ptbxl_database.csv", lambda f: f.rename(index={f.index[0]: "x7"}), "superdiagnostic",
     r"ptbxl_database.csv: row 1 has ecg_id 'x7' \(1 such rows in all\); ecg_ids are whole "
     r"numbers"),
    ("ptbxl_database.csv", lambda f: f.iloc[[0, 1, 0]], "superdiagnostic",
     r"ptbxl_database.csv lists ecg_id \d+ more than once \(1 repeated rows in all\)"),
    # NORM listed again as MI: every normal record became MI, without a word.
    ("scp_statements.csv", lambda f: pd.concat([f, f.loc[["NORM"]].assign(
        diagnostic_class="MI")]), "superdiagnostic",
     r"scp_statements.csv lists the statement 'NORM' more than once \(1 repeated rows"),
    # A flag that is not a number left no code of the task ("no record is left").
    ("scp_statements.csv", lambda f: f.assign(diagnostic=f.diagnostic.astype(object).where(
        f.index != "NDT", "x")), "superdiagnostic",
     r"scp_statements.csv: diagnostic of 'NDT' is 'x'; the flag columns hold 1.0 or nothing"),
    ("ptbxl_database.csv", lambda f: f.assign(scp_codes=["{1: 100.0}"] + list(f.scp_codes[1:])),
     "all", r"has scp_codes '\{1: 100.0\}'; expected a dict of codes to likelihoods"),
    ("ptbxl_database.csv", lambda f: f.assign(
        scp_codes=["{'NORM': 'x'}"] + list(f.scp_codes[1:])), "superdiagnostic",
     r"has scp_codes \"\{'NORM': 'x'\}\"; expected a dict of codes to likelihoods"),
    # An age of 'abc' made the column text: impute_meta's median failed inside pandas.
    ("ptbxl_database.csv", lambda f: f.assign(age=[None, "abc"] + list(f.age[2:])),
     "superdiagnostic", r"ptbxl_database.csv: age of ecg_id \d+ is 'abc' \(1 such rows in "
                        r"all\); age is a number, or empty when unknown"),
])
def test_a_malformed_table_names_the_file_and_column_or_record(ptbxl_root, tmp_path, table,
                                                               edit, task, message):
    root = _edited_copy(ptbxl_root, tmp_path, table, edit)
    with pytest.raises(ValueError, match=message):
        load_ptbxl(root, task=task)


def test_an_empty_table_file_is_named(ptbxl_root, tmp_path):
    root = _edited_copy(ptbxl_root, tmp_path, "scp_statements.csv", lambda f: f)
    (root / "scp_statements.csv").write_text("")
    with pytest.raises(ValueError, match=r"scp_statements.csv is not a readable csv file"):
        load_ptbxl(root)


def test_a_missing_statements_table_is_named_with_how_to_get_it(ptbxl_root, tmp_path):
    root = _edited_copy(ptbxl_root, tmp_path, "scp_statements.csv", lambda f: f)
    (root / "scp_statements.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"scp_statements.csv does not exist: PTB-XL "
                                                r"ships it beside ptbxl_database.csv; .*"
                                                r"python -m ecgsk.datasets download ptbxl"):
        load_ptbxl(root)


def test_a_record_without_fold_or_patient_is_left_out_and_counted(ptbxl_root, tmp_path):
    def unplace(frame):
        frame = frame.copy()
        frame.iloc[0, frame.columns.get_loc("strat_fold")] = np.nan
        frame.iloc[1, frame.columns.get_loc("patient_id")] = np.nan
        return frame

    root = _edited_copy(ptbxl_root, tmp_path, "ptbxl_database.csv", unplace)
    ids = pd.read_csv(root / "ptbxl_database.csv", index_col=0).index[:2]
    with pytest.warns(UserWarning, match=rf"left out 2 of 20 records \(2 without a strat_fold "
                                         rf"or patient_id: ecg_id {ids[0]}, ecg_id {ids[1]}\)"):
        ds = load_ptbxl(root)
    assert len(ds.X) == 18 and not np.isnan(ds.folds.astype(float)).any()
    assert ds.dropped == {"without a strat_fold or patient_id": 2}


def test_a_record_without_its_signal_file_is_left_out_and_counted(ptbxl_root, tmp_path):
    # A download cut short can leave a header without its .dat: the loader would refuse it.
    from ..conftest import copy_ptbxl

    root, records = copy_ptbxl(ptbxl_root, tmp_path / "ptb-xl", per_fold=2)
    Path(f"{records[3]}.dat").unlink()
    gone = Path(records[3]).relative_to(root)
    with pytest.warns(UserWarning, match=rf"left out 1 of 20 records \(1 without 100 Hz files: "
                                         rf"{gone}\.dat\)"):
        ds = load_ptbxl(root)
    assert ds.dropped == {"without 100 Hz files": 1} and records[3] not in ds.X
    assert len(ds.X) == 19


def test_a_bad_report_pattern_is_named_before_anything_is_read(tmp_path):
    with pytest.raises(ValueError, match=r"report_pattern '\(unclosed' is not a regular "):
        load_ptbxl(tmp_path / "nowhere", task="binary_report", report_pattern="(unclosed")


def test_tasks_constant():
    assert set(PTBXL_TASKS) == {"superdiagnostic", "subdiagnostic", "diagnostic", "form",
                                "rhythm", "all", "binary", "binary_report"}
