"""MLflow tracking for ECG pipelines: runs that end honestly, and what to log in them.

Start with :func:`setup_tracking` (a SQLite store under ``./mlruns`` by
default, or any MLflow tracking URI), then log inside :func:`tracked_run`:

- :func:`log_pipeline_params`, :func:`log_data_info` and
  :func:`log_environment` record what ran on which data with which software;
  :func:`log_label_plots` (or ``log_data_info(..., plots=True)``) the class
  distribution and label co-occurrence of a split;
- :func:`log_training_curves` the per-epoch history of a skorch network;
- :func:`log_evaluation` test metrics by target type with bootstrap
  confidence intervals, confusion matrix, ROC and precision-recall plots,
  reliability diagram, classification report and per-class table;
- :func:`log_model` the fitted pipeline as an MLflow model with an sklearn
  flavour and a pyfunc returning class probabilities from raw signals.

Everything goes through MLflow's standard run, metric, artifact and model
APIs, so ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`` shows
it.

Examples
--------
>>> from ecgsk.tracking import setup_tracking, tracked_run, log_evaluation  # doctest: +SKIP
>>> setup_tracking()                                      # doctest: +SKIP
>>> with tracked_run("logreg"):                           # doctest: +SKIP
...     log_pipeline_params(pipe, "logreg")
...     log_evaluation(y_test, pipe.predict_proba(X_test), classes)
"""

from ._curves import find_skorch_net, log_training_curves
from ._eda import log_label_plots
from ._evaluation import (
    SUMMARY_METRICS,
    TASK_TYPES,
    decision_thresholds,
    evaluate_predictions,
    infer_task_type,
    log_evaluation,
)
from ._masking import mask_secrets
from ._model import log_model, predict_proba_matrix
from ._params import (
    data_hash,
    environment_tags,
    log_data_info,
    log_environment,
    log_pipeline_params,
    pipeline_params,
)
from ._runs import RunTerminated, tracked_run
from ._uri import TrackingError, default_tracking_uri, setup_tracking

__all__ = [
    "default_tracking_uri",
    "setup_tracking",
    "TrackingError",
    "tracked_run",
    "RunTerminated",
    "log_pipeline_params",
    "pipeline_params",
    "log_data_info",
    "log_label_plots",
    "data_hash",
    "environment_tags",
    "log_environment",
    "log_training_curves",
    "find_skorch_net",
    "log_evaluation",
    "evaluate_predictions",
    "decision_thresholds",
    "infer_task_type",
    "TASK_TYPES",
    "SUMMARY_METRICS",
    "log_model",
    "predict_proba_matrix",
    "mask_secrets",
]
