"""Fixtures: a fresh SQLite MLflow store per test, copied from an empty one.

MLflow needs about ten seconds to create the tables of a new SQLite store on
CI; copying an empty store is instant. The empty store is kept in pytest's
cache (one per MLflow version) when the cache is enabled.
"""

import os
import shutil

import mlflow
import pytest
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="session")
def empty_store(request, tmp_path_factory):
    """An MLflow SQLite database with its tables created and no run."""
    cache = getattr(request.config, "cache", None)
    folder = (cache.mkdir(f"ecgsk-mlflow-{mlflow.__version__}") if cache is not None
              else tmp_path_factory.mktemp("mlflow-empty"))
    path = folder / "empty.db"
    if not path.exists():
        building = folder / f"building-{os.getpid()}.db"
        MlflowClient(f"sqlite:///{building}").search_experiments(max_results=1)
        os.replace(building, path)
    return path


@pytest.fixture
def tracking_uri(empty_store, tmp_path, monkeypatch):
    """A per-test SQLite tracking URI under tmp_path; MLflow's global URI is restored after."""
    store = tmp_path / "mlruns"
    store.mkdir()
    shutil.copy(empty_store, store / "mlflow.db")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    previous = mlflow.get_tracking_uri()
    yield f"sqlite:///{store / 'mlflow.db'}"
    while mlflow.active_run() is not None:  # a failed test must not leak an open run
        mlflow.end_run("KILLED")
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def client(tracking_uri):
    return MlflowClient(tracking_uri)
