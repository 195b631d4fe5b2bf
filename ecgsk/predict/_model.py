"""Load an ecgsk MLflow model with what it knows of its training signals."""

import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np

__all__ = ["PredictError", "ECGModel", "load_ecg_model"]


class PredictError(ValueError):
    """A prediction request that cannot be served: unloadable model, no record, bad option."""


@dataclass
class ECGModel:
    """An ecgsk pyfunc model and the facts of its training signals.

    Attributes
    ----------
    uri : str
        Where it was loaded from.
    pyfunc : mlflow.pyfunc.PyFuncModel
        ``predict(X)`` gives a DataFrame of probabilities, one column per class.
    classes : list of str
        Class names, in the order of the probability columns.
    n_leads, n_samples : int
        Input shape the model takes, ``(n, n_leads, n_samples)``.
    sampling_rate : float or None
        Hz of the training signals (None: not recorded in the model).
    lead_names : list of str or None
        Leads of the training signals, in input order (None: not recorded).
    task_type : str or None
        ``"binary"``, ``"multiclass"``, ``"multilabel"`` or ``"cinc"`` (CinC
        2017's four rhythm classes, one class per record; None: not recorded).
    thresholds : ndarray or None
        Decision thresholds tuned on validation data (multi-label, binary).
    notes : list of str
        What had to be assumed at load time (e.g. a net moved to the CPU).

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.predict import load_ecg_model
    >>> model = load_ecg_model("runs:/0123abcd/model")  # doctest: +SKIP
    >>> model.classes, model.n_leads, model.n_samples  # doctest: +SKIP
    (['CD', 'HYP', 'MI', 'NORM', 'STTC'], 12, 1000)
    >>> model.predict_proba(np.zeros((2, 12, 1000), dtype=np.float32)).shape  # doctest: +SKIP
    (2, 5)
    """

    uri: str
    pyfunc: object
    classes: list
    n_leads: int
    n_samples: int
    sampling_rate: float | None = None
    lead_names: list | None = None
    task_type: str | None = None
    thresholds: np.ndarray | None = None
    notes: list | None = None

    def predict_proba(self, X, batch_size=256):
        """Probabilities ``(n, n_classes)`` of float32 signals ``(n, n_leads, n_samples)``.

        Parameters
        ----------
        X : array-like of shape (n, n_leads, n_samples)
            Signals, as the model's training signals were read; cast to
            float32.
        batch_size : int, default=256
            Records passed to the pyfunc's ``predict`` at a time.

        Returns
        -------
        ndarray of shape (n, n_classes)
            The probability of each class (columns follow ``classes``), as
            float64.

        Raises
        ------
        PredictError
            If ``X`` is not of shape ``(n, n_leads, n_samples)``, or the model
            fails on it (naming the error) or gives an output of another
            shape.
        """
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3 or X.shape[1:] != (self.n_leads, self.n_samples):
            raise PredictError(f"the model {self.uri} takes signals of shape (n, {self.n_leads}, "
                               f"{self.n_samples}); got {X.shape}.")
        parts = [self._predict_batch(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.classes)))

    def _predict_batch(self, X):
        try:
            proba = self.pyfunc.predict(X)
        except Exception as exc:  # noqa: BLE001 -- the model's own code or MLflow's checks
            first = (str(exc).strip().splitlines() or [""])[0]
            raise PredictError(f"the model {self.uri} failed on signals of shape {X.shape}: "
                               f"{type(exc).__name__}: {first}") from exc
        try:
            proba = np.asarray(proba, dtype=float)
        except (TypeError, ValueError) as exc:  # labels, say, where probabilities belong
            raise PredictError(f"the model {self.uri} gave an output that is not "
                               f"probabilities: {exc}") from None
        if proba.shape != (len(X), len(self.classes)):
            raise PredictError(f"the model {self.uri} gave an output of shape {proba.shape} "
                               f"for {len(X)} records; its classes are {list(self.classes)}.")
        return proba


def _skorch_nets(pipeline):
    from ..tracking._model import _skorch_nets as found

    return found(pipeline)


def _cpu_if_needed(pyfunc):
    """Move skorch nets bound to an absent GPU to the CPU; return a note per net moved."""
    raw = getattr(pyfunc, "get_raw_model", None)
    try:
        model = raw() if raw is not None else None
        pipeline = model.get_raw_model() if hasattr(model, "get_raw_model") else model
    except Exception:  # noqa: BLE001 -- a model without a raw model has no net to move
        return []
    nets = _skorch_nets(pipeline) if pipeline is not None else []
    if not nets:
        return []
    import torch

    notes = []
    for net in nets:
        device = str(vars(net).get("device", "cpu"))
        if device.startswith("cuda") and not torch.cuda.is_available():
            vars(net)["device"] = "cpu"
            if getattr(net, "module_", None) is not None:
                net.module_.to("cpu")
            notes.append(f"{type(net).__name__} was set to run on {device}; no GPU here, so it "
                         "runs on the CPU")
    return notes


def load_ecg_model(model_uri, tracking_uri=None):
    """Load a model logged by :func:`ecgsk.tracking.log_model` (or ``compare``) for prediction.

    Parameters
    ----------
    model_uri : str
        ``runs:/<run_id>/model``, ``models:/<name>/<version>``,
        ``models:/<model_id>``, or a local folder holding an MLmodel file.
    tracking_uri : str or None
        Store that ``runs:/`` and ``models:/`` URIs refer to; ecgsk's
        default (:func:`ecgsk.tracking.default_tracking_uri`) when None.

    Returns
    -------
    ECGModel

    Raises
    ------
    PredictError
        If the model cannot be found or loaded (a local folder or a
        ``sqlite:///`` store that does not exist included), or is not an ecgsk
        model (no class names in its pyfunc flavour).

    Examples
    --------
    >>> from ecgsk.predict import load_ecg_model                        # doctest: +SKIP
    >>> model = load_ecg_model("runs:/0123abcd/model")                  # doctest: +SKIP
    >>> model.sampling_rate, model.lead_names[:3], model.n_samples      # doctest: +SKIP
    (100.0, ['I', 'II', 'III'], 1000)
    """
    import mlflow
    from mlflow import pyfunc

    from ..tracking import default_tracking_uri
    from ..tracking._model import _CLASSES_KEY, sys_path_kept
    from ..tracking._uri import sqlite_file, tracking_kept

    uri = os.path.expanduser(os.fspath(model_uri))  # "~/model": --model=~/... is not expanded
    local = os.path.exists(uri)
    if not local and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", uri):  # no runs:/, models:/...
        raise PredictError(f"the model folder {uri} does not exist; a model is a local folder "
                           "holding an MLmodel file, or an MLflow URI such as "
                           "runs:/<run_id>/model or models:/<name>/<version>.")
    if local:
        uri = os.path.abspath(uri)
        if not os.path.isfile(os.path.join(uri, "MLmodel")):
            raise PredictError(f"{uri} is not an MLflow model folder (it has no MLmodel file).")
    # Only runs:/, models:/ and mlflow-artifacts:/ URIs are read through a tracking store; a
    # file:// (s3://...) one was refused when the default store had no database.
    through_store = re.match(r"(runs|models|mlflow-artifacts):", uri, re.IGNORECASE)
    store = (tracking_uri or default_tracking_uri()) if through_store else None
    db = sqlite_file(store)
    if db is not None and not db.is_file():  # MLflow would make an empty store, then fail
        from ..tracking import mask_secrets

        raise PredictError(f"cannot load the model {uri}: no tracking database at "
                           f"{mask_secrets(db)}; pass --tracking-uri with the store that "
                           "logged it, or a local model folder.")
    if store is not None and store.lower().startswith(("http://", "https://")):
        from ..tracking._uri import TrackingError, _check_reachable

        try:  # fail at once where MLflow would retry for minutes, printing nothing
            _check_reachable(store)
        except TrackingError as exc:
            raise PredictError(f"cannot load the model {uri}: {exc}") from None
    try:
        # The model is unpickled whole as it loads, so the copy downloaded from a store
        # (MLflow's own would stay in $TMPDIR) is removed after. runs:/ and models:/ resolve
        # against the global URI, which is set back as it was (unset, too), as is sys.path,
        # where MLflow puts the model's code/ folder.
        with tempfile.TemporaryDirectory(prefix="ecgsk-model-") as copy, sys_path_kept(), \
                tracking_kept():
            if store is not None:
                mlflow.set_tracking_uri(store)
            model = pyfunc.load_model(uri, dst_path=None if local else copy)
    except Exception as exc:  # noqa: BLE001 -- MLflow raises many types; name the model
        first = (str(exc).strip().splitlines() or [repr(exc)])[0]
        from ..tracking import mask_secrets

        where = "" if store is None else f" (tracking URI {mask_secrets(store)})"
        raise PredictError(f"cannot load the model {uri}{where}: {first}") from exc
    meta = model.metadata
    conf = meta.flavors.get(pyfunc.FLAVOR_NAME, {})
    classes = conf.get(_CLASSES_KEY)
    if not classes:
        raise PredictError(f"{uri} is not an ecgsk model: its pyfunc flavour names no classes "
                           f"({_CLASSES_KEY}); log models with ecgsk.tracking.log_model.")
    extra = dict(meta.metadata or {})
    shape = extra.get("ecgsk_input_shape")
    if shape is None and meta.signature is not None:
        spec = meta.signature.inputs.inputs[0]
        shape = list(getattr(spec, "shape", ()))[1:]
    if shape is None or len(shape) != 2 or min(shape) < 1:
        raise PredictError(f"{uri} does not say which signal shape it takes (no "
                           "ecgsk_input_shape metadata and no (n, leads, samples) tensor "
                           "signature).")
    thresholds = extra.get("ecgsk_thresholds")
    rate = extra.get("ecgsk_sampling_rate")
    return ECGModel(
        uri=uri, pyfunc=model, classes=[str(c) for c in classes], n_leads=int(shape[0]),
        n_samples=int(shape[1]), sampling_rate=None if rate is None else float(rate),
        lead_names=extra.get("ecgsk_lead_names"), task_type=extra.get("ecgsk_task_type"),
        thresholds=None if thresholds is None else np.asarray(thresholds, dtype=float),
        notes=_cpu_if_needed(model))
