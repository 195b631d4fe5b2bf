"""Bootstrap confidence intervals and the paired bootstrap test."""

import contextlib
import numbers
import warnings

import numpy as np
import scipy.sparse
from sklearn.utils import check_random_state

from .._validation import check_seed

__all__ = ["bootstrap_ci", "paired_bootstrap"]


#: Draws per resample kept, at most, for a label matrix whose resamples often lose a class.
_MAX_DRAWS_PER_RESAMPLE = 1000
#: Draws after which a label matrix none of whose resamples kept every class is given
#: up: 30 labels of one positive each drew the whole cap (15 s for 50 resamples).
_HOPELESS_DRAWS = 10_000
_NO_RESAMPLE = ("{name}: none of the {n_boot} resamples could be scored (each lost a "
                "class of y_true, or the metric was undefined on it), so there is no "
                "interval; score more records.")


def _resamples(y_true, n_boot, random_state):
    """Record indices of ``n_boot`` resamples.

    For a label matrix, a resample that loses a class (a column holding both
    values on all records holds one value only there) is drawn again: a macro
    average over columns would otherwise average fewer classes. Strodthoff et
    al. 2020 draw PTB-XL's resamples so too; on fold 10 of the shared records,
    7 of 2,000 plain resamples keep all 47 defined statements of the "all"
    task. After ``_MAX_DRAWS_PER_RESAMPLE * n_boot`` draws, the resamples
    kept so far are all there are. Other targets are left to the metric.
    """
    rng = check_random_state(random_state)
    n = len(y_true)
    if not (y_true.ndim == 2 and y_true.shape[1] > 1):
        yield from (rng.randint(0, n, size=n) for _ in range(n_boot))
        return
    both = y_true.max(axis=0) != y_true.min(axis=0)
    labels, kept = y_true[:, both], 0
    for draw in range(_MAX_DRAWS_PER_RESAMPLE * n_boot):
        if kept == n_boot or (kept == 0 and draw == _HOPELESS_DRAWS):
            return  # none of the first draws keeps every class: the rest would not either
        idx = rng.randint(0, n, size=n)
        part = labels[idx]
        if not (part.max(axis=0) == part.min(axis=0)).any():
            kept += 1
            yield idx


def _check_records(**arrays):
    """The arrays as numpy arrays of one number of records (at least 1-D), named if not."""
    # A sparse label matrix dense (np.asarray made it a 0-d array); other inputs as they
    # are: a metric may index scores by integer labels that a DataFrame would make floats.
    arrays = {name: a.toarray() if scipy.sparse.issparse(a) else np.asarray(a)
              for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.ndim == 0:  # len() of an unsized object
            raise ValueError(f"{name} must be an array of records, got the scalar {a!r}.")
    lengths = [len(a) for a in arrays.values()]
    if len(set(lengths)) > 1:
        *first, last = arrays
        raise ValueError(f"{', '.join(first)} and {last} must have the same number of "
                         f"records; got {', '.join(map(str, lengths[:-1]))} and "
                         f"{lengths[-1]}.")
    return arrays.values()


def _check_options(n_boot, confidence, random_state):
    """``n_boot`` a non-negative integer, ``confidence`` in (0, 1), a seed; named if not."""
    check_seed(random_state)  # numpy's "Seed must be between 0 and 2**32 - 1" names nothing
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) \
            or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer (resamples to draw), got "
                         f"{n_boot!r}.")
    if isinstance(confidence, (bool, np.bool_)) or not isinstance(confidence, numbers.Real) \
            or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")


@contextlib.contextmanager
def _each_warning_once():
    """Issue each distinct warning of the block once, at the caller of the bootstrap.

    The metric runs on every resample: a macro AUROC that leaves out a class
    without positives said so ``n_boot + 1`` times.
    """
    seen = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            yield
    finally:
        issued = set()
        for w in seen:
            key = (w.category, str(w.message))
            if key not in issued:
                issued.add(key)
                warnings.warn(w.message, stacklevel=4)  # past contextlib, to the caller


def _safe(metric, *args):
    try:
        value = metric(*args)
    except ValueError:  # e.g. a resample with a single class
        return np.nan
    return float(value)


def bootstrap_ci(metric, y_true, y_score, *, n_boot=1000, confidence=0.95, random_state=0):
    """Percentile bootstrap confidence interval of ``metric(y_true, y_score)``.

    Records are resampled with replacement; resamples on which the metric is
    undefined (a class absent) are left out; a warning the metric gives is
    given once, not once per resample. A resample of a label matrix in
    which a column that holds both values on all records holds only one is
    drawn again (as Strodthoff et al. 2020 do for PTB-XL). An interval that
    rests on fewer than half of ``n_boot`` resamples is returned with a
    warning that says on how many.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_score)`` returning a number; a ``ValueError`` it
        raises on a resample marks that resample undefined.
    y_true : array-like of shape (n,) or (n, n_classes)
        True labels.
    y_score : array-like of shape (n,) or (n, n_classes)
        Scores or predictions of the same ``n`` records.
    n_boot : int, default=1000
        Bootstrap resamples drawn.
    confidence : float, default=0.95
        Confidence level of the interval, in (0, 1).
    random_state : int, RandomState instance or None, default=0
        Seed of the resamples (:func:`sklearn.utils.check_random_state`).

    Returns
    -------
    point, low, high : float
        ``point`` is the metric on all records; ``low`` and ``high`` are NaN
        when the metric is undefined on every resample (or ``n_boot`` is 0).

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_score`` hold different numbers of records,
        ``n_boot`` is not a non-negative integer, ``confidence`` is not in
        (0, 1), or ``metric`` raises it on the whole set of records.

    Examples
    --------
    >>> from sklearn.metrics import accuracy_score
    >>> y = [0, 1] * 50
    >>> point, low, high = bootstrap_ci(accuracy_score, y, y, n_boot=100)
    >>> point, low, high
    (1.0, 1.0, 1.0)
    """
    y_true, y_score = _check_records(y_true=y_true, y_score=y_score)
    _check_options(n_boot, confidence, random_state)
    with _each_warning_once():
        point = float(metric(y_true, y_score))
        stats = np.array([_safe(metric, y_true[i], y_score[i])
                          for i in _resamples(y_true, n_boot, random_state)])
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        if n_boot:  # an interval of NaN said nothing of why
            warnings.warn(_NO_RESAMPLE.format(name="bootstrap_ci", n_boot=n_boot),
                          UserWarning, stacklevel=2)
        return point, np.nan, np.nan
    if stats.size < n_boot / 2:
        warnings.warn(
            f"bootstrap_ci: the interval rests on {stats.size} of {n_boot} resamples; the "
            "others lost a class of y_true, or the metric was undefined on them. Score more "
            "records for a reliable interval.", UserWarning, stacklevel=2)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return point, float(low), float(high)


def paired_bootstrap(metric, y_true, score_a, score_b, *, n_boot=1000, confidence=0.95,
                     random_state=0):
    """Paired bootstrap of the difference ``metric(a) - metric(b)`` on the same records.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, score)`` returning a number; a ``ValueError`` it
        raises on a resample leaves that resample out.
    y_true : array-like of shape (n,) or (n, n_classes)
        True labels.
    score_a : array-like of shape (n,) or (n, n_classes)
        Scores or predictions of model a on the same ``n`` records.
    score_b : array-like of shape (n,) or (n, n_classes)
        Scores or predictions of model b on the same ``n`` records.
    n_boot : int, default=1000
        Bootstrap resamples drawn; both models are scored on each.
    confidence : float, default=0.95
        Confidence level of the interval of the difference, in (0, 1).
    random_state : int, RandomState instance or None, default=0
        Seed of the resamples (:func:`sklearn.utils.check_random_state`).

    Returns
    -------
    dict
        ``diff`` (the observed difference), ``low`` and ``high`` (its
        confidence interval) and ``p_value``: the two-sided bootstrap p-value
        of "no difference", twice the share of resamples whose difference
        falls on the other side of zero (a zero difference counts half; one
        is added to the count and to the number of resamples), capped at 1;
        1 when the observed difference is 0.
        ``n_boot``: the number of resamples on which both metrics were
        defined, those the interval and the p-value come from. When it is 0
        (no such resample, or ``n_boot=0``), ``low``, ``high`` and
        ``p_value`` are NaN, as :func:`bootstrap_ci`'s interval is.

    Raises
    ------
    ValueError
        If ``y_true``, ``score_a`` and ``score_b`` hold different numbers of
        records, ``n_boot`` is not a non-negative integer, ``confidence`` is
        not in (0, 1), or ``metric`` raises it on the whole set of records.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import roc_auc_score
    >>> rng = np.random.RandomState(0)
    >>> y = np.arange(100) % 2
    >>> score_a, score_b = y + rng.normal(0, 0.5, 100), y + rng.normal(0, 1.5, 100)
    >>> result = paired_bootstrap(roc_auc_score, y, score_a, score_b, n_boot=200)
    >>> round(result["diff"], 3), round(result["p_value"], 3)
    (0.2, 0.01)
    """
    y_true, score_a, score_b = _check_records(y_true=y_true, score_a=score_a, score_b=score_b)
    _check_options(n_boot, confidence, random_state)
    diffs = []
    with _each_warning_once():
        diff = float(metric(y_true, score_a) - metric(y_true, score_b))
        for idx in _resamples(y_true, n_boot, random_state):
            a = _safe(metric, y_true[idx], score_a[idx])
            b = _safe(metric, y_true[idx], score_b[idx])
            if not (np.isnan(a) or np.isnan(b)):
                diffs.append(a - b)
    diffs = np.asarray(diffs)
    if diffs.size == 0:
        if n_boot:
            warnings.warn(_NO_RESAMPLE.format(name="paired_bootstrap", n_boot=n_boot),
                          UserWarning, stacklevel=2)
        return {"diff": diff, "low": np.nan, "high": np.nan, "p_value": np.nan, "n_boot": 0}
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    # Share of resamples on the other side of zero (ties count half); no difference
    # seen has no side, and is no evidence of one: p = 1 whichever score comes first.
    other = (np.sum(diffs < 0) + 0.5 * np.sum(diffs == 0)) if diff > 0 else \
        (np.sum(diffs > 0) + 0.5 * np.sum(diffs == 0))
    p_value = 1.0 if diff == 0 else min(1.0, 2 * (other + 1) / (len(diffs) + 1))
    return {"diff": diff, "low": float(low), "high": float(high), "p_value": float(p_value),
            "n_boot": int(len(diffs))}
