"""CinC 2017 reader on the shared records."""

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import load_cinc2017


def test_labels_and_paths(cinc_root):
    ds = load_cinc2017(cinc_root)
    ref = pd.read_csv(cinc_root / "training2017" / "REFERENCE.csv", header=None)
    assert len(ds) == len(ref) == 7000
    assert list(ds.classes) == ["N", "A", "O", "~"]
    np.testing.assert_array_equal(ds.y, ref[1].to_numpy())
    assert ds.X[0].endswith("training2017/A00001")
    assert ds.folds is None and ds.sampling_rate == 300.0
    assert len(set(ds.groups)) == len(ds)


def test_accepts_training_folder_itself(cinc_root):
    ds = load_cinc2017(cinc_root / "training2017")
    assert len(ds) == 7000


def test_missing_record_is_reported(tmp_path, cinc_root):
    folder = tmp_path / "training2017"
    folder.mkdir()
    for name in ("A00001", "A00002", "A00004"):
        for ext in (".hea", ".mat"):
            (folder / f"{name}{ext}").symlink_to(cinc_root / "training2017" / f"{name}{ext}")
    (folder / "A00004.mat").unlink()  # a download cut short: a header without its signal
    (folder / "REFERENCE.csv").write_text("A00001,N\nA00002,N\nA00003,A\nA00004,N\n")
    with pytest.warns(UserWarning, match=r"left out 2 of 4 records \(2 listed in REFERENCE.csv "
                                         r"without a header or .mat file: A00003, A00004\)"):
        ds = load_cinc2017(tmp_path)
    assert list(ds.meta["record"]) == ["A00001", "A00002"]
    assert ds.dropped == {"listed in REFERENCE.csv without a header or .mat file": 2}


def test_a_record_without_a_label_is_counted_and_said(tmp_path, cinc_root):
    # A full training2017/ beside an older or partial REFERENCE.csv: the records it does
    # not list were left out with no word, though nothing is to be dropped silently.
    folder = tmp_path / "training2017"
    folder.mkdir()
    for name in ("A00001", "A00002", "A00003", "A00004"):
        for ext in (".hea", ".mat"):
            (folder / f"{name}{ext}").symlink_to(cinc_root / "training2017" / f"{name}{ext}")
    (folder / "REFERENCE.csv").write_text("A00001,N\nA00002,N\n")
    reason = "with a header and .mat file but no line in REFERENCE.csv"
    with pytest.warns(UserWarning, match=rf"left out 2 of 4 records \(2 {reason}: A00003, "
                                         r"A00004\)"):
        ds = load_cinc2017(tmp_path)
    assert list(ds.meta["record"]) == ["A00001", "A00002"] and ds.dropped == {reason: 2}


def test_a_record_listed_twice_or_with_two_headers_is_an_error(tmp_path, cinc_root):
    folder = tmp_path / "training2017"
    (folder / "sub").mkdir(parents=True)
    for ext in (".hea", ".mat"):
        (folder / f"A00001{ext}").symlink_to(cinc_root / "training2017" / f"A00001{ext}")
    (folder / "REFERENCE.csv").write_text("A00001,N\nA00001,A\n")
    with pytest.raises(ValueError, match=r"REFERENCE.csv lists 1 record\(s\) more than once: "
                                         r"A00001; each record needs exactly one label"):
        load_cinc2017(tmp_path)
    (folder / "REFERENCE.csv").write_text("A00001,N\n")
    assert len(load_cinc2017(tmp_path).X) == 1
    (folder / "sub" / "A00001.hea").symlink_to(cinc_root / "training2017" / "A00001.hea")
    with pytest.raises(ValueError, match=r"record A00001 of .*REFERENCE.csv has two headers "
                                         r"under .*: .*A00001.hea and .*sub/A00001.hea; keep one"):
        load_cinc2017(tmp_path)


def test_unknown_label(tmp_path):
    (tmp_path / "REFERENCE.csv").write_text("A00001,X\n")
    with pytest.raises(ValueError, match="unknown labels \\['X'\\], first at A00001 \\('X'\\)"):
        load_cinc2017(tmp_path)


@pytest.mark.parametrize("text, message", [
    # A missing label was "unknown labels [nan]", naming no record.
    ("A00001,N\nA00004,\n", r"unknown labels \['\(none\)'\], first at A00004 \(none\)"),
    # A first line of three fields made the records an index and the labels records.
    ("A00001,N,x\nA00002,A\n", r"REFERENCE.csv: line 1 has 3 field\(s\); each line is "
                                r"'record,label'"),
    ("A00001\nA00002\n", r"REFERENCE.csv: line 1 has 1 field\(s\)"),
])
def test_a_malformed_reference_line_is_named(tmp_path, text, message):
    (tmp_path / "REFERENCE.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_cinc2017(tmp_path)


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="REFERENCE.csv"):
        load_cinc2017(tmp_path)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty: it lists a 'record,label' line for each record"),
    (b"A00001,N\n\xff\xfe\x00garbage,\xc3\n", "is not a readable csv file of 'record,label'"),
])
def test_an_unreadable_reference_file_is_named(tmp_path, content, message):
    (tmp_path / "REFERENCE.csv").write_bytes(content)
    with pytest.raises(ValueError, match=rf"REFERENCE.csv {message}"):
        load_cinc2017(tmp_path)


@pytest.mark.parametrize("root", [5, ["data"]])
def test_a_root_that_is_not_a_path_is_named(root):
    from ecgsk.datasets import load_ptbdb, load_ptbxl, load_wfdb_dir

    for load in (load_cinc2017, load_ptbxl, load_ptbdb, load_wfdb_dir):
        with pytest.raises(TypeError, match=r"root must be the path of a folder of .* records "
                                            r"\(a str or path-like\), got"):
            load(root)


def test_flags_that_are_not_bools_are_named(tmp_path):
    from ecgsk.datasets import load_ptbdb, load_ptbxl

    for load in (load_cinc2017, load_ptbxl, load_ptbdb):
        with pytest.raises(ValueError, match="download must be True or False, got 'no'"):
            load(tmp_path, download="no")  # truthy: it used to start a download
    with pytest.raises(ValueError, match="impute_meta must be True or False, got 'yes'"):
        load_ptbxl(tmp_path, impute_meta="yes")


def test_labels_with_spaces_or_crlf_line_ends_are_read(cinc_root, tmp_path):
    # A REFERENCE.csv edited on Windows, or with spaces: a mutant without .str.strip()
    # refused it as "unknown labels", and no test failed.
    folder = tmp_path / "training2017"
    folder.mkdir()
    for name in ("A00001", "A00002"):
        for ext in (".hea", ".mat"):
            (folder / f"{name}{ext}").symlink_to(cinc_root / "training2017" / f"{name}{ext}")
    (folder / "REFERENCE.csv").write_text("A00001, N\r\nA00002,A \r\n")
    assert list(load_cinc2017(tmp_path).y) == ["N", "A"]
