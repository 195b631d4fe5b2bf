"""Log a fitted pipeline as one MLflow model: sklearn flavour plus a probability pyfunc.

This module is also the pyfunc *loader module* of the models it logs
(``loader_module: ecgsk.tracking._model`` in their MLmodel file), so loading
them needs ecgsk installed; keep :func:`_load_pyfunc` stable.
"""

import contextlib
import importlib.metadata
import logging
import numbers
import os
import pickle
import re
import sys
import warnings

import mlflow
import numpy as np
import pandas as pd
from mlflow import pyfunc
from mlflow.models import Model, infer_signature

from .._proba import label_columns
from .._validation import check_thresholds
from ._curves import fitted_nets, is_skorch_net

__all__ = ["log_model", "predict_proba_matrix", "save_model"]

_CLASSES_KEY = "ecgsk_classes"
_MAX_EXAMPLE_RECORDS = 2
# Keys of the MLmodel ``metadata`` section that describe the training signals.
SIGNAL_METADATA_KEYS = ("ecgsk_sampling_rate", "ecgsk_lead_names", "ecgsk_input_shape",
                        "ecgsk_task_type", "ecgsk_thresholds")


def task_columns(fitted, n_columns, n_classes, classes=None, *, who="the estimator"):
    """The task's column of each of ``n_columns`` probability columns over ``fitted``.

    ``fitted`` is an estimator's ``classes_``. Integer indices of the task's
    classes (how ecgsk fits single-label targets) are their own columns, even
    where they are also names of ``classes`` (integer labels 1 and 2 of the
    classes 1, 2, 3 are read as the indices of "2" and "3": fit on indices,
    or name integer classes as strings that are not their indices);
    other labels, names (CinC's ``"N", "A"...``) or integer codes beyond the
    indices (SNOMED's), are placed by name among ``classes``: ``classes_`` is
    sorted whatever the task's order. None: the columns are taken as they
    come (no ``classes_``, a list of them, or labels without ``classes``).
    Raises ValueError for a label that is not among ``classes``.
    """
    fitted = None if fitted is None or isinstance(fitted, list) else np.asarray(fitted)
    if fitted is None or fitted.ndim != 1 or len(fitted) != n_columns or not len(fitted):
        return None
    if fitted.dtype.kind in "iu" and fitted.min() >= 0 and fitted.max() < n_classes:
        return [int(c) for c in fitted]
    if classes is None or fitted.dtype.kind == "b":
        return None
    names = [str(c) for c in classes]
    unknown = [str(c) for c in fitted if str(c) not in names]
    if unknown:
        raise ValueError(f"{who} was fitted on the labels {unknown[:3]} that are not among "
                         f"the classes {names}.")
    return [names.index(str(c)) for c in fitted]


def predict_proba_matrix(estimator, X, n_classes, classes=None):
    """Class probabilities of shape ``(n, n_classes)``, whatever shape ``predict_proba`` returns.

    Handles the three shapes sklearn estimators use:

    - an ``(n, k)`` array over ``estimator.classes_``: when those are integer
      indices into the task's classes (how ecgsk fits single-label targets),
      columns are placed at those indices, so a class absent from the
      training data gets a column of zeros;
    - a list of ``(n, 2)`` arrays, one per label (``MultiOutputClassifier``,
      multi-label trees): the probability of 1 of each;
    - an ``(n, n_classes)`` array of independent probabilities (skorch nets
      with a sigmoid output, ``OneVsRestClassifier``).

    A 1-D result is read as the probability of the second of two classes.

    Parameters
    ----------
    estimator : fitted estimator
        Has ``predict_proba``.
    X : array-like
        The input of ``estimator.predict_proba``.
    n_classes : int
        The number of classes of the task.
    classes : sequence of str or None, default=None
        The task's class names, in column order. An estimator fitted on
        labels that are not integers (CinC's ``"N"``, ``"A"``...) has
        ``classes_`` sorted (``A, N, O, ~``): its columns are then placed by
        name, as are those of integer labels that are not indices of the
        classes (codes such as SNOMED's). None takes the columns as they
        come.

    Returns
    -------
    ndarray of shape (n, n_classes)
        Float probabilities, one column per class of the task.

    Raises
    ------
    ValueError
        If the result cannot be matched to ``n_classes`` columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 2, 2])  # no class 1
    >>> proba = predict_proba_matrix(LogisticRegression().fit(X, y), X, n_classes=3)
    >>> proba.shape, proba[:, 1].tolist()
    ((4, 3), [0.0, 0.0, 0.0, 0.0])
    """
    proba = estimator.predict_proba(X)
    fitted = getattr(estimator, "classes_", None)
    if isinstance(proba, list):
        proba = label_columns(proba, fitted)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba]) if n_classes == 2 else proba[:, None]
    columns = task_columns(fitted, proba.shape[1], n_classes, classes,
                           who=type(estimator).__name__)
    if columns is not None:
        full = np.zeros((len(proba), n_classes))
        full[:, columns] = proba
        proba = full
    if proba.shape[1] != n_classes:
        raise ValueError(f"{type(estimator).__name__}.predict_proba gave {proba.shape[1]} "
                         f"columns for {n_classes} classes.")
    return proba


class _ProbabilityModel:
    """The pyfunc of an ecgsk model: ``predict`` gives one probability column per class."""

    def __init__(self, pipeline, classes):
        self.pipeline = pipeline
        self.classes = [str(c) for c in classes]

    def get_raw_model(self):
        """The fitted sklearn pipeline."""
        return self.pipeline

    def predict(self, data, params=None):
        """Probabilities of every class for signals of shape ``(n, leads, samples)``."""
        X = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
        if X.dtype.kind not in "fiu":
            raise ValueError(f"the model takes numeric signal arrays (n, leads, samples); "
                             f"got dtype {X.dtype}.")
        proba = predict_proba_matrix(self.pipeline, X, len(self.classes), self.classes)
        return pd.DataFrame(proba, columns=self.classes)


def _load_pyfunc(path):
    """Loader of the pyfunc flavour (called by :func:`mlflow.pyfunc.load_model`)."""
    model_dir = os.path.dirname(path) if os.path.isfile(path) else path
    conf = Model.load(os.path.join(model_dir, "MLmodel")).flavors[pyfunc.FLAVOR_NAME]
    return _ProbabilityModel(mlflow.sklearn.load_model(model_dir), conf[_CLASSES_KEY])


def _no_pickle_warning(record):
    """Drop MLflow's advice to use skops: it cannot store custom transformers or torch nets.

    The security point stands and is documented in :func:`log_model`.
    """
    return "pickle or cloudpickle format" not in record.getMessage()


def save_model(sk_model, path, classes, *, mlflow_model=None, signature=None,
               input_example=None, pip_requirements=None, metadata=None, code_paths=None):
    """Save an MLflow model with the sklearn flavour and the ecgsk probability pyfunc.

    The flavour module :meth:`mlflow.models.Model.log` calls; use
    :func:`log_model`. Parameters as :func:`mlflow.sklearn.save_model`
    (cloudpickle serialisation), plus ``classes``, the column names of the
    pyfunc's output.
    """
    if mlflow_model is None:
        mlflow_model = Model()
    sklearn_logger = logging.getLogger("mlflow.sklearn")
    sklearn_logger.addFilter(_no_pickle_warning)
    try:
        mlflow.sklearn.save_model(
            sk_model, path, mlflow_model=mlflow_model, signature=signature,
            input_example=input_example, pip_requirements=pip_requirements, metadata=metadata,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            pyfunc_predict_fn="predict_proba", code_paths=code_paths)
    finally:
        sklearn_logger.removeFilter(_no_pickle_warning)
    conf = mlflow_model.flavors[pyfunc.FLAVOR_NAME]
    # Replace the sklearn pyfunc (a bare predict_proba array) by ours, with named columns.
    pyfunc.add_to_model(mlflow_model, loader_module=__name__, model_path=conf["model_path"],
                        code=conf.get(pyfunc.CODE), conda_env=conf["env"]["conda"],
                        python_env=conf["env"]["virtualenv"],
                        **{_CLASSES_KEY: [str(c) for c in classes]})
    mlflow_model.save(os.path.join(path, "MLmodel"))


def _skorch_nets(estimator):
    """The skorch nets of ``estimator``: among its parameters, and an ensemble's fitted
    members (:func:`fitted_nets`), which its parameters hold only as unfitted templates."""
    found = [estimator] if is_skorch_net(estimator) else []
    if hasattr(estimator, "get_params"):
        found += [v for v in estimator.get_params(deep=True).values() if is_skorch_net(v)]
    found += [net for _, net in fitted_nets(estimator)]
    unique = {id(n): n for n in found}
    return list(unique.values())


def _on_cpu(pipeline):
    """A copy of ``pipeline`` whose skorch nets are on the CPU; itself when none is elsewhere.

    skorch pickles its modules with their device and unpickles them with
    ``map_location`` of the net's ``device``: pickling with ``device="cpu"``
    and unpickling moves every tensor (module, optimizer state) to the CPU.
    A net that predicted on a GPU with mixed precision (``amp``) predicts in
    float32 on the CPU, nearer its float16 results than the CPU's bfloat16
    autocast (up to 0.02 apart in probability).
    """
    nets = [n for n in _skorch_nets(pipeline) if str(getattr(n, "device", "cpu")) != "cpu"]
    if not nets:
        return pipeline
    import cloudpickle

    # The stored values, not resolved ones (ECGNetClassifier reads "auto" as
    # "cuda" through a property): the fitted pipeline must come back as it was.
    saved = [{k: vars(n)[k] for k in ("device", "amp") if k in vars(n)} for n in nets]
    try:
        for n in nets:
            if "amp" in vars(n) and str(n.device).startswith("cuda"):
                vars(n)["amp"] = False
            vars(n)["device"] = "cpu"
        blob = cloudpickle.dumps(pipeline)
    finally:
        for n, before in zip(nets, saved):
            vars(n).update(before)
    return pickle.loads(blob)  # noqa: S301 -- our own bytes


def _pinned(dist):
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    return f"{dist}=={version.split('+')[0]}"  # drop local labels such as +cu121


#: ecgsk's requirements (setup.cfg's ``install_requires``) when it runs from a checkout
#: that is not installed; tests/tracking checks them against setup.cfg.
_REQUIREMENTS = ("numpy", "scipy", "pandas", "scikit-learn", "imbalanced-learn", "wfdb",
                 "torch", "torchvision", "timm", "skorch", "mlflow", "optuna", "cmaes",
                 "PyWavelets", "matplotlib", "tqdm", "joblib", "cloudpickle", "threadpoolctl",
                 "psycopg2-binary")

#: Those that only tuning needs, which a logged model leaves out.
_TUNING_ONLY = {"optuna", "cmaes", "psycopg2-binary"}

#: Those that only a model with a network imports.
_NETWORK_ONLY = {"torch", "torchvision", "timm", "skorch"}


def _ecgsk_requirements():
    """The names of ecgsk's own requirements, without the extras'."""
    try:
        listed = importlib.metadata.requires("ecgsk")
    except importlib.metadata.PackageNotFoundError:
        listed = None
    if listed is None:
        return list(_REQUIREMENTS)
    return [re.match(r"[A-Za-z0-9._-]+", req).group(0) for req in listed
            if "extra" not in req.partition(";")[2]]


def _default_requirements(pipeline, with_ecgsk=False):
    """ecgsk's requirements that a model needs, pinned to the installed versions.

    ecgsk itself is not among them (unless ``with_ecgsk``): its code travels
    in the model (:func:`log_model`), as no package index has it.
    """
    skip = _TUNING_ONLY | (set() if _skorch_nets(pipeline) else _NETWORK_ONLY)
    dists = ["ecgsk"] * with_ecgsk + ["mlflow", "cloudpickle"] + [
        d for d in _ecgsk_requirements() if d not in skip and d not in ("mlflow", "cloudpickle")]
    return [r for r in map(_pinned, dists) if r]


#: The ecgsk package folder, whose copy a logged model carries.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def sys_path_kept():
    """``sys.path`` as it was on entry, on exit.

    MLflow prepends a model's ``code/`` folder to ``sys.path`` each time it
    loads one, and logging a model loads it back from a temporary folder: each
    log or load left entries behind, of folders since deleted. ecgsk is
    imported already, so the process needs none of them.
    """
    saved = list(sys.path)
    try:
        yield
    finally:
        sys.path[:] = saved


def _signal_metadata(example, sampling_rate, lead_names, task_type, thresholds, n_classes):
    """The MLmodel ``metadata`` describing the signals the model was trained on."""
    meta = {"ecgsk_input_shape": [int(n) for n in example.shape[1:]]}
    if sampling_rate is not None:
        if (isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Real)
                or not np.isfinite(sampling_rate) or sampling_rate <= 0):
            raise ValueError(f"sampling_rate must be a positive number of Hz, got "
                             f"{sampling_rate!r}.")
        meta["ecgsk_sampling_rate"] = float(sampling_rate)
    if lead_names is not None:
        lead_names = [str(n) for n in lead_names]
        n_leads = example.shape[1] if example.ndim == 3 else 1
        if len(lead_names) != n_leads:
            raise ValueError(f"lead_names names {len(lead_names)} leads {lead_names} but "
                             f"input_example has {n_leads}.")
        meta["ecgsk_lead_names"] = lead_names
    if task_type is not None:
        from ._evaluation import TASK_TYPES

        if task_type not in TASK_TYPES:  # "multi-label" was logged; predict then took argmax
            raise ValueError(f"task_type must be one of {TASK_TYPES} or None, got "
                             f"{task_type!r}.")
        if task_type == "binary" and n_classes != 2:  # predict chose between two of them
            raise ValueError(f"task_type='binary' needs two classes, got {n_classes}; use "
                             "'multiclass' (or 'multilabel' for a label matrix).")
        meta["ecgsk_task_type"] = str(task_type)
    if thresholds is not None:
        meta["ecgsk_thresholds"] = check_thresholds(thresholds, n_classes).tolist()
    return meta


def _without_lead_selection(pipeline, example, lead_names):
    """A pipeline that begins by keeping some leads, as the rest and the leads it keeps.

    PTB-DB's ``ecgcnn_ptb`` with ``leads=("II",)`` learns from lead II of
    15-lead records; logged whole, its model asked for all 15 and refused a
    one-lead record. Without its first :class:`~ecgsk.preprocessing.LeadSelector`,
    the model takes the leads it reads, by name. Unchanged where the lead
    names are not given or do not fit ``example``, or a lead is kept twice.
    """
    from ..preprocessing import LeadSelector

    steps = getattr(pipeline, "steps", None)
    if (lead_names is None or not isinstance(steps, list) or len(steps) < 2
            or not isinstance(steps[0][1], LeadSelector) or example.ndim != 3
            or len(lead_names) != example.shape[1]):
        return pipeline, example, lead_names
    kept = [int(i) for i in getattr(steps[0][1], "indices_", [])]
    if not kept or len(set(kept)) < len(kept) or max(kept) >= len(lead_names):
        return pipeline, example, lead_names
    return pipeline[1:], example[:, kept], [lead_names[i] for i in kept]


def log_model(pipeline, *, classes, input_example, name="model", registered_model_name=None,
              pip_requirements=None, sampling_rate=None, lead_names=None, task_type=None,
              thresholds=None):
    """Log a fitted pipeline as an MLflow model predicting class probabilities from raw signals.

    One model with two flavours:

    - ``sklearn``: :func:`mlflow.sklearn.load_model` returns the fitted
      pipeline itself (its ``predict_proba`` columns follow its own
      ``classes_``);
    - ``python_function``: :func:`mlflow.pyfunc.load_model` returns a model
      whose ``predict(X)`` is a :class:`pandas.DataFrame` of probabilities,
      one column per class named after ``classes``.

    **Input format**: a numpy array of raw signals, shape ``(n_records,
    n_leads, n_samples)``, with the dtype, lead count and length of
    ``input_example`` (ecgsk's loaders give float32 in mV, at the pipeline's
    ``SAMPLING_RATE``). The signature records this as a tensor spec
    ``(-1, n_leads, n_samples)``: MLflow checks the shape and refuses other
    dtypes (cast with ``X.astype(np.float32)``); a REST server takes
    ``{"inputs": [...]}``.

    Skorch nets trained on a GPU are logged moved to the CPU (on a copy), so
    the model loads and predicts where there is no GPU.

    The pipeline is stored with cloudpickle (skops cannot hold custom
    transformers or torch modules): loading a model runs code from it, so
    load only models from stores you trust.

    Parameters
    ----------
    pipeline : fitted sklearn estimator
        Pipeline from raw signal arrays to ``predict_proba``.
    classes : array-like of str
        Class names, the columns of the pyfunc's output: for multi-label
        tasks the indicator columns; for single-label tasks the classes the
        integer labels fitted on index, or, for a pipeline fitted on the
        labels themselves, the names its ``classes_`` are matched to (see
        :func:`predict_proba_matrix`).
    input_example : ndarray of shape (n, n_leads, n_samples)
        A few raw signals (the first two are kept, to keep the artifact
        small); the signature is inferred from it and the pyfunc's output.
        They are kept as float32, the input ``WFDBLoader`` gives and
        ``python -m ecgsk.predict`` sends.
    name : str, default="model"
        Model name in the run.
    registered_model_name : str or None
        Also register the model under this name in the model registry.
    pip_requirements : list of str or None
        Requirements of the model's environment; when None, mlflow,
        cloudpickle and ecgsk's own requirements but those of tuning (and of
        networks, for a model without one), pinned to the installed
        versions. ecgsk itself is not one: no package index has it, so its
        code travels in the model (MLflow's ``code_paths``, the model's
        ``code/ecgsk``), and :func:`mlflow.pyfunc.load_model` imports it from
        there where no ecgsk is imported yet. The model then loads with the
        code that pickled it, in an environment built from its requirements
        (``mlflow models serve`` with a virtualenv, a Docker image). Where
        ecgsk is imported from a zip file, the model carries no copy and
        requires ``ecgsk`` itself, with a warning.
    sampling_rate : float or None
        Sampling rate in Hz of the training signals (the pipeline's
        ``SAMPLING_RATE``).
    lead_names : list of str or None
        Names of the leads of the training signals, in input order
        (:class:`~ecgsk.preprocessing.WFDBLoader`'s ``lead_names_``). A
        pipeline whose first step is a fitted
        :class:`~ecgsk.preprocessing.LeadSelector` is then logged without it,
        as a model of the leads it keeps (named so, in its order), so that
        records holding those leads alone are predicted.
    task_type : {"binary", "multiclass", "multilabel", "cinc"} or None
        How the probabilities are read: independent labels, or one class
        (``"cinc"``, CinC 2017's four rhythm classes, is one class too).
    thresholds : float, array-like of shape (n_classes,) or None
        Decision thresholds tuned on validation data (multi-label, binary).

    Returns
    -------
    mlflow.models.model.ModelInfo
        ``model_uri`` (``models:/<model_id>``) loads the model; so does
        ``runs:/<run_id>/<name>``.

    Raises
    ------
    TypeError
        If ``pipeline`` has no ``predict_proba``.
    ValueError
        If ``classes`` does not name at least two distinct classes,
        ``input_example`` is not a numeric 3-D array
        ``(n, n_leads, n_samples)`` of at least one record,
        ``sampling_rate`` is not a positive number, ``task_type`` is not
        one of the four or does not fit the model (``"binary"`` with other
        than two classes; a single-label type for probabilities whose rows
        do not sum to 1), ``lead_names`` does not name the leads of
        ``input_example``,
        ``thresholds`` are not one probability or one per class, or the
        pipeline's probabilities of ``input_example`` cannot be matched to
        ``classes`` (:func:`predict_proba_matrix`).

    Notes
    -----
    The last four parameters are stored in the ``metadata`` section of the
    MLmodel file (``ecgsk_sampling_rate``, ``ecgsk_lead_names``,
    ``ecgsk_task_type``, ``ecgsk_thresholds``, always ``ecgsk_input_shape`` =
    ``[n_leads, n_samples]``), where
    ``mlflow.pyfunc.load_model(uri).metadata.metadata`` finds them;
    :mod:`ecgsk.predict` uses them to resample, reorder leads by name and pad
    or crop new records to what the model was trained on.

    Examples
    --------
    >>> info = log_model(pipe, classes=ds.classes, input_example=X_test[:2])  # doctest: +SKIP
    >>> model = mlflow.pyfunc.load_model(info.model_uri)                       # doctest: +SKIP
    >>> model.predict(X_new.astype("float32"))  # one column per class  # doctest: +SKIP
    """
    if not hasattr(pipeline, "predict_proba"):
        raise TypeError(f"pipeline must have predict_proba; {type(pipeline).__name__} has not.")
    classes = [str(c) for c in np.asarray(classes).tolist()]
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError(f"classes must name at least two distinct classes, got {classes!r}.")
    from ..preprocessing import WFDBLoader

    steps = getattr(pipeline, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[0][1], WFDBLoader):
        # Its input is record paths; the logged model takes signals, which ecgsk.predict
        # reads from the records as the loader did.
        raise ValueError(f"the pipeline's first step {steps[0][0]!r} is a WFDBLoader, which "
                         "reads record paths, but a logged model takes signals (n, leads, "
                         "samples): log the rest, pipeline[1:], with the loader's "
                         "sampling_rate_ and lead_names_.")
    example = np.asarray(input_example)
    pipeline, example, lead_names = _without_lead_selection(pipeline, example, lead_names)
    if example.ndim != 3 or len(example) == 0 or example.dtype.kind not in "fiu":
        # (n, samples) passed as one lead here, but ecgsk.predict reads (leads, samples).
        raise ValueError("input_example must be a numeric array of raw signals "
                         f"(n, leads, samples); got shape {example.shape}, dtype {example.dtype}"
                         + (": pass X[:, None, :] for one lead." if example.ndim == 2 else "."))
    # float32, as WFDBLoader gives and ecgsk.predict sends: the signature takes its dtype.
    example = np.ascontiguousarray(example[:_MAX_EXAMPLE_RECORDS], dtype=np.float32)
    metadata = _signal_metadata(example, sampling_rate, lead_names, task_type, thresholds,
                                len(classes))
    model = _on_cpu(pipeline)
    output = _ProbabilityModel(model, classes).predict(example)
    sums = np.asarray(output, dtype=float).sum(axis=1)
    if task_type in ("binary", "multiclass", "cinc") and not np.allclose(sums, 1, atol=1e-3):
        # predict would keep the most probable label of a label matrix and drop the others.
        raise ValueError(
            f"task_type={task_type!r} is single-label, but the pipeline's probabilities of "
            f"input_example sum to {sums[np.argmax(np.abs(sums - 1))]:.3g} in a row, not 1: "
            "a multi-label model; pass task_type='multilabel'.")
    signature = infer_signature(example, output)
    # MLflow copies the package into the model's code/ecgsk, without its __pycache__.
    carried = os.path.isdir(_PACKAGE_DIR)
    if not carried:
        warnings.warn(f"ecgsk is imported from {_PACKAGE_DIR}, which is no folder: the "
                      "model carries no copy of its code, and loads only where ecgsk is "
                      "installed.", UserWarning, stacklevel=2)
    if pip_requirements is None:
        pip_requirements = _default_requirements(model, with_ecgsk=not carried)
    with sys_path_kept():
        return Model.log(
            artifact_path=None, name=name, flavor=sys.modules[__name__], flavor_name="sklearn",
            registered_model_name=registered_model_name, metadata=metadata, sk_model=model,
            classes=classes, signature=signature, input_example=example,
            pip_requirements=pip_requirements, code_paths=[_PACKAGE_DIR] if carried else None)
