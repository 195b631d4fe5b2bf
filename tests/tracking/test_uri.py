"""default_tracking_uri and setup_tracking: where runs go, and failing early."""

import socket
import time
from pathlib import Path

import mlflow
import pytest

from ecgsk.tracking import TrackingError, default_tracking_uri, setup_tracking


def test_default_uri_is_sqlite_under_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = default_tracking_uri()
    assert uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert not (tmp_path / "mlruns").exists()  # reading the default makes nothing


def test_setup_makes_the_default_store_where_runs_go(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    try:
        setup_tracking(None, "first")
        assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    finally:
        mlflow.set_tracking_uri(previous)
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()


def test_default_uri_follows_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert default_tracking_uri() == "http://127.0.0.1:5000"
    assert not (tmp_path / "mlruns").exists()


def test_setup_creates_experiment_with_artifacts_beside_db(tracking_uri, client):
    exp_id = setup_tracking(tracking_uri, "ecg runs/v1")
    assert mlflow.get_tracking_uri() == tracking_uri
    experiment = client.get_experiment(exp_id)
    assert experiment.name == "ecg runs/v1"
    db_dir = Path(tracking_uri[len("sqlite:///"):]).parent
    assert Path(experiment.artifact_location) == db_dir / "artifacts" / "ecg_runs_v1"
    # Idempotent, and runs land in it.
    assert setup_tracking(tracking_uri, "ecg runs/v1") == exp_id
    with mlflow.start_run() as run:
        mlflow.log_text("x", "a.txt")
    assert run.info.experiment_id == exp_id
    assert (Path(experiment.artifact_location) / run.info.run_id / "artifacts" / "a.txt").is_file()


def test_unreachable_server_fails_fast_with_masked_uri():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(TrackingError, match="unreachable") as err:
        setup_tracking(f"http://alice:hunter2@127.0.0.1:{port}", "x")
    assert time.monotonic() - start < 10
    assert "hunter2" not in str(err.value) and "alice:***@" in str(err.value)


def test_file_store_refused_clearly(tmp_path, monkeypatch):
    # MLflow refuses a plain folder store since 3.13 (unless MLFLOW_ALLOW_FILE_STORE=true);
    # where it does, the refusal is one clear error; where it does not, the store works.
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    try:
        mlflow.MlflowClient(str(tmp_path / "probe")).search_experiments()
        refused = False
    except Exception:  # noqa: BLE001 -- MLflow's own refusal, of whatever type
        refused = True
    if refused:
        with pytest.raises(TrackingError, match="cannot use the MLflow tracking store"):
            setup_tracking(str(tmp_path / "mlruns"), "x")
    else:
        from ecgsk.tracking._uri import tracking_kept

        with tracking_kept():
            assert setup_tracking(str(tmp_path / "mlruns"), "x")


def test_malformed_sqlite_uri():
    with pytest.raises(TrackingError, match="three slashes"):
        setup_tracking("sqlite://relative.db", "x")


def test_deleted_experiment(tracking_uri, client):
    exp_id = setup_tracking(tracking_uri, "gone")
    client.delete_experiment(exp_id)
    with pytest.raises(TrackingError, match="deleted"):
        setup_tracking(tracking_uri, "gone")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_experiment_name_checked(tracking_uri, name):
    with pytest.raises(ValueError, match="experiment"):
        setup_tracking(tracking_uri, name)


_OPEN_WHEN_TOLD = """
import os, sys, time
from pathlib import Path
import mlflow.store.tracking.sqlalchemy_store
from ecgsk.tracking import setup_tracking
go = Path(sys.argv[2])
Path(sys.argv[3], str(os.getpid())).touch()  # imported: ready
while not go.exists():
    time.sleep(0.01)
setup_tracking(f"sqlite:///{sys.argv[1]}", "together")
print("ok")
"""


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """Each would create MLflow's tables; the losers failed with 'duplicate column name'."""
    import subprocess
    import sys

    db, go, ready = tmp_path / "store" / "mlflow.db", tmp_path / "go", tmp_path / "ready"
    ready.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_WHEN_TOLD, str(db), str(go),
                               str(ready)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    deadline = time.monotonic() + 300
    while len(list(ready.iterdir())) < 3:  # all imported: they then start together
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
        time.sleep(0.05)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert len(mlflow.MlflowClient(f"sqlite:///{db}").search_experiments(
        filter_string="name = 'together'")) == 1


def test_a_sqlite_uri_is_read_with_its_percent_escapes_decoded(tmp_path, monkeypatch):
    # "%41" was taken as it is: ecgsk made a folder "p%41q" while SQLAlchemy opened
    # "pAq", which failed after two minutes of MLflow's retries.
    from ecgsk.tracking._uri import sqlite_file, sqlite_uri
    from ecgsk.tune._storage import default_storage_url

    previous = mlflow.get_tracking_uri()
    start = time.monotonic()
    try:
        setup_tracking(f"sqlite:///{tmp_path}/p%41q/my%20runs/mlflow.db", "e")
    finally:
        mlflow.set_tracking_uri(previous)
    assert time.monotonic() - start < 60
    assert (tmp_path / "pAq" / "my runs" / "mlflow.db").is_file()
    # MLflow itself makes the folder as written, and leaves it empty.
    assert not [f for f in (tmp_path / "p%41q").rglob("*") if f.is_file()]
    assert sqlite_file(f"sqlite:///{tmp_path}/p%41q/x.db") == tmp_path / "pAq" / "x.db"
    # A folder whose name holds "%" is written escaped, so that SQLAlchemy finds it.
    folder = tmp_path / "100%"
    assert sqlite_uri(folder / "mlflow.db") == f"sqlite:///{tmp_path}/100%25/mlflow.db"
    assert sqlite_file(sqlite_uri(folder / "mlflow.db")) == folder / "mlflow.db"
    assert default_storage_url(sqlite_uri(folder / "mlflow.db")) == sqlite_uri(
        folder / "optuna.db")
    monkeypatch.chdir(tmp_path)
    try:
        setup_tracking("sqlite:///100%25/mlflow.db", "e")  # relative: made absolute
        assert mlflow.get_tracking_uri() == sqlite_uri(folder / "mlflow.db")
    finally:
        mlflow.set_tracking_uri(previous)
    assert (folder / "mlflow.db").is_file()


@pytest.mark.parametrize("caller_uri", [None, "sqlite:///{tmp}/mine.db"])
def test_tracking_kept_restores_the_callers_store_experiment_and_environment(
        tmp_path, monkeypatch, tracking_uri, caller_uri):
    # compare and tune left MLflow pointed at their store and experiment, in the process and
    # in MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_ID for its subprocesses.
    import os

    from mlflow.tracking import fluent
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils

    from ecgsk.tracking._uri import tracking_kept

    def state():
        return (utils._tracking_uri, registry._registry_uri, fluent._active_experiment_id,
                mlflow.get_tracking_uri(), mlflow.get_registry_uri(),
                {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")})

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(utils, "_tracking_uri", None)
    monkeypatch.setattr(registry, "_registry_uri", None)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    if caller_uri is not None:
        mlflow.set_tracking_uri(caller_uri.format(tmp=tmp_path))
        mlflow.set_registry_uri(caller_uri.format(tmp=tmp_path).replace("mine", "registry"))
        mlflow.set_experiment("mine")
    before = state()
    with pytest.raises(RuntimeError, match="fails"), tracking_kept():
        setup_tracking(tracking_uri, "ecgsk-kept")
        # tune registers its models in its store, not in a registry the caller set apart.
        assert mlflow.get_tracking_uri() == mlflow.get_registry_uri() == tracking_uri
        assert os.environ["MLFLOW_TRACKING_URI"] == tracking_uri
        raise RuntimeError("fails")  # restored on failure too
    assert state() == before
    assert tracking_uri not in before[3:5]
