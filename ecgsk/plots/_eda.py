"""Exploratory plots of the labels: how often each class occurs, and which occur together."""

import numpy as np
from matplotlib.figure import Figure

from ._targets import label_indices

__all__ = ["plot_class_distribution", "plot_label_cooccurrence", "label_counts",
           "cooccurrence_matrix"]


def _indicator(y, classes, name="y"):
    classes = np.asarray(classes).astype(str)
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"{name} must be a 0/1 indicator matrix (n_records, n_classes), got "
                         f"shape {y.shape}.")
    if y.shape[1] != len(classes):
        raise ValueError(f"{name} has {y.shape[1]} columns but there are {len(classes)} "
                         "classes.")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1.")
    return y.astype(np.int64), classes


def label_counts(y, classes):
    """Records per class: column sums of an indicator matrix, or counts of single labels.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_classes)
        Class names or indices into ``classes``, or a 0/1 indicator matrix.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the indices / indicator columns; one
        count is returned per class, in this order.

    Returns
    -------
    ndarray of shape (n_classes,), int64

    Examples
    --------
    >>> label_counts([[1, 0, 1], [1, 1, 0], [0, 0, 0]], ["MI", "STTC", "HYP"]).tolist()
    [2, 1, 1]
    >>> label_counts(["N", "A", "N", "O"], ["N", "A", "O", "~"]).tolist()
    [2, 1, 1, 0]
    """
    y = np.asarray(y)
    if y.ndim == 2:
        y, classes = _indicator(y, classes)
        return y.sum(axis=0)
    return np.bincount(label_indices(y, classes), minlength=len(classes)).astype(np.int64)


def cooccurrence_matrix(y, classes):
    """``C[i, j]``: records carrying both labels ``i`` and ``j`` (``C[i, i]``: records with ``i``).

    Parameters
    ----------
    y : array-like of shape (n, n_classes)
        0/1 indicator matrix.
    classes : array-like of shape (n_classes,)
        Class names, one per indicator column (only their number is used: it
        must match the columns of ``y``).

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64

    Examples
    --------
    >>> cooccurrence_matrix([[1, 0, 1], [1, 1, 0], [1, 0, 1]], ["MI", "STTC", "HYP"]).tolist()
    [[3, 1, 2], [1, 1, 0], [2, 0, 2]]
    """
    y, _ = _indicator(y, classes)
    return y.T @ y


def plot_class_distribution(y, classes, *, title=None, sort=False):
    """Bar chart of the number (and share) of records of each class.

    For multi-label targets a record counts once for each of its labels, so
    the shares can sum to more than 100 %; the figure also shows how many
    labels records carry (0, 1, 2, ...).

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_classes)
        Class names or indices, or a 0/1 indicator matrix (multi-label).
    classes : array-like of shape (n_classes,)
        Class names, in the order of the indices / indicator columns.
    title : str or None
        Figure title.
    sort : bool, default=False
        Order the bars by count (largest first) instead of ``classes``' order.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds one bar per class (height: record count);
        multi-label targets add ``fig.axes[1]``, records per number of labels.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.plots import plot_class_distribution
    >>> fig = plot_class_distribution(np.array([[1, 0], [1, 1], [0, 0]]), ["NORM", "MI"])
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 1.0]
    """
    counts = label_counts(y, classes)  # classes as given: integer labels are names
    classes = np.asarray(classes).astype(str)
    n = len(np.asarray(y))
    order = np.argsort(-counts, kind="stable") if sort else np.arange(len(classes))
    multilabel = np.asarray(y).ndim == 2
    fig = Figure(figsize=(max(5.0, 0.55 * len(classes) + 2.5) + (3.5 if multilabel else 0), 4),
                 layout="constrained")
    axes = fig.subplots(1, 2 if multilabel else 1, squeeze=False,
                        width_ratios=[3, 1] if multilabel else None)[0]
    ax = axes[0]
    bars = ax.bar(classes[order], counts[order].astype(float), color="#4c72b0")
    labels = [f"{c}\n{100 * c / n:.0f}%" if n else str(c) for c in counts[order]]
    ax.bar_label(bars, labels=labels, fontsize=8)
    ax.set_xlabel("Class")
    ax.set_ylabel("Records")
    ax.set_title(f"{n} records" + (" (multi-label: a record counts once per label)"
                                  if multilabel else ""), fontsize=9)
    ax.margins(y=0.2)
    if len(classes) > 8:
        ax.tick_params(axis="x", labelrotation=60)
    if multilabel:
        per_record = np.asarray(y).astype(np.int64).sum(axis=1)
        k = np.bincount(per_record, minlength=2)
        ax2 = axes[1]
        ax2.bar(np.arange(len(k)).astype(str), k.astype(float), color="#dd8452")
        ax2.set_xlabel("Labels per record")
        ax2.set_ylabel("Records")
    if title:
        fig.suptitle(title)
    return fig


def plot_label_cooccurrence(y, classes, *, normalize=False, title=None):
    """Heat map of how often two labels occur on the same record (multi-label targets).

    Parameters
    ----------
    y : array-like of shape (n, n_classes)
        0/1 indicator matrix.
    classes : array-like of shape (n_classes,)
        Class names, in the order of the indicator columns; they label the
        rows and columns of the matrix.
    normalize : bool, default=False
        Show ``C[i, j] / C[i, i]``: the share of records with label ``i``
        (row) that also carry ``j`` (column), instead of counts.
    title : str or None
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds the matrix as an image (rows and columns in
        ``classes``' order) with the value written in every cell;
        ``fig.axes[1]`` is the colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.plots import plot_label_cooccurrence
    >>> fig = plot_label_cooccurrence(np.array([[1, 1], [1, 0]]), ["NORM", "MI"])
    >>> fig.axes[0].images[0].get_array().tolist()
    [[2, 1], [1, 1]]
    """
    matrix = cooccurrence_matrix(y, classes)
    classes = np.asarray(classes).astype(str)
    values = matrix.astype(float)
    if normalize:
        diag = np.diag(matrix).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(diag[:, None] > 0, matrix / diag[:, None], 0.0)
    side = max(4.0, 0.5 * len(classes) + 2.5)
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values if normalize else matrix, cmap="Blues", vmin=0)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, classes, rotation=60 if len(classes) > 6 else 0)
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("Label")
    ax.set_ylabel("Label")
    top = values.max() if values.size else 0
    for i in range(len(classes)):
        for j in range(len(classes)):
            text = f"{values[i, j]:.2f}" if normalize else f"{matrix[i, j]:d}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if top and values[i, j] > 0.6 * top else "black")
    fig.colorbar(image, ax=ax, label="share of the row's records" if normalize else "records")
    ax.set_title(f"Label co-occurrence ({len(np.asarray(y))} records)", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
