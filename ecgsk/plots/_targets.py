"""Normalise classification targets and probability matrices.

Shared by :mod:`ecgsk.plots` and :mod:`ecgsk.tracking`: both accept
single-label targets given as class names or as indices into ``classes``,
multi-label targets as 0/1 indicator matrices, and probability matrices whose
columns follow ``classes``.
"""

import numpy as np

from .._validation import label_array

__all__ = ["check_targets", "label_indices", "metric_safe_name", "metric_safe_names"]


def label_indices(y, classes):
    """Turn single-label targets into integer indices into ``classes``.

    ``y`` may hold the class names themselves (``"N"``, ``"A"``...) or
    integer indices ``0 .. len(classes) - 1`` (PTB-XL's binary task stores
    0/1 with ``classes = ["normal", "abnormal"]``).

    Raises
    ------
    ValueError
        If some label is neither a class nor a valid index, naming them.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"single-label y must be 1-D, got shape {y.shape}.")
    classes = list(np.asarray(classes).tolist())
    lookup = {c: i for i, c in enumerate(classes)}
    values = y.tolist()
    try:
        return np.array([lookup[v] for v in values], dtype=np.int64)
    except (KeyError, TypeError):
        pass
    if y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
        idx = y.astype(np.int64)
        if idx.size == 0 or (idx.min() >= 0 and idx.max() < len(classes)):
            return idx
    unknown = sorted({str(v) for v in values if v not in lookup})[:10]
    raise ValueError(f"y holds labels {unknown} that are neither in classes {classes} "
                     f"nor indices 0..{len(classes) - 1} into them.")


def check_targets(y_true, proba, classes):
    """Validate ``y_true`` against ``proba`` and ``classes``.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Class names or indices, or a 0/1 indicator matrix (multi-label). A
        DataFrame's columns are matched to ``classes`` by name, in any order;
        columns named ``0 .. n_classes - 1`` (a DataFrame made without names)
        are taken in their order.
    proba : array-like of shape (n, n_classes), or (n,) for a binary task
        Scores whose columns follow ``classes``; a 1-D array is read as the
        score of ``classes[1]``.
    classes : array-like of shape (n_classes,)

    Returns
    -------
    y : ndarray
        int64 indices (single-label) or the int64 indicator matrix.
    proba : ndarray of shape (n, n_classes), float64
    classes : ndarray of str
    multilabel : bool
    """
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(classes) < 2:
        raise ValueError(f"classes must list at least two classes, got {classes.tolist()!r}.")
    y, names = label_array(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1 and len(classes) == 2:
        proba = np.column_stack([1 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"proba must have one column per class ({len(classes)}), "
                         f"got shape {proba.shape}.")
    if len(y) != len(proba):
        raise ValueError(f"y_true has {len(y)} records but proba has {len(proba)}.")
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if bad.size:
        raise ValueError(f"proba holds NaN or infinite values in {bad.size} record(s), the "
                         f"first at record {bad[0]}.")
    multilabel = y.ndim == 2
    if multilabel:
        if y.shape[1] != len(classes):
            raise ValueError(f"the multi-label y_true has {y.shape[1]} columns but there are "
                             f"{len(classes)} classes.")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("a multi-label y_true must be a 0/1 indicator matrix.")
        y = _columns_by_name(y, names, classes).astype(np.int64)
    else:
        y = label_indices(y, classes)
    return y, proba, classes.astype(str), multilabel


def _columns_by_name(y, names, classes):
    """The columns of a label matrix in the order of ``classes``, matched by name."""
    if names is None or np.array_equal(names, np.arange(len(classes))):
        return y
    given = [str(n) for n in names]
    known = [str(c) for c in classes]
    if given == known:
        return y
    if sorted(given) != sorted(known) or len(set(given)) != len(given):
        raise ValueError(f"y_true's columns {given} are not the classes {known}; name them "
                         "as the classes, or pass an array whose columns follow classes.")
    return y[:, [given.index(c) for c in known]]


def metric_safe_name(name):
    """A class name usable in an MLflow metric key (``"~"`` becomes ``"noisy"``).

    Letters, digits, ``_ - .`` and spaces are kept; anything else becomes
    ``_``, ``/`` too: MLflow allows it but refuses a key that reads as
    another path (``"AF/"``, ``"a//b"``).
    """
    name = str(name)
    if name == "~":  # the CinC 2017 noise class
        return "noisy"
    safe = "".join(ch if (ch.isalnum() or ch in "_-. ") else "_" for ch in name)
    return safe.strip() or "class"


def metric_safe_names(names, max_length=None):
    """:func:`metric_safe_name` of each name, made unique by the class's index.

    ``"AF+"`` and ``"AF-"`` would both be ``"AF_"``, and the later class's
    metrics would replace the earlier's: a name already taken gets
    ``_<index>`` (``"AF__0"``, ``"AF__1"``... for every class sharing it),
    and more of them where that is another class's name (``"AF__1"``).
    ``max_length`` cuts each name to that many characters first (MLflow's
    metric keys hold 250), the suffix within it.
    """
    safe = [metric_safe_name(n) for n in names]
    if max_length is not None:
        safe = [s[:max_length] for s in safe]
    counts = {s: safe.count(s) for s in safe}
    out, taken = [], set(s for s in safe if counts[s] == 1)
    for i, s in enumerate(safe):
        name = s
        if counts[s] > 1:
            suffix = f"_{i}"
            while True:
                cut = s if max_length is None else s[:max_length - len(suffix)]
                name = f"{cut}{suffix}"
                if name not in taken:
                    break
                suffix += f"_{i}"
        taken.add(name)
        out.append(name)
    return out
