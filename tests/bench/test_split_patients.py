"""bench/split_patients.py: two roots (PTB-XL: disjoint patients; CinC 2017: records)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgsk.compare._data import load_dataset

from .conftest import load_bench


@pytest.fixture(scope="module")
def split():
    return load_bench("split_patients")


def test_roots_share_no_patient_and_keep_every_record(split, ptbxl_root, tmp_path):
    sizes = split.split_patients(ptbxl_root, tmp_path)
    full = load_dataset("ptbxl", "superdiagnostic", ptbxl_root, 100)
    a = load_dataset("ptbxl", "superdiagnostic", tmp_path / "A" / "ptb-xl", 100)
    b = load_dataset("ptbxl", "superdiagnostic", tmp_path / "B" / "ptb-xl", 100)
    assert not set(a.groups) & set(b.groups)
    assert len(a) + len(b) == len(full)
    assert set(a.folds) == set(b.folds) == set(range(1, 11))  # every fold on both sides
    rows = pd.read_csv(Path(ptbxl_root) / "ptbxl_database.csv")
    assert sizes == {"A": int((rows.patient_id % 2 == 0).sum()),
                     "B": int((rows.patient_id % 2 == 1).sum())}
    np.testing.assert_array_equal(np.asarray(b.groups) % 2, 1)


def test_a_folder_without_the_database_is_refused(split, tmp_path):
    with pytest.raises(FileNotFoundError, match="no ptbxl data at"):
        split.split_patients(tmp_path, tmp_path / "out")


def test_the_command_line_refuses_bad_paths_with_a_usage_error(split, ptbxl_root, tmp_path,
                                                                capsys):
    (tmp_path / "file").write_text("")
    for argv, message in (([str(tmp_path), str(tmp_path / "out")], "no ptbxl data at"),
                          ([str(ptbxl_root), str(tmp_path / "file")], "file")):
        with pytest.raises(SystemExit) as exc:  # tracebacks before
            split.main(argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def test_cinc_roots_split_the_records_in_order(split, cinc_root, tmp_path):
    sizes = split.split_records(cinc_root, tmp_path, 300)
    full = load_dataset("cinc2017", "af", cinc_root, 300)
    a = load_dataset("cinc2017", "af", tmp_path / "A" / "cinc2017", 300)
    b = load_dataset("cinc2017", "af", tmp_path / "B" / "cinc2017", 300)
    assert sizes == {"A": len(full) - 300, "B": 300}
    names = [Path(p).name for p in full.X]
    assert [Path(p).name for p in b.X] == names[-300:]  # the later recordings
    assert [Path(p).name for p in a.X] == names[:-300]
    np.testing.assert_array_equal(b.y, full.y[-300:])
    with pytest.raises(ValueError, match="--cinc must be between 1 and"):
        split.split_records(cinc_root, tmp_path / "x", len(full))
