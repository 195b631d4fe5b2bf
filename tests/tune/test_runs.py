"""The MLflow side of a study: the shared parent run, orphaned trial runs, plots and tables."""

import threading
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from ecgsk.tracking import setup_tracking
from ecgsk.tune._runs import (
    HEARTBEAT_TAG,
    PARENT_ATTR,
    best_trial,
    end_orphan_trial_runs,
    end_unfinished_final_runs,
    final_heartbeat,
    find_or_create_parent,
    live_final_runs,
    log_study_summary,
    now_ms,
    ranked_trials,
    tag_best_trial,
)


@pytest.fixture
def store(tracking_uri):
    experiment_id = setup_tracking(tracking_uri, "runs")
    return MlflowClient(tracking_uri), experiment_id


def _study(values, direction="maximize"):
    study = optuna.create_study(direction=direction)
    for i, v in enumerate(values):
        study.add_trial(optuna.trial.create_trial(
            params={"x": float(i), "k": "a" if i % 2 else "b"}, value=v,
            distributions={"x": optuna.distributions.FloatDistribution(0, 10),
                           "k": optuna.distributions.CategoricalDistribution(["a", "b"])}))
    return study


def test_ranked_trials_follow_the_direction():
    assert ranked_trials(_study([0.2, 0.9, 0.5]))["trial"].tolist() == [1, 2, 0]
    table = ranked_trials(_study([0.2, 0.9, 0.5], "minimize"), top=2)
    assert table["trial"].tolist() == [0, 2]
    assert table["rank"].tolist() == [1, 2]
    assert list(table.columns[:4]) == ["rank", "trial", "value", "duration_s"]


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_tied_trials_rank_the_earliest_first_as_best_trial_does(direction):
    # Minimising, the later of two tied trials came first: rank 1 of best_trials.csv was
    # not the trial refitted as "best trial".
    study = _study([0.5, 0.5, 0.9 if direction == "minimize" else 0.1], direction)
    assert ranked_trials(study)["trial"].tolist() == [0, 1, 2]
    assert best_trial(study).number == 0


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_the_best_of_tied_trials_is_the_earliest_whatever_the_database_returns(
        direction, store, monkeypatch):
    # Optuna's study.best_trial leaves ties to the storage: PostgreSQL returned a later one
    # (ORDER BY value LIMIT 1), so the ranking printed trial 0 first while the refit, the
    # best_trial tag and the registered model followed trial 1.
    study = _study([0.5, 0.5, 0.9 if direction == "minimize" else 0.1], direction)
    later = study.get_trials()[1]
    monkeypatch.setattr(study._storage, "get_best_trial", lambda study_id: later)
    assert study.best_trial.number == 1  # as PostgreSQL had it
    assert best_trial(study).number == 0 == ranked_trials(study)["trial"].iloc[0]
    client, exp = store
    assert tag_best_trial(client, exp, "uid", study, "mlflow_run_id") == 0
    assert best_trial(optuna.create_study()) is None


def test_summary_plots_and_tables(store):
    client, exp = store
    run_id = client.create_run(exp).info.run_id
    log_study_summary(client, run_id, _study([0.2, 0.9, 0.5]))
    names = {a.path for a in client.list_artifacts(run_id, "optuna")}
    assert names == {"optuna/optimization_history.png", "optuna/param_importances.png",
                     "optuna/trials.csv", "optuna/best_trials.csv"}


def test_importances_need_two_completed_trials(store):
    client, exp = store
    run_id = client.create_run(exp).info.run_id
    log_study_summary(client, run_id, _study([0.4]))
    names = {a.path for a in client.list_artifacts(run_id, "optuna")}
    assert "optuna/param_importances.png" not in names
    text = client.download_artifacts(run_id, "optuna/param_importances.txt")
    with open(text) as f:
        assert "1 completed trial(s); importances need at least 2" in f.read()


def test_parent_is_created_once_and_found_by_every_worker(store):
    client, exp = store
    study = optuna.create_study()
    tags = {"ecgsk.role": "study", "ecgsk.study_uid": "u1"}
    run_id, new = find_or_create_parent(client, exp, study, uid="u1", created=True,
                                        run_name="study s", tags=tags)
    assert new and study.user_attrs[PARENT_ATTR] == run_id
    again, new = find_or_create_parent(client, exp, study, uid="u1", created=False,
                                       run_name="study s", tags=tags, wait_s=1)
    assert (again, new) == (run_id, False)
    # A study whose attribute names a run of another store: found by its tag here.
    other = optuna.create_study()
    other.set_user_attr(PARENT_ATTR, "0" * 32)
    found, new = find_or_create_parent(client, exp, other, uid="u1", created=False,
                                       run_name="study s", tags=tags, wait_s=1)
    assert (found, new) == (run_id, False)
    assert other.user_attrs[PARENT_ATTR] == run_id


def test_two_parents_created_at_once_converge_on_the_earliest(store):
    client, exp = store
    tags = {"ecgsk.role": "study", "ecgsk.study_uid": "u2"}
    first = client.create_run(exp, tags=tags).info.run_id  # another worker's, just before ours
    study = optuna.create_study()
    run_id, new = find_or_create_parent(client, exp, study, uid="u2", created=True,
                                        run_name="study s", tags=tags)
    assert (run_id, new) == (first, False)
    assert study.user_attrs[PARENT_ATTR] == first


def test_orphaned_trial_runs_end_killed(store):
    client, exp = store
    study = optuna.create_study()
    running = study.ask()
    dead = study.ask()
    study.tell(dead, state=TrialState.FAIL)
    runs = {}
    for trial in (running, dead):
        runs[trial.number] = client.create_run(exp, tags={
            "ecgsk.role": "trial", "ecgsk.study_uid": "u3",
            "trial_number": str(trial.number)}).info.run_id
    assert end_orphan_trial_runs(client, exp, "u3", study) == [dead.number]
    ended = client.get_run(runs[dead.number])
    assert ended.info.status == "KILLED"
    assert ended.data.tags["state"] == "FAIL"
    assert "killed or lost" in ended.data.tags["ecgsk.error"]
    assert client.get_run(runs[running.number]).info.status == "RUNNING"


def test_unfinished_final_runs_end_killed_and_their_model_versions_say_so(store):
    client, exp = store
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": "u5"}
    dead = client.create_run(exp, tags=tags).info.run_id  # its process was killed
    done = client.create_run(exp, tags=tags).info.run_id
    client.set_terminated(done, "FINISHED")
    other = client.create_run(exp, tags={**tags, "ecgsk.study_uid": "u6"}).info.run_id
    client.create_registered_model("study-u5")
    version = client.create_model_version("study-u5", "file:///nowhere", run_id=dead).version
    pending = client.create_logged_model(exp, source_run_id=dead)  # log_model cut short
    assert end_unfinished_final_runs(client, exp, "u5", grace_period=30) == [dead]
    assert client.get_logged_model(pending.model_id).status.name == "FAILED"
    ended = client.get_run(dead)
    assert ended.info.status == "KILLED"
    assert "ended before it finished" in ended.data.tags["ecgsk.error"]
    assert "replaces it" in client.get_model_version("study-u5", version).tags["ecgsk.incomplete"]
    assert client.get_run(done).info.status == "FINISHED"
    assert client.get_run(other).info.status == "RUNNING"  # another study's


def test_a_final_run_of_an_ended_process_here_is_dead_whatever_its_heartbeat(store):
    """A refit killed a moment ago: its last beat is fresh for grace_period seconds, but
    its process, on this machine, is gone; a rerun refits instead of waiting it out."""
    import subprocess
    import sys

    from ecgsk.tune._runs import HEARTBEAT_TAG, PROCESS_TAG, now_ms, process_tag

    client, exp = store
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    host, boot, _ = process_tag().split(" ")
    base = {"ecgsk.role": "final", "ecgsk.study_uid": "u7", "trial_number": "0",
            HEARTBEAT_TAG: str(now_ms())}
    gone = client.create_run(exp, tags={**base, PROCESS_TAG: f"{host} {boot} {ended}"})
    mine = client.create_run(exp, tags={**base, PROCESS_TAG: process_tag()})
    elsewhere = client.create_run(exp, tags={**base, PROCESS_TAG: f"other-host {boot} {ended}"})
    live = {run.info.run_id for run in live_final_runs(client, exp, "u7", 30, 0)}
    assert live == {mine.info.run_id, elsewhere.info.run_id}
    assert end_unfinished_final_runs(client, exp, "u7", grace_period=30) == [gone.info.run_id]


def test_a_final_run_with_a_fresh_heartbeat_is_live_and_left_alone(store):
    client, exp = store
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": "u7"}
    now = now_ms()
    live = client.create_run(exp, tags={**tags, HEARTBEAT_TAG: str(now - 5_000)}).info.run_id
    stale = client.create_run(exp, tags={**tags, HEARTBEAT_TAG: str(now - 31_000)}).info.run_id
    old = client.create_run(exp, tags=tags).info.run_id  # from before heartbeats
    garbled = client.create_run(exp, tags={**tags, HEARTBEAT_TAG: "soon"}).info.run_id
    assert [r.info.run_id for r in live_final_runs(client, exp, "u7", 30)] == [live]
    assert sorted(end_unfinished_final_runs(client, exp, "u7", grace_period=30)) == \
        sorted([stale, old, garbled])
    for run_id in (stale, old, garbled):
        ended = client.get_run(run_id)
        assert ended.info.status == "KILLED" and "ended before" in ended.data.tags["ecgsk.error"]
    kept = client.get_run(live)
    assert kept.info.status == "RUNNING" and "ecgsk.error" not in kept.data.tags


def test_live_final_runs_come_by_run_id_whatever_their_start_times(store):
    client, exp = store
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": "u8", HEARTBEAT_TAG: str(now_ms())}
    start = now_ms() - 10_000
    early = client.create_run(exp, start_time=start, tags=tags).info.run_id
    late = None
    while late is None:  # run ids are random: a later run whose id sorts before the early one
        candidate = client.create_run(exp, start_time=start + 5_000).info.run_id
        if candidate < early:
            late = candidate
        else:
            client.delete_run(candidate)
    for key, value in tags.items():
        client.set_tag(late, key, value)
    tied = [client.create_run(exp, start_time=start + 1_000, tags=tags).info.run_id
            for _ in range(3)]
    live = [r.info.run_id for r in live_final_runs(client, exp, "u8", 30)]
    assert live == sorted([early, late, *tied]) and live.index(late) < live.index(early)


def test_live_final_runs_of_one_trial(store):
    client, exp = store
    tags = {"ecgsk.role": "final", "ecgsk.study_uid": "u9", HEARTBEAT_TAG: str(now_ms())}
    five = client.create_run(exp, tags={**tags, "trial_number": "5"}).info.run_id
    twenty_five = client.create_run(exp, tags={**tags, "trial_number": "25"}).info.run_id
    untagged = client.create_run(exp, tags=tags).info.run_id
    assert [r.info.run_id for r in live_final_runs(client, exp, "u9", 30, 25)] == [twenty_five]
    assert [r.info.run_id for r in live_final_runs(client, exp, "u9", 30, "5")] == [five]
    assert [r.info.run_id for r in live_final_runs(client, exp, "u9", 30)] == \
        sorted([five, twenty_five, untagged])


def _heartbeat_threads():
    return [t for t in threading.enumerate() if t.name.startswith("ecgsk-final-heartbeat")]


def _beats(client, run_id, count, timeout=30):
    """The distinct heartbeats of ``run_id`` other than "0", once ``count`` are seen."""
    seen, deadline = set(), time.monotonic() + timeout
    while len(seen - {None, "0"}) < count and time.monotonic() < deadline:
        seen.add(client.get_run(run_id).data.tags.get(HEARTBEAT_TAG))
        time.sleep(0.02)
    return seen - {None, "0"}


def test_the_heartbeat_advances_while_the_block_runs_and_stops_however_it_ends(store):
    client, exp = store
    run_id = client.create_run(exp, tags={HEARTBEAT_TAG: "0"}).info.run_id
    with final_heartbeat(client, run_id, 0.05) as thread:
        assert thread.daemon and thread.is_alive()
        beats = _beats(client, run_id, 3)
    assert len(beats) >= 3 and int(max(beats)) <= now_ms()
    assert not thread.is_alive() and not _heartbeat_threads()
    last = client.get_run(run_id).data.tags[HEARTBEAT_TAG]
    time.sleep(0.2)
    assert client.get_run(run_id).data.tags[HEARTBEAT_TAG] == last  # no beat after the block
    with pytest.raises(KeyboardInterrupt), final_heartbeat(client, run_id, 0.05) as thread:
        raise KeyboardInterrupt
    assert not thread.is_alive() and not _heartbeat_threads()


def test_a_heartbeat_that_cannot_be_written_is_logged_and_retried(store, caplog):
    client, exp = store
    run_id = client.create_run(exp).info.run_id
    calls = []

    class Flaky:
        def set_tag(self, *args):
            calls.append(args)
            if len(calls) == 1:
                raise ConnectionError("server away")
            client.set_tag(*args)

    with final_heartbeat(Flaky(), run_id, 0.05):
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(calls) >= 2 and HEARTBEAT_TAG in client.get_run(run_id).data.tags
    assert "could not refresh the heartbeat" in caplog.text and "server away" in caplog.text


def test_best_trial_tag_moves_to_the_new_best(store):
    client, exp = store
    old = client.create_run(exp, tags={"ecgsk.study_uid": "u4"}).info.run_id
    new = client.create_run(exp, tags={"ecgsk.study_uid": "u4"}).info.run_id
    study = optuna.create_study(direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(0, 10)}

    def add(value, run_id):
        study.add_trial(optuna.trial.create_trial(params={"x": value}, distributions=dist,
                                                  value=value, user_attrs={"run": run_id}))

    add(0.5, old)
    assert tag_best_trial(client, exp, "u4", study, "run") == 0
    assert client.get_run(old).data.tags["best_trial"] == "true"
    add(0.9, new)
    assert tag_best_trial(client, exp, "u4", study, "run") == 1
    assert client.get_run(old).data.tags["best_trial"] == "false"
    assert client.get_run(new).data.tags["best_trial"] == "true"
    assert tag_best_trial(client, exp, "u4", optuna.create_study(), "run") is None


def test_optunas_two_warnings_of_an_interrupted_trial_are_dropped_and_only_those():
    import logging
    import sys

    from ecgsk.tune._tune import _NoInterruptTraceback

    def record(msg, error=None):
        exc_info = None
        if error is not None:
            try:
                raise error
            except BaseException:  # noqa: BLE001
                exc_info = sys.exc_info()
        return logging.LogRecord("optuna.study._optimize", logging.WARNING, __file__, 1, msg,
                                 None, exc_info)

    quiet = _NoInterruptTraceback()
    assert not quiet.filter(record("Trial 3 failed with parameters: {} because of the "
                                   "following error: KeyboardInterrupt().", KeyboardInterrupt()))
    assert not quiet.filter(record("Trial 3 failed with value None."))
    assert quiet.filter(record("Trial 4 failed with parameters: {} because of the following "
                               "error: ValueError().", ValueError()))
    assert quiet.filter(record("Trial 4 failed with value None."))  # a real failure
    assert quiet.filter(record("Trial 3 failed with value None."))  # said once only
