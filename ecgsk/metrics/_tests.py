"""Paired significance tests: DeLong for AUROC, McNemar for accuracy."""

import numbers
import warnings

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from .._validation import label_array
from ._scores import _numbers

__all__ = ["delong_test", "mcnemar_test"]


def _structural_components(y_true, scores):
    """AUCs and DeLong's covariance (the fast algorithm of Sun & Xu, 2014)."""
    pos, neg = scores[:, y_true == 1], scores[:, y_true == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    # Midranks: the average rank of tied scores.
    tx = stats.rankdata(pos, axis=1)
    ty = stats.rankdata(neg, axis=1)
    tz = stats.rankdata(np.hstack([pos, neg]), axis=1)
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.cov(v01).reshape(k, k) / m + np.cov(v10).reshape(k, k) / n
    return aucs, cov


def delong_test(y_true, score_a, score_b):
    """DeLong's test for two correlated AUROCs on the same binary records.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels, 0 and 1, both present.
    score_a : array-like of shape (n,)
        Scores of model a (higher means class 1).
    score_b : array-like of shape (n,)
        Scores of model b on the same records.

    Returns
    -------
    dict
        ``auc_a``, ``auc_b``, ``z`` and the two-sided ``p_value``.
        ``z`` is 0 and ``p_value`` 1 when the variance of the difference is
        not positive and the AUROCs are equal (identical scores, say); both
        are NaN, with a warning, when it is not positive and the AUROCs
        differ (a perfect score against a constant one), or when ``y_true``
        holds a single record of a class (the variance is then undefined).

    Raises
    ------
    ValueError
        If ``y_true`` is not 1-D or does not hold exactly the labels 0 and 1,
        or a score array does not have the shape of ``y_true`` or holds a
        NaN or infinite score.

    References
    ----------
    DeLong, DeLong and Clarke-Pearson, Biometrics 44 (1988); Sun and Xu,
    IEEE Signal Processing Letters 21 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> y = np.arange(100) % 2
    >>> score_a, score_b = y + rng.normal(0, 0.5, 100), y + rng.normal(0, 1.5, 100)
    >>> result = delong_test(y, score_a, score_b)
    >>> round(result["auc_a"], 3), round(result["auc_b"], 3), f"{result['p_value']:.1e}"
    (0.929, 0.729, '2.4e-04')
    """
    y_true = _numbers(y_true)  # an object array of 0/1 ints, as pandas may hold them
    if y_true.ndim != 1:
        raise ValueError(f"delong_test compares AUROCs of one binary label: y_true must be "
                         f"1-D, got shape {y_true.shape}; test each label's column apart.")
    values = set(np.unique(y_true).tolist()) if y_true.dtype.kind in "biuf" else None
    if values != {0, 1}:
        shown = sorted(map(str, np.unique(y_true)))[:5]
        raise ValueError("delong_test needs binary y_true, the labels 0 and 1 with both "
                         f"present; got the values {shown}.")
    y_true = y_true.astype(int)
    score_a, score_b = np.asarray(score_a, float), np.asarray(score_b, float)
    for name, score in (("score_a", score_a), ("score_b", score_b)):
        if score.shape != y_true.shape:
            raise ValueError(f"{name} must hold one score per record of y_true, shape "
                             f"{y_true.shape}; got shape {score.shape}.")
        bad = np.flatnonzero(~np.isfinite(score))
        if bad.size:
            raise ValueError(f"{name} holds {bad.size} NaN or infinite scores, the first at "
                             f"record {bad[0]}; an AUROC needs a finite score per record.")
    scores = np.vstack([score_a, score_b])
    n_pos = int(y_true.sum())
    if min(n_pos, len(y_true) - n_pos) < 2:
        aucs = [roc_auc_score(y_true, s) for s in scores]
        warnings.warn(f"delong_test: y_true holds {n_pos} positive and {len(y_true) - n_pos} "
                      "negative records; the variance of the AUROCs needs two of each, so z "
                      "and p_value are NaN.", UserWarning, stacklevel=2)
        return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "z": np.nan,
                "p_value": np.nan}
    aucs, cov = _structural_components(y_true, scores)
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if var <= 0 and aucs[0] == aucs[1]:
        z, p = 0.0, 1.0
    elif var <= 0:
        # A perfect score against a constant one, say: no variance to scale the difference
        # by, so no p-value; 1 would read as "no evidence of a difference".
        warnings.warn(f"delong_test: the AUROCs differ ({aucs[0]:.4g} against {aucs[1]:.4g}) "
                      "but the variance of their difference is 0 (each score orders the "
                      "records without spread: perfect or constant), so z and p_value are "
                      "NaN; use paired_bootstrap.", UserWarning, stacklevel=2)
        z, p = np.nan, np.nan
    else:
        z = float((aucs[0] - aucs[1]) / np.sqrt(var))
        p = float(2 * stats.norm.sf(abs(z)))
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "z": z, "p_value": p}


def _numeric(values):
    """Whether ``values`` are numbers (an object array of ints from pandas too)."""
    if values.dtype.kind == "O":
        return all(isinstance(v, numbers.Number) for v in values.ravel())
    return values.dtype.kind in "biuf"


def _check_labels_like(y_true, pred, name):
    """Refuse predictions that could never equal ``y_true``: labels written otherwise, scores.

    Each record is right where its prediction equals its label, so "1"
    against 1, or a probability against a 0/1 label, would count every
    record wrong without a word.
    """
    if _numeric(y_true) != _numeric(pred):
        raise ValueError(
            f"{name} holds labels written otherwise than y_true's ({pred.dtype} against "
            f"{y_true.dtype}): each would count as an error; write both alike.")
    if _numeric(pred) and pred.dtype.kind == "f" and not np.all(np.isnan(pred)):
        values = pred[np.isfinite(pred)]
        fractions = values[values != np.round(values)]
        if fractions.size:
            raise ValueError(
                f"{name} holds scores (non-integer values such as {float(fractions[0])!r}), not "
                "predicted labels: threshold them first.")
    if (y_true.dtype.kind == "f" and np.isnan(y_true).any()) or (
            pred.dtype.kind == "f" and np.isnan(pred).any()):
        raise ValueError(f"y_true or {name} holds NaN, which equals no label.")


def mcnemar_test(y_true, pred_a, pred_b):
    """Exact McNemar test of two classifiers' accuracy on the same records.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, n_labels)
        True labels, or a label indicator matrix; a record of a matrix is
        right only when all its labels are.
    pred_a : array-like of the same shape as y_true
        Predictions of classifier a.
    pred_b : array-like of the same shape as y_true
        Predictions of classifier b.

    Returns
    -------
    dict
        ``b`` (a right, b wrong), ``c`` (a wrong, b right) and the exact
        two-sided binomial ``p_value``.
        ``p_value`` is 1 when no record is right for one classifier and
        wrong for the other (``b + c == 0``).

    Raises
    ------
    ValueError
        If ``y_true`` holds no record, or ``pred_a`` or ``pred_b`` does not
        have the shape of ``y_true``, or holds labels that could never equal
        ``y_true``'s: written otherwise (``"1"`` against ``1``), scores
        (non-integer values) or NaN.

    Examples
    --------
    >>> y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    >>> pred_a = [0, 1, 0, 1, 0, 1, 0, 1, 0, 0]  # 1 error
    >>> pred_b = [1, 0, 1, 0, 0, 1, 1, 1, 0, 1]  # 5 errors, none shared with a
    >>> result = mcnemar_test(y, pred_a, pred_b)
    >>> result["b"], result["c"], round(result["p_value"], 3)
    (5, 1, 0.219)
    """
    # label_array: a sparse label matrix dense (np.asarray made it a 0-d object array)
    y_true, pred_a, pred_b = (label_array(a)[0] for a in (y_true, pred_a, pred_b))
    if y_true.ndim == 0 or not len(y_true):
        raise ValueError(f"mcnemar_test needs at least one record; y_true has shape "
                         f"{y_true.shape}.")
    for name, pred in (("pred_a", pred_a), ("pred_b", pred_b)):
        if pred.shape != y_true.shape:
            raise ValueError(f"{name} must have the shape of y_true, {y_true.shape}; got "
                             f"shape {pred.shape}.")
        _check_labels_like(y_true, pred, name)
    a_ok = (pred_a == y_true).reshape(len(y_true), -1).all(axis=1)
    b_ok = (pred_b == y_true).reshape(len(y_true), -1).all(axis=1)
    b, c = int(np.sum(a_ok & ~b_ok)), int(np.sum(~a_ok & b_ok))
    p = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "p_value": p}
