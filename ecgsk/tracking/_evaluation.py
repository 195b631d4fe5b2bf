"""Test metrics by target type, with bootstrap confidence intervals, plots and tables."""

import warnings

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.metrics import accuracy_score, classification_report, f1_score

from .._validation import binary_threshold, check_thresholds
from ..metrics import (
    bootstrap_ci,
    challenge_f1,
    macro_auroc,
    per_class_auroc,
    sensitivity_specificity,
    tune_thresholds,
)
from ..plots import (
    plot_confusion_matrix,
    plot_pr_curves,
    plot_reliability_diagram,
    plot_roc_curves,
)
from ..plots._targets import check_targets, metric_safe_names

__all__ = ["TASK_TYPES", "SUMMARY_METRICS", "infer_task_type", "evaluate_predictions",
           "log_evaluation", "decision_thresholds"]

#: Target types :func:`log_evaluation` knows.
TASK_TYPES = ("multilabel", "cinc", "binary", "multiclass")

#: Summary metrics of each target type (the ones with confidence intervals), headline first.
SUMMARY_METRICS = {
    "multilabel": ("macro_auroc", "macro_f1", "macro_sensitivity", "macro_specificity"),
    "cinc": ("challenge_f1", "accuracy", "macro_auroc"),
    "binary": ("auroc", "f1", "sensitivity", "specificity", "accuracy"),
    "multiclass": ("accuracy", "macro_f1", "macro_auroc"),
}

_CINC_CLASSES = {"N", "A", "O", "~"}


def infer_task_type(y, classes):
    """The target type of ``y``: ``"multilabel"``, ``"cinc"``, ``"binary"`` or ``"multiclass"``.

    A 2-D indicator ``y`` is multi-label; the CinC 2017 classes (``N``,
    ``A``, ``O``, ``~``) are ``"cinc"``; two classes are binary.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_classes)
        Targets: class names or indices, or a 0/1 indicator matrix.
    classes : array-like of shape (n_classes,)
        Class names.

    Returns
    -------
    str
        ``"multilabel"``, ``"cinc"``, ``"binary"`` or ``"multiclass"``.

    Examples
    --------
    >>> infer_task_type(["N", "A"], ["N", "A", "O", "~"])
    'cinc'
    >>> infer_task_type([0, 1], ["normal", "abnormal"])
    'binary'
    """
    if np.ndim(y) == 2:
        return "multilabel"
    names = {str(c) for c in np.asarray(classes).tolist()}
    if names == _CINC_CLASSES:
        return "cinc"
    return "binary" if len(names) == 2 else "multiclass"


def _check_task_type(task_type, y, classes):
    if task_type is None:
        return infer_task_type(y, classes)
    if task_type not in TASK_TYPES:
        raise ValueError(f"task_type must be one of {TASK_TYPES} or None, got {task_type!r}.")
    if (task_type == "multilabel") != (np.ndim(y) == 2):
        raise ValueError(f"task_type={task_type!r} does not match y_true of shape "
                         f"{np.shape(y)}: multi-label targets are 0/1 indicator matrices.")
    if task_type == "binary" and len(classes) != 2:
        raise ValueError(f"task_type='binary' needs two classes, got {len(classes)}: "
                         f"{list(np.asarray(classes).tolist())}.")
    return task_type


def decision_thresholds(y_valid, proba_valid, classes, task_type=None):
    """Per-class thresholds tuned on validation data (Youden's J), or 0.5 without it.

    Only multi-label and binary tasks threshold scores; single-label tasks
    with more classes take the most probable class and get None.

    Parameters
    ----------
    y_valid : array-like of shape (n,) or (n, n_classes)
        Validation targets: class names or indices into ``classes``, or a 0/1
        indicator matrix (multi-label).
    proba_valid : array-like of shape (n, n_classes)
        Validation probabilities; columns follow ``classes``. For two
        classes a 1-D array is the probability of ``classes[1]``.
    classes : array-like of shape (n_classes,)
        Class names.
    task_type : {"multilabel", "cinc", "binary", "multiclass"} or None, default=None
        Inferred by :func:`infer_task_type` when None.

    Returns
    -------
    ndarray of shape (n_classes,) for multi-label, float for binary, or None
        A class whose validation records all share one label value gets
        0.5 (:func:`ecgsk.metrics.tune_thresholds`); binary tasks get the
        threshold of ``classes[1]``.

    Raises
    ------
    ValueError
        If the targets do not match ``proba_valid`` and ``classes``, or
        ``task_type`` is unknown or does not match ``y_valid`` (multi-label
        targets are indicator matrices; a binary task has two classes).

    Examples
    --------
    >>> y_valid = [0, 0, 1, 1, 0, 1]
    >>> proba_valid = [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9]]
    >>> decision_thresholds(y_valid, proba_valid, ["normal", "AF"])
    0.35
    >>> decision_thresholds([[1, 0], [0, 1], [1, 1], [0, 0]],
    ...                     [[0.9, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.1]], ["MI", "NORM"])
    array([0.6, 0.4])
    """
    y, proba, classes, _ = check_targets(y_valid, proba_valid, classes)
    task_type = _check_task_type(task_type, y, classes)
    if task_type == "multilabel":
        return tune_thresholds(y, proba)
    if task_type == "binary":
        return float(tune_thresholds(y, proba[:, 1])[0])
    return None


def _quiet(metric):
    """A metric without the warnings bootstrap resamples trigger (a class left out...)."""
    def wrapped(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return metric(*args)
    return wrapped


def _nanmean(values):
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan


def _spec(task_type, y, proba, classes, thresholds):
    """Predictions, scalar metrics (name -> (function, score it takes)) and the per-class table."""
    k = len(classes)
    scalars, rows = {}, []
    if task_type == "multilabel":
        thr = np.full(k, 0.5) if thresholds is None else np.broadcast_to(
            check_thresholds(thresholds, k), (k,))
        pred = (proba >= thr).astype(np.int64)
        aucs = per_class_auroc(y, proba)
        sens, spec = sensitivity_specificity(y, pred)
        f1s = f1_score(y, pred, average=None, zero_division=np.nan)
        scalars["macro_auroc"] = (macro_auroc, proba)
        scalars["macro_f1"] = (lambda t, p: f1_score(t, p, average="macro",
                                                     zero_division=np.nan), pred)
        scalars["macro_sensitivity"] = (lambda t, p: _nanmean(sensitivity_specificity(t, p)[0]),
                                        pred)
        scalars["macro_specificity"] = (lambda t, p: _nanmean(sensitivity_specificity(t, p)[1]),
                                        pred)
        for j, c in enumerate(classes):
            rows.append({"class": c, "support": int(y[:, j].sum()), "auroc": aucs[j],
                         "f1": f1s[j], "sensitivity": sens[j], "specificity": spec[j],
                         "threshold": thr[j]})
        return pred, scalars, rows
    onehot = np.eye(k, dtype=np.int64)[y]
    aucs = per_class_auroc(onehot, proba)
    if task_type == "binary":
        thr = binary_threshold(None if thresholds is None else check_thresholds(thresholds, k))
        pred = (proba[:, 1] >= thr).astype(np.int64)
        sens, spec = sensitivity_specificity(y, pred)
        scalars["auroc"] = (lambda t, s: macro_auroc(t, s[:, 1]), proba)
        scalars["f1"] = (lambda t, p: f1_score(t, p, zero_division=np.nan), pred)
        scalars["sensitivity"] = (lambda t, p: float(sensitivity_specificity(t, p)[0][0]), pred)
        scalars["specificity"] = (lambda t, p: float(sensitivity_specificity(t, p)[1][0]), pred)
        scalars["accuracy"] = (accuracy_score, pred)
        f1s = f1_score(y, pred, labels=[0, 1], average=None, zero_division=np.nan)
        for j, c in enumerate(classes):
            rows.append({"class": c, "support": int((y == j).sum()), "auroc": aucs[j],
                         "f1": f1s[j], "threshold": thr if j == 1 else np.nan})
        rows[1]["sensitivity"], rows[1]["specificity"] = float(sens[0]), float(spec[0])
        return pred, scalars, rows
    pred = proba.argmax(axis=1)
    # A class neither true nor predicted has no F1 (NaN) and is left out of the macro F1,
    # as of the macro AUROC; counted as 0 it lowered the mean (and the bootstrap's).
    f1s = f1_score(y, pred, labels=np.arange(k), average=None, zero_division=np.nan)
    if task_type == "cinc":
        scored = [i for i, c in enumerate(classes) if c in ("N", "A", "O")]
        scalars["challenge_f1"] = (lambda t, p: challenge_f1(t, p, classes=scored), pred)
    scalars["accuracy"] = (accuracy_score, pred)
    if task_type == "multiclass":
        scalars["macro_f1"] = (lambda t, p: f1_score(t, p, labels=np.arange(k), average="macro",
                                                     zero_division=np.nan), pred)
    scalars["macro_auroc"] = (lambda t, s: macro_auroc(np.eye(k, dtype=np.int64)[t], s), proba)
    for j, c in enumerate(classes):
        rows.append({"class": c, "support": int((y == j).sum()), "auroc": aucs[j], "f1": f1s[j]})
    return pred, scalars, rows


#: Longest class name in a per-class metric key: MLflow refuses keys over 250 characters,
#: which a prefix (``external_``) and a metric (``specificity_``) share with it.
_MAX_CLASS_KEY = 200


def _per_class_metrics(rows):
    out = {}
    names = metric_safe_names([row["class"] for row in rows], max_length=_MAX_CLASS_KEY)
    for row, name in zip(rows, names):
        for key in ("auroc", "f1", "sensitivity", "specificity", "threshold"):
            value = row.get(key, np.nan)
            if value is not None and np.isfinite(value):
                out[f"{key}_{name}"] = float(value)
    return out


def evaluate_predictions(y_true, proba, classes, *, task_type=None, thresholds=None):
    """Point metrics of predicted probabilities, without logging.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    proba : array-like of shape (n, n_classes)
        Probabilities; columns follow ``classes``.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the columns of ``proba``; they name the
        per-class metrics (``auroc_<class>``...).
    task_type : {"multilabel", "cinc", "binary", "multiclass"} or None
        Inferred by :func:`infer_task_type` when None.
    thresholds : array-like, float or None
        Decision thresholds (multi-label: one per class; binary: one for
        ``classes[1]``, or one per class, of which ``classes[1]``'s is
        used), e.g. from :func:`decision_thresholds`; 0.5 when None.

    Returns
    -------
    dict of str to float
        Multi-label: ``macro_auroc``, ``macro_f1``, ``macro_sensitivity``,
        ``macro_specificity``; CinC: ``challenge_f1``, ``accuracy``,
        ``macro_auroc``; binary: ``auroc``, ``f1``, ``sensitivity``,
        ``specificity``, ``accuracy``; multiclass: ``accuracy``,
        ``macro_f1``, ``macro_auroc`` (one-vs-rest). Then per class:
        ``auroc_<class>``, ``f1_<class>`` and, where thresholds apply,
        ``sensitivity_<class>``, ``specificity_<class>``, ``threshold_<class>``.
        A per-class metric that is undefined (the AUROC of a class without
        positives or negatives, the F1 of a class neither true nor
        predicted) is left out, and out of the macro averages; an undefined
        summary metric is NaN.

    Examples
    --------
    >>> y_test = [0, 0, 1, 1, 0, 1]
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9]]
    >>> metrics = evaluate_predictions(y_test, proba, ["normal", "AF"], thresholds=0.35)
    >>> {name: round(metrics[name], 3) for name in ("auroc", "sensitivity", "specificity")}
    {'auroc': 0.889, 'sensitivity': 1.0, 'specificity': 0.667}
    """
    y, proba, classes, _ = check_targets(y_true, proba, classes)
    task_type = _check_task_type(task_type, y, classes)
    _, scalars, rows = _spec(task_type, y, proba, classes, thresholds)
    out = {}
    for name, (metric, score) in scalars.items():
        try:
            out[name] = float(_quiet(metric)(y, score))
        except ValueError:
            out[name] = np.nan
    out.update(_per_class_metrics(rows))
    return out


def log_table(table, artifact_file):
    """:func:`mlflow.log_table` plus a CSV copy beside it (``.json`` becomes ``.csv``).

    Silences the pandas 3 deprecation MLflow's own dtype check raises for
    string columns.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'str' dtypes are included by select_dtypes")
        mlflow.log_table(table, artifact_file)
    mlflow.log_text(table.to_csv(index=False), artifact_file[:-len(".json")] + ".csv")


def _log_figure(make, artifact_file):
    try:
        fig = make()
    except ValueError as exc:  # e.g. no class with both labels in this split
        warnings.warn(f"{artifact_file} not drawn: {exc}", UserWarning, stacklevel=3)
        return
    # ecgsk.plots figures are not in pyplot's registry: nothing to close, the figure
    # is freed with its last reference.
    mlflow.log_figure(fig, artifact_file)


def log_evaluation(y_true, proba, classes, prefix="test_", task_type=None, *, y_valid=None,
                   proba_valid=None, n_boot=1000, confidence=0.95, random_state=0,
                   artifact_dir=None, skip_logged=False):
    """Log test metrics with bootstrap confidence intervals, plots and tables to the active run.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    proba : array-like of shape (n, n_classes)
        Predicted probabilities; columns follow ``classes``.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the columns of ``proba``; they name the
        per-class metrics and label the plots and tables.
    prefix : str, default="test_"
        Prefix of every metric name (``"external_"`` for a second test set).
    task_type : {"multilabel", "cinc", "binary", "multiclass"} or None
        What to measure (see :func:`evaluate_predictions`); inferred when None.
    y_valid, proba_valid : array-like or None
        Validation targets and probabilities: multi-label and binary
        thresholds are tuned on them (Youden's J per class); 0.5 without.
    n_boot : int, default=1000
        Bootstrap resamples for the confidence intervals; 0 skips them.
    confidence : float, default=0.95
        Confidence level of the intervals, in (0, 1).
    random_state : int, default=0
        Seed of the bootstrap resamples (:func:`~ecgsk.metrics.bootstrap_ci`);
        every summary metric is resampled with it.
    artifact_dir : str or None
        Folder of the artifacts in the run; ``prefix`` without its trailing
        ``_`` when None (``test/``).
    skip_logged : bool, default=False
        Leave out the metrics the active run already holds, so that a run
        reopened after an interruption keeps one point of each; the
        artifacts are written again (replaced).

    Returns
    -------
    dict of str to float
        The metrics computed (with ``skip_logged``, those left out too).
        Each summary metric ``m`` (not the per-class ones, which go to the
        table) also gets ``m_ci_low`` and ``m_ci_high``: the percentile
        bootstrap interval over records.

    Notes
    -----
    Artifacts: ``confusion_matrix.png`` (a grid of 2×2 matrices for
    multi-label targets), ``roc_curves.png``, ``pr_curves.png``,
    ``reliability_diagram.png`` (calibration per class, one-vs-rest, with
    Brier scores: :func:`ecgsk.plots.plot_reliability_diagram`),
    ``classification_report.txt``, and the per-class metrics as
    ``per_class_metrics.json`` (:func:`mlflow.log_table`, shown by the UI's
    artifact viewer) and ``per_class_metrics.csv``.

    Examples
    --------
    >>> from ecgsk.tracking import setup_tracking, tracked_run
    >>> y_test = [0, 0, 1, 1, 0, 1]
    >>> proba = [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9]]
    >>> exp_id = setup_tracking("sqlite:///mlruns/mlflow.db", "demo")  # doctest: +SKIP
    >>> with tracked_run("logreg"):                                     # doctest: +SKIP
    ...     metrics = log_evaluation(y_test, proba, ["normal", "AF"], n_boot=200)
    >>> round(metrics["test_auroc"], 3), "test_auroc_ci_low" in metrics  # doctest: +SKIP
    (0.889, True)
    """
    y, proba, classes, _ = check_targets(y_true, proba, classes)
    task_type = _check_task_type(task_type, y, classes)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}.")
    thresholds = None
    if (y_valid is None) != (proba_valid is None):
        raise ValueError("pass both y_valid and proba_valid, or neither.")
    if y_valid is not None:
        thresholds = decision_thresholds(y_valid, proba_valid, classes, task_type)
    pred, scalars, rows = _spec(task_type, y, proba, classes, thresholds)
    undefined = [row["class"] for row in rows if not np.isfinite(row["auroc"])]
    if undefined:
        records = f"{prefix.strip('_')} records" if prefix.strip("_") else "records"
        warnings.warn(f"class(es) {', '.join(undefined)} have no positive or no negative record "
                      f"among the {records}, so their AUROC is undefined and left out of the "
                      "macro AUROC.", UserWarning, stacklevel=2)

    metrics = {}
    for name, (metric, score) in scalars.items():
        metric = _quiet(metric)
        try:
            if n_boot:
                point, low, high = bootstrap_ci(metric, y, score, n_boot=n_boot,
                                                confidence=confidence, random_state=random_state)
                metrics[f"{prefix}{name}_ci_low"] = low
                metrics[f"{prefix}{name}_ci_high"] = high
            else:
                point = metric(y, score)
        except ValueError:
            point = np.nan
        metrics[f"{prefix}{name}"] = float(point)
    metrics.update({f"{prefix}{k}": v for k, v in _per_class_metrics(rows).items()})
    new = {k: float(v) for k, v in metrics.items()}
    run = mlflow.active_run()
    if skip_logged and run is not None:
        held = MlflowClient().get_run(run.info.run_id).data.metrics
        new = {k: v for k, v in new.items() if k not in held}
    if new:
        mlflow.log_metrics(new)

    folder = artifact_dir if artifact_dir is not None else (prefix.rstrip("_") or "evaluation")
    folder = folder.strip("/")
    title = f"{folder} ({len(y)} records)"
    _log_figure(lambda: plot_confusion_matrix(y, pred, classes, title=title),
                f"{folder}/confusion_matrix.png")
    _log_figure(lambda: plot_roc_curves(y, proba, classes, title=title),
                f"{folder}/roc_curves.png")
    _log_figure(lambda: plot_pr_curves(y, proba, classes, title=title),
                f"{folder}/pr_curves.png")
    _log_figure(lambda: plot_reliability_diagram(y, proba, classes, title=title),
                f"{folder}/reliability_diagram.png")

    labels = np.arange(len(classes))
    report = classification_report(y, pred, labels=None if y.ndim == 2 else labels,
                                   target_names=list(classes), zero_division=0, digits=3)
    if thresholds is not None:
        thr = np.atleast_1d(thresholds)
        named = classes if len(thr) == len(classes) else classes[1:]
        report += "\nDecision thresholds (tuned on the validation set):\n" + "\n".join(
            f"  {c}: {t:.4f}" for c, t in zip(named, thr))
    elif task_type in ("multilabel", "binary"):
        report += "\nDecision threshold: 0.5 (no validation set given)\n"
    mlflow.log_text(report, f"{folder}/classification_report.txt")
    log_table(pd.DataFrame(rows), f"{folder}/per_class_metrics.json")
    return metrics
