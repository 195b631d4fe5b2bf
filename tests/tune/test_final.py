"""The best trial's refit validates its networks on PTB-XL's fold 9, as compare's final fit."""

import os
import threading
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from ecgsk.compare import fit_final
from ecgsk.compare._data import SplitPlan, load_dataset, make_plan, stratified_subset
from ecgsk.tune import tune


def _history_sizes(net, key):
    """Records per epoch in the net's history (``train_batch_size`` or ``valid_batch_size``)."""
    return [sum(batch.get(key, 0) for batch in epoch["batches"]) for epoch in net.history]


@pytest.mark.slow
def test_refit_networks_validate_on_fold_9_only(pipeline_files, tracking_uri, ptbxl_root,
                                                signal_cache):
    result = tune(pipeline_files["tiny_net"], "ptbxl", "superdiagnostic", ptbxl_root,
                  n_trials=1, folds=[1], max_records=200, n_boot=10, pruner="none",
                  set_params={"max_epochs": 1}, tracking_uri=tracking_uri, experiment="final",
                  study_name="final", cache_dir=signal_cache, progress=False)
    assert result.refit == "this worker"
    assert result.final_validation == "fold 9 (networks)"
    # The split plan tune made (the subset is seeded, the plan deterministic).
    ds = stratified_subset(load_dataset("ptbxl", "superdiagnostic", ptbxl_root, 50), 200, 0)
    plan = make_plan(ds, folds=[1])
    folds = np.asarray(ds.folds)
    assert len(plan.valid) > 0 and set(folds[plan.valid]) == {9}

    client = MlflowClient(tracking_uri)
    final = client.get_run(result.final_run_id)
    params = final.data.params
    assert params["final.validation"] == "fold 9 (networks)"
    assert params["train.n_records"] == str(len(plan.train))
    assert params["valid.n_records"] == str(len(plan.valid))
    assert params["valid.split"] == "strat_fold 9"
    examples = {a.path for a in client.list_artifacts(final.info.run_id, "data/examples")}
    assert examples == {f"data/examples/{Path(p).name}.png" for p in ds.X[plan.test[:2]]}

    # The registered model's net held out exactly the fold-9 rows of what it was fitted on
    # (training rows, then validation rows) and trained on folds 1-8 alone.
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.sklearn.load_model(result.model_uri)
    net = model.named_steps["net"]
    rows = np.concatenate([plan.train, plan.valid])
    mask = net.train_split.is_valid
    assert len(mask) == len(rows)
    assert set(folds[rows[mask]]) == {9}
    assert set(folds[rows[~mask]]) <= set(range(1, 9))
    assert _history_sizes(net, "valid_batch_size") == [len(plan.valid)]
    assert _history_sizes(net, "train_batch_size") == [len(plan.train)]
    assert "valid_loss" in net.history[-1]


def test_fit_final_fits_estimators_without_a_network_on_training_records():
    from sklearn.dummy import DummyClassifier

    plan = SplitPlan(train=np.arange(8), valid=np.arange(8, 10), test=np.arange(10, 12))
    X = np.zeros((12, 1))
    y = np.array([0, 1] * 4 + [2, 2] + [0, 1])  # class 2 only among the validation records
    dummy = DummyClassifier()
    est, validation = fit_final(dummy, X, y, plan)
    assert validation == "fold 9 (thresholds only)"
    assert est is not dummy and not hasattr(dummy, "classes_")  # a fitted clone
    assert list(est.classes_) == [0, 1]
    plan.valid = None
    est, validation = fit_final(dummy, X, y, plan)
    assert validation == "none" and list(est.classes_) == [0, 1]


def test_a_signal_whose_raise_was_swallowed_stops_the_refit_before_it_registers(
        pipeline_files, tracking_uri, ptbxl_root, signal_cache, monkeypatch, capsys):
    # A Ctrl-C that lands in a garbage-collection callback only prints its traceback: the
    # refit went on, registered a model version and tune exited 0.
    from ecgsk.compare import _compare
    from ecgsk.tune import _signals

    logged = _compare._log_predictions  # imported by the refit when it runs

    def swallowed(*args, **kwargs):
        logged(*args, **kwargs)
        _signals._received["signum"] = 2
        _signals._flag.set()  # what the handler does before its raise, here lost

    monkeypatch.setattr(_compare, "_log_predictions", swallowed)
    monkeypatch.setattr(_signals, "_flag", threading.Event())  # not left set for later tests
    mine = tracking_uri.replace("mlflow.db", "mine.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mine)
    mlflow.set_tracking_uri(mine)
    with pytest.raises(_signals.TuneInterrupted, match="interrupted by SIGINT"):
        tune(pipeline_files["stats_lr"], "ptbxl", "superdiagnostic", ptbxl_root,
             n_trials=1, folds=[1], max_records=200, n_boot=10, pruner="none",
             tracking_uri=tracking_uri, experiment="swallowed", study_name="swallowed",
             cache_dir=signal_cache, progress=False)
    # tune left the caller on its store, in the process and for its subprocesses.
    assert mlflow.get_tracking_uri() == os.environ["MLFLOW_TRACKING_URI"] == mine
    client = MlflowClient(tracking_uri)
    assert client.search_model_versions("name='swallowed'") == []
    experiment = client.get_experiment_by_name("swallowed").experiment_id
    (final,) = client.search_runs([experiment], "tags.`ecgsk.role` = 'final'")
    (study,) = client.search_runs([experiment], "tags.`ecgsk.role` = 'study'")
    assert final.info.status == "KILLED" and study.info.status == "KILLED"
