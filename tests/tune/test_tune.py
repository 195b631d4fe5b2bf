"""python -m ecgsk.tune end to end on real PTB-XL records: runs, pruning, refit, resume, kills."""

import io
import signal
import subprocess

import mlflow
import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from ecgsk.tune import main, tune

from ..conftest import CTRL_C_NET, write_module
from .conftest import finish, new_store, sleeping, start_tune, tune_cmd, wait_for

pytestmark = pytest.mark.slow


def _storage(uri):
    return uri.replace("mlflow.db", "optuna.db")


def _runs(client, experiment, role=None):
    exp = client.get_experiment_by_name(experiment)
    query = f"tags.`ecgsk.role` = '{role}'" if role else ""
    return client.search_runs([exp.experiment_id], filter_string=query)


@pytest.fixture(scope="module")
def e2e(empty_store, pipeline_files, signal_cache, ptbxl_root, tmp_path_factory):
    """One CLI study: 4 trials on 2 CV folds of 200 records; odd trials are bad on purpose."""
    folder = tmp_path_factory.mktemp("e2e")
    uri = new_store(empty_store, folder / "mlruns")
    cmd = tune_cmd("--pipeline", pipeline_files["stats_lr"], "--dataset", "ptbxl",
                   "--task", "superdiagnostic", "--data", ptbxl_root, "--n-trials", 4,
                   "--folds", 1, 2, "--max-records", 200, "--n-boot", 50,
                   "--tracking-uri", uri, "--experiment", "e2e", "--cache-dir", signal_cache,
                   "--study-name", "e2e-study", "--sampler", "random",
                   "--pruner-startup-trials", 1, "--pruner-warmup-steps", 0, "--threads", 1)
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    study = optuna.load_study(study_name="e2e-study", storage=_storage(uri))
    return done, MlflowClient(uri), study, uri


def test_trials_are_child_runs_with_state_and_number(e2e):
    _, client, study, _ = e2e
    (parent,) = _runs(client, "e2e", "study")
    trials = {int(r.data.tags["trial_number"]): r for r in _runs(client, "e2e", "trial")}
    assert sorted(trials) == [t.number for t in study.trials] == [0, 1, 2, 3]
    for t in study.trials:
        run = trials[t.number]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["state"] == t.state.name
        assert run.info.status == "FINISHED"  # a pruned trial's run ends normally
        assert run.data.params["optuna.C"] == str(t.params["C"])
        assert t.user_attrs["mlflow_run_id"] == run.info.run_id
    # Odd trials predict constants (AUROC 0.5): pruned at their first fold by the median
    # of the completed trials; trial 0 completes.
    assert study.trials[0].state == TrialState.COMPLETE
    for number in (1, 3):
        assert study.trials[number].state == TrialState.PRUNED
        assert study.trials[number].intermediate_values == {0: pytest.approx(0.5)}
        history = client.get_metric_history(trials[number].info.run_id, "cv_macro_auroc")
        assert [h.step for h in history] == [1]  # fold 2 never ran
    done = trials[0]
    history = client.get_metric_history(done.info.run_id, "cv_macro_auroc")
    assert sorted(h.step for h in history) == [1, 2]
    assert done.data.metrics["value"] == pytest.approx(study.trials[0].value)
    assert done.data.metrics["value"] == pytest.approx(np.mean([h.value for h in history]))
    best = [n for n, r in trials.items() if r.data.tags.get("best_trial") == "true"]
    assert best == [study.best_trial.number]


def test_parent_run_holds_plots_and_final_test(e2e):
    _, client, study, _ = e2e
    (parent,) = _runs(client, "e2e", "study")
    (final,) = _runs(client, "e2e", "final")
    assert parent.info.status == "FINISHED" and final.info.status == "FINISHED"
    assert parent.data.tags["ecgsk.study"] == "e2e-study"
    assert parent.data.params["tune.metric"] == "macro_auroc"
    assert parent.data.params["tune.folds"] == "1, 2"
    assert parent.data.tags["ecgsk.threads.torch"] == "1"  # --threads 1
    assert parent.data.tags["best_trial"] == str(study.best_trial.number)
    assert parent.data.tags["final_run_id"] == final.info.run_id
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "optuna")}
    assert {"optuna/optimization_history.png", "optuna/trials.csv", "optuna/best_trials.csv",
            "optuna/report.txt"} <= names
    assert names & {"optuna/param_importances.png", "optuna/param_importances.txt"}
    m = parent.data.metrics
    assert m["test_macro_auroc_ci_low"] <= m["test_macro_auroc"] <= m["test_macro_auroc_ci_high"]
    assert m["test_macro_auroc"] == pytest.approx(final.data.metrics["test_macro_auroc"])
    # Refit on the training folds as compare's final fit (a classic pipeline: fold 9 tunes
    # the decision thresholds only), tested once on the test fold.
    params = parent.data.params
    for split in ("train", "valid", "test"):
        assert final.data.params[f"{split}.n_records"] == params[f"{split}.n_records"]
    assert final.data.params["final.validation"] == "fold 9 (thresholds only)"
    assert {f"test_threshold_{c}" for c in ("CD", "HYP", "MI", "NORM", "STTC")} <= set(m)
    assert final.data.params["optuna.C"] == str(study.best_params["C"])


def test_best_model_is_registered_under_the_study_name(e2e):
    _, client, _, uri = e2e
    (final,) = _runs(client, "e2e", "final")
    version = client.get_model_version("e2e-study", "1")
    assert version.run_id == final.info.run_id
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model("models:/e2e-study/1")
    proba = model.predict(np.random.default_rng(0).normal(size=(2, 12, 500)).astype("float32"))
    assert list(proba.columns) == ["CD", "HYP", "MI", "NORM", "STTC"]
    assert proba.shape == (2, 5)


def test_no_trial_is_pruned_after_its_last_fold(e2e):
    """A trial scored on every fold is whole: its value is the mean, never pruned then."""
    _, _, study, _ = e2e
    for t in study.trials:
        assert 1 not in t.intermediate_values  # fold 2 of 2 (step 1) is never reported
        if t.state == TrialState.COMPLETE:
            assert t.value == pytest.approx(np.mean(t.user_attrs["cv_values"]))


def test_terminal_shows_progress_and_a_ranking(e2e):
    done, client, study, uri = e2e
    assert "trials: 100%" in done.stderr and "4/4" in done.stderr
    out = done.stdout
    n_pruned = sum(t.state == TrialState.PRUNED for t in study.trials)
    assert f"4 of 4 trials finished ({4 - n_pruned} complete, {n_pruned} pruned)" in out
    assert "Best trials (macro_auroc, best first):" in out
    ranking = out.split("Best trials (macro_auroc, best first):")[1].splitlines()[1:]
    header = ranking[0].split()
    assert header[:4] == ["rank", "trial", "value", "duration_s"]
    assert ranking[1].split()[:2] == ["1", str(study.best_trial.number)]
    assert "test_macro_auroc = " in out and "Model registered as 'e2e-study' version 1" in out
    # Where the study was logged, as compare says where its comparison was: tune did not.
    (parent,) = _runs(client, "e2e", "study")
    assert out.rstrip().endswith(
        f"Logged to MLflow: study run {parent.info.run_id}, experiment 'e2e', store {uri} "
        f"(python -m ecgsk.ui --backend-store-uri {uri} shows them).")


def test_resume_refuses_other_settings_and_adds_only_missing_trials(
        e2e, pipeline_files, ptbxl_root, signal_cache, capsys):
    _, client, study, uri = e2e
    base = ["--pipeline", str(pipeline_files["stats_lr"]), "--dataset", "ptbxl",
            "--task", "superdiagnostic", "--data", str(ptbxl_root), "--max-records", "200",
            "--n-boot", "50", "--tracking-uri", uri, "--experiment", "e2e",
            "--cache-dir", str(signal_cache), "--study-name", "e2e-study", "--no-progress",
            "--pruner", "none"]
    previous = mlflow.get_tracking_uri()
    try:
        assert main(base + ["--n-trials", "4", "--folds", "1", "3"]) == 2
        err = capsys.readouterr().err
        assert "optimises something else (folds: study has [1, 2], this run asks [1, 3])" in err
        # Another --experiment of the same store: a second study run held the later trials
        # only, beside the first, each tagging its own best trial.
        other = [a if a != "e2e" else "elsewhere" for a in base]
        assert main(other + ["--n-trials", "6", "--folds", "1", "2"]) == 2
        assert ("study 'e2e-study' is tracked in the MLflow experiment 'e2e' of this store "
                "(run ") in capsys.readouterr().err
        assert len(study.get_trials()) == 4
        assert client.get_experiment_by_name("elsewhere") is None or not _runs(
            client, "elsewhere")
        # Another --n-boot than the refit's (base has 50): the interval shown is the refit's.
        assert main(base + ["--n-trials", "4", "--folds", "1", "2", "--n-boot", "7"]) == 0
        out = capsys.readouterr().out
        final = study.user_attrs["ecgsk.final"]
        assert f"Final refit: done before, in run {final['run_id']}." in out
        # The earlier refit's test and model, as the run that refitted reported them.
        test_auroc = client.get_run(final["run_id"]).data.metrics["test_macro_auroc"]
        assert f"test_macro_auroc = {test_auroc:.4f}" in out
        assert "(95% bootstrap interval)." in out and "7 resamples" not in out
        assert "Model registered as 'e2e-study' version 1" in out
        again = tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root,
                     n_trials=4, folds=[1, 2], max_records=200, n_boot=50, tracking_uri=uri,
                     experiment="e2e", cache_dir=signal_cache, study_name="e2e-study",
                     pruner="none", progress=False, out=io.StringIO())
        assert again.refit == "done before" and again.model_uri == final["model_uri"]
        assert again.test_metrics["test_macro_auroc"] == test_auroc
        assert again.final_validation == "fold 9 (thresholds only)"
        assert len(study.get_trials()) == 4  # nothing ran
        assert main(base + ["--n-trials", "5", "--folds", "1", "2"]) == 0
    finally:
        mlflow.set_tracking_uri(previous)
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert trials[4].state in (TrialState.COMPLETE, TrialState.PRUNED)
    # The resumed sampler is seeded anew: seeded alike, it drew trial 0's parameters again.
    assert trials[4].params not in [t.params for t in trials[:4]]
    assert "5 of 5 trials finished" in capsys.readouterr().out
    try:  # fewer than the study has: it said "5 of 3 trials finished"
        assert main(base + ["--n-trials", "3", "--folds", "1", "2"]) == 0
    finally:
        mlflow.set_tracking_uri(previous)
    assert ("5 (more than --n-trials 3: an earlier run asked for them) trials finished"
            in capsys.readouterr().out)
    assert len(study.get_trials()) == 5  # nothing ran
    # A classic pipeline reports after each fold but the last: with 2 folds and the
    # default warmup of 1 step the median pruner cannot act, which is said.
    median = [arg for arg in base if arg not in ("--pruner", "none")]
    try:
        assert main(median + ["--n-trials", "3", "--folds", "1", "2"]) == 0
    finally:
        mlflow.set_tracking_uri(previous)
    assert ("note: stats_lr is scored per fold, and reports after each fold but the last: "
            "with 2 fold(s) and --pruner-warmup-steps 1, no trial can be pruned"
            in capsys.readouterr().err)


def test_network_trials_report_each_epoch_and_resume(
        tracking_uri, pipeline_files, ptbxl_root, signal_cache):
    common = dict(folds=[1, 2], max_records=200, sampler="random", set_params={"max_epochs": 2},
                  tracking_uri=tracking_uri, experiment="net", cache_dir=signal_cache,
                  study_name="net-study", n_boot=20, progress=False)
    # Prune every trial from step 2 on: the first epoch of fold 2.
    first = tune(pipeline_files["tiny_net"], "ptbxl", "superdiagnostic", ptbxl_root, n_trials=2,
                 pruner=optuna.pruners.ThresholdPruner(lower=0.999, n_warmup_steps=2),
                 out=io.StringIO(), **common)
    assert first.counts["PRUNED"] == 2 and first.best_trial is None
    assert first.refit == "no completed trial: nothing to refit"
    study = optuna.load_study(study_name="net-study", storage=_storage(tracking_uri))
    for t in study.trials:
        # step = fold position * max_epochs + epoch - 1
        assert set(t.intermediate_values) == {0, 1, 2}
    client = MlflowClient(tracking_uri)
    for run in _runs(client, "net", "trial"):
        assert run.data.tags["state"] == "PRUNED" and run.info.status == "FINISHED"
        assert [h.step for h in client.get_metric_history(run.info.run_id,
                                                          "fold1_valid_auroc")] == [1, 2]
        assert [h.step for h in client.get_metric_history(run.info.run_id,
                                                          "fold2_valid_auroc")] == [1]
        names = {a.path for a in client.list_artifacts(run.info.run_id, "training")}
        assert names == {"training/fold1_history.png", "training/fold2_history.png"}
    (parent,) = _runs(client, "net", "study")
    assert parent.info.status == "FINISHED" and "final_run_id" not in parent.data.tags

    # The same study with a total of 3 finished trials runs one more.
    out = io.StringIO()
    second = tune(pipeline_files["tiny_net"], "ptbxl", "superdiagnostic", ptbxl_root,
                  n_trials=3, pruner="none", out=out, **common)
    assert second.ran == [(2, "COMPLETE")]
    assert second.counts["finished"] == 3 and second.best_trial == 2
    assert set(study.trials[2].intermediate_values) == {0, 1, 2, 3}
    assert second.refit == "this worker" and second.model_version == "1"
    assert np.isfinite(second.test_metrics["test_macro_auroc"])
    assert len(_runs(client, "net", "study")) == 1  # the same parent run
    assert "3 of 3 trials finished (1 complete, 2 pruned)" in out.getvalue()


def test_an_ensembles_networks_report_each_epoch_and_can_be_pruned(
        tracking_uri, pipeline_files, ptbxl_root, signal_cache):
    # find_skorch_net finds no net in an ensemble: ecgsk_ptbxl's and ecgsk_cinc's trials
    # reported per fold only, and with --folds 1 2 (one report) were never pruned.
    path = pipeline_files["tiny_ensemble"]
    common = dict(folds=[1, 2], max_records=200, sampler="random", tracking_uri=tracking_uri,
                  experiment="ens", cache_dir=signal_cache, study_name="ens", n_boot=20,
                  progress=False, out=io.StringIO())
    # Net b's first epoch of fold 1 is step 2: member a's two epochs come before it.
    pruned = tune(path, "ptbxl", "superdiagnostic", ptbxl_root, n_trials=1,
                  pruner=optuna.pruners.ThresholdPruner(lower=0.999, n_warmup_steps=2),
                  **common)
    assert pruned.counts["PRUNED"] == 1
    study = optuna.load_study(study_name="ens", storage=_storage(tracking_uri))
    assert set(study.trials[0].intermediate_values) == {0, 1, 2}
    done = tune(path, "ptbxl", "superdiagnostic", ptbxl_root, n_trials=2, pruner="none",
                **common)
    assert done.ran == [(1, "COMPLETE")]
    trial = optuna.load_study(study_name="ens", storage=_storage(tracking_uri)).trials[1]
    # 2 folds x 2 nets x 2 epochs, each on its own step; curves by member.
    assert set(trial.intermediate_values) == set(range(8))
    assert trial.user_attrs["epochs"] == 8
    client = MlflowClient(tracking_uri)
    run = client.get_run(trial.user_attrs["mlflow_run_id"])
    for name in ("fold1_a_valid_auroc", "fold1_b_valid_auroc", "fold2_b_valid_auroc"):
        assert [h.step for h in client.get_metric_history(run.info.run_id, name)] == [1, 2]
    names = {a.path for a in client.list_artifacts(run.info.run_id, "training")}
    assert names == {f"training/fold{f}_history_{m}.png" for f in (1, 2) for m in "ab"}


def test_a_trial_queued_again_resumes_its_networks(tracking_uri, ptbxl_root, tmp_path,
                                                    monkeypatch):
    """Ctrl-C at epoch 3 of trial 0's first fold; the rerun's repeat of it trains 3-5 there."""
    epochs = tmp_path / "epochs.log"
    monkeypatch.setenv("ECGSK_TEST_EPOCHS", str(epochs))
    path = write_module(tmp_path, "ctrl_c_net", CTRL_C_NET)
    cache = tmp_path / "cache"
    common = dict(folds=[1], max_records=200, sampler="random", pruner="none", n_trials=1,
                  tracking_uri=tracking_uri, experiment="requeue", cache_dir=cache,
                  study_name="requeue", n_boot=20, progress=False, out=io.StringIO())
    monkeypatch.setenv("ECGSK_TEST_SIGINT", "1")
    with pytest.raises(KeyboardInterrupt):
        tune(path, "ptbxl", "superdiagnostic", ptbxl_root, **common)
    assert epochs.read_text().split() == ["1", "2", "3"]
    assert len(list((cache / "checkpoints").glob("ecgnet-*.pt"))) == 1
    monkeypatch.delenv("ECGSK_TEST_SIGINT")
    epochs.unlink()
    result = tune(path, "ptbxl", "superdiagnostic", ptbxl_root, **common)
    assert result.ran == [(1, "COMPLETE")]  # trial 0 queued again as trial 1
    study = optuna.load_study(study_name="requeue", storage=_storage(tracking_uri))
    assert study.trials[1].params == study.trials[0].params
    # Fold 1 resumed after epoch 2 (epoch 3 ended in the Ctrl-C before it was saved);
    # then the final refit, a fit of other records, trained from its first epoch.
    assert epochs.read_text().split() == ["3", "4", "5", "1", "2", "3", "4", "5"]
    assert list((cache / "checkpoints").glob("ecgnet-*.pt")) == []
    # The repeat reported the epochs it restored to the pruner too, with the values of trial 0.
    first, repeat = (t.intermediate_values for t in study.trials[:2])
    assert first and max(first) < 2 and set(first) < set(repeat) <= set(range(5))
    assert {step: repeat[step] for step in first} == first
    assert max(repeat) > 2  # and the epochs it trained

def test_a_ctrl_c_as_a_finished_trial_is_tagged_queues_it_again(
        tracking_uri, pipeline_files, ptbxl_root, signal_cache, tmp_path, monkeypatch):
    # The interrupt came in the finally that tags the run's state: the trial was FAILED by
    # Optuna, never queued again, and its run said COMPLETE.
    real = mlflow.set_tag

    def interrupted(key, value):
        real(key, value)
        if (key, value) == ("state", "COMPLETE"):
            monkeypatch.setattr(mlflow, "set_tag", real)
            raise KeyboardInterrupt

    monkeypatch.setattr(mlflow, "set_tag", interrupted)
    common = dict(folds=[1], max_records=200, sampler="random", pruner="none", n_trials=1,
                  tracking_uri=tracking_uri, experiment="late-ctrl-c", cache_dir=signal_cache,
                  study_name="late-ctrl-c", n_boot=20, progress=False, out=io.StringIO())
    with pytest.raises(KeyboardInterrupt):
        tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root, **common)
    study = optuna.load_study(study_name="late-ctrl-c", storage=_storage(tracking_uri))
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.WAITING]
    client = MlflowClient(tracking_uri)
    (run,) = _runs(client, "late-ctrl-c", "trial")
    assert run.data.tags["state"] == "FAIL"
    result = tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root, **common)
    assert result.ran == [(1, "COMPLETE")]  # trial 0 again, as trial 1
    assert study.get_trials()[1].params == study.get_trials()[0].params


def test_a_study_run_its_creator_left_without_parameters_gets_them_on_resume(
        tracking_uri, pipeline_files, ptbxl_root, signal_cache, monkeypatch):
    # A Ctrl-C between the parent run's creation and its parameters: only a new parent
    # logged them, so that study run kept none for good.
    real = MlflowClient.log_batch

    def interrupted(self, run_id, *args, **kwargs):
        if any(p.key == "tune.study_name" for p in kwargs.get("params") or ()):
            monkeypatch.setattr(MlflowClient, "log_batch", real)
            raise KeyboardInterrupt
        return real(self, run_id, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", interrupted)
    common = dict(folds=[1], max_records=200, sampler="random", pruner="none", n_trials=1,
                  tracking_uri=tracking_uri, experiment="bare-parent", cache_dir=signal_cache,
                  study_name="bare-parent", n_boot=20, progress=False, out=io.StringIO(),
                  threads=1)
    with pytest.raises(KeyboardInterrupt):
        tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root, **common)
    client = MlflowClient(tracking_uri)
    (parent,) = _runs(client, "bare-parent", "study")
    assert "tune.study_name" not in parent.data.params
    tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root, **common)
    (again,) = _runs(client, "bare-parent", "study")
    assert again.info.run_id == parent.info.run_id
    assert again.data.params["tune.study_name"] == "bare-parent"
    assert again.data.tags["ecgsk.threads.torch"] == "1"


def _trials(storage, name):
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    except KeyError:  # not created yet
        return []


def test_killed_and_terminated_studies_resume(
        empty_store, pipeline_files, ptbxl_root, signal_cache, tmp_path, monkeypatch):
    uri = new_store(empty_store, tmp_path / "mlruns")
    storage, name = _storage(uri), "kill-study"
    args = ["--pipeline", pipeline_files["slow_lr"], "--dataset", "ptbxl",
            "--task", "superdiagnostic", "--data", ptbxl_root, "--n-trials", 4, "--folds", 1,
            "--max-records", 200, "--n-boot", 20, "--tracking-uri", uri, "--experiment", "kill",
            "--cache-dir", signal_cache, "--study-name", name, "--set", "sleep=2.0",
            "--no-progress"]
    client = MlflowClient(uri)
    mark = str(tmp_path / "sleeping")
    monkeypatch.setenv("ECGSK_TEST_SLEEP_MARK", mark)

    def running_after(numbers, proc):
        def check():
            trials = _trials(storage, name)
            # Its run is opened before its parameters are sampled: wait for both. Then
            # wait for its 2 s sleep to begin, so that the signal sent next lands in it.
            trial = next((t for t in trials if t.state == TrialState.RUNNING
                          and t.number not in numbers and "mlflow_run_id" in t.user_attrs
                          and t.params), None)
            return trial if trial and sleeping(mark, proc.pid) else None
        return check

    # 1. SIGKILL while trial 1 runs, after trial 0 completed.
    first = start_tune(args, tmp_path, tmp_path / "first.log")
    killed = wait_for(running_after({0}, first), 240, "a second trial running", [first])
    first.kill()
    assert _trials(storage, name)[0].state == TrialState.COMPLETE
    assert finish(first)[0] == -signal.SIGKILL
    completed = {t.number: t.value for t in _trials(storage, name)
                 if t.state == TrialState.COMPLETE}
    killed_run = killed.user_attrs["mlflow_run_id"]
    assert client.get_run(killed_run).info.status == "RUNNING"  # left open by SIGKILL

    # 2. Restart: the killed trial is failed and queued again at once (its process is
    # gone); SIGTERM while a new trial runs.
    second = start_tune(args, tmp_path, tmp_path / "second.log")
    retry = wait_for(lambda: next((t for t in _trials(storage, name)
                                   if t.system_attrs.get("failed_trial") == killed.number
                                   and t.state == TrialState.COMPLETE), None),
                     240, "the killed trial's retry to complete", [second])
    assert retry.params == killed.params
    termed = wait_for(running_after({0, killed.number, retry.number}, second), 240,
                      "a new trial running", [second])
    second.send_signal(signal.SIGTERM)
    status, log = finish(second)
    assert status == 143, log[-3000:]
    assert (f"resuming study {name!r} (sqlite:///{storage[len('sqlite:///'):]}): its 1 finished "
            "trial is kept (--n-trials 4); 1 running (in another worker, or left by a killed "
            "one, which is failed and queued again).") in log
    assert f"interrupted by SIGTERM: trial(s) {termed.number} FAIL and queued again" in log
    assert "Traceback" not in log  # Optuna's "Trial N failed" traceback is left out
    assert f"Trial {termed.number} failed" not in log  # and its "failed with value None"
    (parent,) = _runs(client, "kill", "study")
    assert parent.info.status == "KILLED"
    assert parent.data.tags["ecgsk.error"] == "interrupted by SIGTERM"

    # 3. Run to the end.
    status, log = finish(start_tune(args, tmp_path, tmp_path / "third.log"))
    assert status == 0, log[-3000:]
    assert "; 1 queued again with their parameters." in log  # the trial SIGTERM stopped

    trials = {t.number: t for t in _trials(storage, name)}
    states = [t.state for t in trials.values()]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 4
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    for number, value in completed.items():  # never lost, never redone
        assert trials[number].state == TrialState.COMPLETE and trials[number].value == value
    for lost in (killed.number, termed.number):
        assert trials[lost].state == TrialState.FAIL
        (again,) = [t for t in trials.values() if t.system_attrs.get("failed_trial") == lost]
        assert again.state == TrialState.COMPLETE and again.params == trials[lost].params
    killed_run = client.get_run(killed_run)
    assert killed_run.info.status == "KILLED"
    assert killed_run.data.tags["state"] == "FAIL"
    assert "killed or lost" in killed_run.data.tags["ecgsk.error"]
    termed_run = client.get_run(termed.user_attrs["mlflow_run_id"])
    assert termed_run.info.status == "KILLED" and termed_run.data.tags["state"] == "FAIL"
    runs = _runs(client, "kill")
    assert not [r for r in runs if r.info.status == "RUNNING"]
    (parent,) = [r for r in runs if r.data.tags.get("ecgsk.role") == "study"]
    assert parent.info.status == "FINISHED"
    assert "ecgsk.error" not in parent.data.tags  # the interruption is past once resumed
    report = client.download_artifacts(parent.info.run_id, "optuna/report.txt")
    with open(report) as f:
        assert "4 of 4 trials finished" in f.read()


def test_timeout_stops_starting_trials(tracking_uri, pipeline_files, ptbxl_root, signal_cache):
    out = io.StringIO()
    result = tune(pipeline_files["slow_lr"], "ptbxl", "superdiagnostic", ptbxl_root,
                  n_trials=50, timeout=1.0, folds=[1], max_records=200,
                  set_params={"sleep": 1.5}, tracking_uri=tracking_uri, experiment="timeout",
                  cache_dir=signal_cache, n_boot=10, progress=False, out=out)
    assert result.timed_out
    assert result.ran == [(0, "COMPLETE")]  # started within the second, then no new trial
    assert result.counts["finished"] == 1 and result.refit == "this worker"
    assert "1 of 50 trials finished" in out.getvalue() and "stopped by --timeout" in out.getvalue()


def test_trials_failing_in_a_row_stop_the_search(tracking_uri, pipeline_files, ptbxl_root,
                                                  signal_cache):
    # No test ran into max_failures: a search whose every trial fails must stop, say so,
    # and start no more trials.
    from ecgsk.tune import TuneFailed

    with pytest.raises(TuneFailed, match=r"^2 trials failed in a row; the search stopped") as exc:
        tune(pipeline_files["slow_lr"], "ptbxl", "superdiagnostic", ptbxl_root, n_trials=6,
             folds=[1], max_records=100, set_params={"sleep": -1.0},  # time.sleep(-1) raises
             tracking_uri=tracking_uri, experiment="failing", cache_dir=signal_cache,
             n_boot=10, max_failures=2, progress=False, out=io.StringIO())
    study = optuna.load_study(study_name=exc.value.result.study_name,
                              storage=_storage(tracking_uri))
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL, TrialState.FAIL]


def test_a_study_resumes_on_its_records_moved_but_not_on_other_records(
        tracking_uri, pipeline_files, ptbxl_root, tmp_path, signal_cache):
    # Another --data of as many records was resumed: trials scored on other records were
    # ranked with the study's, and a model of them registered as its next version.
    import shutil

    import pandas as pd

    from ecgsk.tune import TuneError

    from ..conftest import copy_ptbxl

    first, _ = copy_ptbxl(ptbxl_root, tmp_path / "a" / "ptb-xl", per_fold=20)

    def run(root):
        return tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", root, n_trials=1,
                    folds=[1, 2], tracking_uri=tracking_uri, experiment="records",
                    cache_dir=signal_cache, n_boot=10, pruner="none", progress=False,
                    out=io.StringIO())

    assert [state for _, state in run(first).ran] == ["COMPLETE"]
    moved = tmp_path / "b" / "ptb-xl"
    shutil.copytree(first, moved)
    assert run(moved).ran == []  # the same records in another folder: resumed
    # Other patients of the same records: the networks would validate on other ones.
    regrouped = tmp_path / "c" / "ptb-xl"
    shutil.copytree(first, regrouped)
    table = pd.read_csv(regrouped / "ptbxl_database.csv", index_col="ecg_id")
    table["patient_id"] += 1e6 * (table.index % 2)
    table.to_csv(regrouped / "ptbxl_database.csv")
    with pytest.raises(TuneError, match=r"optimises something else \(patients: the records' "
                                        r"patient ids differ from the study's"):
        run(regrouped)
    table = pd.read_csv(moved / "ptbxl_database.csv", index_col="ecg_id")
    normal = table.index[table.scp_codes.str.contains("NORM")][0]
    table.loc[normal, "scp_codes"] = "{'IMI': 100.0}"
    table.to_csv(moved / "ptbxl_database.csv")
    with pytest.raises(TuneError, match=r"optimises something else \(records: this run scores "
                                        r"other records, labels or folds than the study"):
        run(moved)


def test_a_second_worker_joining_before_any_trial_finished_says_so(capsys):
    from ecgsk.tune._tune import _say_resumed

    study = optuna.create_study()
    study.enqueue_trial({"x": 1.0})  # one queued, none finished
    _say_resumed(study, "ptbxl-logreg", "postgresql://ecgsk@127.0.0.1:5432/optuna", 6)
    err = capsys.readouterr().err
    assert err == ("joining study 'ptbxl-logreg' (postgresql://ecgsk@127.0.0.1:5432/optuna): "
                   "no trial has finished yet (--n-trials 6); 1 queued again with their "
                   "parameters.\n")


SECRET_LR = '''
"""Logistic regression on statistical features, with an API key it never uses."""

from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from ecgsk.features import StatisticalFeatures

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 100
LENGTH = 500


def make_pipeline(C=1.0, api_key=None):
    return Pipeline([("features", StatisticalFeatures(sampling_rate=SAMPLING_RATE)),
                     ("clf", OneVsRestClassifier(LogisticRegression(C=C, max_iter=300)))])


def search_space(trial):
    return {"C": trial.suggest_float("C", 0.1, 1.0, log=True)}
'''


def test_a_secret_set_is_masked_and_an_edited_pipeline_is_another_study(
        tracking_uri, ptbxl_root, signal_cache, tmp_path):
    # The study run logged --set api_key=... in clear (trials masked it), and so did the
    # study's stored configuration; an edited pipeline file resumed the old study.
    from ecgsk.tune import TuneError

    path = write_module(tmp_path, "secret_lr", SECRET_LR)
    kwargs = dict(n_trials=1, folds=[1, 2], max_records=100, n_boot=10,
                  set_params={"api_key": "hunter2SECRET"}, tracking_uri=tracking_uri,
                  experiment="secret", cache_dir=signal_cache, study_name="secret",
                  progress=False, out=io.StringIO())
    result = tune(path, "ptbxl", "superdiagnostic", ptbxl_root, **kwargs)
    client = MlflowClient(tracking_uri)
    study_run = client.get_run(result.parent_run_id)
    assert study_run.data.params["factory.api_key"] == "***"
    for run in client.search_runs([study_run.info.experiment_id]):
        assert "hunter2SECRET" not in str(run.data.params)
    study = optuna.load_study(study_name="secret", storage=_storage(tracking_uri))
    assert "hunter2SECRET" not in str(study.user_attrs)
    assert tune(path, "ptbxl", "superdiagnostic", ptbxl_root, **kwargs).refit == "done before"
    path.write_text(path.read_text().replace("max_iter=300", "max_iter=50"))
    # Named in words: it was "pipeline_sha256: study has '50e2...', this run asks '3c28...'".
    with pytest.raises(TuneError, match="optimises something else \\(pipeline: the file of "
                                        "pipeline 'secret_lr', or a file it loads \\(a "
                                        "pipeline, a module beside it\\), was edited since "
                                        "the study began"):
        tune(path, "ptbxl", "superdiagnostic", ptbxl_root, **kwargs)


def test_a_study_created_before_the_pipeline_was_fingerprinted_still_resumes(tmp_path):
    from ecgsk.tune._tune import TuneError, _open_study

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    config = {"pipeline": "p", "folds": [1, 2], "pipeline_sha256": "abc"}
    old = {k: v for k, v in config.items() if k != "pipeline_sha256"}
    _open_study(storage, "old", "maximize", old)
    study, created = _open_study(storage, "old", "maximize", config)
    assert not created
    _open_study(storage, "new", "maximize", config)
    with pytest.raises(TuneError, match="pipeline: the file of pipeline 'p', or a file it "
                                        "loads"):
        _open_study(storage, "new", "maximize", {**config, "pipeline_sha256": "x"})


def test_a_study_of_a_subset_drawn_by_an_earlier_ecgsk_is_refused_saying_why(tmp_path):
    # It said "records: ... (another --data?); patients: ... differ. Rerun with the study's
    # settings", none of which the user could act on: the same command drew other records.
    from ecgsk.tune._tune import TuneError, _open_study

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    old = {"pipeline": "p", "dataset": "cinc2017", "max_records": 300,
           "records_sha256": "a", "groups_sha256": "b"}
    _open_study(storage, "s", "maximize", old)
    new = {**old, "records_sha256": "c", "groups_sha256": "d",
           "subset": "hold-out of all the records"}
    with pytest.raises(TuneError, match=r"^study 's' tuned on a --max-records subset of "
                                        r"cinc2017 drawn by an earlier ecgsk.*pass another "
                                        r"--study-name\.$") as info:
        _open_study(storage, "s", "maximize", new)
    assert "patients" not in str(info.value) and "--data" not in str(info.value)
    # Records that differ otherwise are said once, without their patients.
    _open_study(storage, "t", "maximize", new)
    with pytest.raises(TuneError, match=r"\(records: this run scores other records, labels "
                                        r"or folds than the study \(another --data\?\)\)"):
        _open_study(storage, "t", "maximize", {**new, "records_sha256": "e",
                                               "groups_sha256": "f"})


def test_a_trial_failed_by_another_worker_does_not_end_the_search(
        pipeline_files, ptbxl_root, signal_cache, empty_store, tmp_path, monkeypatch, capsys):
    # Taken for dead (its heartbeat late: a slow store), a live trial was failed by another
    # worker; Optuna's tell of its result raised "Cannot tell a FAIL trial", out of
    # optimize's catch, and the worker died with a traceback.
    real, calls = optuna.Study.optimize, []

    def reaped_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("Cannot tell a FAIL trial.")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "optimize", reaped_once)
    result = tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root,
                  n_trials=1, folds=[1], max_records=150, n_boot=0, pruner="none",
                  tracking_uri=new_store(empty_store, tmp_path / "store"), experiment="reaped",
                  cache_dir=signal_cache, progress=False, out=io.StringIO())
    assert len(calls) == 2 and result.refit == "this worker"
    assert "another worker failed a trial of this one, taking it for dead" in \
        capsys.readouterr().err


def test_an_empty_study_whose_creation_was_cut_off_is_taken_over(tmp_path, monkeypatch):
    # A Ctrl-C between create_study and its attributes left a study that every rerun
    # refused, after 30 s, as "not created by ecgsk.tune".
    from ecgsk.tune import _tune
    from ecgsk.tune._tune import TuneError, _open_study

    monkeypatch.setattr(_tune, "_WAIT_FOR_CREATOR_S", 0.1)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    config = {"pipeline": "p"}
    optuna.create_study(storage=storage, study_name="cut", direction="maximize")
    study, created = _open_study(storage, "cut", "maximize", config)
    assert created and study.user_attrs[_tune.CONFIG_ATTR] == config
    assert not _open_study(storage, "cut", "maximize", config)[1]  # ecgsk's now: joined
    # A study of trials run by plain Optuna is not ecgsk's to take.
    foreign = optuna.create_study(storage=storage, study_name="foreign", direction="maximize")
    foreign.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(TuneError, match="exists but was not created by ecgsk.tune"):
        _open_study(storage, "foreign", "maximize", config)


def test_a_worker_with_other_heartbeat_settings_is_refused(tmp_path):
    # Each worker judges the others' trials by its own grace period: one started with the
    # defaults (30 s) failed the live trials of one beating every 40 s, which then crashed
    # ("Cannot tell a FAIL trial").
    from ecgsk.tune._tune import TuneError, _open_study

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    config = {"pipeline": "p", "heartbeat": {"interval_s": 40, "grace_period_s": 120}}
    _open_study(storage, "s", "maximize", config)
    assert not _open_study(storage, "s", "maximize", config)[1]  # the same: joined
    other = {**config, "heartbeat": {"interval_s": 10, "grace_period_s": 30}}
    with pytest.raises(TuneError, match=r"heartbeat: the study's workers beat every 40 s and "
                                        r"are taken for dead after 120 s, this run asks 10 s "
                                        r"and 30 s \(pass --heartbeat-interval 40 "
                                        r"--grace-period 120"):
        _open_study(storage, "s", "maximize", other)
    # A study made before the settings were recorded is joined as it was.
    _open_study(storage, "old", "maximize", {"pipeline": "p"})
    assert not _open_study(storage, "old", "maximize", other)[1]


def test_trial_thresholds_are_tuned_on_validation_as_compares_are(
        tracking_uri, pipeline_files, ptbxl_root, signal_cache, monkeypatch):
    # Ranked by AUROC, a trial scored its cv_macro_f1, sensitivity and specificity at 0.5,
    # where compare's fold runs of the same name tune thresholds on fold 9.
    import ecgsk.tracking

    real, calls = ecgsk.tracking.decision_thresholds, []

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ecgsk.tracking, "decision_thresholds", spy)
    tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root, n_trials=1,
         folds=[1, 2], max_records=150, n_boot=0, tracking_uri=tracking_uri,
         experiment="thresholds", cache_dir=signal_cache, pruner="none", progress=False,
         out=io.StringIO())
    assert len(calls) == 3  # each of the 2 CV folds, then the final refit


def test_a_study_of_log_loss_is_tested_on_log_loss(tracking_uri, pipeline_files, ptbxl_root,
                                                   signal_cache):
    # log_evaluation scores no log loss: the refit printed "test_log_loss = n/a".
    out = io.StringIO()
    result = tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root,
                  n_trials=1, folds=[1, 2], max_records=150, metric="log_loss", n_boot=20,
                  tracking_uri=tracking_uri, experiment="log-loss", cache_dir=signal_cache,
                  pruner="none", progress=False, out=out)
    m = result.test_metrics
    assert m["test_log_loss_ci_low"] <= m["test_log_loss"] <= m["test_log_loss_ci_high"]
    assert 0 < m["test_log_loss"] < 5
    logged = MlflowClient(tracking_uri).get_run(result.final_run_id).data.metrics
    assert logged["test_log_loss"] == m["test_log_loss"]
    assert f"test_log_loss = {m['test_log_loss']:.4f}" in out.getvalue()
