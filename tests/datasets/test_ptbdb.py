"""PTB Diagnostic and plain-folder readers."""

import shutil
from pathlib import Path

import numpy as np
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
    for ext in (".dat", ".xyz"):
        shutil.copy(src / f"s0010_re{ext}", dst / f"s0011_re{ext}")
    shutil.copytree(src, tmp_path / "patient001")
    with pytest.warns(UserWarning, match=r"left out 1 of 2 records \(1 without a reason for "
                                         r"admission: patient002/s0011_re\)"):
        ds = load_ptbdb(tmp_path)
    assert ds.groups.tolist() == ["patient001"]


@pytest.mark.parametrize("load", [load_ptbdb, load_wfdb_dir])
def test_a_record_without_its_signal_files_is_left_out_and_counted(tmp_path, ptbdb_root, load):
    # A download cut short can leave a header without its .dat (or .xyz): the loader refuses.
    for patient in ("patient001", "patient002"):
        shutil.copytree(ptbdb_root / "patient001", tmp_path / patient)
    (tmp_path / "patient002" / "s0010_re.xyz").unlink()
    with pytest.warns(UserWarning, match=r"left out 1 of 2 records \(1 whose header names a "
                                         r"signal file that is not there: .*s0010_re "
                                         r"\(s0010_re.xyz\)\)"):
        ds = load(tmp_path)
    assert [Path(x).parent.name for x in ds.X] == ["patient001"]


def test_ptbdb_patient_folders_that_are_links_are_read(tmp_path, ptbdb_root):
    """As PhysioNet's layout linked into a folder (a shared data disk): read, not a KeyError."""
    store = tmp_path / "store"
    shutil.copytree(ptbdb_root / "patient001", store / "patient001")
    root = tmp_path / "ptbdb"
    root.mkdir()
    (root / "patient001").symlink_to(store / "patient001", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # followed once, not forever
    ds = load_ptbdb(root)
    assert len(ds) == 1 and ds.groups.tolist() == ["patient001"]


def test_a_records_listing_without_any_record_is_named(tmp_path):
    # PhysioNet's RECORDS file, but none of the records it lists (nor any other) is there.
    (tmp_path / "RECORDS").write_text("patient001/s0010_re\n")
    with pytest.raises(ValueError, match=r"no PTB Diagnostic record \(no .hea header\) under"):
        load_ptbdb(tmp_path)


def test_ptbdb_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="ptbdb"):
        load_ptbdb(tmp_path)


def test_wfdb_dir(ptbdb_root):
    ds = load_wfdb_dir(ptbdb_root)
    assert ds.y is None and len(ds) == 1
    assert ds.meta.loc[0, "sig_name"][:3] == ["i", "ii", "iii"]
    assert ds.sampling_rate == 1000.0
    assert ds.meta.loc[0, "record"] == "patient001/s0010_re" == ds.groups[0]


def test_wfdb_dir_keeps_same_named_records_of_two_folders_apart(tmp_path, ptbdb_root):
    # Named by their bare names, they were one group: one patient to a grouped splitter.
    for patient in ("patient001", "patient002"):
        (tmp_path / patient).mkdir()
        for suffix in (".hea", ".dat", ".xyz"):
            (tmp_path / patient / f"s0010_re{suffix}").symlink_to(
                ptbdb_root / "patient001" / f"s0010_re{suffix}")
    ds = load_wfdb_dir(tmp_path)
    assert list(ds.groups) == ["patient001/s0010_re", "patient002/s0010_re"]


def test_wfdb_dir_follows_records_and_names_what_it_lists_but_lacks(tmp_path, ptbdb_root):
    import warnings

    shutil.copytree(ptbdb_root / "patient001", tmp_path / "patient001")
    shutil.copytree(ptbdb_root / "patient001", tmp_path / "unlisted")
    (tmp_path / "RECORDS").write_text("patient001/s0010_re\npatient999/s9999\n")
    with pytest.warns(UserWarning, match=r"wfdb_dir: left out 1 of 2 records \(1 listed in a "
                                         r"RECORDS file without a header file: "
                                         r"patient999/s9999\)"):
        ds = load_wfdb_dir(tmp_path)
    assert [p.rsplit("/", 2)[-2] for p in ds.X] == ["patient001"]  # not the unlisted copy
    # Counted in dropped too, as the records a reader leaves out itself are; a record
    # listed twice is one.
    assert ds.dropped == {"listed in a RECORDS file without a header file": 1}
    (tmp_path / "RECORDS").write_text("patient001/s0010_re\npatient999/s9999\n"
                                      "patient999/s9999\n")
    with pytest.warns(UserWarning, match=r"ptbdb: left out 1 of 2 records \(1 listed in "
                                         r"RECORDS without a header file: patient999/s9999\)"):
        assert load_ptbdb(tmp_path).dropped == {"listed in RECORDS without a header file": 1}
    (tmp_path / "RECORDS").write_text("patient998/s9998\n")  # none there: every header
    with pytest.warns(UserWarning, match=r"RECORDS: none of its 1 entry is present \(a stale or "
                                         r"foreign RECORDS file\?\), so every header found "
                                         r"\(2 records\) is read instead"):
        ds = load_wfdb_dir(tmp_path)
    assert sorted(p.rsplit("/", 2)[-2] for p in ds.X) == ["patient001", "unlisted"]
    (tmp_path / "RECORDS").write_text("\n")
    with pytest.warns(UserWarning, match=r"RECORDS: it lists no record .* every header found "
                                         r"\(2 records\)"):
        assert len(load_wfdb_dir(tmp_path)) == 2
    shutil.rmtree(tmp_path / "patient001")
    shutil.rmtree(tmp_path / "unlisted")
    with warnings.catch_warnings():  # no header at all: the error alone
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="no WFDB record"):
            load_wfdb_dir(tmp_path)


def test_wfdb_dir_reads_a_multi_segment_record_once(tmp_path):
    # Without RECORDS, each segment and the layout header were read as records of their own.
    import wfdb

    from ecgsk.preprocessing import WFDBLoader

    rng = np.random.default_rng(0)
    for name in ("rec_0001", "rec_0002", "single"):
        wfdb.wrsamp(name, fs=100, units=["mV"], sig_name=["II"], fmt=["16"],
                    p_signal=rng.normal(size=(300, 1)).round(3), write_dir=str(tmp_path))
    (tmp_path / "rec_layout.hea").write_text("rec_layout 1 100 0\n~ 0 200/mV 16 0 0 0 0 II\n")
    (tmp_path / "rec.hea").write_text("rec/3 1 100 600\nrec_layout 0\nrec_0001 300\n"
                                      "rec_0002 300\n")
    ds = load_wfdb_dir(tmp_path)
    assert list(ds.groups) == ["rec", "single"]
    assert list(ds.meta["sig_len"]) == [600, 300]
    assert WFDBLoader().transform(ds.X[:1]).shape == (1, 1, 600)


def _write_record(folder, name, fs=500):
    """A tiny one-lead WFDB record ``folder/name`` (folder created)."""
    import numpy as np
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["I"], p_signal=np.zeros((20, 1)),
                fmt=["16"], write_dir=str(folder))
    return folder / name


def test_wfdb_dir_follows_nested_records_listings(tmp_path):
    import warnings

    # PhysioNet's large databases list folders in RECORDS, each with its own RECORDS.
    _write_record(tmp_path / "p00", "a")
    _write_record(tmp_path / "p00", "b")
    _write_record(tmp_path / "p01", "c")
    _write_record(tmp_path / "stray", "d")
    (tmp_path / "RECORDS").write_text("p01/\np00/\n")
    (tmp_path / "p00" / "RECORDS").write_text("b\na\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_wfdb_dir(tmp_path)
    assert [p.rsplit("/", 2)[-2:] for p in ds.X] == [["p01", "c"], ["p00", "b"], ["p00", "a"]]


def test_wfdb_dir_reads_each_listed_record_once_and_never_loops(tmp_path):
    _write_record(tmp_path / "p00", "a")
    _write_record(tmp_path / "p00", "b")
    _write_record(tmp_path, "c")
    (tmp_path / "p00" / "up").symlink_to(tmp_path, target_is_directory=True)  # a loop
    # "." and ".." name this folder and its parent, "p00/up" links back: none is followed;
    # p00/a is listed twice, once by its folder.
    (tmp_path / "RECORDS").write_text(".\n..\np00/\np00/a\nc\np00/up\n")
    (tmp_path / "p00" / "RECORDS").write_text("a\nb\nup/\n")
    ds = load_wfdb_dir(tmp_path)
    assert [p.rsplit("/", 2)[-2:] for p in ds.X] == [["p00", "a"], ["p00", "b"], [
        tmp_path.name, "c"]]


@pytest.mark.parametrize("rate", ["abc", "0", "-5", "5e2", "50e1"])
def test_wfdb_dir_an_invalid_rate_is_nan_not_250_hz(tmp_path, rate):
    import numpy as np

    good = _write_record(tmp_path, "good")
    bad = _write_record(tmp_path, "bad")
    hea = bad.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("bad 1 500 20", f"bad 1 {rate} 20", 1))
    with pytest.warns(UserWarning, match=rf"1 of 2 records have no valid sampling frequency; "
                                         rf"their rate is NaN: Record '{bad}': its header "
                                         rf"'{hea}' gives the sampling frequency '{rate}'"):
        ds = load_wfdb_dir(tmp_path)
    fs = dict(zip(ds.meta["record"], ds.meta["fs"]))
    assert np.isnan(fs["bad"]) and fs["good"] == 500.0
    assert ds.sampling_rate is None  # an unknown rate is not the common one
    assert str(good) in ds.X.tolist()
    good.with_suffix(".hea").unlink()
    with pytest.warns(UserWarning, match="1 of 1 records"):
        assert load_wfdb_dir(tmp_path).sampling_rate is None


def test_wfdb_dir_a_real_or_default_250_hz_stays(tmp_path):
    import warnings

    _write_record(tmp_path, "given", fs=250)
    hea = _write_record(tmp_path, "default").with_suffix(".hea")
    hea.write_text(hea.read_text().replace("default 1 500 20", "default 1", 1))  # WFDB: 250 Hz
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_wfdb_dir(tmp_path)
    assert ds.meta["fs"].tolist() == [250.0, 250.0] and ds.sampling_rate == 250.0


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
    with pytest.raises(ValueError, match="cannot read the WFDB header .*bad.hea of record .*bad"):
        load_wfdb_dir(tmp_path)
    (tmp_path / "bad.hea").write_text("")  # wfdb: "list index out of range"
    with pytest.raises(ValueError, match=r"bad.hea of record .*bad: the file is empty$"):
        load_wfdb_dir(tmp_path)


def test_wfdb_dir_empty(tmp_path):
    with pytest.raises(ValueError, match="no WFDB record"):
        load_wfdb_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing is not a folder of WFDB records"):
        load_wfdb_dir(tmp_path / "missing")


def test_wfdb_dir_reads_records_files_as_users_write_them(tmp_path, ptbdb_root):
    # A folder listed in RECORDS but linked from another disk was left out without a word;
    # an absolute entry ended in "is not in the subpath"; a BOM turned the first name into
    # another, and bytes that are not UTF-8 into a UnicodeDecodeError naming no file.
    import warnings

    root, elsewhere = tmp_path / "db", tmp_path / "disk2" / "p01"
    shutil.copytree(ptbdb_root / "patient001", root / "p00")
    shutil.copytree(ptbdb_root / "patient001", elsewhere)
    (root / "p01").symlink_to(elsewhere, target_is_directory=True)
    (root / "RECORDS").write_bytes(b"\xef\xbb\xbfp00/\r\np01/\r\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_wfdb_dir(root)
    assert list(ds.groups) == ["p00/s0010_re", "p01/s0010_re"]
    (root / "RECORDS").write_bytes(b"p00/\n\xe9\xff\n")
    with pytest.warns(UserWarning, match=r"1 listed in a RECORDS file without a header file"):
        assert list(load_wfdb_dir(root).groups) == ["p00/s0010_re"]
    (root / "RECORDS").write_text(f"p00/s0010_re\n{elsewhere}/s0010_re\n../disk2/p01/s0010_re\n")
    with pytest.warns(UserWarning, match=rf"RECORDS lists 2 record\(s\) outside {root}, which "
                                         rf"are left out: '{elsewhere}/s0010_re', \.\.\."):
        assert list(load_wfdb_dir(root).groups) == ["p00/s0010_re"]


def test_wfdb_dir_names_a_record_without_its_signal_file_by_its_folder(tmp_path, ptbdb_root):
    # By its bare name, the note pointed at the complete record of that name.
    shutil.copytree(ptbdb_root / "patient001", tmp_path / "patient001")
    shutil.copytree(ptbdb_root / "patient001", tmp_path / "sub")
    (tmp_path / "sub" / "s0010_re.dat").unlink()
    with pytest.warns(UserWarning, match=r"sub/s0010_re \(s0010_re.dat\)"):
        assert list(load_wfdb_dir(tmp_path).groups) == ["patient001/s0010_re"]
