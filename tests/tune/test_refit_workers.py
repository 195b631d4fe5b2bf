"""One final refit per study, wherever its workers run: the refit's run carries a heartbeat."""

import io
import threading
import time

import mlflow
import optuna
import pytest
from mlflow.entities import RunTag
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
                study_name="race", cache_dir=signal_cache, progress=False,
                heartbeat_interval=1)


def _cli(args):
    return ["--pipeline", str(args["pipeline"]), "--dataset", args["dataset"], "--task",
            args["task"], "--data", str(args["data"]), "--n-trials", "1", "--folds", "1",
            "--max-records", "200", "--n-boot", "10", "--pruner", "none", "--tracking-uri",
            args["tracking_uri"], "--experiment", args["experiment"], "--study-name",
            args["study_name"], "--cache-dir", str(args["cache_dir"]), "--no-progress",
            "--heartbeat-interval", str(args["heartbeat_interval"])]


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


def _final_run(client, experiment_id, uid, heartbeat, trial=0):
    """A final run of the study's trial ``trial`` as another worker opens it.

    ``heartbeat`` None: no heartbeat tag.
    """
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": uid, "trial_number": str(trial)}
    if heartbeat is not None:
        tags[HEARTBEAT_TAG] = str(heartbeat)
    return client.create_run(experiment_id, tags=tags).info.run_id


def _rival(client, experiment_id, uid, mine, smaller, start_time=None):
    """A live final run of trial 0 whose run id sorts before ``mine`` (``smaller``) or after.

    Run ids are random: runs are opened (and deleted) until one sorts as asked.
    """
    while True:
        run_id = client.create_run(experiment_id, start_time=start_time).info.run_id
        if (run_id < mine) == smaller:
            break
        client.delete_run(run_id)
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": uid, "trial_number": "0",
            HEARTBEAT_TAG: str(now_ms())}
    client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
    return run_id


def _when_my_run_opens(monkeypatch, action):
    """Call ``action(my run id)`` as this worker's refit run starts its heartbeat."""
    real = _tune.final_heartbeat

    def heartbeat(client, run_id, interval):
        action(run_id)
        return real(client, run_id, interval)

    monkeypatch.setattr(_tune, "final_heartbeat", heartbeat)


def _finals(client, experiment_id):
    return client.search_runs([experiment_id], filter_string="tags.`ecgsk.role` = 'final'")


def _heartbeat_threads():
    return [t for t in threading.enumerate() if t.name.startswith("ecgsk-final-heartbeat")]


def test_a_refit_with_a_fresh_heartbeat_is_left_to_its_worker(study_args, monkeypatch, capsys):
    # A long grace period, the study's from its first worker on (a worker with another one
    # is refused): the beat below stays fresh however slow this test runs.
    client, exp, uid = _trials_done({**study_args, "grace_period": 600}, monkeypatch)
    beat = now_ms() - 10_000  # within the grace period, however slow this test runs
    other = _final_run(client, exp, uid, beat)
    capsys.readouterr()
    assert main([*_cli(study_args), "--grace-period", "600"]) == 0
    assert f"Final refit: another worker is refitting (run {other}).\n" in capsys.readouterr().out
    run = client.get_run(other)  # untouched
    assert run.info.status == "RUNNING" and run.data.tags[HEARTBEAT_TAG] == str(beat)
    assert "ecgsk.error" not in run.data.tags
    assert [r.info.run_id for r in _finals(client, exp)] == [other]  # no refit of its own
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    # The parent run is left to the refitting worker, which ends it after its refit.
    parent = client.get_run(_study(study_args).user_attrs["ecgsk.mlflow_parent_run_id"])
    assert parent.info.status == "RUNNING" and "final_run_id" not in parent.data.tags


def test_a_worker_that_leaves_the_refit_leaves_the_parent_run_to_it(study_args, monkeypatch):
    # The worker that did not run the last trial ended the parent run FINISHED while the
    # one that did was still refitting (and a kill -9 of that one left it so, modelless).
    client, exp, uid = _trials_done(study_args, monkeypatch)
    monkeypatch.setattr(_tune, "_designated", lambda study, me: False)
    result = tune(**{**study_args, "n_trials": 2}, out=io.StringIO())
    assert result.refit == "another worker (it ran the study's last trial)"
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


def test_a_live_refit_of_another_trial_does_not_stop_the_refit_of_the_best(
        study_args, monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    old = _final_run(client, exp, uid, now_ms(), trial=7)  # an older best's refit, under way
    result = tune(**study_args, out=io.StringIO())
    assert result.refit == "this worker" and result.model_version == "1"
    final = client.get_run(result.final_run_id)
    assert final.info.status == "FINISHED" and final.data.tags["trial_number"] == "0"
    run = client.get_run(old)  # left to its worker
    assert run.info.status == "RUNNING" and "ecgsk.error" not in run.data.tags
    assert _study(study_args).user_attrs["ecgsk.final"]["best_trial"] == 0


def test_of_two_refits_opened_at_once_the_smaller_run_id_goes_on_though_opened_later(
        study_args, monkeypatch):
    """The rival opens its run a moment after this worker's (a later start time).

    This worker's look right after opening its run misses it; the look before
    registering sees it.
    """
    client, exp, uid = _trials_done(study_args, monkeypatch)
    others, real = [], _tune._rival_refit

    def look(study, client_, experiment_id, ctx, trial_number, run_id):
        if not others:  # the look right after opening: the rival opens just after it
            found = real(study, client_, experiment_id, ctx, trial_number, run_id)
            others.append(_rival(client, exp, uid, run_id, smaller=True))
            return found
        # The look before registering: the rival's worker has beaten since, as a live one
        # does, however long this refit took.
        client.set_tag(others[0], HEARTBEAT_TAG, str(now_ms()))
        return real(study, client_, experiment_id, ctx, trial_number, run_id)

    monkeypatch.setattr(_tune, "_rival_refit", look)
    result = tune(**study_args, out=io.StringIO())
    (other,) = others
    (mine,) = [r for r in _finals(client, exp) if r.info.run_id != other]
    assert client.get_run(other).info.start_time > mine.info.start_time
    assert result.refit == (f"another worker is refitting (run {other}); this worker's run "
                            f"{mine.info.run_id} gave way")
    assert result.final_run_id is None and result.model_version is None
    assert mine.info.status == "KILLED"
    assert mine.data.tags["ecgsk.error"].startswith(f"gave way to run {other}: ")
    assert "test_macro_auroc" in mine.data.metrics  # it refitted, then saw the rival
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    run = client.get_run(other)
    assert run.info.status == "RUNNING" and "ecgsk.error" not in run.data.tags
    assert "ecgsk.final" not in _study(study_args).user_attrs
    assert not _heartbeat_threads()


def test_of_two_refits_opened_at_once_an_earlier_start_time_does_not_win(study_args,
                                                                         monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    others = []

    def open_rival(mine):  # a worker whose clock is a second behind, with a larger run id
        others.append(_rival(client, exp, uid, mine, smaller=False, start_time=now_ms() - 1000))

    _when_my_run_opens(monkeypatch, open_rival)
    result = tune(**study_args, out=io.StringIO())
    (other,) = others
    assert result.refit == "this worker" and result.model_version == "1"
    assert client.get_run(other).info.start_time < client.get_run(
        result.final_run_id).info.start_time
    run = client.get_run(other)  # its worker gives way when it looks
    assert run.info.status == "RUNNING" and "ecgsk.error" not in run.data.tags


def test_a_refit_gives_way_to_one_of_its_trial_that_already_stored_its_result(
        study_args, monkeypatch):
    """A rival with a larger run id that registered first (its worker missed this one)."""
    client, exp, uid = _trials_done(study_args, monkeypatch)
    others = []

    def rival_done(mine):
        other = _rival(client, exp, uid, mine, smaller=False)
        others.append(other)
        _study(study_args).set_user_attr("ecgsk.final", {"run_id": other, "best_trial": 0})

    _when_my_run_opens(monkeypatch, rival_done)
    result = tune(**study_args, out=io.StringIO())
    (other,) = others
    assert result.refit.startswith(f"another worker is refitting (run {other}); ")
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []


def test_a_stored_result_whose_run_was_killed_is_no_rival(study_args, monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    # A refit that stored its result, then was killed before its run ended (stale heartbeat):
    # the refit ends it KILLED and goes on.
    dead = _final_run(client, exp, uid, now_ms() - 35_000)
    _study(study_args).set_user_attr("ecgsk.final", {"run_id": dead, "best_trial": 0})
    result = tune(**study_args, out=io.StringIO())
    assert result.refit == "this worker" and result.model_version == "1"
    assert client.get_run(dead).info.status == "KILLED"
    assert _study(study_args).user_attrs["ecgsk.final"]["run_id"] == result.final_run_id


def test_a_refit_whose_trial_stops_being_the_best_registers_nothing(study_args, monkeypatch):
    client, exp, uid = _trials_done(study_args, monkeypatch)
    from ecgsk.compare import _data

    real = _data.fit_final

    def a_better_trial_completes_meanwhile(*args, **kwargs):
        fitted = real(*args, **kwargs)
        study = _study(study_args)
        best = study.best_trial
        better = best.value + (1 if study.direction.name == "MAXIMIZE" else -1)
        study.add_trial(optuna.trial.create_trial(params=best.params,
                                                  distributions=best.distributions, value=better))
        return fitted

    with monkeypatch.context() as patch:
        patch.setattr(_data, "fit_final", a_better_trial_completes_meanwhile)
        out = io.StringIO()
        result = tune(**study_args, out=out)
    message = ("trial 0's refit was superseded: trial 1 is now the best; its refit is left to "
               "the worker running it")
    assert result.refit == message and f"Final refit: {message}.\n" in out.getvalue()
    assert result.final_run_id is None and result.model_version is None
    assert result.test_metrics is None
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    assert "ecgsk.final" not in _study(study_args).user_attrs
    parent_id = _study(study_args).user_attrs["ecgsk.mlflow_parent_run_id"]
    parent = client.get_run(parent_id)  # left to the refit of trial 1
    assert parent.info.status == "RUNNING" and "final_run_id" not in parent.data.tags
    (run,) = _finals(client, exp)
    assert run.info.status == "FINISHED" and run.data.tags["trial_number"] == "0"
    assert run.data.tags["ecgsk.superseded"].startswith("trial 1 became the study's best")
    assert "ecgsk.error" not in run.data.tags
    assert not _heartbeat_threads()
    # The refit of the new best registers the study's model and ends the parent run.
    result = tune(**study_args, out=io.StringIO())
    assert result.refit == "this worker" and result.model_version == "1"
    assert _study(study_args).user_attrs["ecgsk.final"]["best_trial"] == 1
    assert client.get_run(parent_id).info.status == "FINISHED"


def test_a_refit_taken_for_dead_registers_nothing(study_args, monkeypatch):
    """Its heartbeat stalled past the grace period: another worker ended its run and refits."""
    client, exp, uid = _trials_done(study_args, monkeypatch)
    from ecgsk.compare import _data
    from ecgsk.tune._runs import end_unfinished_final_runs

    real = _data.fit_final
    ended = []

    def another_worker_takes_it_for_dead(*args, **kwargs):
        fitted = real(*args, **kwargs)
        ended.extend(end_unfinished_final_runs(client, exp, uid, grace_period=-1))
        return fitted

    with monkeypatch.context() as patch:
        patch.setattr(_data, "fit_final", another_worker_takes_it_for_dead)
        out = io.StringIO()
        result = tune(**study_args, out=out)
    (run_id,) = ended
    assert result.refit.startswith(f"this worker's run {run_id} was ended by another worker, "
                                   "which took it for dead")
    assert f"Final refit: {result.refit}.\n" in out.getvalue()
    assert result.final_run_id is None and result.model_version is None
    assert client.search_model_versions(f"name = '{study_args['study_name']}'") == []
    assert "ecgsk.final" not in _study(study_args).user_attrs
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags["ecgsk.error"].startswith("another worker took this refit for dead")
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
