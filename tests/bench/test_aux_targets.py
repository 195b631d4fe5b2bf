"""bench/aux_targets.py: finer labels aligned to the records, and the table it prints."""


import numpy as np
import pandas as pd
import pytest

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier

from .conftest import counted_networks, load_bench


@pytest.fixture(scope="module")
def aux():
    return load_bench("aux_targets")


@pytest.fixture(scope="module")
def data(aux, data_root, signal_cache):
    return aux.quality.Data("superdiagnostic", data_root, None, signal_cache, select=True)


def test_auxiliary_labels_are_the_same_records_finer_labels(aux, data, ptbxl_root):
    y_sub, classes = aux.auxiliary_labels(data, ptbxl_root, "subdiagnostic")
    assert y_sub.shape[0] == len(data.y) and y_sub.shape[1] > data.y.shape[1]
    assert y_sub[data.plan.train].sum(axis=0).min() > 0  # no column without a positive

    # Every record's superclasses are exactly the classes of its subclasses: the rows line up.
    statements = pd.read_csv(ptbxl_root / "scp_statements.csv", index_col=0)
    super_of = dict(zip(statements.diagnostic_subclass, statements.diagnostic_class))
    implied = np.array([[any(super_of[c] == s for c in classes[row > 0]) for s in data.classes]
                        for row in y_sub])
    np.testing.assert_array_equal(implied, data.y.astype(bool))


def tiny_network(random_state=0):
    return ECGNetClassifier(ECGCNN, module__filters=(4, 4, 8, 8), module__dense=(8,),
                            max_epochs=2, batch_size=64, lr=1e-3, patience=None,
                            lr_patience=None, random_state=random_state)


def test_the_table_compares_each_variant_and_a_rerun_reuses_the_fits(
        aux, data_root, signal_cache, tmp_path, monkeypatch, capsys):
    fitted = counted_networks(monkeypatch, aux.quality, tiny_network)
    argv = ["--data", str(data_root), "--select", "--aux", "subdiagnostic", "--seeds", "0", "1",
            "--n-boot", "20", "--cache-dir", str(signal_cache), "--out-dir", str(tmp_path)]
    aux.main(argv)
    table = capsys.readouterr().out.splitlines()
    assert fitted == [0, 1, 0, 1]  # two seeds of the plain network, two with the finer labels
    rows = {line.split(" | ")[0].strip("| "): line for line in table if line.startswith("| ")}
    assert set(rows) == {"auxiliary targets", "none", "subdiagnostic"}
    assert "p=" in rows["subdiagnostic"] and "p=" not in rows["none"]
    assert len(list((tmp_path / "select").glob("*.npz"))) == 4

    aux.main(argv)
    assert fitted == [0, 1, 0, 1]  # nothing refitted
    assert capsys.readouterr().out.splitlines() == table


def test_the_resnet_member_is_the_ensembles_and_is_blended_with_the_others(aux):
    mine = aux.member("resnet", 3)
    assert type(mine[-1]).__name__ == "ECGNetClassifier"
    assert mine.get_params()["net__random_state"] == 3
    # Its other members are the rows of the ensemble's SE networks, MiniRocket and features.
    names = [aux.blend_rows.find_row("superdiagnostic", n).name
             for n in aux.OTHER_MEMBERS["resnet"]]
    assert names[0] == "3 seeds averaged" and len(set(names)) == 3
