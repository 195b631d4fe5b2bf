"""PTB Diagnostic and plain-folder readers."""

import shutil

import pytest

from ecgsk.datasets import load_ptbdb, load_wfdb_dir


def test_ptbdb_reason_for_admission(ptbdb_root):
    ds = load_ptbdb(ptbdb_root)
    assert len(ds) == 1
    assert ds.y.tolist() == ["Myocardial infarction"]
    assert ds.groups.tolist() == ["patient001"]
    assert ds.X[0].endswith("patient001/s0010_re")
    assert ds.meta.loc[0, "n_sig"] == 15 and ds.sampling_rate == 1000.0


def test_ptbdb_drops_records_without_diagnosis(tmp_path, ptbdb_root):
    src = ptbdb_root / "patient001"
    dst = tmp_path / "patient002"
    dst.mkdir()
    hea = (src / "s0010_re.hea").read_text().replace("Reason for admission: Myocardial infarction",
                                                     "Reason for admission: n/a")
    (dst / "s0011_re.hea").write_text(hea.replace("s0010_re", "s0011_re"))
    shutil.copytree(src, tmp_path / "patient001")
    with pytest.warns(UserWarning, match="left out 1 of 2"):
        ds = load_ptbdb(tmp_path)
    assert ds.groups.tolist() == ["patient001"]


def test_ptbdb_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="ptbdb"):
        load_ptbdb(tmp_path)


def test_wfdb_dir(ptbdb_root):
    ds = load_wfdb_dir(ptbdb_root)
    assert ds.y is None and len(ds) == 1
    assert ds.meta.loc[0, "sig_name"][:3] == ["i", "ii", "iii"]
    assert ds.sampling_rate == 1000.0


def test_wfdb_dir_follows_records_and_names_what_it_lists_but_lacks(tmp_path, ptbdb_root):
    import warnings

    shutil.copytree(ptbdb_root / "patient001", tmp_path / "patient001")
    shutil.copytree(ptbdb_root / "patient001", tmp_path / "unlisted")
    (tmp_path / "RECORDS").write_text("patient001/s0010_re\npatient999/s9999\n")
    with pytest.warns(UserWarning, match=r"left out 1 of 2 records \(1 listed in .*RECORDS "
                                         r"without a header file: patient999/s9999\)"):
        ds = load_wfdb_dir(tmp_path)
    assert [p.rsplit("/", 2)[-2] for p in ds.X] == ["patient001"]  # not the unlisted copy
    (tmp_path / "RECORDS").write_text("patient998/s9998\n")  # none there: every header
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_wfdb_dir(tmp_path)
    assert sorted(p.rsplit("/", 2)[-2] for p in ds.X) == ["patient001", "unlisted"]


@pytest.mark.parametrize("reader, name", [("load_ptbxl", "ptbxl"), ("load_cinc2017", "cinc2017"),
                                          ("load_ptbdb", "ptbdb"), ("load_wfdb_dir", "WFDB")])
def test_a_root_that_is_none_or_a_file_is_named(tmp_path, reader, name):
    import ecgsk.datasets

    read = getattr(ecgsk.datasets, reader)
    with pytest.raises(ValueError, match=f"root must be a folder of {name} records, got None"):
        read(None)
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(NotADirectoryError, match=f"root must be a folder of {name} records; "
                                                 f".*notes.txt is a file"):
        read(tmp_path / "notes.txt")


def test_wfdb_dir_unreadable_header(tmp_path):
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(ValueError, match="cannot read the WFDB header of record .*bad"):
        load_wfdb_dir(tmp_path)


def test_wfdb_dir_empty(tmp_path):
    with pytest.raises(ValueError, match="no WFDB record"):
        load_wfdb_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing is not a folder of WFDB records"):
        load_wfdb_dir(tmp_path / "missing")
