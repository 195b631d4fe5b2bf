"""Probabilities of multi-output sklearn estimators as one column per label.

``predict_proba`` of ``MultiOutputClassifier``, multi-label trees and
forests returns a list with an ``(n, n_seen)`` array per label, whose
columns follow that label's ``classes_``. A label that had a single value in
training has a single column, the probability of that value: its last column
is not the probability of 1.
"""

import numpy as np

__all__ = ["label_columns"]


def label_columns(proba, classes=None):
    """The probability of 1 of each label of a per-label ``predict_proba`` list.

    Parameters
    ----------
    proba : list of array-like
        One ``(n,)`` or ``(n, n_seen)`` array per label.
    classes : list of array-like or None, default=None
        The estimator's ``classes_``: the values seen in training, per
        label, in the order of ``proba``'s columns. ``None``: two columns
        are read as the values 0 and 1, one column as a value other than 1.

    Returns
    -------
    ndarray of shape (n, n_labels)
        A label never 1 in training gets zeros; one always 1 gets ones.
    """
    columns = []
    for j, p in enumerate(proba):
        p = np.asarray(p, dtype=float)
        if p.ndim == 1:
            columns.append(p)
            continue
        seen = None
        if isinstance(classes, list) and j < len(classes):
            seen = np.asarray(classes[j]).ravel()
        if seen is not None and seen.size == p.shape[1]:
            hit = np.flatnonzero(seen == 1)
            columns.append(p[:, hit[0]] if hit.size else np.zeros(len(p)))
        elif p.shape[1] == 2:
            columns.append(p[:, 1])
        else:
            columns.append(np.zeros(len(p)))
    return np.column_stack(columns)
