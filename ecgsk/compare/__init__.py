"""Cross-validated comparison of ECG pipelines, tracked in MLflow.

``python -m ecgsk.compare --pipelines A B --dataset ptbxl --task
superdiagnostic --data PATH`` (or :func:`compare`) loads the records once
with :class:`~ecgsk.preprocessing.WFDBLoader` at each pipeline's
``SAMPLING_RATE``, cross-validates every pipeline on patient-separated folds
of the training records, fits it once more on all of them, evaluates that fit
once on the test records with bootstrap confidence intervals, logs it as an
MLflow model, and tests the pipelines pairwise on the same test records
(paired bootstrap of the AUROC difference, DeLong for binary tasks, McNemar
on accuracy for single-label tasks).

Splits: PTB-XL trains on ``strat_fold`` 1-8 (cross-validated over them),
tunes decision thresholds on fold 9 and tests on fold 10. CinC 2017 and
PTB-DB, which have no folds, hold out a fixed stratified 20 % (grouped by
patient where there are patient ids) and cross-validate 5 grouped,
stratified folds of the rest. The final fit (:func:`fit_final`, shared
with ``python -m ecgsk.tune``'s refit) learns from the training records; its
networks validate on PTB-XL's fold 9.

Pipelines are Python modules of a fixed shape, found by name in
``pipelines/`` folders or given by path: see :mod:`ecgsk.compare._registry`
and :func:`load_pipeline_module`. Pipelines take raw signal arrays
``(n_records, n_leads, n_samples)``, so their logged models predict from
raw signals. Single-label targets are fitted as integer indices into the
dataset's classes.

MLflow runs nest comparison → pipeline → fold; see :func:`compare` for
what each holds.
"""

from ._cli import build_parser, main
from ._compare import (
    ComparisonFailed,
    ComparisonResult,
    PipelineResult,
    compare,
    parse_set,
    parse_value,
)
from ._data import (
    DATA_SEED,
    DATASETS,
    CompareError,
    dataset_tasks,
    default_cache_dir,
    fit_final,
    make_plan,
)
from ._registry import (
    PIPELINES_ENV,
    PipelineError,
    check_factory_params,
    factory_parameters,
    list_pipelines,
    load_pipeline_module,
    pipeline_dirs,
    validate_pipeline_module,
)
from ._stats import holm, pairwise_comparison

__all__ = [
    "compare",
    "main",
    "build_parser",
    "ComparisonResult",
    "PipelineResult",
    "ComparisonFailed",
    "CompareError",
    "PipelineError",
    "DATASETS",
    "DATA_SEED",
    "dataset_tasks",
    "default_cache_dir",
    "make_plan",
    "fit_final",
    "load_pipeline_module",
    "validate_pipeline_module",
    "list_pipelines",
    "pipeline_dirs",
    "factory_parameters",
    "check_factory_params",
    "PIPELINES_ENV",
    "parse_set",
    "parse_value",
    "pairwise_comparison",
    "holm",
]
