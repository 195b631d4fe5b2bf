"""Explain fitted ecgsk pipelines on records, draw the result, log it to MLflow."""

import os
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Explanation", "explain", "log_explanations", "METHODS"]

#: Methods of :func:`explain`.
METHODS = ("auto", "gradcam", "saliency", "permutation")

_TITLES = {"gradcam": "Grad-CAM", "saliency": "gradient saliency",
           "permutation": "permutation importance (lead × segment)"}


@dataclass
class Explanation:
    """Relevance of every sample of some records, as :func:`explain` returns it.

    Attributes
    ----------
    relevance : ndarray of shape (n, leads, samples)
        Non-negative; on the same grid as ``signals``.
    signals : ndarray of shape (n, leads, samples)
        The records the relevance lies on: the input given, or the output of
        the last step that cannot be traced back (see ``notes``).
    method : str
        ``"gradcam"``, ``"saliency"`` or ``"permutation"``.
    target : ndarray of shape (n,) or None
        Class index explained for each record (gradient methods); None for
        permutation importance, which explains the score over all classes.
    notes : list of str
        How the relevance was mapped back to the signals.
    permutation : SignalPermutationImportance or None
        The per-cell importances, for ``method="permutation"``.
    aligned : bool
        Whether the samples of ``signals`` are those of the input given (same
        time axis). False when ``signals`` is the output of a step that cannot
        be traced back, after a step that resampled or cropped the records.
    """

    relevance: np.ndarray
    signals: np.ndarray
    method: str
    target: np.ndarray | None = None
    notes: list = field(default_factory=list)
    permutation: object = None
    aligned: bool = True


def _split_network(estimator):
    """``(steps, module, skorch_net)`` when ``estimator`` ends in a skorch net, else None.

    ``steps`` are the fitted transformers before the net, in order, those of
    nested pipelines included: a sub-pipeline among the steps, or a last
    step that is a pipeline ending in the net.
    """
    import torch

    if isinstance(estimator, torch.nn.Module):
        return [], estimator, None
    from ..tracking import find_skorch_net

    net = find_skorch_net(estimator)
    if net is None:
        return None
    steps, current = [], estimator
    while current is not net:
        if hasattr(current, "best_estimator_"):  # a fitted GridSearchCV: its refitted best
            current = current.best_estimator_
            continue
        chain = getattr(current, "steps", None)
        if not chain:
            return None
        steps += _flat([step for _, step in chain[:-1]])
        current = chain[-1][1]
    module = getattr(net, "module_", None)
    if module is None:
        raise ValueError(f"the network of {type(estimator).__name__} is not fitted.")
    return steps, module, net


def _flat(steps):
    """The transformers of ``steps``, those of sub-pipelines in their place.

    An imbalanced-learn sampler (``fit_resample`` and no ``transform``) is
    left out: its pipeline skips it when predicting.
    """
    out = []
    for step in steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if hasattr(step, "fit_resample") and not hasattr(step, "transform"):
            continue
        inner = getattr(step, "steps", None)
        out += _flat([s for _, s in inner]) if inner else [step]
    return out


def _task_column(net, output, classes):
    """The column of ``classes`` that output ``output`` of ``net`` is (see
    :func:`ecgsk.tracking._model.task_columns`: a net's outputs follow its sorted
    ``classes_``)."""
    from ..tracking._model import task_columns

    fitted = getattr(net, "classes_", None)
    columns = task_columns(fitted, None if fitted is None else len(fitted), len(classes),
                           classes)
    return output if columns is None or output >= len(columns) else columns[output]


def _predicted_targets(net, X):
    """The class ``net`` (an ECGNetClassifier) predicts for each record, as ``predict`` does.

    Its probabilities, over sliding windows where it has ``crop_length``: a
    binary net's class by its ``threshold``, the most probable class or
    label otherwise. One pass over the whole record could pick another.
    """
    proba = np.asarray(net.predict_proba(X))
    if net.target_type_ == "binary":
        return (proba[:, 1] >= net._binary_threshold()).astype(np.int64)
    return proba.argmax(axis=1)


def _stretch(relevance, n_samples):
    """Linear interpolation of ``relevance`` (n, leads, m) along time to ``n_samples``."""
    m = relevance.shape[2]
    src = (np.arange(m) + 0.5) / m
    dst = (np.arange(n_samples) + 0.5) / n_samples
    out = np.empty(relevance.shape[:2] + (n_samples,), dtype=np.float32)
    for i in range(relevance.shape[0]):
        for j in range(relevance.shape[1]):
            out[i, j] = np.interp(dst, src, relevance[i, j])
    return out


def _back(step, relevance, inputs):
    """``relevance`` on ``step``'s output placed on the grid of its ``inputs``, with a
    note; None when this step's output cannot be traced back to its input."""
    from ..preprocessing import LeadSelector, PadTruncate, RepeatPadding, Resample

    n_leads, n_samples = inputs.shape[1:]
    out_leads, out_samples = relevance.shape[1:]
    name = type(step).__name__
    if isinstance(step, RepeatPadding) and (out_leads, out_samples) == (n_leads, n_samples):
        # Its padding holds copies of the record's start: their relevance is the record's.
        kept = step._kept(inputs)
        back = relevance.copy()
        rows = np.arange(n_leads)[:, None]
        for i in np.flatnonzero((kept > 0) & (kept < n_samples)):
            folded = np.full((n_leads, kept[i]), -np.inf, dtype=np.float32)
            np.maximum.at(folded, (rows, np.arange(n_samples)[None, :] % kept[i]),
                          relevance[i])
            back[i, :, :kept[i]], back[i, :, kept[i]:] = folded, 0.0
        return back, ("RepeatPadding fills each record's padding with copies of the "
                      "record: their relevance is drawn on the record's own samples (the "
                      "largest over the copies), and the padding has none")
    if isinstance(step, LeadSelector) and out_samples == n_samples:
        back = np.zeros((len(relevance), n_leads, n_samples), dtype=np.float32)
        for j, lead in enumerate(step.indices_):
            back[:, lead] = np.maximum(back[:, lead], relevance[:, j])
        return back, (f"LeadSelector gives the network leads {step.indices_.tolist()} of the "
                      "record: the relevance is drawn on those leads")
    if out_leads != n_leads:
        return None
    if (out_leads, out_samples) == (n_leads, n_samples):
        return relevance, None  # filters, standardisation: the same grid
    if isinstance(step, Resample):
        return _stretch(relevance, n_samples), (
            f"the network sees {out_samples} samples per record ({name}): the relevance is "
            f"stretched to the {n_samples} samples given")
    if isinstance(step, PadTruncate):
        if n_samples <= out_samples:  # padded at the end
            return relevance[:, :, :n_samples].copy(), None
        start = 0 if step.crop == "left" else (n_samples - out_samples) // 2
        back = np.zeros((len(relevance), n_leads, n_samples), dtype=np.float32)
        back[:, :, start:start + out_samples] = relevance
        return back, (f"the network sees samples {start} to {start + out_samples - 1} of the "
                      f"{n_samples} given ({name}): the others have no relevance")
    return None


def _map_back(relevance, trace, network_input):
    """Carry ``relevance`` from ``network_input`` back through the steps ``trace``
    (``(step, its input signals)`` in order) as far as they can be traced; return it, the
    signals it lies on (None: the records given) and the notes."""
    notes = []
    for k in range(len(trace) - 1, -1, -1):
        step, inputs = trace[k]
        mapped = _back(step, relevance, inputs)
        if mapped is None:
            shown = trace[k + 1][1] if k + 1 < len(trace) else network_input
            notes.insert(0, f"{type(step).__name__} turns the {inputs.shape[1]} x "
                            f"{inputs.shape[2]} records into {relevance.shape[1]} x "
                            f"{relevance.shape[2]}, which cannot be traced back: the relevance "
                            f"is drawn on its output")
            # Its samples are the records' if no step up to it resampled or cropped them.
            n = trace[0][1].shape[2]
            aligned = all(x.shape[2] == n for _, x in trace[:k + 1]) and shown.shape[2] == n
            if not aligned:
                notes.append(f"the samples of {type(step).__name__}'s output are not those "
                             "of the records given (they were resampled or cropped): the "
                             "time axis counts the samples of its output")
            return relevance, shown, notes, aligned
        relevance, note = mapped
        if note:
            notes.insert(0, note)
    return relevance, None, notes, True


def explain(estimator, X, *, method="auto", target=None, y=None, layer=None, n_segments=10,
            n_repeats=3, scoring=None, n_classes=None, random_state=0):
    """Relevance of each lead and sample of ``X`` for a fitted pipeline's prediction.

    Parameters
    ----------
    estimator : fitted sklearn estimator or torch.nn.Module
        An ecgsk pipeline on raw signals. When its last step is a skorch
        network (:class:`~ecgsk.neural.ECGNetClassifier`), the previous steps
        transform ``X`` and the gradient methods explain the network
        (``module_``) on their output; a bare :class:`torch.nn.Module` is
        explained on ``X`` itself.
    X : array-like of shape (n, leads, samples)
        Records, as the pipeline takes them.
    method : {"auto", "gradcam", "saliency", "permutation"}, default="auto"
        ``"gradcam"`` (:func:`grad_cam`) and ``"saliency"``
        (:func:`saliency`) need a network; ``"permutation"``
        (:func:`permutation_importance_signal`) works for any pipeline and
        needs ``y``. ``"auto"``: Grad-CAM for networks, permutation otherwise.
    target : None, int or array-like of int
        Class explained by the gradient methods: the predicted class of each
        record when None, as ``predict`` gives it (for a binary net, by its
        ``threshold``; for multi-label nets, the most probable label; by
        sliding windows where the net has ``crop_length``).
    y : array-like or None
        Targets of ``X``, for permutation: labels of ``estimator.classes_``,
        class indices in their order, or an indicator matrix.
    layer : torch.nn.Module, str or None
        Grad-CAM layer (see :func:`grad_cam`).
    n_segments, n_repeats : int, default=10, 3
        Time segments per lead, and shuffles per segment, of
        :func:`permutation_importance_signal`.
    scoring : None, str or callable, default=None
        Its score (macro AUROC when None).
    n_classes : int or None, default=None
        Its number of classes, for the default scorer.
    random_state : int, default=0
        Seeds its permutations.

    Returns
    -------
    Explanation

    Notes
    -----
    The gradient methods explain the network's input, and the map is carried
    back through the steps before the network (nested pipelines included)
    onto ``X`` as given: steps that keep the shape (filters,
    standardisation) leave it in place; :class:`~ecgsk.preprocessing.Resample`
    stretches it; :class:`~ecgsk.preprocessing.PadTruncate` places it on the
    samples the network sees (the cropped-off ones get none);
    :class:`~ecgsk.preprocessing.LeadSelector` puts it on the leads selected;
    :class:`~ecgsk.preprocessing.RepeatPadding` folds the relevance of the
    copies in its padding back onto the record's own samples.
    A step that changes the shape otherwise (another lead count, a step of
    your own) cannot be traced back: ``signals`` is then that step's output,
    and ``notes`` say so (``aligned`` says whether its samples are still
    those of ``X``). The predicted class explained is ``predict``'s
    (a binary network's follows its ``threshold``; a network with
    ``crop_length`` predicts by sliding windows). The relevance of such a
    network is computed on the whole record at once (its global pooling
    takes any length).
    Permutation importance is one map for the whole ``X`` (how much the
    score over these records drops when a cell is shuffled among them), so
    every record gets the same ``relevance``.

    Examples
    --------
    >>> from ecgsk.explain import explain                               # doctest: +SKIP
    >>> ex = explain(fitted_pipeline, X_test[:4])                        # doctest: +SKIP
    >>> ex.relevance.shape == X_test[:4].shape                           # doctest: +SKIP
    True
    """
    from .._validation import check_signals
    from ._gradients import grad_cam, saliency
    from ._permutation import permutation_importance_signal

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    X = check_signals(X, name="X")
    parts = None if method == "permutation" else _split_network(estimator)
    if method == "auto":
        method = "gradcam" if parts is not None else "permutation"
    if method in ("gradcam", "saliency") and parts is None:
        raise ValueError(f"method={method!r} needs a network: {type(estimator).__name__} has "
                         "no skorch network as its last step; use method='permutation'.")
    if method == "permutation":
        if y is None:
            raise ValueError("method='permutation' needs the targets y of X.")
        result = permutation_importance_signal(
            estimator, X, y, n_segments=n_segments, n_repeats=n_repeats, scoring=scoring,
            n_classes=n_classes, random_state=random_state)
        rel = np.broadcast_to(result.relevance(), X.shape).copy()
        return Explanation(relevance=rel, signals=X, method=method, permutation=result,
                           notes=[f"one map for all {len(X)} records: score drop when a lead "
                                  f"× 1/{n_segments} segment is shuffled across them"])
    steps, module, net = parts
    trace, Xt = [], X
    for step in steps:
        trace.append((step, Xt))
        Xt = check_signals(step.transform(Xt), name=f"X transformed by {type(step).__name__}")
    if target is None and hasattr(net, "target_type_"):
        target = _predicted_targets(net, Xt)
    if method == "gradcam":
        rel, t = grad_cam(module, Xt, target, layer=layer)
    else:
        rel, t = saliency(module, Xt, target)
    rel, shown, notes, aligned = _map_back(rel, trace, Xt)
    signals = X if shown is None else shown
    return Explanation(relevance=rel, signals=signals, method=method, target=t, notes=notes,
                       aligned=aligned)


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "record"


def log_explanations(estimator, X, *, classes, records=None, sampling_rate=None,
                     lead_names=None, method="auto", y=None, X_score=None, y_score=None,
                     artifact_dir="explain", **explain_kwargs):
    """Explain records and log one PNG per record (and a table) to the active MLflow run.

    Parameters
    ----------
    estimator : fitted estimator
        The fitted pipeline (or :class:`torch.nn.Module`) to explain, as
        :func:`explain` takes it; its probabilities title the plots (a
        module's titles name the class alone: it gives logits).
    X : array-like of shape (n, leads, samples)
        The records to draw.
    classes : list of str
        Class names (titles name the class explained and its probability).
    records : list of str or None
        Record names, for the titles and file names; ``record_<i>`` when None.
    sampling_rate : float or None
        Hz of ``X``, for the time axis.
    lead_names : list of str or None
        Name of each lead, for the plots and the permutation table; left out
        of the plots when the relevance lies on a network input of other leads.
    method : {"auto", "gradcam", "saliency", "permutation"}, default="auto"
        As :func:`explain`.
    y : array-like or None
        Targets of ``X``, for permutation importance computed on ``X``.
    X_score, y_score : array-like or None
        Records and targets to compute permutation importance on instead of
        ``(X, y)`` (more records than are drawn give a steadier map;
        ``compare`` passes up to 250 test records).
    artifact_dir : str, default="explain"
        Folder of the logged artifacts in the run.
    **explain_kwargs
        Passed to :func:`explain` (for permutation, ``n_classes`` defaults to
        ``len(classes)``).

    Returns
    -------
    list of str
        Artifact paths logged: ``<artifact_dir>/<record>_<method>.png`` and,
        for permutation, ``<artifact_dir>/permutation_importance.csv``.

    Examples
    --------
    >>> with mlflow.start_run():                                         # doctest: +SKIP
    ...     log_explanations(pipe, X_test[:3], classes=classes, sampling_rate=100)
    """
    import mlflow

    from .._validation import check_signals
    from ..plots import plot_relevance
    from ..tracking import predict_proba_matrix

    X = check_signals(X, name="X")  # (n, samples) of one lead, as explain reads it
    records = [f"record_{i}" for i in range(len(X))] if records is None else list(records)
    if len(records) != len(X):
        raise ValueError(f"records names {len(records)} records but X has {len(X)}.")
    parts = None if method == "permutation" else _split_network(estimator)
    resolved = method if method != "auto" else ("gradcam" if parts is not None
                                                else "permutation")
    logged = []
    if resolved == "permutation":
        data, targets = (X, y) if X_score is None else (X_score, y_score)
        options = {"n_classes": len(classes), **explain_kwargs}  # a caller's n_classes wins
        ex = explain(estimator, data, method="permutation", y=targets, **options)
        frame = ex.permutation.to_frame(lead_names, sampling_rate)
        path = f"{artifact_dir}/permutation_importance.csv"
        mlflow.log_text(frame.to_csv(index=False, float_format="%.6g"), path)
        logged.append(path)
        rel = np.broadcast_to(ex.permutation.relevance(X.shape[2]), X.shape)
        ex = Explanation(relevance=rel, signals=X, method="permutation", notes=ex.notes,
                         permutation=ex.permutation)
        proba = predict_proba_matrix(estimator, X, len(classes), [str(c) for c in classes])
    else:
        ex = explain(estimator, X, method=resolved, **explain_kwargs)
        # A bare module has logits, not probabilities: its titles name the class alone.
        proba = (None if parts is not None and parts[2] is None else
                 predict_proba_matrix(estimator, X, len(classes), [str(c) for c in classes]))
    names = lead_names if ex.signals.shape[1] == len(lead_names or []) else None
    net = parts[2] if parts is not None else None
    for i, record in enumerate(records):
        if ex.target is not None:
            c = _task_column(net, int(ex.target[i]), classes)
            what = f"class {classes[c]}" + ("" if proba is None else f" (p = {proba[i, c]:.2f})")
        else:
            top = int(np.argmax(proba[i]))
            what = (f"score drop over {len(ex.permutation.importances[0])} segments per lead; "
                    f"top class {classes[top]} (p = {proba[i, top]:.2f})")
        # Seconds of the records given; samples of a step's output on another time axis.
        fig = plot_relevance(ex.signals[i], ex.relevance[i],
                             sampling_rate if ex.aligned else None, names,
                             title=f"{record}: {_TITLES[ex.method]} — {what}")
        path = f"{artifact_dir}/{_slug(os.path.basename(str(record)))}_{ex.method}.png"
        mlflow.log_figure(fig, path)
        logged.append(path)
    if ex.notes:
        path = f"{artifact_dir}/notes.txt"
        mlflow.log_text("\n".join(ex.notes) + "\n", path)
        logged.append(path)
    return logged
