"""log_training_curves on skorch nets, alone and inside pipelines."""

import numpy as np
import pytest
import skorch
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ecgsk.tracking import find_skorch_net, log_training_curves, setup_tracking, tracked_run


def _flatten(X):
    return X.reshape(len(X), -1)


@pytest.fixture(scope="module")
def fitted_net():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2, 8)).astype(np.float32)
    y = (X[:, 0].mean(1) > 0).astype(np.int64)
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2), torch.nn.Softmax(-1)),
        max_epochs=3, lr=0.1, batch_size=16, device="cpu", verbose=0)
    pipe = Pipeline([("scale", FunctionTransformer(lambda X: X * 1.0)), ("net", net)])
    return pipe.fit(X, y)


def test_find_skorch_net(fitted_net):
    assert find_skorch_net(fitted_net) is fitted_net[-1]
    assert find_skorch_net(fitted_net[-1]) is fitted_net[-1]
    assert find_skorch_net(Pipeline([("inner", fitted_net)])) is fitted_net[-1]
    assert find_skorch_net(LogisticRegression()) is None


def test_curves_logged_per_epoch(tracking_uri, client, fitted_net):
    history = fitted_net[-1].history
    setup_tracking(tracking_uri, "curves")
    with tracked_run("net") as run:
        assert log_training_curves(fitted_net) == 3
    for key in ("train_loss", "valid_loss", "valid_acc", "dur"):
        logged = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in logged] == [1, 2, 3]
        assert [m.value for m in logged] == pytest.approx(history[:, key])
    best = client.get_metric_history(run.info.run_id, "valid_loss_best")
    assert [m.value for m in best] == [float(v) for v in history[:, "valid_loss_best"]]
    assert "batches" not in client.get_run(run.info.run_id).data.metrics
    assert [a.path for a in client.list_artifacts(run.info.run_id, "training")] == [
        "training/history.png"]


def test_an_ensembles_networks_are_logged_by_member(tracking_uri, client, fitted_net):
    # compare's ecgsk_ptbxl and ecgsk_cinc runs held no curves: find_skorch_net finds no net
    # in an ensemble.
    from sklearn.base import clone

    from ecgsk.ensemble import SoftVotingEnsemble

    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 2, 8)).astype(np.float32)
    y = (X[:, 0].mean(1) > 0).astype(np.int64)
    flat = Pipeline([("flat", FunctionTransformer(_flatten)), ("lr", LogisticRegression())])
    ens = SoftVotingEnsemble([("a", clone(fitted_net)), ("b", clone(fitted_net)),
                              ("lr", flat)]).fit(X, y)
    setup_tracking(tracking_uri, "curves")
    with tracked_run("ensemble") as run:
        assert log_training_curves(ens, prefix="final_") == 6  # 3 epochs each
    for member in ("a", "b"):
        history = ens.named_estimators_[member][-1].history
        logged = client.get_metric_history(run.info.run_id, f"final_{member}_valid_loss")
        assert [m.value for m in logged] == pytest.approx(history[:, "valid_loss"])
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id, "training")) == [
        "training/history_a.png", "training/history_b.png"]


def test_a_history_key_mlflow_refuses_is_logged_under_a_safe_name(tracking_uri, client):
    # A scoring callback named "valid_f1(macro)": MLflow refused the key, and the run failed
    # after training.
    from skorch.callbacks import EpochScoring

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 16)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(16, 2), torch.nn.Softmax(-1)), max_epochs=2,
        lr=0.1, batch_size=16, device="cpu", verbose=0,
        callbacks=[EpochScoring("f1_macro", name="valid_f1(macro)", lower_is_better=False)])
    net.fit(X, y)
    setup_tracking(tracking_uri, "curves")
    with tracked_run("odd key") as run:
        assert log_training_curves(net) == 2
    logged = client.get_metric_history(run.info.run_id, "valid_f1_macro_")
    assert [m.value for m in logged] == pytest.approx(net.history[:, "valid_f1(macro)"])
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_skip_logged_adds_only_the_missing_epochs(tracking_uri, client, fitted_net):
    """A run reopened after an interruption keeps one point per metric and epoch."""
    from mlflow.entities import Metric

    history = fitted_net[-1].history
    setup_tracking(tracking_uri, "curves")
    with tracked_run("net") as run:  # epochs 1-2 of train_loss, logged before a Ctrl-C
        client.log_batch(run.info.run_id, metrics=[
            Metric("train_loss", history[i, "train_loss"], 0, i + 1) for i in range(2)])
    with tracked_run("net", run_id=run.info.run_id):
        assert log_training_curves(fitted_net, skip_logged=True) == 3
        assert log_training_curves(fitted_net, skip_logged=True) == 3
    for key in ("train_loss", "valid_loss", "dur"):
        logged = client.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in logged) == [1, 2, 3], key
        assert sorted(m.value for m in logged) == pytest.approx(sorted(history[:, key]))


def test_no_net_logs_nothing(tracking_uri, client, rng):
    pipe = Pipeline([("flat", FunctionTransformer(_flatten)), ("lr", LogisticRegression())])
    pipe.fit(rng.normal(size=(20, 2, 5)), np.arange(20) % 2)
    setup_tracking(tracking_uri, "curves")
    with tracked_run("classic") as run:
        assert log_training_curves(pipe) == 0
        assert log_training_curves(skorch.NeuralNetClassifier(torch.nn.Linear(2, 2))) == 0
    stored = client.get_run(run.info.run_id)
    assert stored.data.metrics == {} and client.list_artifacts(run.info.run_id) == []


def test_needs_active_run(fitted_net):
    with pytest.raises(RuntimeError, match="active run"):
        log_training_curves(fitted_net)
