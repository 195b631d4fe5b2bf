"""Predict the classes of new WFDB records with an ecgsk model logged in MLflow.

``python -m ecgsk.predict MODEL RECORD_OR_FOLDER ... [--output out.csv]``
(or :func:`predict_records`) loads a model logged by
:func:`ecgsk.tracking.log_model` (``python -m ecgsk.compare`` logs one per
pipeline) from a ``runs:/``, ``models:/`` URI or a local folder, reads each
record as the training signals were read, and prints per record the
probability of every class and the predicted labels with their confidence
(multi-label: every label at or above its threshold; binary: the positive
class where its probability is at least the threshold; the thresholds tuned
on validation data when the model stores them, else 0.5; multiclass: the
most probable class).

Reading a record as the model expects uses the metadata ``log_model`` stores
with the model (``ecgsk_sampling_rate``, ``ecgsk_lead_names``,
``ecgsk_input_shape``): leads are matched by name, case-insensitively, and
put in the model's order; other rates are resampled
(:class:`~ecgsk.preprocessing.WFDBLoader` ``sampling_rate=``); other lengths
are cropped (centre) or zero-padded (end) to the model's input length. Each
change is reported as a note. A record missing a lead, shorter than a
quarter of the model's input (``min_fraction``), or whose header is missing
is rejected with a message saying why. Nothing is fed to the model silently
changed.

The same model serves over HTTP with ``mlflow models serve -m MODEL
--env-manager local``; :func:`serving_input` writes the JSON body it takes,
``{"inputs": [[[...]]]}`` (a float32 tensor ``(n, leads, samples)``), and
it answers ``{"predictions": [{"<class>": p, ...}, ...]}``.

Examples
--------
>>> from ecgsk.predict import predict_records                           # doctest: +SKIP
>>> result = predict_records("runs:/0123abcd/model", ["data/new/"])      # doctest: +SKIP
>>> result.table.head()                                                  # doctest: +SKIP
"""

from ._cli import build_parser, main
from ._model import ECGModel, PredictError, load_ecg_model
from ._predict import (
    Prediction,
    RecordPlan,
    decide,
    find_records,
    format_prediction,
    plan_records,
    predict_records,
    read_records,
    serving_input,
)

__all__ = [
    "predict_records",
    "load_ecg_model",
    "ECGModel",
    "Prediction",
    "PredictError",
    "find_records",
    "plan_records",
    "read_records",
    "RecordPlan",
    "decide",
    "format_prediction",
    "serving_input",
    "main",
    "build_parser",
]
