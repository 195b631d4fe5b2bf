"""The MLflow side of a study: the shared parent run, orphaned trial runs, plots and tables."""

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from ecgsk.tracking import setup_tracking
from ecgsk.tune._runs import (
    PARENT_ATTR,
    end_orphan_trial_runs,
    find_or_create_parent,
    log_study_summary,
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
