"""Point metrics."""

import numbers
import warnings
from collections.abc import Iterable

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score, roc_curve

from .._validation import check_label_types, label_array

__all__ = ["challenge_f1", "macro_auroc", "per_class_auroc", "sensitivity_specificity",
           "tune_thresholds"]


def challenge_f1(y_true, y_pred, classes=("N", "A", "O")):
    """The PhysioNet/CinC 2017 score: the mean F1 of normal, AF and other rhythm.

    Noisy records (``~``) count as errors where they are confused with the
    three scored classes, but their own F1 is not averaged in.

    ``classes`` are the labels scored, as ``y_true`` and ``y_pred`` write
    them: labels encoded as integers need ``classes`` of those integers.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True rhythm labels.
    y_pred : array-like of shape (n,)
        Predicted rhythm labels, written as ``y_true``.
    classes : sequence, default=("N", "A", "O")
        The labels whose F1 is averaged: normal, AF and other rhythm.

    Returns
    -------
    float
        The mean F1 of ``classes``. A class that no record has or is
        predicted to have has no F1 (the challenge's formula divides 0 by 0)
        and is left out of the mean, so that a bootstrap resample without an
        AF record does not count perfect predictions as F1 0 for AF.

    Raises
    ------
    ValueError
        When ``classes`` is not a sequence of labels, or no label of
        ``y_true`` or ``y_pred`` is one of ``classes``
        (labels written otherwise would score 0 for perfect predictions).

    Examples
    --------
    >>> challenge_f1(["N", "A", "O", "~"], ["N", "A", "N", "~"])
    0.5555555555555555
    >>> challenge_f1([0, 1, 2, 3], [0, 1, 0, 3], classes=(0, 1, 2))
    0.5555555555555555
    """
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise ValueError(f"classes must be a sequence of the scored labels, e.g. "
                         f"('N', 'A', 'O'), got {classes!r}.")
    # Read once (a generator), each label once (a label twice was counted twice in the mean).
    classes = list(dict.fromkeys(classes))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    check_label_types(y_true, "y_true")  # None among strings failed inside numpy's sort
    check_label_types(y_pred, "y_pred")
    seen = set(np.unique(y_true).tolist()) | set(np.unique(y_pred).tolist())
    if not seen & set(classes):
        raise ValueError(
            f"no label of y_true or y_pred is one of classes={tuple(classes)!r} (they hold "
            f"{sorted(seen, key=str)[:6]!r}); pass classes= the scored labels as written in "
            "y, e.g. classes=(0, 1, 2) for integer-encoded N, A and O.")
    scores = f1_score(y_true, y_pred, labels=list(classes),
                      average=None, zero_division=np.nan)
    return float(np.nanmean(scores))  # one class at least is true or predicted (above)


def _numbers(values):
    """``values`` as floats when they are an object array of numbers (as pandas may hold
    0/1 labels), else as they are; a sparse label matrix dense."""
    values = label_array(values)[0]
    if values.dtype.kind == "O" and values.size and all(
            isinstance(v, numbers.Real) for v in values.ravel()):
        return values.astype(float)
    return values


def _as_2d(y_true, y_score, name="y_score"):
    y_true = _numbers(y_true)
    if y_true.ndim not in (1, 2):
        raise ValueError(f"y_true must be 1-D (n,) or 2-D (n, n_classes); got "
                         f"{y_true.ndim}-D, shape {y_true.shape}.")
    values = np.unique(y_true) if y_true.size else np.array([0])
    if y_true.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
        shown = ", ".join(map(repr, values[:5].tolist())) + (", ..." if len(values) > 5 else "")
        raise ValueError(
            f"y_true must hold 0/1 labels (the positive class as 1), got the values {shown}; "
            "binarize other labels, e.g. sklearn.preprocessing.label_binarize(y, "
            "classes=...), so that each column of the score has its own 0/1 column.")
    y_score = np.asarray(y_score, dtype=float)
    if y_true.ndim == 1 and y_score.ndim == 2 and y_score.shape[1] == 2:
        y_score = y_score[:, 1]
    if y_true.ndim == 1:
        y_true, y_score = y_true[:, None], np.atleast_2d(y_score.T).T
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but {name} has shape "
                         f"{y_score.shape}.")
    bad = np.flatnonzero(~np.isfinite(y_score).all(axis=1))
    if bad.size:
        raise ValueError(f"{name} holds NaN or infinite values in {bad.size} record(s), the "
                         f"first at record {bad[0]}; a score needs finite values.")
    return y_true, y_score


def per_class_auroc(y_true, y_score):
    """AUROC of each column; NaN where the column has only one label value.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Binary labels, or a 0/1 indicator matrix.
    y_score : array-like of shape (n,) or (n, n_classes)
        Scores of the positive class of each column; for 1-D ``y_true``,
        also an ``(n, 2)`` array whose second column is taken.

    Returns
    -------
    ndarray of shape (n_classes,)
        The AUROC of each column (one for 1-D ``y_true``).

    Raises
    ------
    ValueError
        If ``y_true`` holds values other than 0 and 1 (string or multiclass
        labels: which is positive would be guessed), or ``y_true`` and
        ``y_score`` have different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])  # no record of class 3
    >>> score = np.array([[0.9, 0.2, 0.1], [0.3, 0.7, 0.2], [0.6, 0.4, 0.3], [0.2, 0.1, 0.1]])
    >>> per_class_auroc(y, score)
    array([ 1.,  1., nan])
    """
    y_true, y_score = _as_2d(y_true, y_score)
    out = np.full(y_true.shape[1], np.nan)
    for j in range(y_true.shape[1]):
        if len(np.unique(y_true[:, j])) == 2:
            out[j] = roc_auc_score(y_true[:, j], y_score[:, j])
    return out


def macro_auroc(y_true, y_score):
    """Macro AUROC over the classes present in ``y_true`` (the PTB-XL benchmark's metric).

    For binary targets (1-D ``y_true``) this is the plain AUROC. Columns with
    a single label value in ``y_true`` are left out, with a warning, instead
    of failing as :func:`sklearn.metrics.roc_auc_score` does.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Binary labels, or a 0/1 indicator matrix.
    y_score : array-like of shape (n,) or (n, n_classes)
        Scores of the positive class of each column; for 1-D ``y_true``,
        also an ``(n, 2)`` array whose second column is taken.

    Returns
    -------
    float
        The mean AUROC over the columns with both label values.

    Raises
    ------
    ValueError
        If no column has both label values, ``y_true`` holds values other
        than 0 and 1, or ``y_true`` and ``y_score`` have different shapes.

    Warns
    -----
    UserWarning
        When some columns are left out, saying how many.

    Examples
    --------
    >>> macro_auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> macro_auroc([[1, 0], [0, 1], [1, 1], [0, 0]],
    ...             [[0.9, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.1]])
    1.0
    """
    aucs = per_class_auroc(y_true, y_score)
    if np.isnan(aucs).all():
        raise ValueError("macro AUROC is undefined: no class has both positive and negative "
                         "records.")
    if np.isnan(aucs).any():
        warnings.warn(f"{int(np.isnan(aucs).sum())} class(es) without both labels were left out "
                      "of the macro AUROC.", UserWarning, stacklevel=2)
    return float(np.nanmean(aucs))


def tune_thresholds(y_true, y_score):
    """Per-class thresholds that maximise Youden's J (sensitivity + specificity - 1).

    Tune on validation data, then apply to the test data. Columns with one
    label value get 0.5.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        Binary labels, or a 0/1 indicator matrix, of the validation records.
    y_score : array-like of shape (n,) or (n, n_classes)
        Scores of the positive class of each column: probabilities, or any
        other scores (logits, ``decision_function``); for 1-D ``y_true``,
        also an ``(n, 2)`` array whose second column is taken.

    Returns
    -------
    ndarray of shape (n_classes,)
        One threshold per column (one for 1-D ``y_true``): a record is
        predicted positive where its score is at least the threshold. Where
        no threshold beats calling every record negative, it is 1 for
        probabilities (so at most 1), else just above the highest score; when
        some record is scored exactly 1, so that 1 would call it positive, the
        best of the other thresholds is taken (its J is at least 0, that of
        calling every record positive).

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_score`` have different shapes.

    Examples
    --------
    >>> y_valid = [[1, 0], [0, 1], [1, 1], [0, 0]]
    >>> score_valid = [[0.9, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.1]]
    >>> tune_thresholds(y_valid, score_valid)
    array([0.6, 0.4])
    """
    y_true, y_score = _as_2d(y_true, y_score)
    out = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        if len(np.unique(y_true[:, j])) == 2:
            fpr, tpr, thr = roc_curve(y_true[:, j], y_score[:, j])
            best = int(np.argmax(tpr - fpr))
            out[j] = thr[best]
            if not np.isfinite(out[j]):  # roc_curve's first point: no record positive
                top = float(np.max(y_score[:, j]))
                if top > 1.0:
                    out[j] = np.nextafter(top, np.inf)
                elif top < 1.0:
                    out[j] = 1.0
                else:  # 1 would call the records scored 1 positive: J could fall below 0
                    out[j] = thr[1 + int(np.argmax(tpr[1:] - fpr[1:]))]
    return out


def sensitivity_specificity(y_true, y_pred):
    """Sensitivity (recall of positives) and specificity of each column.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_classes)
        0/1 labels, or a 0/1 indicator matrix.
    y_pred : array-like of shape (n,) or (n, n_classes)
        0/1 (or boolean) predictions of the same shape; scores are refused.

    Returns
    -------
    sensitivity, specificity : ndarray of shape (n_classes,)
        NaN where a column has no positive (or no negative) record.

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_pred`` have different shapes, or ``y_pred``
        holds values other than 0 and 1.

    Examples
    --------
    >>> y_true = [[1, 0], [0, 1], [1, 1], [0, 0]]
    >>> y_pred = [[1, 0], [0, 0], [1, 1], [0, 1]]
    >>> sensitivity, specificity = sensitivity_specificity(y_true, y_pred)
    >>> sensitivity, specificity
    (array([1. , 0.5]), array([1. , 0.5]))
    """
    y_true, y_pred = _as_2d(y_true, y_pred, name="y_pred")
    other = np.unique(y_pred[(y_pred != 0) & (y_pred != 1)])
    if other.size:  # scores: 0.2 would count as a positive prediction
        raise ValueError(
            f"y_pred must hold 0/1 predictions, got values such as {other[0]:g}: threshold "
            "scores first (tune_thresholds, or predict rather than predict_proba).")
    y_true, y_pred = y_true.astype(bool), y_pred.astype(bool)
    pos, neg = y_true.sum(0), (~y_true).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(pos > 0, (y_true & y_pred).sum(0) / pos, np.nan)
        spec = np.where(neg > 0, (~y_true & ~y_pred).sum(0) / neg, np.nan)
    return sens, spec
