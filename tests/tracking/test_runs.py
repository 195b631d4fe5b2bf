"""tracked_run: statuses on success, error, interruption and SIGTERM; nesting and tags."""

import signal
import subprocess
import sys
import textwrap
import time

import mlflow
import pytest

from ecgsk.tracking import RunTerminated, setup_tracking, tracked_run
from ecgsk.tracking._runs import ERROR_TAG, _on_sigterm


@pytest.fixture
def experiment(tracking_uri):
    return setup_tracking(tracking_uri, "runs")


def test_finished_with_tags_and_nesting(experiment, client):
    with tracked_run("parent", tags={"stage": "cv"}, description="a comparison") as parent:
        with tracked_run("child", nested=True, tags={"fold": "1"}) as child:
            mlflow.log_metric("auroc", 0.8)
    p, c = client.get_run(parent.info.run_id), client.get_run(child.info.run_id)
    assert p.info.status == c.info.status == "FINISHED"
    assert p.data.tags["stage"] == "cv" and p.data.tags["mlflow.note.content"] == "a comparison"
    assert "mlflow.parentRunId" not in p.data.tags
    assert c.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert c.data.tags["fold"] == "1" and c.info.run_name == "child"
    assert c.data.metrics == {"auroc": 0.8}
    assert mlflow.active_run() is None


def test_failed_child_leaves_parent_running_and_earlier_runs_intact(experiment, client):
    with tracked_run("parent") as parent:
        with tracked_run("fold 1", nested=True) as first:
            mlflow.log_metric("loss", 0.5)
        with pytest.raises(ValueError, match="diverged"):
            with tracked_run("fold 2", nested=True) as second:
                mlflow.log_metric("loss", 0.7, step=1)
                raise ValueError("diverged")
        assert mlflow.active_run().info.run_id == parent.info.run_id
        assert client.get_run(parent.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("after", 1.0)
    first_run, second_run = client.get_run(first.info.run_id), client.get_run(second.info.run_id)
    assert first_run.info.status == "FINISHED" and first_run.data.metrics == {"loss": 0.5}
    assert second_run.info.status == "FAILED"
    assert second_run.data.metrics == {"loss": 0.7}  # logged before the error: kept
    assert second_run.data.tags[ERROR_TAG] == "ValueError: diverged"
    parent_run = client.get_run(parent.info.run_id)
    assert parent_run.info.status == "FINISHED" and parent_run.data.metrics == {"after": 1.0}


def test_keyboard_interrupt_kills_run_and_open_children(experiment, client):
    with pytest.raises(KeyboardInterrupt):
        with tracked_run("outer") as outer:
            mlflow.log_metric("epoch_loss", 0.9)
            inner = mlflow.start_run(run_name="left open", nested=True)
            raise KeyboardInterrupt
    assert mlflow.active_run() is None
    out, left = client.get_run(outer.info.run_id), client.get_run(inner.info.run_id)
    assert out.info.status == left.info.status == "KILLED"
    assert out.data.metrics == {"epoch_loss": 0.9}
    assert "KeyboardInterrupt" in out.data.tags[ERROR_TAG]


def test_a_model_whose_logging_was_cut_short_is_marked_failed(experiment, client):
    from mlflow.entities import LoggedModelStatus

    with pytest.raises(KeyboardInterrupt):
        with tracked_run("logging a model") as run:
            done = client.create_logged_model(experiment, source_run_id=run.info.run_id)
            client.finalize_logged_model(done.model_id, LoggedModelStatus.READY)
            cut = client.create_logged_model(experiment, source_run_id=run.info.run_id)
            raise KeyboardInterrupt  # as in log_model, between its start and its end
    assert client.get_logged_model(cut.model_id).status == LoggedModelStatus.FAILED
    assert client.get_logged_model(done.model_id).status == LoggedModelStatus.READY


def test_error_secrets_masked_in_tag(experiment, client):
    with pytest.raises(ConnectionError):
        with tracked_run("db") as run:
            raise ConnectionError("cannot reach postgresql://me:hunter2@db/mlflow")
    tag = client.get_run(run.info.run_id).data.tags[ERROR_TAG]
    assert "hunter2" not in tag and "me:***@db" in tag


@pytest.mark.parametrize("code, status", [(0, "FINISHED"), (None, "FINISHED"), (3, "FAILED")])
def test_sys_exit(experiment, client, code, status):
    with pytest.raises(SystemExit):
        with tracked_run("exit") as run:
            sys.exit(code)
    assert client.get_run(run.info.run_id).info.status == status


def test_run_ended_by_hand_inside_block(experiment, client):
    with tracked_run("parent") as parent:
        with tracked_run("child", nested=True) as child:
            mlflow.end_run()
        assert mlflow.active_run().info.run_id == parent.info.run_id
    assert client.get_run(child.info.run_id).info.status == "FINISHED"
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


def test_sigterm_handler_installed_only_while_open(experiment):
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with tracked_run("outer"):
        assert signal.getsignal(signal.SIGTERM) is _on_sigterm
        with tracked_run("inner", nested=True):
            assert signal.getsignal(signal.SIGTERM) is _on_sigterm
        assert signal.getsignal(signal.SIGTERM) is _on_sigterm
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_existing_sigterm_handler_kept(experiment):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with tracked_run("run"):
            assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_marks_run_killed(tracking_uri, client, tmp_path):
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import time, mlflow
        from ecgsk.tracking import setup_tracking, tracked_run
        setup_tracking({tracking_uri!r}, "sigterm")
        with tracked_run("victim") as run:
            mlflow.log_metric("epoch", 1.0)
            open({str(ready)!r}, "w").write(run.info.run_id)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() or not ready.read_text():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the child never started its run"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    run = client.get_run(ready.read_text())
    assert run.info.status == "KILLED"
    assert run.data.metrics == {"epoch": 1.0}
    assert run.data.tags[ERROR_TAG] == "terminated by SIGTERM"


def test_run_terminated_is_system_exit():
    assert issubclass(RunTerminated, SystemExit)
    assert RunTerminated(143).code == 143


def test_name_checked(experiment):
    with pytest.raises(ValueError, match="name"):
        with tracked_run(""):
            pass
    assert mlflow.active_run() is None


def test_a_killed_run_resumes_and_ends_with_its_new_status(experiment, client):
    with pytest.raises(KeyboardInterrupt), tracked_run("comparison") as run:
        mlflow.log_metric("kept", 1.0)
        raise KeyboardInterrupt
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    with tracked_run("comparison", run_id=run.info.run_id, tags={"again": "yes"}) as again:
        assert again.info.run_id == run.info.run_id
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("added", 2.0)
    resumed = client.get_run(run.info.run_id)
    assert resumed.info.status == "FINISHED"
    assert ERROR_TAG not in resumed.data.tags and resumed.data.tags["again"] == "yes"
    assert resumed.data.metrics == {"kept": 1.0, "added": 2.0}


def test_mlflow_run_id_in_the_environment_is_left_alone(experiment, client, monkeypatch):
    # MLflow resumes the run that MLFLOW_RUN_ID names: a comparison took over the user's run
    # (its params mixed in, renamed), and a trial became the user's run.
    with mlflow.start_run(run_name="my own run") as mine:
        mlflow.log_param("a", 1)
    monkeypatch.setenv("MLFLOW_RUN_ID", mine.info.run_id)
    with pytest.warns(UserWarning, match=rf"MLFLOW_RUN_ID={mine.info.run_id} is set; ecgsk "
                                         r"starts runs of its own and leaves that run alone"
                      ) as said:
        with tracked_run("comparison") as run, tracked_run("fold", nested=True) as child:
            pass
    assert said[0].filename == __file__  # the caller's line, not contextlib's
    # MLflow deleted the variable when the fold ended; the user's later runs resume theirs.
    import os

    assert os.environ["MLFLOW_RUN_ID"] == mine.info.run_id
    assert mine.info.run_id not in (run.info.run_id, child.info.run_id)
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == run.info.run_id
    untouched = client.get_run(mine.info.run_id)
    assert untouched.info.run_name == "my own run" and untouched.data.params == {"a": "1"}
