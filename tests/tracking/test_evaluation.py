"""log_evaluation and evaluate_predictions by target type."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from ecgsk.metrics import challenge_f1, tune_thresholds
from ecgsk.plots._targets import metric_safe_name
from ecgsk.tracking import (
    SUMMARY_METRICS,
    decision_thresholds,
    evaluate_predictions,
    infer_task_type,
    log_evaluation,
    setup_tracking,
    tracked_run,
)


def _noisy_scores(y, rng, noise=0.35):
    return np.clip(y + rng.normal(scale=noise, size=y.shape), 0, 1)


@pytest.fixture
def multilabel(rng):
    y = (rng.random((120, 3)) < 0.4).astype(int)
    return y, _noisy_scores(y, rng), ["NORM", "MI", "STTC"]


@pytest.mark.parametrize("y, classes, expected", [
    (np.zeros((2, 3)), ["a", "b", "c"], "multilabel"),
    (["N", "~"], ["N", "A", "O", "~"], "cinc"),
    ([0, 1], ["normal", "abnormal"], "binary"),
    (["x", "y"], ["x", "y", "z"], "multiclass"),
])
def test_infer_task_type(y, classes, expected):
    assert infer_task_type(y, classes) == expected


def test_summary_metrics_are_what_is_computed(multilabel, rng):
    cases = {
        "multilabel": multilabel,
        "cinc": (rng.integers(0, 4, 60), rng.dirichlet(np.ones(4), 60), ["N", "A", "O", "~"]),
        "binary": (rng.integers(0, 2, 60), rng.dirichlet(np.ones(2), 60), ["no", "yes"]),
        "multiclass": (rng.integers(0, 3, 60), rng.dirichlet(np.ones(3), 60), ["a", "b", "c"]),
    }
    for task_type, (y, proba, classes) in cases.items():
        metrics = evaluate_predictions(y, proba, classes, task_type=task_type)
        per_class = {f"{m}_{metric_safe_name(c)}" for c in classes
                     for m in ("auroc", "f1", "sensitivity", "specificity", "threshold")}
        assert set(metrics) - per_class == set(SUMMARY_METRICS[task_type])


def test_log_evaluation_multilabel(tracking_uri, client, multilabel, rng, tmp_path):
    y, proba, classes = multilabel
    y_valid = (rng.random((80, 3)) < 0.4).astype(int)
    proba_valid = _noisy_scores(y_valid, rng)
    setup_tracking(tracking_uri, "eval")
    with tracked_run("eval") as run:
        logged = log_evaluation(y, proba, classes, y_valid=y_valid, proba_valid=proba_valid,
                                n_boot=100)
    stored = client.get_run(run.info.run_id).data.metrics
    assert stored == pytest.approx(logged, nan_ok=True)
    aucs = [roc_auc_score(y[:, j], proba[:, j]) for j in range(3)]
    assert stored["test_macro_auroc"] == pytest.approx(np.mean(aucs))
    assert stored["test_auroc_MI"] == pytest.approx(aucs[1])
    for name in SUMMARY_METRICS["multilabel"]:
        low, high = stored[f"test_{name}_ci_low"], stored[f"test_{name}_ci_high"]
        assert low <= stored[f"test_{name}"] <= high and low < high
    # Thresholds come from the validation set, not from the test set.
    thr = tune_thresholds(y_valid, proba_valid)
    assert [stored[f"test_threshold_{c}"] for c in classes] == pytest.approx(thr)
    pred = (proba >= thr).astype(int)
    assert stored["test_macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert stored["test_sensitivity_NORM"] == pytest.approx(pred[y[:, 0] == 1, 0].mean())

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "test")}
    assert artifacts == {f"test/{f}" for f in (
        "confusion_matrix.png", "roc_curves.png", "pr_curves.png", "reliability_diagram.png",
        "classification_report.txt", "per_class_metrics.json", "per_class_metrics.csv")}
    local = Path(client.download_artifacts(run.info.run_id, "test", str(tmp_path)))
    assert (local / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    reliability = (local / "reliability_diagram.png").read_bytes()
    assert reliability[:8] == b"\x89PNG\r\n\x1a\n" and len(reliability) > 1000
    report = (local / "classification_report.txt").read_text()
    assert "STTC" in report and "validation set" in report
    table = client.load_table(run.info.experiment_id, "test/per_class_metrics.json",
                              run_ids=[run.info.run_id])
    assert list(table["class"]) == classes
    assert table["auroc"].to_numpy() == pytest.approx(aucs)
    assert set(table.columns) >= {"support", "f1", "sensitivity", "specificity", "threshold"}


def test_log_evaluation_cinc(tracking_uri, client, rng):
    classes = ["N", "A", "O", "~"]
    y = rng.integers(0, 4, 150)
    proba = rng.dirichlet(np.ones(4), 150)
    proba[np.arange(150), y] += 0.6 * (rng.random(150) < 0.7)
    proba /= proba.sum(1, keepdims=True)
    names = np.array(classes)[y]  # labels given as names work the same
    setup_tracking(tracking_uri, "eval")
    with tracked_run("cinc"):
        m = log_evaluation(names, proba, classes, n_boot=50)
    pred = np.array(classes)[proba.argmax(1)]
    assert m["test_challenge_f1"] == pytest.approx(challenge_f1(names, pred))
    assert m["test_accuracy"] == pytest.approx(accuracy_score(names, pred))
    assert m["test_f1_noisy"] == pytest.approx(f1_score(names, pred, labels=["~"], average=None)[0])
    assert "test_threshold_N" not in m


def test_log_evaluation_binary_thresholds(tracking_uri, rng):
    y = rng.integers(0, 2, 200)
    score = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    proba = np.column_stack([1 - score, score])
    setup_tracking(tracking_uri, "eval")
    with tracked_run("binary"):
        m = log_evaluation(y, proba, ["normal", "abnormal"], n_boot=0, y_valid=y,
                           proba_valid=proba)
    assert m["test_auroc"] == pytest.approx(roc_auc_score(y, score))
    thr = m["test_threshold_abnormal"]
    assert thr == pytest.approx(tune_thresholds(y, score)[0])
    pred = score >= thr
    assert m["test_sensitivity"] == pytest.approx(pred[y == 1].mean())
    assert m["test_specificity"] == pytest.approx((~pred)[y == 0].mean())
    assert not any(k.endswith("_ci_low") for k in m)  # n_boot=0: no intervals


def test_a_binary_threshold_per_class_uses_the_positive_classs(rng):
    # log_model stores one per class; the first, class 0's, was read as classes[1]'s.
    y = rng.integers(0, 2, 100)
    score = np.clip(0.4 * y + rng.random(100) * 0.6, 0, 1)
    proba = np.column_stack([1 - score, score])
    one = evaluate_predictions(y, proba, ["normal", "AF"], thresholds=0.35)
    both = evaluate_predictions(y, proba, ["normal", "AF"], thresholds=[0.9, 0.35])
    assert both == one and both["threshold_AF"] == 0.35
    # Three for two classes took the last, 0.9, without a word; a label matrix given too
    # few failed in numpy ("operands could not be broadcast"); 1.5 was taken.
    for thresholds in ([0.3, 0.5, 0.9], 1.5):
        with pytest.raises(ValueError, match=r"thresholds must be one probability, or one "
                                             r"per class \(2\), got"):
            evaluate_predictions(y, proba, ["normal", "AF"], thresholds=thresholds)
    Y = np.column_stack([y, 1 - y, y])
    with pytest.raises(ValueError, match=r"one per class \(3\), got \[0.3, 0.5\]"):
        evaluate_predictions(Y, rng.random((100, 3)), ["a", "b", "c"], thresholds=[0.3, 0.5])


def test_per_class_metrics_of_classes_with_one_safe_name_are_kept_apart(tracking_uri, rng):
    # "AF+", "AF-" and "AF*" were all "AF_": the later classes' metrics replaced the first's.
    # "AF/" was refused by MLflow (a key that reads as another path), and nothing was logged.
    y = rng.integers(0, 4, 120)
    proba = rng.dirichlet(np.ones(4), 120)
    classes = ["AF+", "AF-", "AF*", "AF/"]
    metrics = evaluate_predictions(y, proba, classes, task_type="multiclass")
    aucs = [roc_auc_score(y == j, proba[:, j]) for j in range(4)]
    for name, auc in zip(["AF__0", "AF-", "AF__2", "AF__3"], aucs):
        assert metrics[f"auroc_{name}"] == pytest.approx(auc), name
    setup_tracking(tracking_uri, "eval")
    with tracked_run("names"):
        logged = log_evaluation(y, proba, classes, n_boot=0)
    assert logged["test_auroc_AF__3"] == pytest.approx(aucs[3])


def test_a_suffixed_name_that_is_another_class_and_long_names_stay_apart(tracking_uri, rng):
    # "AF+" and "AF*" took "AF__0" and "AF__1", and "AF__1" was the third class's name: its
    # metrics replaced AF*'s. A 235-character name made a key MLflow refuses (over 250), and
    # the run failed with no metric logged.
    y = rng.integers(0, 4, 120)
    proba = rng.dirichlet(np.ones(4), 120)
    long = "x" * 235
    classes = ["AF+", "AF*", "AF__1", long]
    metrics = evaluate_predictions(y, proba, classes, task_type="multiclass")
    per_class = sorted(k for k in metrics if k.startswith("auroc_"))
    assert len(per_class) == 4
    aucs = [roc_auc_score(y == j, proba[:, j]) for j in range(4)]
    assert metrics["auroc_AF__1"] == pytest.approx(aucs[2])  # the class of that name
    assert metrics["auroc_AF__0"] == pytest.approx(aucs[0])
    assert metrics["auroc_AF__1_1"] == pytest.approx(aucs[1])
    setup_tracking(tracking_uri, "eval")
    with tracked_run("long"):
        logged = log_evaluation(y, proba, classes, n_boot=0, prefix="external_")
    assert logged[f"external_auroc_{long[:200]}"] == pytest.approx(aucs[3])
    assert max(len(k) for k in logged) <= 250


def test_log_evaluation_multiclass_external_prefix(tracking_uri, client, rng):
    y = rng.integers(0, 3, 90)
    proba = rng.dirichlet(np.ones(3), 90)
    setup_tracking(tracking_uri, "eval")
    with tracked_run("ext") as run:
        m = log_evaluation(y, proba, ["a", "b", "c"], prefix="external_", n_boot=20)
    assert {"external_accuracy", "external_macro_f1", "external_macro_auroc"} <= set(m)
    assert m["external_macro_auroc"] == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    folders = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert folders == {"external"}
    assert "external/reliability_diagram.png" in {
        a.path for a in client.list_artifacts(run.info.run_id, "external")}


def test_log_evaluation_skip_logged_keeps_one_point(tracking_uri, client, multilabel):
    """A run reopened after an interruption: what it holds is not logged a second time."""
    import mlflow

    y, proba, classes = multilabel
    setup_tracking(tracking_uri, "eval")
    with tracked_run("first") as run:
        mlflow.log_metric("test_macro_auroc", 0.5)  # logged before the interruption
    with tracked_run("again", run_id=run.info.run_id):
        m = log_evaluation(y, proba, classes, n_boot=0, skip_logged=True)
        again = log_evaluation(y, proba, classes, n_boot=0, skip_logged=True)
    assert again == m and m["test_macro_auroc"] != 0.5  # computed, returned, not logged
    stored = client.get_run(run.info.run_id).data.metrics
    assert set(stored) == set(m) and stored["test_macro_auroc"] == 0.5
    for key in stored:
        assert len(client.get_metric_history(run.info.run_id, key)) == 1, key
    assert "test/roc_curves.png" in {
        a.path for a in client.list_artifacts(run.info.run_id, "test")}


def test_class_absent_from_test_set(tracking_uri, rng):
    y = (rng.random((50, 3)) < 0.5).astype(int)
    y[:, 2] = 0  # no positive record of the third class
    setup_tracking(tracking_uri, "eval")
    with tracked_run("absent"), pytest.warns(UserWarning):
        m = log_evaluation(y, _noisy_scores(y, rng), ["a", "b", "c"], n_boot=20)
    assert np.isfinite(m["test_macro_auroc"])
    assert "test_auroc_c" not in m  # undefined, so not logged


def test_errors(tracking_uri, multilabel):
    y, proba, classes = multilabel
    with pytest.raises(ValueError, match="one column per class"):
        evaluate_predictions(y, proba[:, :2], classes)
    with pytest.raises(ValueError, match="does not match"):
        evaluate_predictions(y, proba, classes, task_type="binary")
    with pytest.raises(ValueError, match="task_type"):
        evaluate_predictions(y, proba, classes, task_type="regression")
    with pytest.raises(ValueError, match="neither in classes"):
        evaluate_predictions(["N", "X"], [[0.5, 0.5], [0.5, 0.5]], ["N", "A"])
    # Three classes called binary: not thresholded on the second column without a word.
    three = ([0, 1, 2, 1], np.full((4, 3), 1 / 3), ["N", "A", "O"])
    with pytest.raises(ValueError, match=r"task_type='binary' needs two classes, got 3: "
                                         r"\['N', 'A', 'O'\]"):
        decision_thresholds(*three, task_type="binary")
    with pytest.raises(ValueError, match="needs two classes"):
        evaluate_predictions(*three, task_type="binary")
    setup_tracking(tracking_uri, "eval")
    with tracked_run("bad"):
        with pytest.raises(ValueError, match="n_boot"):
            log_evaluation(y, proba, classes, n_boot=-1)
        with pytest.raises(ValueError, match="both"):
            log_evaluation(y, proba, classes, y_valid=y)


def test_a_class_neither_true_nor_predicted_has_no_f1_and_leaves_the_macro_f1():
    # It counted as an F1 of 0: macro F1 0.21 over three classes where two were scored.
    y = np.array(["lo", "hi", "lo", "hi", "lo", "hi"])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.1, 0.3],
                      [0.7, 0.1, 0.2], [0.9, 0.05, 0.05], [0.2, 0.1, 0.7]])
    classes = ["lo", "mid", "hi"]
    metrics = evaluate_predictions(y, proba, classes, task_type="multiclass")
    assert "f1_mid" not in metrics and "auroc_mid" not in metrics  # undefined: not logged
    f1_lo, f1_hi = 2 * 3 / (2 * 3 + 1), 2 * 2 / (2 * 2 + 1)  # one hi called lo
    assert metrics["f1_lo"] == pytest.approx(f1_lo) and metrics["f1_hi"] == pytest.approx(f1_hi)
    assert metrics["macro_f1"] == pytest.approx((f1_lo + f1_hi) / 2)
    Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    multi = evaluate_predictions(Y, Y * 0.9 + 0.05, ["A", "B", "C"], task_type="multilabel")
    assert "f1_C" not in multi and multi["macro_f1"] == 1.0


def test_a_dataframes_columns_are_matched_to_the_classes_by_name(multilabel):
    # They were paired by position: reordered columns gave other per-class AUROCs under the
    # same names, without a word.
    pd = pytest.importorskip("pandas")
    y, proba, classes = multilabel
    frame = pd.DataFrame(y, columns=classes)
    expected = evaluate_predictions(y, proba, classes)
    for columns in (classes, ["STTC", "NORM", "MI"]):
        assert evaluate_predictions(frame[columns], proba, classes) == pytest.approx(expected)
        assert decision_thresholds(frame[columns], proba, classes) == pytest.approx(
            decision_thresholds(y, proba, classes))
    # A DataFrame made without names is read by position, as an array.
    assert evaluate_predictions(pd.DataFrame(y), proba, classes) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"y_true's columns \['NORM', 'MI', 'AF'\] are not "
                                         r"the classes \['NORM', 'MI', 'STTC'\]"):
        evaluate_predictions(frame.set_axis(["NORM", "MI", "AF"], axis=1), proba, classes)
