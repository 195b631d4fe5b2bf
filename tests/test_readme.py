"""README.md's Python examples run as written, on a small PTB-XL root of real records.

The blocks are read from the README itself, so an example that drifts from
the API fails here. Only the data folders are replaced: ``data/ptb-xl`` by a
root holding a few records of every fold (``ECGSK_DATA``'s PTB-XL records,
linked, and its tables cut down), ``.cache/ecg`` by a temporary folder.
"""

import contextlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import load_ptbxl
from ecgsk.metrics import macro_auroc

README = Path(__file__).resolve().parents[1] / "README.md"
# Records per fold: few to train on (the examples train for up to 30 epochs on a 2-core CI
# machine), more on the test fold, so that every superclass has positives and negatives there.
PER_FOLD = {9: 8, 10: 40}
PER_TRAINING_FOLD = 4


def python_block(marker):
    """The one fenced Python block of the README that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"README has {len(found)} Python blocks containing {marker!r}"
    return found[0]


@pytest.fixture(scope="module")
def small_ptbxl(ptbxl_root, tmp_path_factory):
    """A PTB-XL root of the first records with a diagnostic label of each fold (``PER_FOLD``)."""
    root = tmp_path_factory.mktemp("ptb-xl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "left out N records"
        kept = load_ptbxl(ptbxl_root, task="superdiagnostic").meta.index
    meta = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id").loc[kept]
    meta = pd.concat([rows.head(PER_FOLD.get(fold, PER_TRAINING_FOLD))
                      for fold, rows in meta.groupby("strat_fold")])
    meta.to_csv(root / "ptbxl_database.csv")
    (root / "scp_statements.csv").write_bytes((ptbxl_root / "scp_statements.csv").read_bytes())
    (root / "records100").symlink_to(ptbxl_root / "records100", target_is_directory=True)
    return root


def run_block(source, namespace, small_ptbxl, cache):
    source = source.replace('"data/ptb-xl"', repr(str(small_ptbxl)))
    source = source.replace('".cache/ecg"', repr(str(cache)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(README), "exec"), namespace)
    return out.getvalue()


def test_the_quick_start_and_its_continuations_run(small_ptbxl, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the explain example saves gradcam.png in the working folder
    ns = {}
    printed = run_block(python_block("ds.split_folds()"), ns, small_ptbxl, tmp_path / "cache")

    # The quick start printed the test fold's macro AUROC, and trained on folds 1-8 only.
    assert set(np.unique(ns["test"].y.min(axis=0))) == {0}  # every class has negatives
    assert set(np.unique(ns["test"].y.max(axis=0))) == {1}  # and positives: all are scored
    auroc = float(printed.strip())
    proba = ns["model"].predict_proba(ns["X_test"])
    assert auroc == pytest.approx(macro_auroc(ns["test"].y, proba))
    assert set(ns["train"].folds) == set(range(1, 9)) and set(ns["test"].folds) == {10}
    assert ns["X_train"].shape == (len(ns["train"].X), 12, 1000)
    assert proba.shape == (len(ns["test"].X), 5)

    # "Explain predictions" continues the quick start: a Grad-CAM map of one record, saved.
    explained = dict(ns)
    run_block(python_block("from ecgsk.explain import explain"), explained, small_ptbxl,
              tmp_path / "cache")
    assert explained["ex"].relevance.shape[0] == 1
    assert (tmp_path / "gradcam.png").stat().st_size > 0

    # "Model quality and ensembles" continues it too: two seeds validated on fold 9.
    run_block(python_block("seed_ensemble"), ns, small_ptbxl, tmp_path / "cache")
    ensemble = ns["model"]
    proba = ensemble.predict_proba(ns["X_test"])
    assert proba.shape == (len(ns["test"].X), 5)
    members = [np.asarray(m.predict_proba(ns["X_test"])) for m in ensemble.estimators_]
    assert len(members) == 2
    for member in ensemble.estimators_:  # early stopping watched fold 9's records
        assert np.isfinite(member[-1].history[:, "valid_loss"]).all()
    np.testing.assert_allclose(proba, np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
