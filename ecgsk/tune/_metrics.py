"""The metrics a study can optimise: which tasks they fit, their direction, how to score a fold."""

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._threads import main_thread_only

__all__ = ["TuneError", "Metric", "METRICS", "task_type_of", "default_metric", "resolve_metric",
           "fold_scores"]


class TuneError(ValueError):
    """A study asked for something that cannot be done; raised before any trial runs."""


@dataclass(frozen=True)
class Metric:
    """A metric a study can optimise.

    Attributes
    ----------
    name : str
        Name given to ``--metric``.
    direction : {"maximize", "minimize"}
        Optuna's direction for it.
    keys : dict of str to str
        For each target type it fits (``"multilabel"``, ``"binary"``,
        ``"cinc"``, ``"multiclass"``), the key of
        :func:`ecgsk.tracking.evaluate_predictions` holding its value, or
        ``"log_loss"`` (computed here).
    needs_thresholds : bool
        Whether the value depends on decision thresholds (tuned on the
        validation fold where there is one, else 0.5).
    description : str
        One line for ``--list-metrics``.

    Examples
    --------
    >>> from ecgsk.tune import METRICS
    >>> spec = METRICS["log_loss"]
    >>> spec.direction, spec.monitor("multilabel")
    ('minimize', 'valid_loss')
    >>> METRICS["macro_auroc"].key("binary")
    'auroc'
    """

    name: str
    direction: str
    keys: dict = field(default_factory=dict)
    needs_thresholds: bool = False
    description: str = ""

    def key(self, task_type):
        """The key of this metric's value for ``task_type``.

        Parameters
        ----------
        task_type : {"multilabel", "binary", "cinc", "multiclass"}
            A target type this metric fits (one of ``keys``).

        Returns
        -------
        str
            The key of :func:`ecgsk.tracking.evaluate_predictions` holding
            the value, or ``"log_loss"``.

        Raises
        ------
        KeyError
            If the metric does not fit ``task_type``.
        """
        return self.keys[task_type]

    def monitor(self, task_type):
        """The per-epoch entry of an ECGNetClassifier's history that pruning watches.

        It must move the same way as the metric (Optuna compares
        intermediate values in the study's direction): ``valid_loss`` for a
        metric to minimise, else ``valid_auroc`` (multi-label targets) or
        ``valid_acc`` (single-label targets).

        Parameters
        ----------
        task_type : {"multilabel", "binary", "cinc", "multiclass"}
            The target type of the study.

        Returns
        -------
        str
            ``"valid_loss"``, ``"valid_auroc"`` or ``"valid_acc"``.
        """
        if self.direction == "minimize":
            return "valid_loss"
        return "valid_auroc" if task_type == "multilabel" else "valid_acc"


_ALL = ("multilabel", "binary", "cinc", "multiclass")

#: Metrics by name.
METRICS = {m.name: m for m in (
    Metric("macro_auroc", "maximize",
           {"multilabel": "macro_auroc", "binary": "auroc", "cinc": "macro_auroc",
            "multiclass": "macro_auroc"},
           description="macro ROC AUC over classes (plain AUROC for a binary task)"),
    Metric("auroc", "maximize", {"binary": "auroc"}, description="ROC AUC of a binary task"),
    Metric("challenge_f1", "maximize", {"cinc": "challenge_f1"},
           description="PhysioNet/CinC 2017 score: mean F1 of N, A and O"),
    Metric("accuracy", "maximize", {"binary": "accuracy", "cinc": "accuracy",
                                    "multiclass": "accuracy"},
           needs_thresholds=True, description="share of records whose class is right"),
    Metric("macro_f1", "maximize", {"multilabel": "macro_f1", "multiclass": "macro_f1"},
           needs_thresholds=True, description="macro F1 over classes"),
    Metric("f1", "maximize", {"binary": "f1"}, needs_thresholds=True,
           description="F1 of the positive class of a binary task"),
    Metric("macro_sensitivity", "maximize", {"multilabel": "macro_sensitivity"},
           needs_thresholds=True, description="mean sensitivity over labels"),
    Metric("macro_specificity", "maximize", {"multilabel": "macro_specificity"},
           needs_thresholds=True, description="mean specificity over labels"),
    Metric("sensitivity", "maximize", {"binary": "sensitivity"}, needs_thresholds=True,
           description="sensitivity of a binary task"),
    Metric("specificity", "maximize", {"binary": "specificity"}, needs_thresholds=True,
           description="specificity of a binary task"),
    Metric("log_loss", "minimize", {t: "log_loss" for t in _ALL},
           description="cross-entropy of the probabilities (mean over labels if multi-label)"),
)}

_DEFAULTS = {"multilabel": "macro_auroc", "binary": "macro_auroc", "cinc": "challenge_f1",
             "multiclass": "macro_auroc"}


def task_type_of(dataset, task):
    """The target type of a dataset's task, known before reading it.

    PTB-XL's ``binary`` and ``binary_report`` are binary, its other tasks
    multi-label; CinC 2017 is ``"cinc"``; PTB-DB's diagnoses are
    multiclass. :func:`ecgsk.tracking.infer_task_type` confirms it on the
    records read.

    Parameters
    ----------
    dataset : str
        ``"ptbxl"``, ``"cinc2017"`` or ``"ptbdb"``; any other name is read
        as multiclass.
    task : str
        The task of the dataset (PTB-XL: ``"superdiagnostic"``...,
        ``"binary"``, ``"binary_report"``); used for PTB-XL only.

    Returns
    -------
    str
        ``"multilabel"``, ``"binary"``, ``"cinc"`` or ``"multiclass"``.
    """
    if dataset == "ptbxl":
        return "binary" if task in ("binary", "binary_report") else "multilabel"
    if dataset == "cinc2017":
        return "cinc"
    return "multiclass"


def default_metric(task_type):
    """``macro_auroc``, except ``challenge_f1`` for CinC 2017.

    Parameters
    ----------
    task_type : {"multilabel", "binary", "cinc", "multiclass"}
        The target type of the task.

    Returns
    -------
    str
        The name of the task's default metric in :data:`METRICS`.

    Raises
    ------
    TuneError
        For another target type.
    """
    if task_type not in _DEFAULTS:
        raise TuneError(f"unknown target type {task_type!r}; known: {', '.join(_DEFAULTS)}.")
    return _DEFAULTS[task_type]


def resolve_metric(name, task_type, what=None):
    """The :class:`Metric` called ``name`` (the task's default when None), checked against the task.

    Parameters
    ----------
    name : str or None
        A metric name of :data:`METRICS` (``--metric``); the task's default
        (:func:`default_metric`) when None.
    task_type : str
        A target type of :data:`ecgsk.tracking.TASK_TYPES`.
    what : str or None
        The task in words for the error message (``"ptbxl/superdiagnostic"``).

    Raises
    ------
    TuneError
        For an unknown metric, or one that does not fit the task (the
        message lists those that do).
    """
    if name is None:
        name = default_metric(task_type)
    what = what or f"a {task_type} task"
    fitting = sorted(m for m, spec in METRICS.items() if task_type in spec.keys)
    if name not in METRICS:
        raise TuneError(f"unknown metric {name!r} (--metric); known: {', '.join(sorted(METRICS))}."
                        f" For {what}: {', '.join(fitting)}.")
    spec = METRICS[name]
    if task_type not in spec.keys:
        raise TuneError(f"metric {name!r} does not fit {what} ({task_type} targets; it fits "
                        f"{', '.join(sorted(spec.keys))} targets). Choose one of: "
                        f"{', '.join(fitting)}.")
    return spec


def _log_loss(y, proba, task_type):
    from sklearn.metrics import log_loss

    proba = np.clip(np.asarray(proba, dtype=float), 1e-7, 1 - 1e-7)
    if task_type == "multilabel":
        return float(np.mean([log_loss(y[:, j], proba[:, j], labels=[0, 1])
                              for j in range(y.shape[1])]))
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(log_loss(y, proba, labels=np.arange(proba.shape[1])))


@contextlib.contextmanager
def quiet_fold_scores(scoring_only=False):
    """Silence the warnings of a class absent from a small held-out fold (its score is NaN).

    Around one scoring, every UserWarning; around a search's threads
    (``scoring_only``), those that the scoring modules raise, so that the
    pipelines' own warnings are still seen.
    """
    with warnings.catch_warnings():
        if scoring_only:
            warnings.filterwarnings("ignore", category=UserWarning,
                                    module=r"(ecgsk\.(metrics|tracking)|sklearn\.metrics)")
        else:
            warnings.simplefilter("ignore", UserWarning)
        yield


def fold_scores(y, proba, classes, task_type, thresholds=None):
    """Summary metrics of one held-out fold: every metric of the task, and ``log_loss``.

    Parameters
    ----------
    y : ndarray
        Targets as pipelines are fitted on (indicator matrix or class indices).
    proba : ndarray of shape (n, n_classes)
    classes : list of str
    task_type : str
    thresholds : array-like, float or None
        As :func:`ecgsk.tracking.evaluate_predictions` takes them.

    Returns
    -------
    dict of str to float
        The summary metrics of :func:`ecgsk.tracking.evaluate_predictions`
        (per-class values left out) and ``log_loss``; NaN where undefined.
    """
    from ..tracking import SUMMARY_METRICS, evaluate_predictions

    with main_thread_only(quiet_fold_scores):  # the search quiets its threads itself
        scores = evaluate_predictions(y, proba, classes, task_type=task_type,
                                      thresholds=thresholds)
    out = {k: scores.get(k, np.nan) for k in SUMMARY_METRICS[task_type]}
    try:
        out["log_loss"] = _log_loss(np.asarray(y), proba, task_type)
    except ValueError:
        out["log_loss"] = np.nan
    return out
