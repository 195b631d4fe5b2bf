"""One final refit per study, wherever its workers run: the refit's run carries a heartbeat."""

import io
import threading
import time

import mlflow
import optuna
import pytest
from mlflow.tracking import MlflowClient

from ecgsk.tune import _tune, main, tune
from ecgsk.tune._runs import HEARTBEAT_TAG, now_ms

pytestmark = pytest.mark.slow


@pytest.fixture
def study_args(pipeline_files, ptbxl_root, tracking_uri, signal_cache):
    """``tune`` keywords of a one-trial study; the study's name doubles as its experiment."""
    return dict(pipeline=pipeline_files["stats_lr"], dataset="ptbxl", task="superdiagnostic",
                data=ptbxl_root, n_trials=1, folds=[1], max_records=200, n_boot=10,
                pruner="none", tracking_uri=tracking_uri, experiment="race",
                study_name="race", cache_dir=signal_cache, progress=False)


def _cli(args):
    return ["--pipeline", str(args["pipeline"]), "--dataset", args["dataset"], "--task",
            args["task"], "--data", str(args["data"]), "--n-trials", "1", "--folds", "1",
            "--max-records", "200", "--n-boot", "10", "--pruner", "none", "--tracking-uri",
            args["tracking_uri"], "--experiment", args["experiment"], "--study-name",
            args["study_name"], "--cache-dir", str(args["cache_dir"]), "--no-progress"]


def _study(args):
    storage = args["tracking_uri"].replace("mlflow.db", "optuna.db")
    return optuna.load_study(study_name=args["study_name"], storage=storage)


def _trials_done(args, monkeypatch):
    """Run the study's trials, but not its refit (another worker's is under way)."""
    with monkeypatch.context() as patch:
        patch.setattr(_tune, "_final_refit", lambda *a, **k: None)
        tune(**args, out=io.StringIO())
    study = _study(args)
    assert "ecgsk.final" not in study.user_attrs
    client = MlflowClient(args["tracking_uri"])
    experiment_id = client.get_experiment_by_name(args["experiment"]).experiment_id
    return client, experiment_id, study.user_attrs["ecgsk.study_uid"]


def _final_run(client, experiment_id, uid, heartbeat, start_time=None):
    """A final run of the study as another worker opens it (``heartbeat`` None: no tag)."""
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": uid}
    if heartbeat is not None:
        tags[HEARTBEAT_TAG] = str(heartbeat)
    return client.create_run(experiment_id, start_time=start_time, tags=tags).info.run_id


def _finals(client, experiment_id):
    return client.search_runs([experiment_id], filter_string="tags.`ecgsk.role` = 'final'")


def _heartbeat_threads():
    return [t for t in threading.enumerate() if t.name.startswith("ecgsk-final-heartbeat")]


def test_a_refit_with_a_fresh_heartbeat_is_left_to_its_worker(study_args, monkeypatch, capsys):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    beat = now_ms() - 10_000  # within the default 30 s grace period
    other = _final_run(client, exp, uid, beat)
    capsys.readouterr()
    assert main(_cli(study_args)) == 0
    assert f"Final refit: another worker is refitting (run {other}).\n" in capsys.readouterr().out
    run = client.get_run(other)  # untouched
    assert run.info.status == "RUNNING" and run.data.tags[HEARTBEAT_TAG] == str(beat)
    assert "ecgsk.error" not in run.data.tags
    assert [r.info.run_id for r in _finals(client, exp)] == [other]  # no refit of its own
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    # The parent run is left to the refitting worker, which ends it after its refit.
    parent = client.get_run(_study(study_args).user_attrs["ecgsk.mlflow_parent_run_id"])
    assert parent.info.status == "RUNNING" and "final_run_id" not in parent.data.tags


def test_refits_without_a_fresh_heartbeat_are_ended_killed_and_redone(study_args, monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    stale = _final_run(client, exp, uid, now_ms() - 35_000)  # its worker died 35 s ago
    legacy = _final_run(client, exp, uid, None)  # from before heartbeats
    result = tune(**study_args, out=io.StringIO())
    assert result.refit == "this worker" and result.model_version == "1"
    for run_id in (stale, legacy):
        run = client.get_run(run_id)
        assert run.info.status == "KILLED"
        assert "ended before it finished" in run.data.tags["ecgsk.error"]
    final = client.get_run(result.final_run_id)
    assert final.info.status == "FINISHED" and HEARTBEAT_TAG in final.data.tags
    (version,) = client.search_model_versions(f"name = '{study_args['study_name']}'")
    assert version.run_id == result.final_run_id


def test_the_later_of_two_refits_opened_at_once_gives_way(study_args, monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    real, others = _tune.live_final_runs, []

    def other_worker_opens_its_run_meanwhile(*args):
        live = real(*args)
        if not others:  # after this worker's first look, before it opens its run
            others.append(_final_run(client, exp, uid, now_ms(), start_time=now_ms() - 1000))
        return live

    monkeypatch.setattr(_tune, "live_final_runs", other_worker_opens_its_run_meanwhile)
    result = tune(**study_args, out=io.StringIO())
    (other,) = others
    (mine,) = [r for r in _finals(client, exp) if r.info.run_id != other]
    assert result.refit == (f"another worker is refitting (run {other}); this worker's run "
                            f"{mine.info.run_id} gave way")
    assert result.final_run_id is None and result.model_version is None
    assert mine.info.status == "KILLED"
    assert mine.data.tags["ecgsk.error"].startswith(f"gave way to run {other}: ")
    assert not mine.data.params and not mine.data.metrics  # refitted nothing
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    run = client.get_run(other)
    assert run.info.status == "RUNNING" and "ecgsk.error" not in run.data.tags
    assert "ecgsk.final" not in _study(study_args).user_attrs
    assert not _heartbeat_threads()


def test_the_refit_beats_while_it_runs_and_is_recorded_before_its_run_ends(
        pipeline_files, study_args, monkeypatch):
    study_args.update(pipeline=pipeline_files["slow_lr"], set_params={"sleep": 4.0},
                      heartbeat_interval=1, grace_period=5)
    client = MlflowClient(study_args["tracking_uri"])
    seen, done = [], threading.Event()

    def watch():  # another worker's view of the refit's run while it runs
        while not done.is_set():
            experiment = client.get_experiment_by_name(study_args["experiment"])
            runs = [] if experiment is None else client.search_runs(
                [experiment.experiment_id],
                filter_string="tags.`ecgsk.role` = 'final' and attributes.status = 'RUNNING'")
            seen.extend(int(r.data.tags[HEARTBEAT_TAG]) for r in runs)
            time.sleep(0.1)

    recorded = {}
    end_run = mlflow.end_run

    def record_then_end(*args, **kwargs):  # what a worker starting now would find
        active = mlflow.active_run()
        if active is not None and active.data.tags.get("ecgsk.role") == "final":
            recorded.update(_study(study_args).user_attrs.get("ecgsk.final") or {})
        return end_run(*args, **kwargs)

    monkeypatch.setattr(mlflow, "end_run", record_then_end)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = tune(**study_args, out=io.StringIO())
    finally:
        done.set()
        watcher.join()
    assert result.refit == "this worker"
    beats = sorted(set(seen))
    assert len(beats) >= 3, beats  # the first one, then one a second over the 4 s fit
    assert all(b - a < 5_000 for a, b in zip(beats, beats[1:])), beats
    assert not _heartbeat_threads()  # stopped with the refit
    final = client.get_run(result.final_run_id)
    assert final.info.status == "FINISHED"
    assert int(final.data.tags[HEARTBEAT_TAG]) >= beats[-1]
    assert recorded["run_id"] == result.final_run_id and recorded["model_version"] == "1"
