"""The metric registry: which metric fits which task, directions, fold scores."""

import numpy as np
import pytest

from ecgsk.tune import METRICS, TuneError, default_metric, resolve_metric, task_type_of
from ecgsk.tune._metrics import fold_scores


@pytest.mark.parametrize("dataset, task, expected", [
    ("ptbxl", "superdiagnostic", "multilabel"), ("ptbxl", "binary", "binary"),
    ("ptbxl", "binary_report", "binary"), ("cinc2017", "af", "cinc"),
    ("ptbdb", "diagnosis", "multiclass")])
def test_task_type_of(dataset, task, expected):
    assert task_type_of(dataset, task) == expected


def test_defaults_by_task():
    assert default_metric("multilabel") == "macro_auroc"
    assert default_metric("binary") == "macro_auroc"
    assert default_metric("cinc") == "challenge_f1"
    assert resolve_metric(None, "cinc").name == "challenge_f1"
    # For a binary task the macro AUROC is the plain AUROC evaluate_predictions reports.
    assert resolve_metric("macro_auroc", "binary").key("binary") == "auroc"
    with pytest.raises(TuneError, match="unknown target type 'regression'; known: multilabel"):
        resolve_metric(None, "regression")  # a TuneError, as the docstring says, not KeyError


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(TuneError, match=r"unknown metric 'auc'.*macro_auroc.*For ptbxl/x"):
        resolve_metric("auc", "multilabel", "ptbxl/x")


def test_metric_that_does_not_fit_the_task():
    with pytest.raises(TuneError) as info:
        resolve_metric("challenge_f1", "multilabel", "ptbxl/superdiagnostic")
    message = str(info.value)
    assert "does not fit ptbxl/superdiagnostic" in message
    assert "macro_auroc" in message and "macro_f1" in message  # what would fit
    with pytest.raises(TuneError, match="does not fit"):
        resolve_metric("macro_sensitivity", "cinc")


def test_directions_and_pruning_monitor():
    assert METRICS["log_loss"].direction == "minimize"
    assert all(m.direction == "maximize" for n, m in METRICS.items() if n != "log_loss")
    # The monitored history entry moves like the metric (Optuna compares in the study's
    # direction): a loss for a metric to minimise, a score otherwise.
    assert METRICS["log_loss"].monitor("multilabel") == "valid_loss"
    assert METRICS["macro_auroc"].monitor("multilabel") == "valid_auroc"
    assert METRICS["challenge_f1"].monitor("cinc") == "valid_acc"


def test_fold_scores_multilabel():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    good = fold_scores(y, y * 0.8 + 0.1, ["a", "b"], "multilabel")
    bad = fold_scores(y, 0.9 - y * 0.8, ["a", "b"], "multilabel")
    assert good["macro_auroc"] == 1.0 and bad["macro_auroc"] == 0.0
    assert good["log_loss"] < bad["log_loss"]
    assert set(good) == {"macro_auroc", "macro_f1", "macro_sensitivity", "macro_specificity",
                         "log_loss"}


def test_fold_scores_cinc_with_missing_class():
    classes = ["A", "N", "O", "~"]
    y = np.array([1, 1, 2, 0, 1, 2])
    proba = np.eye(4)[y] * 0.7 + 0.075
    scores = fold_scores(y, proba, classes, "cinc")
    assert scores["challenge_f1"] == 1.0
    assert scores["accuracy"] == 1.0
    assert np.isfinite(scores["log_loss"])


def test_scores_in_a_trials_thread_leave_the_warning_filters_alone(monkeypatch):
    # catch_warnings swaps the process's filters: concurrent trials (tune --n-jobs 2) undid
    # each other's, and could leave "ignore every UserWarning" behind for the session. The
    # search silences the scoring's warnings around its threads instead.
    import threading
    import types

    from ecgsk.tune import _metrics

    def swapped(*args, **kwargs):
        raise AssertionError("warning filters swapped in a thread")

    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    proba = np.random.default_rng(0).random((4, 2))
    monkeypatch.setattr(_metrics, "warnings", types.SimpleNamespace(
        catch_warnings=swapped, simplefilter=swapped, filterwarnings=swapped))
    scores = []
    thread = threading.Thread(
        target=lambda: scores.append(_metrics.fold_scores(y, proba, ["a", "b"], "multilabel")))
    thread.start()
    thread.join()
    assert len(scores) == 1 and "macro_auroc" in scores[0]
    with pytest.raises(AssertionError, match="swapped"):  # the main thread's fold is quieted
        _metrics.fold_scores(y, proba, ["a", "b"], "multilabel")


def test_log_loss_is_sklearns_and_zero_for_perfect_predictions():
    # A mutant normalising over axis 0, and one clipping at 1e-3, survived every test.
    from sklearn.metrics import log_loss

    from ecgsk.tune._metrics import _log_loss

    y = np.array([0, 1, 2, 0])
    proba = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .3, .2]])
    assert np.isclose(_log_loss(y, proba, "multiclass"), log_loss(y, proba))
    Y = np.array([[1, 0], [0, 1]])
    assert _log_loss(Y, Y.astype(float), "multilabel") < 1e-5
