"""Confusion matrices, ROC and precision-recall curves."""

import math

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    multilabel_confusion_matrix,
)

from ._targets import check_targets, label_indices

__all__ = ["plot_confusion_matrix", "plot_roc_curves", "plot_pr_curves"]


def _grid(n):
    ncols = math.ceil(math.sqrt(n))
    return math.ceil(n / ncols), ncols


def plot_confusion_matrix(y_true, y_pred, classes, *, normalize=None, title=None):
    """Draw the confusion matrix, or one 2×2 matrix per class for multi-label targets.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, n_classes)
        True and predicted labels: class names or indices into ``classes``,
        or 0/1 indicator matrices (multi-label; then every class gets its own
        2×2 matrix from :func:`sklearn.metrics.multilabel_confusion_matrix`).
    classes : array-like of shape (n_classes,)
        Class names, in the order of the indices / indicator columns.
    normalize : {"true", "pred", "all"} or None, default=None
        Passed to :class:`sklearn.metrics.ConfusionMatrixDisplay` (single-label
        only): normalise over true labels, predictions or everything.
    title : str or None
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from ecgsk.plots import plot_confusion_matrix
    >>> fig = plot_confusion_matrix(["N", "A", "N"], ["N", "N", "N"], ["N", "A"])
    >>> fig.axes[0].get_xlabel()
    'Predicted label'
    """
    given = np.asarray(classes)  # looked up as given: integer labels are names, not indices
    classes = given.astype(str)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}.")
    if y_true.ndim == 2:
        if y_true.shape[1] != len(classes):
            raise ValueError(f"y_true has {y_true.shape[1]} columns but there are "
                             f"{len(classes)} classes.")
        matrices = multilabel_confusion_matrix(y_true, y_pred)
        nrows, ncols = _grid(len(classes))
        fig = Figure(figsize=(3.2 * ncols, 3.0 * nrows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, cls, cm in zip(axes, classes, matrices):
            ConfusionMatrixDisplay(cm, display_labels=["neg", "pos"]).plot(
                ax=ax, colorbar=False, values_format="d")
            ax.set_title(cls)
        for ax in axes[len(classes):]:
            ax.set_axis_off()
    else:
        # Read together: labels or indices for both. Apart, integer class names (1, 2, 3)
        # read the truth as names and an argmax as indices whenever it held no 0.
        both = label_indices(np.concatenate([np.ravel(y_true), np.ravel(y_pred)]), given)
        t, p = both[:np.size(y_true)], both[np.size(y_true):]
        side = max(4.0, 0.6 * len(classes) + 2.5)
        fig = Figure(figsize=(side + 1, side), layout="constrained")
        ax = fig.subplots()
        ConfusionMatrixDisplay.from_predictions(
            t, p, labels=np.arange(len(classes)), display_labels=classes,
            normalize=normalize, ax=ax, colorbar=True,
            values_format=None if normalize else "d")
    if title:
        fig.suptitle(title)
    return fig


def _curves(display, y_true, proba, classes, title, chance):
    y, proba, classes, multilabel = check_targets(y_true, proba, classes)
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = fig.subplots()
    if not multilabel and len(classes) == 2:
        # One curve: the positive class classes[1].
        columns = [(classes[1], (y == 1).astype(int), proba[:, 1])]
    else:
        indicator = y if multilabel else np.eye(len(classes), dtype=int)[y]
        columns = [(c, indicator[:, j], proba[:, j]) for j, c in enumerate(classes)]
    skipped = []
    drawn = 0
    for name, target, score in columns:
        if len(np.unique(target)) < 2:
            skipped.append(name)
            continue
        display.from_predictions(target, score, name=name, ax=ax,
                                 plot_chance_level=chance and len(columns) == 1)
        drawn += 1
    if drawn == 0:
        raise ValueError("no class has both positive and negative records: nothing to plot.")
    if chance and display is RocCurveDisplay and len(columns) > 1:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    if skipped:
        ax.text(0.99, 0.01, f"no curve (one label value): {', '.join(skipped)}",
                transform=ax.transAxes, ha="right", va="bottom", fontsize="small")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def plot_roc_curves(y_true, proba, classes, *, title=None):
    """Draw ROC curves: one per class (one-vs-rest), or one for a binary task.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    proba : array-like of shape (n, n_classes)
        Scores; columns follow ``classes``. For two classes a 1-D array is
        the score of ``classes[1]``.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the columns of ``proba``.
    title : str or None
        Title of the axes.

    Returns
    -------
    matplotlib.figure.Figure
        Classes whose records all share one label value (no curve is
        defined) are named in a note instead of drawn.

    Examples
    --------
    >>> from ecgsk.plots import plot_roc_curves
    >>> fig = plot_roc_curves([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4], ["normal", "abnormal"])
    >>> fig.axes[0].get_xlabel()
    'False Positive Rate (Positive label: 1)'
    """
    return _curves(RocCurveDisplay, y_true, proba, classes, title, chance=True)


def plot_pr_curves(y_true, proba, classes, *, title=None):
    """Draw precision-recall curves: one per class, or one for a binary task.

    As :func:`plot_roc_curves`; the chance level (the prevalence) is drawn
    for a binary task.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    proba : array-like of shape (n, n_classes)
        Scores; columns follow ``classes``. For two classes a 1-D array is
        the score of ``classes[1]``.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the columns of ``proba``.
    title : str or None, default=None
        Title of the axes.

    Returns
    -------
    matplotlib.figure.Figure
        Classes whose records all share one label value (no curve is
        defined) are named in a note instead of drawn.

    Raises
    ------
    ValueError
        If the targets do not match ``proba`` and ``classes``, or no class
        has both positive and negative records.

    See Also
    --------
    plot_roc_curves : The ROC curves of the same scores.

    Examples
    --------
    >>> from ecgsk.plots import plot_pr_curves
    >>> fig = plot_pr_curves([0, 1, 1, 0], [0.2, 0.9, 0.6, 0.4], ["normal", "abnormal"])
    >>> fig.axes[0].get_ylabel()
    'Precision (Positive label: 1)'
    """
    return _curves(PrecisionRecallDisplay, y_true, proba, classes, title, chance=True)
