"""Shared fixtures: the real-data root and small synthetic ECGs."""

import os

# sklearn's estimator checks skip check_array_api_input unless SciPy's array
# API support is on, and it must be on before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
import shutil
import signal
import textwrap
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_raises():
    """Python's KeyboardInterrupt on SIGINT, however the test run was started.

    Tests send SIGINT (a user's Ctrl-C) to themselves and to the commands they
    start. A run started in the background of a non-interactive shell
    (``pytest &`` in a script) inherits SIGINT ignored, and Python leaves it
    so: those tests then failed with "DID NOT RAISE KeyboardInterrupt".
    The commands started by tests get the default again at exec.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True)
def no_user_pipelines(monkeypatch):
    """The checkout's pipelines alone, whatever ``ECGSK_PIPELINES`` a developer has set.

    With it set, the registry's and README's tests failed on a user's own copy of a
    shipped pipeline, and tests/pipelines loaded the user's files by name. A test
    that needs the variable sets it itself. So with MLflow's variables that choose
    the experiment and the run.
    """
    for name in ("ECGSK_PIPELINES", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def mlflow_state_kept():
    """MLflow's tracking and registry URIs and experiment, as each test found them.

    A test that calls ``setup_tracking`` itself leaves them (and their
    ``MLFLOW_*`` variables) set, and a later test's ``MlflowClient(uri)`` then
    looked models up in that test's registry.
    """
    from ecgsk.tracking._uri import tracking_kept

    with tracking_kept():
        yield


@pytest.fixture
def fsyncs(monkeypatch):
    """What ``os.fsync`` is called on from now on, in order: "file" or "folder"."""
    import stat

    calls, real = [], os.fsync

    def fsync(fd):
        calls.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def _data_root():
    root = os.environ.get("ECGSK_DATA")
    return Path(root).resolve() if root else None


def _require(sub):
    root = _data_root()
    if root is None:
        pytest.skip("ECGSK_DATA is not set: real PhysioNet data is needed "
                    "(CI sets ECGSK_DATA=../shared/data)")
    path = root / sub
    if not path.exists():
        # The variable is set, so the data is expected: fail loudly, never skip.
        pytest.fail(f"ECGSK_DATA={root} has no {sub!r} folder")
    return path


@pytest.fixture(scope="session")
def data_root():
    """The ECGSK_DATA folder; skips when the variable is unset."""
    return _require(".")


@pytest.fixture(scope="session")
def ptbxl_root():
    return _require("ptb-xl")


@pytest.fixture(scope="session")
def cinc_root():
    return _require("cinc2017")


@pytest.fixture(scope="session")
def ptbdb_root():
    return _require("ptbdb")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def copy_ptbxl(ptbxl_root, dest, per_fold=6):
    """A PTB-XL root of the first ``per_fold`` labelled records of each fold, files copied.

    The tables are cut to those records and their 100 Hz files copied (not
    linked), so a test may damage one. Returns the root and the records'
    paths (without suffix), in table order.
    """
    import warnings

    import pandas as pd

    from ecgsk.datasets import load_ptbxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "left out N records"
        kept = load_ptbxl(ptbxl_root, task="superdiagnostic").meta.index
    meta = pd.read_csv(ptbxl_root / "ptbxl_database.csv", index_col="ecg_id").loc[kept]
    meta = pd.concat([rows.head(per_fold) for _, rows in meta.groupby("strat_fold")])
    dest.mkdir(parents=True)
    meta.to_csv(dest / "ptbxl_database.csv")
    shutil.copy(ptbxl_root / "scp_statements.csv", dest / "scp_statements.csv")
    records = []
    for name in meta["filename_lr"]:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".dat"):
            shutil.copy(ptbxl_root / f"{name}{suffix}", dest / f"{name}{suffix}")
        records.append(dest / name)
    return dest, records


#: Ways :func:`damage_record` breaks a record, with what the error says of each.
DAMAGE = {"truncated": "could not be read by wfdb", "garbled header": "could not be read by wfdb",
          "NaN samples": "has invalid (NaN) samples",
          "header naming another data file": "named in its header does not exist"}


def damage_record(record, how):
    """Break the WFDB record ``record`` (path without suffix) as ``DAMAGE`` names."""
    dat, hea = Path(f"{record}.dat"), Path(f"{record}.hea")
    if how == "truncated":
        dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 2])
    elif how == "garbled header":
        hea.write_text("this is not a header\n")
    elif how == "NaN samples":  # WFDB's format 16 stores NaN as -32768
        dat.write_bytes(np.full(dat.stat().st_size // 2, -32768, "<i2").tobytes())
    elif how == "header naming another data file":  # its own .dat is there (or it is dropped)
        hea.write_text(hea.read_text().replace(f"{dat.name} ", "gone.dat "))
    else:
        raise ValueError(how)


# -- sklearn's estimator checks, shared by tests/neural, preprocessing, features ----------------

#: What sklearn's checks of ``n_features_in_`` and of a column count fail with, for the 3-D
#: estimators that store no ``n_features_in_`` (tests/neural, preprocessing, features).
NO_N_FEATURES_FAILS_WITH = {
    "check_n_features_in": r'hasattr\(estimator, "n_features_in_"\)',
    "check_n_features_in_after_fitting": r"does not set the `n_features_in_` attribute",
    "check_transformer_general": r"does not raise an error when the number of features",
}


def expected_failures(estimator, failed):
    """``(estimator, check, name)`` of each of sklearn's checks on ``estimator`` in ``failed``.

    Every name of ``failed`` must be one of the checks sklearn runs on it.
    """
    from sklearn.utils.estimator_checks import estimator_checks_generator

    found = [(est, check, getattr(check, "func", check).__name__)
             for est, check in estimator_checks_generator(estimator, mark=None)]
    found = [item for item in found if item[2] in failed]
    assert {name for _, _, name in found} == set(failed)
    return found


def assert_fails_for(check, estimator, pattern):
    """sklearn's ``check`` fails on ``estimator`` for the reason that ``pattern`` matches.

    ``parametrize_with_checks`` marks an expected failure as xfail without ``raises=``, so a
    check that began to fail earlier, for another reason, would still read XFAIL. This
    matches ``pattern`` against the AssertionError's message and the line that raised it
    (sklearn's ``assert hasattr(...)`` has no message).
    """
    import re
    import traceback

    with pytest.raises(AssertionError) as info:
        check(estimator)
    text = f"{info.value}\n{traceback.extract_tb(info.tb)[-1].line}"
    name = getattr(check, "func", check).__name__
    assert re.search(pattern, text), f"{name} failed for another reason than {pattern!r}:\n{text}"


# -- MLflow stores and pipeline modules, shared by tests/tracking, compare, tune, ui ----------

def write_module(folder, name, source):
    """Write a pipeline module ``name.py`` into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path


@pytest.fixture(scope="session")
def empty_store(request, tmp_path_factory):
    """An MLflow SQLite database with its tables created and no run.

    MLflow needs about ten seconds to create the tables of a new SQLite store;
    copying an empty one is instant. It is kept in pytest's cache (one per
    MLflow version) when the cache is enabled.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    cache = getattr(request.config, "cache", None)
    folder = (cache.mkdir(f"ecgsk-mlflow-{mlflow.__version__}") if cache is not None
              else tmp_path_factory.mktemp("mlflow-empty"))
    path = folder / "empty.db"
    if not path.exists():
        building = folder / f"building-{os.getpid()}.db"
        MlflowClient(f"sqlite:///{building}").search_experiments(max_results=1)
        os.replace(building, path)
    return path


def new_store(empty_store, folder):
    """A fresh SQLite tracking URI in ``folder`` (an Optuna storage may go beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_store, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture
def tracking_uri(empty_store, tmp_path, monkeypatch):
    """A per-test SQLite tracking URI (MLflow's global state is kept by ``mlflow_state_kept``)."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield new_store(empty_store, tmp_path / "mlruns")
    while mlflow.active_run() is not None:  # a failed test must not leak an open run
        mlflow.end_run("KILLED")


@pytest.fixture(scope="session")
def signal_cache(tmp_path_factory):
    """WFDBLoader cache shared by the comparisons and studies of a session."""
    return tmp_path_factory.mktemp("signals")


# A pipeline module (compare's and tune's resume tests): written with write_module.
CTRL_C_NET = '''
"""A tiny CNN (ecgsk.nets.ECGCNN) that logs each epoch it trains; a Ctrl-C at epoch 3 where asked.

Each epoch's end appends ``len(history)`` to $ECGSK_TEST_EPOCHS; with
$ECGSK_TEST_SIGINT set, epoch 3 ends in a SIGINT to this process.
"""

import os
import signal

from skorch.callbacks import Callback

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 250


class CtrlC(Callback):
    def on_epoch_end(self, net, **kwargs):
        with open(os.environ["ECGSK_TEST_EPOCHS"], "a") as log:
            log.write(f"{len(net.history)}\\n")
        if len(net.history) == 3 and os.environ.get("ECGSK_TEST_SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)


def make_pipeline(lr=1e-3, max_epochs=5, random_state=0):
    return ECGNetClassifier(ECGCNN, module__filters=(4, 4, 8, 8), module__dense=(8,),
                            max_epochs=max_epochs, batch_size=32, lr=lr, patience=None,
                            lr_patience=None, random_state=random_state,
                            callbacks=[("ctrl_c", CtrlC())])


def search_space(trial):
    return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True)}
'''
