"""bench/split_patients.py: two PTB-XL roots of disjoint patients that the readers accept."""

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
    with pytest.raises(FileNotFoundError, match="not a PTB-XL root"):
        split.split_patients(tmp_path, tmp_path / "out")
