"""Optuna storage: URLs, unreachable databases, and failing the trials of dead workers."""

import socket
import subprocess
import time

import optuna
import pytest
from optuna.trial import TrialState

# The tests ask for trials by hand, which Optuna's heartbeat does not expect.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")

from ecgsk.tune import TuneError, check_storage_url, default_storage_url, open_storage
from ecgsk.tune._storage import (
    RETRY_MAX,
    WORKER_ATTR,
    fail_trial,
    reap_trials,
    trial_counts,
    worker_identity,
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_storage_is_beside_a_sqlite_tracking_store(tmp_path, monkeypatch):
    assert default_storage_url(f"sqlite:///{tmp_path}/x/mlflow.db") == \
        f"sqlite:///{tmp_path}/x/optuna.db"
    monkeypatch.chdir(tmp_path)
    assert default_storage_url("http://127.0.0.1:5000") == f"sqlite:///{tmp_path}/mlruns/optuna.db"


@pytest.mark.parametrize("url, message", [
    ("redis://127.0.0.1:6379", "unsupported Optuna storage"),
    ("sqlite:///:memory:", "in-memory study could not be resumed"),
    ("mlruns/optuna.db", "must be a database URL"),
])
def test_bad_storage_urls(url, message):
    for check in (open_storage, check_storage_url):  # the check alone says the same
        with pytest.raises(TuneError, match=message):
            check(url)


def test_checking_a_storage_url_touches_nothing(tmp_path):
    url = f"sqlite:///{tmp_path}/not/yet/optuna.db"
    assert check_storage_url(url) == "sqlite"
    assert not (tmp_path / "not").exists()  # open_storage makes the folder and the tables
    assert check_storage_url("postgresql+psycopg2://tuner@127.0.0.1:1/optuna") == "postgresql"


def test_heartbeat_settings_are_checked(tmp_path):
    with pytest.raises(TuneError, match=r"grace_period \(--grace-period, 5 s\) must be longer than "
                                        r"heartbeat_interval \(--heartbeat-interval, "):
        open_storage(f"sqlite:///{tmp_path}/o.db", heartbeat_interval=5, grace_period=5)
    with pytest.raises(TuneError, match="heartbeat_interval must be a positive"):
        open_storage(f"sqlite:///{tmp_path}/o.db", heartbeat_interval=0)


def test_unreachable_database_is_named_without_its_password():
    url = f"postgresql://ecg:s3cret-pw@127.0.0.1:{_free_port()}/optuna"
    start = time.monotonic()
    with pytest.raises(TuneError) as info:
        open_storage(url)
    message = str(info.value)
    assert "s3cret-pw" not in message
    assert "postgresql://ecg:***@127.0.0.1" in message
    assert time.monotonic() - start < 30


def _study(tmp_path, **kwargs):
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db", **kwargs)
    return optuna.create_study(storage=storage, study_name="s")


def test_stale_heartbeat_fails_and_requeues_the_trial(tmp_path):
    # A grace period of 5 s, not 2: a 2 s stall of a loaded CI machine between the
    # heartbeat and the first reap would fail the fresh trial.
    study = _study(tmp_path, heartbeat_interval=1, grace_period=5)
    first = study.ask()
    first.suggest_float("x", 0, 1)
    # Stopped once by a Ctrl-C: that retry does not count towards the stale trial's one.
    assert fail_trial(study, study.get_trials()[first.number], retry=True, max_retry=None)
    trial = study.ask()
    assert trial.params == first.params
    study._storage.record_heartbeat(trial._trial_id)
    assert reap_trials(study) == []  # the heartbeat is fresh
    time.sleep(6.5)  # SQLite's clock has 1 s steps: more than grace_period + 1 s
    assert reap_trials(study) == [trial.number]
    trials = study.get_trials()
    assert trials[trial.number].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.state == TrialState.WAITING]
    assert retry.system_attrs["retry_history"] == [first.number, trial.number]
    assert retry.params == trials[trial.number].params


def test_a_trial_no_worker_claimed_within_the_grace_period_is_failed_and_requeued(tmp_path):
    # Killed between Optuna's ask and the objective's first line: no heartbeat and no
    # worker, which neither check caught, so every rerun waited for it forever.
    study = _study(tmp_path, heartbeat_interval=1, grace_period=5)  # 5 s: see above
    orphan = study.ask()
    orphan.suggest_float("x", 0, 1)
    claimed = study.ask()
    claimed.set_user_attr(WORKER_ATTR, {**worker_identity(), "trial": claimed.number})
    assert reap_trials(study) == []  # just asked: its worker may be about to claim it
    time.sleep(5.5)
    assert reap_trials(study) == [orphan.number]  # this live process still holds the other
    trials = study.get_trials()
    assert trials[orphan.number].state == TrialState.FAIL
    assert trials[claimed.number].state == TrialState.RUNNING
    (retry,) = [t for t in trials if t.state == TrialState.WAITING]
    assert retry.params == trials[orphan.number].params


def test_a_killed_trial_is_queued_again_once_an_interrupted_one_always(tmp_path):
    study = _study(tmp_path)

    def fail_and_requeue(max_retry):
        (running,) = [t for t in study.get_trials() if t.state == TrialState.RUNNING]
        assert fail_trial(study, running, retry=True, max_retry=max_retry)
        waiting = [t for t in study.get_trials() if t.state == TrialState.WAITING]
        if waiting:
            study.ask()  # the queued copy runs next
        return len(waiting)

    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    assert RETRY_MAX == 1
    # Interrupted: queued again, and not counted as killed (a kill after a Ctrl-C was
    # not queued again).
    assert fail_and_requeue(None) == 1
    assert fail_and_requeue(RETRY_MAX) == 1  # killed: queued again once
    assert fail_and_requeue(None) == 1  # interrupted: again, past RETRY_MAX
    assert fail_and_requeue(None) == 1
    assert fail_and_requeue(RETRY_MAX) == 0  # killed once more: not again
    params = {t.params["x"] for t in study.get_trials()}
    assert len(params) == 1 and len(study.get_trials()) == 5


def test_trial_of_a_dead_local_process_fails_at_once(tmp_path):
    study = _study(tmp_path)  # grace period 30 s: only the process check can fail it now
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "30"])
    try:
        t_dead, t_alive, t_retry = study.ask(), study.ask(), study.ask()
        me = worker_identity()
        t_dead.set_user_attr(WORKER_ATTR, {**me, "pid": dead.pid, "trial": t_dead.number})
        t_alive.set_user_attr(WORKER_ATTR, {**me, "pid": alive.pid, "trial": t_alive.number})
        # A retried trial inherits the attributes of the one it copies: not trusted.
        t_retry.set_user_attr(WORKER_ATTR, {**me, "pid": dead.pid, "trial": t_dead.number})
        assert reap_trials(study) == [t_dead.number]
        states = {t.number: t.state for t in study.get_trials()}
        assert states[t_dead.number] == TrialState.FAIL
        assert states[t_alive.number] == TrialState.RUNNING
        assert states[t_retry.number] == TrialState.RUNNING
        counts = trial_counts(study)
        assert (counts["FAIL"], counts["RUNNING"], counts["WAITING"]) == (1, 2, 1)
        assert counts["finished"] == 0
    finally:
        alive.kill()
        alive.wait()


def test_surplus_trials_are_counted_apart_from_failed_ones():
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=1.0))
    for surplus in (True, False, True):
        study.add_trial(optuna.trial.create_trial(
            state=TrialState.FAIL, user_attrs={"ecgsk.surplus": True} if surplus else {}))
    counts = trial_counts(study)
    assert (counts["COMPLETE"], counts["FAIL"], counts["surplus"], counts["finished"]) == \
        (1, 1, 2, 1)

