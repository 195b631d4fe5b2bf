"""ecgsk.compare._resume: what a rerun of an unfinished comparison finds and reads back."""

import re
import subprocess
import sys
import types
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from ecgsk.compare import PipelineResult
from ecgsk.compare._resume import (
    REQUEST_TAG,
    drop_final_fits,
    end_orphans,
    final_fit_path,
    find_unfinished,
    last_finished,
    load_final_fit,
    load_result,
    process_tags,
    remove_final_fit,
    request_key,
    save_final_fit,
    save_result,
)


def _module(sha):
    return types.SimpleNamespace(__ecgsk_sha256__=sha)


def test_the_request_key_changes_with_what_decides_the_fits(monkeypatch):
    base = dict(modules={"a": _module("1")}, params={"a": {"C": 0.1}}, data="/d", folds=[1, 2])
    key = request_key(**base)
    assert key == request_key(**base)
    assert key != request_key(**{**base, "modules": {"a": _module("2")}})  # edited source
    assert key != request_key(**{**base, "params": {"a": {"C": 0.5}}})
    assert key != request_key(**{**base, "data": "/other"})
    assert key != request_key(**{**base, "folds": [1]})
    # The comparison run logs the names in their order and each pipeline run its module's
    # path, and MLflow changes no logged parameter: a rerun that reopened the runs failed.
    two = {"a": _module("1"), "b": _module("3")}
    assert request_key(**{**base, "modules": two}) != request_key(
        **{**base, "modules": dict(reversed(list(two.items())))})
    moved = types.SimpleNamespace(__ecgsk_sha256__="1", __ecgsk_path__="/elsewhere/a.py")
    assert key != request_key(**{**base, "modules": {"a": moved}})
    monkeypatch.setattr("ecgsk.compare._resume.code_hash", lambda: "another ecgsk")
    assert key != request_key(**base)  # an upgraded or edited package


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _comparison(client, experiment_id, key, status, **tags):
    run = client.create_run(experiment_id, tags={"ecgsk.role": "comparison", REQUEST_TAG: key,
                                                 **tags})
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def test_an_unfinished_comparison_is_found_and_a_live_or_finished_one_is_not(tracking_uri):
    client = MlflowClient(tracking_uri)
    exp = client.create_experiment("find")
    assert find_unfinished(client, exp, "k") is None
    killed = _comparison(client, exp, "k", "KILLED")
    assert find_unfinished(client, exp, "k").info.run_id == killed
    assert find_unfinished(client, exp, "other") is None
    # Killed by the system: RUNNING, and its process on this host is gone.
    crashed = _comparison(client, exp, "k", "RUNNING",
                          **{**process_tags(), "ecgsk.pid": _dead_pid()})
    assert find_unfinished(client, exp, "k").info.run_id == crashed
    # Running in a live process: nothing to resume. The older crashed one was left by a
    # --fresh start; it was resumed, its final fits refitted, beside the live one.
    _comparison(client, exp, "k", "RUNNING", **{**process_tags(), "ecgsk.pid": "1"})
    assert find_unfinished(client, exp, "k") is None
    assert last_finished(client, exp, "k") is None
    # A later finished comparison of the request: nothing to resume.
    done = _comparison(client, exp, "k", "FINISHED")
    assert find_unfinished(client, exp, "k") is None
    assert last_finished(client, exp, "k").info.run_id == done
    assert last_finished(client, exp, "other") is None


def test_runs_a_dead_process_left_running_end_killed(tracking_uri):
    client = MlflowClient(tracking_uri)
    exp = client.create_experiment("orphans")
    parent = _comparison(client, exp, "k", "KILLED")
    pipe = client.create_run(exp, tags={"ecgsk.role": "pipeline", "mlflow.parentRunId": parent})
    fold = client.create_run(exp, tags={"ecgsk.role": "fold",
                                        "mlflow.parentRunId": pipe.info.run_id})
    done = client.create_run(exp, tags={"ecgsk.role": "fold",
                                        "mlflow.parentRunId": pipe.info.run_id})
    client.set_terminated(done.info.run_id, "FINISHED")
    assert sorted(end_orphans(client, exp, parent)) == sorted([pipe.info.run_id,
                                                               fold.info.run_id])
    for run_id, status in ((pipe.info.run_id, "KILLED"), (fold.info.run_id, "KILLED"),
                           (done.info.run_id, "FINISHED")):
        run = client.get_run(run_id)
        assert run.info.status == status
        assert ("ecgsk.error" in run.data.tags) == (status == "KILLED")


def test_a_model_a_dead_process_left_half_logged_is_failed(tracking_uri):
    """A kill during log_model leaves the model PENDING; the resumed run logs another."""
    from mlflow.entities import LoggedModelStatus

    client = MlflowClient(tracking_uri)
    exp = client.create_experiment("pending")
    parent = _comparison(client, exp, "k", "KILLED")
    pipe = client.create_run(exp, tags={"ecgsk.role": "pipeline", "mlflow.parentRunId": parent})
    client.set_terminated(pipe.info.run_id, "KILLED")  # its status does not matter
    model = client.create_logged_model(exp, name="model", source_run_id=pipe.info.run_id)
    assert client.get_logged_model(model.model_id).status == LoggedModelStatus.PENDING
    end_orphans(client, exp, parent)
    assert client.get_logged_model(model.model_id).status == LoggedModelStatus.FAILED


def test_a_fresh_start_drops_only_the_final_fits_of_the_comparison_it_leaves(
        tracking_uri, tmp_path):
    client = MlflowClient(tracking_uri)
    exp = client.create_experiment("drop")

    def pipelines(parent):
        runs = [client.create_run(exp, tags={"ecgsk.role": "pipeline",
                                             "mlflow.parentRunId": parent}) for _ in range(2)]
        paths = [final_fit_path(tmp_path, r.info.run_id) for r in runs]
        for path in paths:
            path.write_bytes(b"fit")
        return paths

    live = pipelines(_comparison(client, exp, "k", "RUNNING",
                                 **{**process_tags(), "ecgsk.pid": "1"}))
    other = pipelines(_comparison(client, exp, "other request", "KILLED"))
    assert drop_final_fits(client, exp, "k", tmp_path) == []  # a live comparison keeps its own
    left = pipelines(_comparison(client, exp, "k", "KILLED"))
    assert sorted(drop_final_fits(client, exp, "k", tmp_path)) == sorted(left)
    assert not any(p.exists() for p in left)
    assert all(p.exists() for p in live + other)


def test_a_saved_result_reads_back_equal(tracking_uri):
    from ecgsk.tracking import setup_tracking

    setup_tracking(tracking_uri, "saved")  # artifacts beside the store; the fixture restores
    result = PipelineResult(
        name="a", run_id="", cv_metrics=[{"cv_macro_auroc": 0.8}, {"cv_macro_auroc": np.nan}],
        test_metrics={"test_macro_auroc": 0.75, "test_macro_auroc_ci_low": 0.7},
        proba=np.random.default_rng(0).random((5, 3)), pred=np.eye(3, dtype=int)[[0, 1, 2, 0, 1]],
        model_uri="models:/m-1", external_metrics=None)
    with mlflow.start_run() as run:
        save_result(result)
    client = MlflowClient(tracking_uri)
    back = load_result(client, client.get_run(run.info.run_id))
    assert back.run_id == run.info.run_id and back.name == "a"
    assert back.test_metrics == result.test_metrics and back.model_uri == "models:/m-1"
    assert back.cv_metrics[0] == {"cv_macro_auroc": 0.8}
    assert np.isnan(back.cv_metrics[1]["cv_macro_auroc"])
    np.testing.assert_array_equal(back.proba, result.proba)
    np.testing.assert_array_equal(back.pred, result.pred)
    assert back.external_proba is None and back.external_metrics is None
    with mlflow.start_run() as empty:
        pass
    assert load_result(client, client.get_run(empty.info.run_id)) is None
    # A torn file (a crash of the machine after the run finished) stopped every rerun with
    # BadZipFile; it is fitted again.
    (saved,) = Path(client.get_run(run.info.run_id).info.artifact_uri.removeprefix(
        "file://")).rglob("pipeline_result.npz")
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.warns(RuntimeWarning, match=rf"the saved result .*pipeline_result.npz of run "
                                            rf"{run.info.run_id} cannot be read \(BadZipFile"):
        assert load_result(client, client.get_run(run.info.run_id)) is None


def test_a_final_fit_is_kept_whole_until_removed(tmp_path, rng, fsyncs):
    from sklearn.linear_model import LogisticRegression

    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    est = LogisticRegression().fit(X, y)
    path = final_fit_path(tmp_path / "checkpoints", "abc123")
    assert path.name == "compare-final-abc123.pkl"
    assert load_final_fit(path) is None  # nothing saved: fitted
    save_final_fit(path, est, "fold 9 (thresholds only)")
    # Flushed: without it, a power cut soon after the move could leave an empty file.
    assert fsyncs == ["file", "folder"]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial file
    back, validation = load_final_fit(path)
    assert validation == "fold 9 (thresholds only)"
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    remove_final_fit(path)
    remove_final_fit(path)  # gone already: nothing to do
    assert not path.exists()


def test_a_damaged_or_unsaveable_final_fit_is_absent_with_a_warning(tmp_path):
    import threading

    path = final_fit_path(tmp_path, "run")
    path.write_bytes(b"torn")
    with pytest.warns(RuntimeWarning, match=re.escape(f"the saved final fit {path} cannot")):
        assert load_final_fit(path) is None
    with pytest.warns(RuntimeWarning, match=re.escape(f"the final fit is not kept in {path}")):
        save_final_fit(path, threading.Lock(), "none")  # does not pickle
    assert list(tmp_path.iterdir()) == []  # neither the old file nor a partial one


def test_a_final_fit_another_user_wrote_is_not_unpickled(tmp_path, monkeypatch):
    # A planted file in a shared cache ran its code when compare resumed.
    import os
    import pickle
    from pathlib import Path

    class Touch:
        def __reduce__(self):
            return Path.touch, (tmp_path / "ran",)

    path = final_fit_path(tmp_path, "run")
    path.write_bytes(pickle.dumps(Touch()))
    monkeypatch.setattr(os, "getuid", lambda: path.stat().st_uid + 1)
    with pytest.warns(RuntimeWarning, match=re.escape(f"the saved final fit {path} was written "
                                                      "by another user (uid ")):
        assert load_final_fit(path) is None
    assert not (tmp_path / "ran").exists()


@pytest.fixture(autouse=True)
def _no_open_run():
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run("KILLED")
