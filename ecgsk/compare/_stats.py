"""Pairwise statistical comparison of pipelines on the same test records."""

import itertools
import warnings

import numpy as np
import pandas as pd

from ..metrics import challenge_f1, delong_test, macro_auroc, mcnemar_test, paired_bootstrap

__all__ = ["auroc_metric", "holm", "pairwise_comparison", "mean_and_spread"]

ALPHA = 0.05


def auroc_metric(task_type, n_classes):
    """The AUROC compared: macro over labels (multi-label), plain (binary), macro one-vs-rest."""
    def metric(y, proba):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if task_type == "multilabel":
                return macro_auroc(y, proba)
            if task_type == "binary":
                return macro_auroc(y, proba[:, 1])
            return macro_auroc(np.eye(n_classes, dtype=np.int64)[y], proba)
    name = {"multilabel": "macro_auroc", "binary": "auroc"}.get(task_type, "macro_auroc_ovr")
    return name, metric


def holm(p_values):
    """Holm-Bonferroni adjusted p-values (family-wise error), in the input order.

    Parameters
    ----------
    p_values : array-like of shape (n,)
        The p-values of one family of tests; NaN for a test that could not
        be made (an AUROC undefined on the test records).

    Returns
    -------
    ndarray of shape (n,)
        The adjusted p-values, capped at 1: with ``m`` the number of tests
        made (the p-values that are not NaN), the ``i``-th smallest p-value
        times ``m - i + 1``, made non-decreasing in that order. A NaN
        p-value stays NaN: a test not made cannot reject, so it does not
        count in ``m``.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3)
    array([0.03, 0.06, 0.06])
    >>> holm([0.01, float("nan"), 0.03]).round(3)
    array([0.02,  nan, 0.03])
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    made = np.flatnonzero(~np.isnan(p))
    m = len(made)
    if m == 0:
        return out
    order = made[np.argsort(p[made])]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def pairwise_comparison(y, results, task_type, n_classes, *, n_boot=1000, seed=0,
                        alpha=ALPHA, classes=None):
    """Test every pair of pipelines on the same test records.

    Parameters
    ----------
    y : ndarray
        Test targets (class indices or indicator matrix).
    results : dict
        Pipeline name to ``(proba, pred)`` on the test records.
    task_type : {"multilabel", "binary", "multiclass", "cinc"}
        How the probabilities are scored (:func:`auroc_metric`): macro AUROC
        over labels or one-vs-rest classes, or the AUROC of the positive
        class.
    n_classes : int
        Number of classes (columns of each ``proba``).
    n_boot : int, default=1000
        Paired bootstrap resamples of the test records.
    seed : int, default=0
        Seed of the resamples; every pair is resampled alike.
    alpha : float, default=0.05
        Significance level of the Holm-adjusted bootstrap p-value that
        names a winner.
    classes : sequence of str or None
        Class names; for CinC 2017 (``task_type="cinc"``) they find the
        classes its challenge F1 scores (N, A and O).

    Returns
    -------
    pandas.DataFrame
        One row per pair: both AUROCs, their difference with its paired
        bootstrap confidence interval and p-value, the Holm-adjusted p-value
        over all pairs, DeLong's p-value (binary), both accuracies and
        McNemar's p-value (single-label), for CinC 2017 both challenge F1
        scores and the paired bootstrap p-value of their difference
        (``p_challenge_f1``; the challenge's own metric, not Holm-adjusted),
        and ``winner``: the pipeline with
        the higher AUROC when the adjusted bootstrap p-value is below
        ``alpha``, else ``"none (p >= <alpha>)"``, or ``"undefined"`` when
        there is no bootstrap p-value (``n_boot=0``, or an AUROC undefined on
        these records).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> y = np.arange(100) % 2  # binary test targets
    >>> def predictions(noise):  # (proba, pred) of a model this noisy
    ...     p1 = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, noise, 100))))
    ...     return np.column_stack([1 - p1, p1]), (p1 >= 0.5).astype(int)
    >>> results = {"cnn": predictions(0.5), "logreg": predictions(1.5)}
    >>> table = pairwise_comparison(y, results, "binary", n_classes=2, n_boot=200)
    >>> table[["pipeline_a", "pipeline_b", "value_a", "value_b", "winner"]].round(3)
      pipeline_a pipeline_b  value_a  value_b winner
    0        cnn     logreg      1.0    0.844    cnn
    """
    name, metric = auroc_metric(task_type, n_classes)
    rows = []
    for a, b in itertools.combinations(results, 2):
        (pa, ya), (pb, yb) = results[a], results[b]
        row = {"pipeline_a": a, "pipeline_b": b, "metric": name}
        try:
            boot = paired_bootstrap(metric, y, pa, pb, n_boot=n_boot, random_state=seed)
            row.update({"value_a": metric(y, pa), "value_b": metric(y, pb), "diff": boot["diff"],
                        "diff_ci_low": boot["low"], "diff_ci_high": boot["high"],
                        "p_bootstrap": boot["p_value"]})
        except ValueError:  # AUROC undefined on these test records
            row.update({"value_a": np.nan, "value_b": np.nan, "diff": np.nan,
                        "diff_ci_low": np.nan, "diff_ci_high": np.nan, "p_bootstrap": np.nan})
        if task_type == "binary" and len(np.unique(y)) == 2:
            finite = np.isfinite(pa[:, 1]).all() and np.isfinite(pb[:, 1]).all()
            row["p_delong"] = (delong_test(y, pa[:, 1], pb[:, 1])["p_value"] if finite
                               else np.nan)  # undefined, as the AUROC above
        if task_type != "multilabel":
            row["accuracy_a"] = float(np.mean(ya == y))
            row["accuracy_b"] = float(np.mean(yb == y))
            row["p_mcnemar"] = mcnemar_test(y, ya, yb)["p_value"]
        if task_type == "cinc" and classes is not None:
            names = np.asarray(classes).astype(str)  # challenge_f1 scores N, A and O by name
            f1 = (lambda t, p: challenge_f1(names[t], names[p]))  # noqa: E731
            boot = paired_bootstrap(f1, y, ya, yb, n_boot=n_boot, random_state=seed)
            row.update({"challenge_f1_a": f1(y, ya), "challenge_f1_b": f1(y, yb),
                        "p_challenge_f1": boot["p_value"]})
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table.insert(table.columns.get_loc("p_bootstrap") + 1, "p_holm", holm(table["p_bootstrap"]))
    table["winner"] = [
        "undefined" if np.isnan(r.p_holm)
        else (r.pipeline_a if r["diff"] > 0 else r.pipeline_b) if r.p_holm < alpha
        else f"none (p >= {alpha:g})" for _, r in table.iterrows()]
    return table


def mean_and_spread(values, prefix):
    """``{prefix}_mean`` and ``{prefix}_std`` of per-fold scores, NaN folds left out.

    The spread is numpy's (``ddof=0``, as sklearn's ``cv_results_``), and only
    from two finite folds on: one fold's 0.0 read as folds that agree. No
    finite fold gives an empty dict. Shared by ``compare`` and ``tune``.
    """
    values = np.asarray(values, dtype=float)
    finite = int(np.isfinite(values).sum())
    out = {f"{prefix}_mean": float(np.nanmean(values))} if finite else {}
    if finite >= 2:
        out[f"{prefix}_std"] = float(np.nanstd(values))
    return out
