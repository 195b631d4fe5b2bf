"""Permutation importance of lead × time segments of the signal, for any fitted pipeline.

sklearn's :func:`~sklearn.inspection.permutation_importance` permutes one
column at a time. On raw signals a column is one sample of one lead, which
no model depends on alone (and 12 leads × 1,000 samples would mean 12,000
predictions per repeat); on the feature table of a classic baseline the
columns are features, which cannot be drawn on the ECG. Here the permuted
unit is a *cell*: one lead over one time segment. Each cell is shuffled
across records (record ``i`` gets record ``perm[i]``'s samples there), as
sklearn shuffles a column, and the drop of the score is the cell's
importance. That is model-agnostic (features + logistic regression, random
convolutions, networks alike), costs ``n_leads × n_segments × n_repeats``
predictions, and gives a map of ``(leads, samples)`` to overlay on the
record. Scoring goes through sklearn's scorers (:func:`~sklearn.metrics.check_scoring`)
when ``scoring`` is given.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["SignalPermutationImportance", "permutation_importance_signal", "auroc_score"]


@dataclass
class SignalPermutationImportance:
    """Result of :func:`permutation_importance_signal`.

    Attributes
    ----------
    importances_mean, importances_std : ndarray of shape (n_leads, n_segments)
        Mean and standard deviation over repeats of the score drop; the
        standard deviation is NaN with one repeat (not measured).
    importances : ndarray of shape (n_leads, n_segments, n_repeats)
        The score drop of each repeat.
    baseline_score : float
        Score on the unpermuted signals.
    edges : ndarray of shape (n_segments + 1,)
        Sample index of the segment boundaries.

    Examples
    --------
    >>> import numpy as np
    >>> result = SignalPermutationImportance(  # as permutation_importance_signal returns it
    ...     importances_mean=np.array([[0.2, -0.1]]), importances_std=np.zeros((1, 2)),
    ...     importances=np.zeros((1, 2, 1)), baseline_score=0.9, edges=np.array([0, 2, 4]))
    >>> result.relevance()  # 1 lead, 4 samples; the negative segment gets 0
    array([[0.2, 0.2, 0. , 0. ]], dtype=float32)
    >>> result.to_frame(lead_names=["II"], sampling_rate=2)
      lead  start_s  stop_s  importance_mean  importance_std
    0   II      0.0     1.0              0.2             0.0
    1   II      1.0     2.0             -0.1             0.0
    """

    importances_mean: np.ndarray
    importances_std: np.ndarray
    importances: np.ndarray
    baseline_score: float
    edges: np.ndarray

    def relevance(self, n_samples=None):
        """The positive mean importance spread over the samples: shape ``(n_leads, n_samples)``.

        A cell whose permutation does not lower the score (importance <= 0)
        gets 0. ``n_samples`` defaults to the length the importance was
        computed on; another length stretches the segments to it.

        Parameters
        ----------
        n_samples : int, default=None
            Samples per lead of the map; ``edges[-1]`` (the length of the
            signals the importance was computed on) when None. Another
            length stretches or shrinks the map to it: sample ``i`` takes the
            value of sample ``floor(i * edges[-1] / n_samples)``.

        Returns
        -------
        ndarray of float32 of shape (n_leads, n_samples)
            Each cell's mean importance, clipped at 0, repeated over the
            samples of its segment.
        """
        n = int(self.edges[-1])
        out = np.zeros((self.importances_mean.shape[0], n), dtype=np.float32)
        for s in range(len(self.edges) - 1):
            out[:, self.edges[s]:self.edges[s + 1]] = np.clip(
                self.importances_mean[:, s], 0, None)[:, None]
        if n_samples is not None and n_samples != n:
            idx = np.minimum((np.arange(n_samples) * n / n_samples).astype(int), n - 1)
            out = out[:, idx]
        return out

    def to_frame(self, lead_names=None, sampling_rate=None):
        """One row per lead and segment: lead, start, stop (samples or s), mean, std.

        Parameters
        ----------
        lead_names : sequence of str, default=None
            Name of each lead, in the order of the importance's rows;
            ``"0"``, ``"1"``, ... when None.
        sampling_rate : float, default=None
            Sampling rate in Hz of the signals: segment bounds are then given
            in seconds (columns ``start_s``, ``stop_s``); in samples
            (``start_sample``, ``stop_sample``) when None.

        Returns
        -------
        pandas.DataFrame
            Columns ``lead``, the two bounds, ``importance_mean`` and
            ``importance_std``; rows lead by lead, segments in time order.
        """
        import pandas as pd

        n_leads, n_seg = self.importances_mean.shape
        names = list(lead_names) if lead_names is not None else [str(i) for i in range(n_leads)]
        if len(names) != n_leads:
            raise ValueError(f"lead_names names {len(names)} leads, but the importance has "
                             f"{n_leads}.")
        scale = 1.0 if sampling_rate is None else 1.0 / float(sampling_rate)
        unit = "sample" if sampling_rate is None else "s"
        rows = []
        for i in range(n_leads):
            for s in range(n_seg):
                rows.append({"lead": names[i], f"start_{unit}": self.edges[s] * scale,
                             f"stop_{unit}": self.edges[s + 1] * scale,
                             "importance_mean": self.importances_mean[i, s],
                             "importance_std": self.importances_std[i, s]})
        return pd.DataFrame(rows)


def auroc_score(estimator, X, y, n_classes=None):
    """Macro AUROC of ``estimator``'s probabilities, one-vs-rest over the classes it can score.

    ``y`` is a 0/1 indicator matrix (multi-label) or class indices. Classes
    with only positive or only negative records are left out of the mean
    (a small test set may lack one). Probabilities come from
    :func:`ecgsk.tracking.predict_proba_matrix`, so any ecgsk pipeline works.

    Parameters
    ----------
    estimator : fitted estimator
        Anything :func:`~ecgsk.tracking.predict_proba_matrix` gets
        probabilities from.
    X : array-like
        The records, as ``estimator`` takes them.
    y : array-like of shape (n,) or (n, n_classes)
        Labels of ``estimator.classes_`` (strings too), class indices in
        the order of ``estimator.classes_``, or a 0/1 indicator matrix.
    n_classes : int, default=None
        Number of classes (at least 2 probability columns are asked for);
        when None, the length of ``estimator.classes_``, else the columns
        of ``y``, or ``max(y) + 1``. Given, integer ``classes_`` below it
        are indices of the task's classes, as in
        :func:`~ecgsk.tracking.predict_proba_matrix`: a label 3 is scored
        on column 3 even when class 2 was never seen in training.

    Returns
    -------
    float
        The mean AUROC over the classes with both positive and negative
        records.

    Raises
    ------
    ValueError
        If no class has both positive and negative records in ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> y = np.arange(60) % 3
    >>> X = rng.normal(size=(60, 3)) + y[:, None] * [1, 0, 0]  # feature 0 tells the classes apart
    >>> round(auroc_score(LogisticRegression().fit(X, y), X, y), 3)
    0.781
    """
    from sklearn.metrics import roc_auc_score

    from ..tracking import predict_proba_matrix
    from ..tracking._model import task_columns

    y, classes, positions = _class_indices(estimator, y)
    if n_classes is None:
        n_classes = (y.shape[1] if y.ndim == 2 else len(classes) if classes is not None
                     else int(y.max()) + 1)
    proba = predict_proba_matrix(estimator, X, max(n_classes, 2))
    if y.ndim == 1 and len(y) and not 0 <= y.min() <= y.max() < proba.shape[1]:
        # An index past the columns was a record negative for every class, and scored.
        raise ValueError(f"y holds class indices out of range for the {proba.shape[1]} "
                         f"probability columns (values {y.min()} to {y.max()}).")
    columns = positions and task_columns(classes, len(classes), proba.shape[1])
    if columns:
        # Integer classes_ of the task's classes (0, 1, 3 of 4) are their own columns
        # there, not their positions in classes_: a label 3 is scored on column 3.
        y = np.asarray(columns)[y]
    indicator = y if y.ndim == 2 else (y[:, None] == np.arange(proba.shape[1])).astype(int)
    scores = [roc_auc_score(indicator[:, j], proba[:, j]) for j in range(proba.shape[1])
              if 0 < indicator[:, j].sum() < len(indicator)]
    if not scores:
        raise ValueError("no class has both positive and negative records in y: AUROC is "
                         "undefined; pass more records or another scoring.")
    return float(np.mean(scores))


def _class_indices(estimator, y):
    """``y`` as class indices into ``estimator.classes_`` (or as given), those classes,
    and whether ``y`` was mapped from labels to positions.

    Single-label ``y`` whose values are all labels of ``classes_`` is mapped
    to their positions, which are the columns of ``predict_proba``; other
    integer ``y`` is read as indices already, unless some of it are labels
    of ``classes_`` that are not their own positions (refused: which is
    which cannot be told). A label matrix is returned as it is.
    """
    y = np.asarray(y)
    classes = getattr(estimator, "classes_", None)
    classes = None if classes is None or np.ndim(classes) != 1 else np.asarray(classes)
    if y.ndim != 1:
        return y, classes, False
    if classes is not None and np.isin(y, classes).all():
        position = {label: i for i, label in enumerate(classes.tolist())}
        y = np.array([position[label] for label in y.tolist()], dtype=np.int64)
        return y, classes, True
    indices = classes is None or np.array_equal(classes, np.arange(len(classes)))
    if y.dtype.kind not in "iu" or (not indices and np.isin(y, classes).any()):
        # Labels partly of classes_ (1, 2, 3 and an unseen 4) would all be read as indices.
        shown = [v for v in dict.fromkeys(y.tolist()) if classes is None or v not in classes]
        raise ValueError(
            f"y holds {shown[:3]!r}, which are not labels of the estimator's classes_ "
            f"({None if classes is None else classes.tolist()!r}); pass its labels, or "
            "class indices in the order of classes_.")
    return y, classes, False


def permutation_importance_signal(estimator, X, y, *, n_segments=10, n_repeats=3,
                                  scoring=None, n_classes=None, random_state=0):
    """Importance of each lead × time segment: the score drop when it is shuffled across records.

    Parameters
    ----------
    estimator : fitted estimator
        Anything taking signals ``(n, leads, samples)`` (an ecgsk pipeline).
    X : array-like of shape (n, leads, samples)
        Held-out signals (the importance of what the model *uses* on new data).
    y : array-like of shape (n,) or (n, n_classes)
        Labels of ``estimator.classes_`` (strings too), class indices in
        the order of ``estimator.classes_``, or a 0/1 indicator matrix.
    n_segments : int, default=10
        Equal time segments per lead (1 s each for a 10 s record).
    n_repeats : int, default=3
        Permutations per cell; the importance is their mean drop (with one,
        ``importances_std`` is NaN).
    scoring : None, str or callable
        None: macro AUROC (:func:`auroc_score`). Otherwise an sklearn
        scoring name or ``scorer(estimator, X, y)``, through
        :func:`sklearn.metrics.check_scoring`.
    n_classes : int or None
        Number of classes for the default scorer (see :func:`auroc_score`).
    random_state : int, default=0
        Seeds the permutations (:func:`numpy.random.default_rng`); an int gives
        the same importances every time.

    Returns
    -------
    SignalPermutationImportance

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2, 100)).astype("float32"); y = np.arange(60) % 2
    >>> X[y == 1, 1, 20:30] += 3  # only lead 2, samples 20-29 tell the classes apart
    >>> flat = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    >>> model = make_pipeline(flat, LogisticRegression()).fit(X, y)
    >>> result = permutation_importance_signal(model, X, y, n_segments=10)
    >>> lead, segment = np.unravel_index(result.importances_mean.argmax(), (2, 10))
    >>> int(lead), int(segment)
    (1, 2)
    """
    from sklearn.metrics import check_scoring

    from .._validation import check_signals

    X = check_signals(X, name="X")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} records but y has {len(y)}.")
    if len(X) < 2:
        raise ValueError("permutation importance needs at least 2 records to shuffle.")
    for value, name in ((n_segments, "n_segments"), (n_repeats, "n_repeats")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    n_leads, n = X.shape[1:]
    if n_segments > n:
        raise ValueError(f"n_segments={n_segments} is more than the {n} samples per record.")
    if scoring is None:
        if not hasattr(estimator, "predict_proba"):
            from sklearn.pipeline import Pipeline

            what = "Pipeline" if isinstance(estimator, Pipeline) else type(estimator).__name__
            raise ValueError(
                f"{what} has no predict_proba, which the default AUROC "
                "scoring reads: wrap its classifier in ecgsk.baselines.DecisionProba (as "
                "compare does), or pass scoring= a scorer it can give.")

        def score(est, data):
            return auroc_score(est, data, y, n_classes)
    else:
        scorer = check_scoring(estimator, scoring=scoring)
        indices, classes, _ = _class_indices(estimator, y)
        labels = y
        if indices.ndim == 1 and classes is not None:
            # Class indices, as y may be given, are scored as the labels they stand for.
            if len(indices) and not 0 <= indices.min() <= indices.max() < len(classes):
                raise ValueError(f"y holds class indices out of range for the estimator's "
                                 f"{len(classes)} classes_ {classes.tolist()!r}.")
            labels = classes[indices]

        def score(est, data):
            return float(scorer(est, data, labels))
    edges = np.linspace(0, n, n_segments + 1).round().astype(int)
    rng = np.random.default_rng(random_state)
    baseline = score(estimator, X)
    drops = np.zeros((n_leads, n_segments, n_repeats))
    work = X.copy()
    for r in range(n_repeats):
        perm = rng.permutation(len(X))
        for lead in range(n_leads):
            for s in range(n_segments):
                a, b = edges[s], edges[s + 1]
                work[:, lead, a:b] = X[perm, lead, a:b]
                drops[lead, s, r] = baseline - score(estimator, work)
                work[:, lead, a:b] = X[:, lead, a:b]
    # One permutation per cell measures no spread: NaN, not a standard deviation of 0.
    spread = drops.std(axis=2) if n_repeats > 1 else np.full(drops.shape[:2], np.nan)
    return SignalPermutationImportance(importances_mean=drops.mean(axis=2),
                                       importances_std=spread, importances=drops,
                                       baseline_score=baseline, edges=edges)
