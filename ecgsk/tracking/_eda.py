"""Exploratory plots of a split's labels, logged to the active run."""

import warnings

import mlflow
import numpy as np

from ..plots import plot_class_distribution, plot_label_cooccurrence

__all__ = ["log_label_plots"]


def log_label_plots(y, classes, *, artifact_dir="data", title=None):
    """Log the class distribution (and, multi-label, the label co-occurrence) of ``y``.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the indices / indicator columns.
    artifact_dir : str, default="data"
        Folder of the figures in the active run.
    title : str or None
        Title of both figures (e.g. the dataset, task and split).

    Returns
    -------
    list of str
        Artifact paths logged: ``<artifact_dir>/class_distribution.png``
        (:func:`ecgsk.plots.plot_class_distribution`) and, for an
        indicator matrix, ``<artifact_dir>/label_cooccurrence.png``
        (:func:`ecgsk.plots.plot_label_cooccurrence`). A figure that cannot
        be drawn (labels that match no class) is left out with a warning:
        plots never fail a run.

    Examples
    --------
    >>> with tracked_run("eda"):                                   # doctest: +SKIP
    ...     log_label_plots(train.y, train.classes, artifact_dir="data/train")
    ['data/train/class_distribution.png', 'data/train/label_cooccurrence.png']
    """
    if mlflow.active_run() is None:
        raise RuntimeError("log_label_plots needs an active run (use tracked_run).")
    folder = str(artifact_dir).strip("/")
    if not folder:
        raise ValueError(f"artifact_dir must name a folder, got {artifact_dir!r}.")
    makers = [("class_distribution.png",
               lambda: plot_class_distribution(y, classes, title=title))]
    if np.ndim(y) == 2:
        makers.append(("label_cooccurrence.png",
                       lambda: plot_label_cooccurrence(y, classes, title=title)))
    logged = []
    for name, make in makers:
        path = f"{folder}/{name}"
        try:
            fig = make()
        except ValueError as exc:
            warnings.warn(f"{path} not drawn: {exc}", UserWarning, stacklevel=2)
            continue
        # ecgsk.plots figures are not in pyplot's registry: nothing to close, the
        # figure is freed with its last reference.
        mlflow.log_figure(fig, path)
        logged.append(path)
    return logged
