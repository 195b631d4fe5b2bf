"""Read new records as a model was trained on them, predict, and report."""

import json
import os
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import binary_threshold
from ._model import ECGModel, PredictError, load_ecg_model

__all__ = ["find_records", "RecordPlan", "plan_records", "read_records", "Prediction",
           "predict_records", "decide", "format_prediction", "serving_input"]

_EXTENSIONS = (".hea", ".dat", ".mat")


def find_records(paths):
    """Record paths (without extension) from record paths and folders, in the order given.

    A folder gives every record below it (its ``RECORDS`` file where there
    is one, else every ``*.hea``, sorted); a path may name the record with or
    without its ``.hea``, ``.dat`` or ``.mat`` extension. A record named
    twice is kept once.

    Parameters
    ----------
    paths : iterable of str or path-like
        Record paths (with or without extension) and folders of records;
        ``~`` is expanded.

    Returns
    -------
    list of str
        Absolute record paths without extension, each once, in the order
        found. Data files without a header (named, or in a folder where no
        header names them) are listed too, so that :func:`plan_records`
        rejects them, saying why.

    Raises
    ------
    PredictError
        For a path that is neither a record, a data file nor a folder, or a
        folder without records.
    """
    from ..datasets._wfdb_dir import find_records as in_folder

    out = []
    for item in paths:
        path = Path(os.fspath(item)).expanduser()
        if path.is_dir():
            found, orphans = in_folder(path), _headerless(path)
            if not found:
                shown = "" if not orphans else (
                    f"; {len(orphans)} data file(s) have no header: "
                    + ", ".join(p.name for p in orphans[:3])
                    + (", ..." if len(orphans) > 3 else ""))
                raise PredictError(f"no WFDB record (*.hea) under the folder {path}{shown}.")
            # A data file without its header is a record that cannot be read: it is
            # listed, and rejected by plan_records, rather than passed over.
            out += [str(p) for p in found] + [str(p.with_suffix("")) for p in orphans]
            continue
        root = path.with_suffix("") if path.suffix.lower() in _EXTENSIONS else path
        if not Path(f"{root}.hea").is_file() and not any(
                Path(f"{root}{ext}").is_file() for ext in _EXTENSIONS[1:]):
            raise PredictError(f"{path} is neither a WFDB record (no {root}.hea) nor a "
                               "folder.")
        # A data file without its header is listed, and rejected by plan_records saying
        # why, as in a folder: it ended the whole request, the other records unpredicted.
        out.append(str(root))
    return list(dict.fromkeys(os.path.abspath(p) for p in out))


def _headerless(folder):
    """The data files under ``folder`` that no header there names, sorted.

    A data file ``x.dat`` or ``x.mat`` is headerless when there is no
    ``x.hea`` and no header in its folder lists it among its signal files
    (PhysioNet records may share or rename signal files).
    """
    import wfdb

    candidates = sorted(p for p in Path(folder).rglob("*")
                        if p.suffix.lower() in _EXTENSIONS[1:] and p.is_file()
                        and not p.with_suffix(".hea").is_file())
    named = {}  # folder -> the signal files its headers name
    out = []
    for p in candidates:
        if p.parent not in named:
            named[p.parent] = set()
            for hea in p.parent.glob("*.hea"):
                try:
                    named[p.parent].update(wfdb.rdheader(str(hea.with_suffix(""))).file_name
                                           or [])
                except Exception:  # noqa: BLE001 -- plan_records reports bad headers
                    pass
        if p.name not in named[p.parent]:
            out.append(p)
    return out


@dataclass
class RecordPlan:
    """How one record is read for a model: leads, rate, length, and what that changes.

    Made by :func:`plan_records`; :func:`read_records` sets ``error`` for a
    record whose data cannot be read.

    Attributes
    ----------
    path : str
        The record's path without extension.
    name : str
        The record's name (the last part of ``path``).
    leads : list of str or None
        The model's leads, in the model's order, taken from the record by
        name; None when the model records no lead names (the record's
        leads are used in their order) or the record is rejected before
        its leads are matched.
    notes : list of str
        What is done to the record to fit the model (leads chosen or
        reordered, resampling, cropping, padding) and what had to be
        assumed (a model that records no lead names or sampling rate).
    error : str or None
        Why the record is rejected; None for a record that is predicted.
    """

    path: str
    name: str
    leads: list | None = None
    notes: list = field(default_factory=list)
    error: str | None = None


def _resampled_length(n, fs, target):
    ratio = Fraction(str(float(target))) / Fraction(str(float(fs)))
    return -(-n * ratio.numerator // ratio.denominator)


def plan_records(paths, model, *, min_fraction=0.25):
    """Check each record's header against the model; say how it will be read.

    Leads are matched to the model's training leads by name,
    case-insensitively, and put in the model's order; a record lacking one
    is rejected, naming it. A record at another rate is resampled to the
    model's. A record of another length (after resampling) is cropped
    (centre) or zero-padded at the end, as the training signals were; one
    shorter than ``min_fraction`` of the model's input is rejected, since
    the model would see mostly padding. A lead in µV or V is converted to
    mV; one in a unit that is not a voltage, or a rate whose ratio to the
    model's is too complex to resample, is rejected. Every change is
    written in the plan's ``notes``; a rejection in its ``error``.

    Parameters
    ----------
    paths : list of str
        Record paths without extension (:func:`find_records`).
    model : ECGModel
        The loaded model (:func:`load_ecg_model`): the records are checked
        against its ``lead_names``, ``n_leads``, ``sampling_rate`` and ``n_samples``.
    min_fraction : float in [0, 1], default=0.25
        Shortest record accepted, as a fraction of the model's input length.
        The default keeps every record of the datasets ecgsk's pipelines
        train on (CinC 2017's shortest, 9 s, is 0.3 of its models' 30 s);
        0 accepts any length.

    Returns
    -------
    list of RecordPlan
    """
    import wfdb

    # lead_names_of: the loader's names, not 'None'
    from ..preprocessing._loader import _RecordError, _resample_factors, lead_names_of

    plans = []
    for path in paths:
        plan = RecordPlan(path=path, name=os.path.basename(path))
        plans.append(plan)
        if not os.path.isfile(f"{path}.hea"):
            files = ", ".join(os.path.basename(f) for f in (f"{path}.dat", f"{path}.mat")
                              if os.path.isfile(f))
            plan.error = (f"its header {path}.hea is missing: the data file {files} cannot be "
                          "read without it")
            continue
        try:
            # rd_segments: a multi-segment record names its signals in its segments (MIMIC)
            header = wfdb.rdheader(path, rd_segments=True)
        except Exception as exc:  # noqa: BLE001 -- wfdb raises many types for bad headers
            empty = os.path.getsize(f"{path}.hea") == 0
            plan.error = f"its header {path}.hea " + (
                "is empty" if empty else f"cannot be read: {type(exc).__name__}: {exc}")
            continue
        names = lead_names_of(header.sig_name or [])
        fs, n = header.fs, header.sig_len
        if not names or not fs:
            plan.error = ("its header names no signal" if not names else
                          f"its header gives the sampling frequency {fs!r}, not a positive "
                          "number of Hz")
            continue
        if n is None:  # WFDB allows leaving it out: the data files say
            try:
                n = len(wfdb.rdrecord(path, physical=False).d_signal)
            except Exception:  # noqa: BLE001 -- the loader names what is wrong below
                n = None
        if not n:
            plan.error = ("its header gives 0 samples" if n == 0
                          else "its header gives no number of samples (sig_len), and its "
                               "data files could not be read to count them")
            continue
        if model.lead_names is not None:
            lower = [s.lower() for s in names]
            missing = [lead for lead in model.lead_names if lead.lower() not in lower]
            doubled = [lead for lead in model.lead_names if lower.count(lead.lower()) > 1]
            if missing:
                what = (f"none of the {len(missing)} leads" if len(missing) == len(
                    model.lead_names) else f"no lead {', '.join(map(repr, missing))}")
                plan.error = (f"it has {what} that the model was trained on (record leads: "
                              f"{', '.join(names)}; model leads: "
                              f"{', '.join(model.lead_names)})")
                continue
            if doubled:
                plan.error = (f"it has several leads named {', '.join(map(repr, doubled))} "
                              f"({', '.join(names)}); the model's lead cannot be told apart")
                continue
            plan.leads = list(model.lead_names)
            order = [names[lower.index(lead.lower())] for lead in model.lead_names]
            if [s.lower() for s in order] != lower[:len(order)] or len(names) != len(order):
                unused = [s for s in names if s.lower() not in
                          {lead.lower() for lead in model.lead_names}]
                note = f"leads taken by name in the model's order ({', '.join(order)})"
                if unused:
                    note += f"; not used: {', '.join(unused)}"
                plan.notes.append(note)
        elif len(names) != model.n_leads:
            plan.error = (f"it has {len(names)} leads ({', '.join(names)}) but the model takes "
                          f"{model.n_leads}, and the model does not record its lead names to "
                          "choose them by")
            continue
        else:
            plan.notes.append("the model records no lead names: the record's leads "
                              f"({', '.join(names)}) are used in their order")
        used = ([lower.index(lead.lower()) for lead in model.lead_names]
                if model.lead_names is not None else list(range(len(names))))
        plan.error = _check_units(path, header, names, used, plan.notes)
        if plan.error is not None:
            continue
        rate = model.sampling_rate
        if rate is None:
            plan.notes.append(f"the model records no sampling rate: used at the record's "
                              f"{fs:g} Hz")
            length = n
        elif float(fs) != rate:
            try:
                _resample_factors(fs, rate, path)
            except _RecordError:  # the loader's advice (choose a sampling_rate) is not the user's
                plan.error = (f"its rate, {fs:g} Hz, cannot be resampled to the model's "
                              f"{rate:g} Hz: their ratio needs too large a polyphase filter; "
                              "resample the record to a rate in a simple ratio to it first")
                continue
            length = _resampled_length(n, fs, rate)
            plan.notes.append(f"resampled from {fs:g} Hz to {rate:g} Hz")
        else:
            length = n
        target = model.n_samples
        shown = rate or fs
        if length < min_fraction * target:
            plan.error = (f"it is {length / shown:g} s long, under {min_fraction:g} of the "
                          f"model's {target / shown:g} s input: the model would see mostly zero "
                          "padding (min_fraction; 0 predicts it anyway)")
            continue
        if length > target:
            plan.notes.append(f"cropped to the middle {target} of {length} samples "
                              f"({target / shown:g} of {length / shown:g} s)")
        elif length < target:
            plan.notes.append(f"zero-padded at the end from {length} to {target} samples "
                              f"({length / shown:g} to {target / shown:g} s)")
    return plans


def _check_units(path, header, names, used, notes):
    """Why the leads ``used`` (indices into ``names``) cannot be read in mV, or None.

    A lead in another voltage unit is noted as converted. The loader would
    refuse a unit that is not a voltage with advice for its own users
    (``leads=[...]``), which a record's model cannot take.
    """
    from ..preprocessing._loader import _lead_units, _RecordError, _unit_factor

    try:
        units = _lead_units(path, f"{path}.hea", getattr(header, "units", None), names, used,
                            multi=bool(getattr(header, "seg_name", None)))
    except _RecordError:
        return None  # the loader says what is wrong with the header
    converted = {}
    for i, unit in zip(used, units):
        try:
            factor = _unit_factor(unit, names[i], path)
        except _RecordError:
            return (f"its lead {names[i]!r}, which the model takes, is in {unit!r}, not a "
                    "voltage, so it cannot be converted to the mV the model was trained on")
        if factor != 1.0:
            converted.setdefault(str(unit).strip(), []).append(names[i])
    for unit, leads in converted.items():
        notes.append(f"converted from {unit} to mV: {', '.join(leads)}")
    return None


def read_records(plans, model):
    """Signals ``(n, n_leads, n_samples)`` float32 of the plans without error, in order.

    Plans whose data files cannot be read get an ``error``; the others are
    returned with their signals.

    Parameters
    ----------
    plans : list of RecordPlan
        The plans of :func:`plan_records`; those with an ``error`` are not
        read.
    model : ECGModel
        The model whose sampling rate and input length the signals are read
        at.

    Returns
    -------
    X : ndarray of shape (n, n_leads, n_samples)
        The signals read, float32.
    plans : list of RecordPlan
        The plans of the rows of ``X``, in the same order.
    """
    from ..preprocessing import WFDBLoader

    ok = [p for p in plans if p.error is None]
    out = np.zeros((len(ok), model.n_leads, model.n_samples), dtype=np.float32)
    groups = {}
    for i, p in enumerate(ok):
        groups.setdefault(tuple(p.leads) if p.leads is not None else None, []).append(i)
    for leads, idx in groups.items():
        loader = WFDBLoader(leads=list(leads) if leads is not None else None,
                            sampling_rate=model.sampling_rate, length=model.n_samples,
                            on_error="skip")
        if model.sampling_rate is None:  # read one by one: rates may differ
            chunks = [[i] for i in idx]
        else:
            chunks = [idx]
        while chunks:
            chunk = chunks.pop(0)
            try:
                with warnings.catch_warnings():  # each skipped record is rejected below
                    warnings.filterwarnings("ignore", message="WFDBLoader skipped")
                    X = loader.fit_transform(np.array([ok[i].path for i in chunk]))
            except ValueError as exc:  # none of the chunk could be read
                if len(chunk) > 1:  # the error names the first: read each for its own reason
                    chunks[:0] = [[i] for i in chunk]
                    continue
                ok[chunk[0]].error = str(exc)
                continue
            skipped = dict(loader.skipped_)
            kept = [chunk[k] for k in loader.loaded_index_]
            out[kept] = X
            for i in chunk:
                if ok[i].path in skipped:
                    ok[i].error = skipped[ok[i].path]
    good = [i for i, p in enumerate(ok) if p.error is None]
    return out[good], [ok[i] for i in good]


def decide(proba, model, threshold=None):
    """Predicted labels and their confidence for each row of ``proba``.

    Multi-label models: every label whose probability reaches its threshold
    (``threshold``, else the model's tuned thresholds, else 0.5).
    Single-label models: the most probable class, except binary models, which
    predict the second class when its probability reaches the threshold
    (``threshold``, else the model's tuned one, else 0.5). A model that does
    not record its task type is read as single-label when every row sums to
    1, as multi-label otherwise.

    Parameters
    ----------
    proba : array-like of shape (n, n_classes)
        Probabilities; columns follow ``model.classes``.
    model : ECGModel
        The model that gave them: its ``classes``, ``task_type`` and
        ``thresholds`` are used.
    threshold : float, array-like of shape (n_classes,) or None, default=None
        Decision threshold overriding the model's (multi-label: one for
        every label, or one per label; binary: the last value is the
        threshold of the second class). Models of other single-label tasks
        (``"multiclass"``, ``"cinc"``) ignore it.

    Returns
    -------
    predicted : list of list of str
    confidence : list of list of float
        The probability of each predicted label.
    task_type : str
    thresholds : ndarray, float or None
        The thresholds used: the binary threshold as a float, None for
        argmax (multiclass, ``"cinc"``).

    Examples
    --------
    >>> from ecgsk.predict import ECGModel
    >>> model = ECGModel(uri="demo", pyfunc=None, classes=["MI", "NORM", "STTC"], n_leads=12,
    ...                  n_samples=1000, task_type="multilabel")  # stands in for a loaded one
    >>> predicted, confidence, task_type, thresholds = decide(
    ...     [[0.7, 0.2, 0.6], [0.1, 0.9, 0.3]], model)
    >>> predicted, confidence
    ([['MI', 'STTC'], ['NORM']], [[0.7, 0.6], [0.9]])
    >>> decide([[0.7, 0.2, 0.6]], model, threshold=0.65)[0]
    [['MI']]
    """
    from ..tracking._evaluation import TASK_TYPES  # log_model's

    classes = np.asarray(model.classes)
    proba = np.asarray(proba, dtype=float)
    task = model.task_type
    if task is None:
        single = len(proba) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
        task = ("binary" if len(classes) == 2 else "multiclass") if single else "multilabel"
    elif task not in TASK_TYPES:
        raise PredictError(f"{model.uri} records the task type {task!r}, which predict does "
                           f"not know ({', '.join(TASK_TYPES)}); log the model again with one "
                           "of them.")
    elif task == "binary" and len(classes) != 2:  # logged before log_model checked it
        raise PredictError(f"{model.uri} records the task type 'binary' for {len(classes)} "
                           "classes; log the model again with task_type='multiclass'.")
    if threshold is not None:
        thr = np.asarray(threshold, dtype=float)
    else:
        thr = model.thresholds
    predicted, confidence = [], []
    if task == "multilabel":
        thr = np.full(len(classes), 0.5) if thr is None else np.broadcast_to(
            thr, (len(classes),))
        for row in proba:
            on = np.flatnonzero(row >= thr)
            predicted.append(classes[on].tolist())
            confidence.append(row[on].tolist())
    elif task == "binary":  # as its logged metrics decided (argmax gave 0.5 to class 0)
        thr = binary_threshold(thr)
        for row in proba:
            k = 1 if row[1] >= thr else 0
            predicted.append([str(classes[k])])
            confidence.append([float(row[k])])
    else:
        thr = None
        for row in proba:
            k = int(np.argmax(row))
            predicted.append([str(classes[k])])
            confidence.append([float(row[k])])
    return predicted, confidence, task, thr


@dataclass
class Prediction:
    """What :func:`predict_records` found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per predicted record: ``record``, ``path``, one probability
        column per class (named after the class), ``predicted`` (labels
        joined by ``"; "``), ``confidence`` (their probabilities, same
        order), ``notes``.
    records : list of dict
        The same, as JSON-ready dicts (``probabilities`` a dict,
        ``predicted``/``confidence``/``notes`` lists).
    rejected : list of dict
        ``{"record", "path", "reason"}`` of every record not predicted.
    model : ECGModel
        The model that predicted.
    task_type : str
        How its probabilities were read: ``"multilabel"`` (thresholded),
        ``"binary"`` (thresholded when the model has a threshold), or a
        single-label type (the most probable class).
    thresholds : ndarray or None
        The thresholds used (None where the most probable class was taken).
    signals : ndarray of shape (n, n_leads, n_samples)
        The model's input, as read.
    """

    table: pd.DataFrame
    records: list
    rejected: list
    model: ECGModel
    task_type: str
    thresholds: np.ndarray | None
    signals: np.ndarray

    def to_json(self):
        """A JSON document with the model, the predictions and the rejected records."""
        doc = {"model": self.model.uri, "classes": self.model.classes,
               "task_type": self.task_type,
               "thresholds": None if self.thresholds is None
               else np.ravel(self.thresholds).tolist(),
               "sampling_rate": self.model.sampling_rate, "lead_names": self.model.lead_names,
               "n_samples": self.model.n_samples,
               "model_notes": list(self.model.notes or []),
               "records": self.records, "rejected": self.rejected}
        return json.dumps(doc, indent=2)

    def write(self, path):
        """Write the predictions to ``path``: CSV (``.csv``) or JSON (``.json``).

        The CSV file holds ``table``; the JSON file :meth:`to_json`.

        Parameters
        ----------
        path : str or path-like
            The file to write (overwritten); its extension, in any case,
            chooses the format.

        Raises
        ------
        PredictError
            If ``path`` ends neither in ``.csv`` nor in ``.json``.
        """
        path = Path(path).expanduser()
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.table.to_csv(path, index=False, float_format="%.6g")
        elif suffix == ".json":
            path.write_text(self.to_json() + "\n")
        else:
            shown = suffix or "a name without extension"
            raise PredictError(f"cannot write {path}: write .csv or .json, not {shown}.")


def predict_records(model, records, *, threshold=None, tracking_uri=None, min_fraction=0.25):
    """Predict class probabilities and labels of WFDB records with an ecgsk MLflow model.

    Each record is read as the model's training signals were (see
    :func:`plan_records`): its leads chosen by name and put in order, resampled
    to the model's rate, cropped or zero-padded to its length, each change
    noted. Records that cannot be matched (a missing lead) or read are
    rejected with the reason, and the others predicted.

    Parameters
    ----------
    model : str or ECGModel
        A model URI or folder (:func:`load_ecg_model`), or a loaded model.
    records : list of str or path-like
        Record paths (with or without extension) and folders of records.
    threshold : float or None
        Decision threshold overriding the model's (see :func:`decide`).
    tracking_uri : str or None
        Store of ``runs:/`` and ``models:/`` URIs.
    min_fraction : float in [0, 1], default=0.25
        Records shorter than this fraction of the model's input are
        rejected (see :func:`plan_records`).

    Returns
    -------
    Prediction

    Raises
    ------
    PredictError
        If the model cannot be loaded, or a path is not a record or folder.

    Examples
    --------
    >>> from ecgsk.predict import predict_records                       # doctest: +SKIP
    >>> result = predict_records("runs:/0123abcd/model", ["data/new/"])  # doctest: +SKIP
    >>> result.table[["record", "predicted", "confidence"]]             # doctest: +SKIP
    """
    if threshold is not None and not (isinstance(threshold, (int, float))
                                      and 0 <= threshold <= 1):
        raise PredictError(f"threshold must be a probability in [0, 1], got {threshold!r}.")
    if not (isinstance(min_fraction, (int, float)) and 0 <= min_fraction <= 1):
        raise PredictError(f"min_fraction must be in [0, 1], got {min_fraction!r}.")
    if not isinstance(model, ECGModel):
        model = load_ecg_model(model, tracking_uri=tracking_uri)
    paths = find_records(records)
    plans = plan_records(paths, model, min_fraction=min_fraction)
    X, done = read_records(plans, model)
    proba = model.predict_proba(X) if len(X) else np.zeros((0, len(model.classes)))
    predicted, confidence, task, thr = decide(proba, model, threshold)
    rows, docs = [], []
    for plan, p, labels, conf in zip(done, proba, predicted, confidence):
        row = {"record": plan.name, "path": plan.path}
        row.update({c: float(v) for c, v in zip(model.classes, p)})
        row.update({"predicted": "; ".join(labels),
                    "confidence": "; ".join(f"{v:.4f}" for v in conf),
                    "notes": "; ".join(plan.notes)})
        rows.append(row)
        docs.append({"record": plan.name, "path": plan.path,
                     "probabilities": {c: float(v) for c, v in zip(model.classes, p)},
                     "predicted": labels, "confidence": [float(v) for v in conf],
                     "notes": plan.notes})
    columns = ["record", "path", *model.classes, "predicted", "confidence", "notes"]
    rejected = [{"record": p.name, "path": p.path, "reason": p.error}
                for p in plans if p.error is not None]
    return Prediction(table=pd.DataFrame(rows, columns=columns), records=docs,
                      rejected=rejected, model=model, task_type=task, thresholds=thr,
                      signals=X)


def format_prediction(result, show_rejected=True):
    """Human-readable text: per record, the class probabilities and the predicted labels.

    With ``show_rejected``, one line per rejected record and its reason ends it.

    Parameters
    ----------
    result : Prediction
        What :func:`predict_records` found.
    show_rejected : bool, default=True
        End the text with the rejected records.

    Returns
    -------
    str
        The text, ending with a newline.
    """
    lines = []
    width = max([len(c) for c in result.model.classes] + [5])
    if result.thresholds is not None:
        thr = np.ravel(result.thresholds)
        rule = ("labels at or above their threshold" if len(thr) > 1
                else f"{result.model.classes[-1]} if its probability >= {thr[-1]:.3g}"
                if result.task_type == "binary"  # the threshold is the second class's
                else f"labels of probability >= {thr[0]:.3g}")
    else:
        rule = "most probable class"
    for doc in result.records:
        lines.append(f"{doc['record']}  ({doc['path']})")
        for note in doc["notes"]:
            lines.append(f"  note: {note}")
        thr = (np.broadcast_to(result.thresholds, (len(result.model.classes),))
               if result.thresholds is not None and result.task_type == "multilabel" else None)
        lines.append(f"  {'class':<{width}}  probability" + ("  threshold" if thr is not None
                                                             else ""))
        for j, (c, p) in enumerate(doc["probabilities"].items()):
            mark = "  *" if c in doc["predicted"] else ""
            extra = f"  {thr[j]:9.3f}" if thr is not None else ""
            lines.append(f"  {c:<{width}}  {p:11.4f}{extra}{mark}")
        if doc["predicted"]:
            shown = ", ".join(f"{c} ({v:.1%})" for c, v in zip(doc["predicted"],
                                                               doc["confidence"]))
        else:
            shown = "none (no label reaches its threshold)"
        lines.append(f"  predicted ({result.task_type}, {rule}): {shown}")
        lines.append("")
    for rej in result.rejected if show_rejected else ():
        lines.append(f"{rej['record']}: REJECTED — {rej['reason']}")
    return "\n".join(lines).rstrip() + "\n"


def serving_input(signals):
    """The JSON body ``mlflow models serve`` takes for float32 signals ``(n, leads, samples)``.

    ``{"inputs": [[[...], ...], ...]}``: MLflow's tensor input format, which
    the model's tensor signature ``(-1, leads, samples)`` float32 accepts.
    Each value is written as the shortest decimal that reads back as the
    same float32 (``0.004``, not ``0.004000000189989805``), so the server,
    which casts to the signature's float32, decodes exactly the array given.

    Parameters
    ----------
    signals : array-like of shape (n, leads, samples)
        The signals, cast to float32 (e.g. :attr:`Prediction.signals`).

    Returns
    -------
    str
        The JSON body.

    Raises
    ------
    PredictError
        If ``signals`` is not 3-D, or holds NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> serving_input(np.zeros((1, 2, 3), dtype="float32"))
    '{"inputs": [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]}'
    """
    X = np.asarray(signals, dtype=np.float32)
    if X.ndim != 3:
        raise PredictError(f"signals must be (n, leads, samples), got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise PredictError("signals hold NaN or infinite values, which JSON cannot carry.")
    text = X.astype(str)  # numpy writes float32 in their shortest round-trip form
    records = ("[" + ", ".join("[" + ", ".join(lead) + "]" for lead in record) + "]"
               for record in text)
    return '{"inputs": [' + ", ".join(records) + "]}"
