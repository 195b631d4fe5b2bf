"""Cross-validated comparison of pipelines on one dataset, tracked in MLflow."""

import ast
import io
import os
import shlex
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._notes import warnings_as_notes
from .._threads import check_threads, limit_threads
from ..cache._cache import resolve_cache_dir
from ._data import (
    DATA_SEED,
    CompareError,
    align_labels,
    checkpoint_folder,
    check_dataset_task,
    default_length,
    dropped_text,
    fit_final,
    fit_fold,
    fit_targets,
    groups_sha256,
    learnt_classes,
    load_dataset,
    load_signals,
    make_plan,
    records_sha256,
    select_records,
    stratified_subset,
    unseen_records,
)
from ._registry import (
    PipelineError,
    check_factory_params,
    factory_parameters,
    load_pipeline_module,
    validate_built,
)
from ._resume import (
    REQUEST_TAG,
    child_runs,
    drop_final_fits,
    end_orphans,
    final_fit_path,
    find_unfinished,
    in_other_experiment,
    last_finished,
    load_final_fit,
    load_result,
    logged_model_uri,
    process_tags,
    remove_final_fit,
    request_key,
    save_final_fit,
    save_result,
)

__all__ = ["compare", "ComparisonResult", "PipelineResult", "ComparisonFailed", "parse_set",
           "parse_value"]


class ComparisonFailed(RuntimeError):
    """Some pipelines failed; the others were compared.

    Parameters
    ----------
    message : str
        Which pipelines failed, and why.
    result : ComparisonResult
        What was done, kept as ``result``.
    """

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass
class PipelineResult:
    """What one pipeline gave: its run, CV and test metrics, test predictions and model.

    Attributes
    ----------
    name : str
        The pipeline's name (its module's file stem).
    run_id : str
        The MLflow run of the pipeline, nested in the comparison run.
    cv_metrics : list of dict
        One dict per cross-validation fold run, in fold order: the held-out
        metrics of that fold, named ``cv_<metric>``. Empty with ``cv=False``.
    test_metrics : dict of str to float
        The final fit's metrics on the test records, named ``test_<metric>``,
        with ``_ci_low`` and ``_ci_high`` bootstrap bounds for the summary
        metrics (:func:`~ecgsk.tracking.log_evaluation`).
    proba : ndarray of shape (n_test, n_classes)
        The final fit's predicted probabilities of the test records; columns
        follow the comparison's ``classes``.
    pred : ndarray
        The predictions made from ``proba``: a 0/1 indicator matrix for
        multi-label tasks and class indices otherwise; multi-label and binary
        tasks use the decision thresholds tuned on the validation records
        (0.5 without them), the others take the most probable class.
    model_uri : str or None, default=None
        URI of the MLflow model logged for the final fit, in the store of
        :func:`compare`'s ``tracking_uri``. :func:`compare` leaves MLflow's
        global tracking URI as it found it, so load the model with
        ``ecgsk.predict.load_ecg_model(model_uri, tracking_uri=...)``, or
        after ``mlflow.set_tracking_uri(...)``.
    external_metrics : dict of str to float or None, default=None
        The final fit's metrics on the external records (``test_data``),
        named ``external_<metric>``; None without external records.
    external_proba : ndarray of shape (n_external, n_classes) or None, default=None
        The final fit's predicted probabilities of the external records.
    external_pred : ndarray or None, default=None
        The predictions made from ``external_proba``, as ``pred``.
    """

    name: str
    run_id: str
    cv_metrics: list
    test_metrics: dict
    proba: np.ndarray
    pred: np.ndarray
    model_uri: str | None = None
    external_metrics: dict | None = None
    external_proba: np.ndarray | None = None
    external_pred: np.ndarray | None = None


@dataclass
class ComparisonResult:
    """Runs, tables and per-pipeline results of :func:`compare`.

    Attributes
    ----------
    run_id : str
        The MLflow comparison run, parent of the pipeline runs.
    experiment_id : str
        The MLflow experiment holding the runs.
    task_type : {"multilabel", "cinc", "binary", "multiclass"}
        The target type of the task
        (:func:`~ecgsk.tracking.infer_task_type`).
    classes : list of str
        The dataset's classes, in the order of the probability columns.
    pipelines : dict of str to PipelineResult, default={}
        The result of each pipeline that finished, by name (those read back
        from a resumed comparison included).
    failed : dict of str to str, default={}
        The error (``"<type>: <message>"``) of each pipeline that failed, by
        name.
    summary : pandas.DataFrame, default=None
        One row per pipeline: its test summary metrics
        (:data:`~ecgsk.tracking.SUMMARY_METRICS`) with their bootstrap
        intervals, the mean and standard deviation of the headline metric
        over the cross-validation folds (with cross-validation), the
        headline metric on the external records (with ``test_data``) and
        its run id; a failed pipeline's row holds its ``error``. Set when
        the comparison ends.
    pairwise : pandas.DataFrame, default=None
        The pairwise tests of the pipelines on the test records
        (:func:`~ecgsk.compare.pairwise_comparison`; empty with fewer than
        two finished pipelines). Set when the comparison ends.
    external_pairwise : pandas.DataFrame, default=None
        The same tests on the external records; None without ``test_data``.
    """

    run_id: str
    experiment_id: str
    task_type: str
    classes: list
    pipelines: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    summary: pd.DataFrame = None
    pairwise: pd.DataFrame = None
    external_pairwise: pd.DataFrame = None


def parse_value(text):
    """A ``--set`` value: a Python literal (``0.1``, ``[64, 128]``, ``None``), else the string.

    Parameters
    ----------
    text : str
        The text after ``=`` of a ``PIPELINE.PARAM=VALUE`` item.

    Returns
    -------
    object
        The value of the literal (:func:`ast.literal_eval`); ``text`` itself
        when it is no Python literal.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_set(items, pipeline_names):
    """Parse ``PIPELINE.PARAM=VALUE`` items into ``{pipeline: {param: value}}``.

    Parameters
    ----------
    items : iterable of str or None
        The ``--set`` items. ``PIPELINE`` is everything before the last dot
        of the key, ``PARAM`` an identifier, and ``VALUE`` is read with
        :func:`parse_value`; a parameter set twice keeps its last value.
        None sets nothing.
    pipeline_names : sequence of str
        The names of the pipelines compared.

    Returns
    -------
    dict of str to dict
        ``{pipeline: {param: value}}`` with a (possibly empty) dict for every
        name of ``pipeline_names``.

    Raises
    ------
    CompareError
        For a malformed item or a pipeline not being compared.
    """
    out = {name: {} for name in pipeline_names}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        pipeline, dot, param = key.strip().rpartition(".")
        if not sep or not dot or not pipeline or not param.isidentifier():
            raise CompareError(f"--set {item!r}: expected PIPELINE.PARAM=VALUE, e.g. "
                               "features_logreg.C=0.5.")
        if pipeline not in out:
            raise CompareError(f"--set {item!r}: pipeline {pipeline!r} is not among the "
                               f"compared pipelines ({', '.join(pipeline_names)}).")
        out[pipeline][param] = parse_value(value)
    return out


def _as_list(value):
    return (value,) if isinstance(value, str) else tuple(value)


def _resolve_pipelines(pipelines, dataset, task):
    if not pipelines:
        raise CompareError("name at least one pipeline to compare.")
    modules = {}
    for item in pipelines:
        module = load_pipeline_module(item)
        name = module.__ecgsk_name__
        if name in modules and modules[name].__ecgsk_path__ == module.__ecgsk_path__:
            raise CompareError(f"pipeline {name!r} is named twice; name each pipeline once.")
        if name in modules:
            raise CompareError(f"two pipelines are named {name!r} ({modules[name].__ecgsk_path__} "
                               f"and {module.__ecgsk_path__}); rename one file.")
        if dataset not in _as_list(module.DATASET) or task not in _as_list(module.TASK):
            raise CompareError(
                f"pipeline {name!r} is made for dataset {module.DATASET!r}, task "
                f"{module.TASK!r}, not {dataset!r}, {task!r}.")
        modules[name] = module
    return modules


def _build(module, name, params):
    try:
        pipe = module.make_pipeline(**params)
    except Exception as exc:  # noqa: BLE001 -- the factory's own errors, named
        raise PipelineError(f"pipeline {name!r}: make_pipeline({_kwargs(params)}) failed: "
                            f"{type(exc).__name__}: {exc}") from exc
    if not hasattr(pipe, "fit") or not hasattr(pipe, "predict_proba"):
        raise PipelineError(f"pipeline {name!r}: make_pipeline returned "
                            f"{type(pipe).__name__}, not an estimator with predict_proba.")
    return pipe


def _check_built(module, name, params):
    """Build the pipeline and run the parameter checks its estimators make when fitted.

    A bad value set with ``--set`` (``C=-1``) fails here, before any record
    is read, rather than in the first fit.
    """
    pipe = _build(module, name, params)
    try:
        validate_built(pipe)
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"pipeline {name!r} with {_kwargs(params)}: {exc}") from None


def _kwargs(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _fmt(value, low=None, high=None):
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.3f}"
    if low is not None and np.isfinite(low) and np.isfinite(high):
        text += f" [{low:.3f}, {high:.3f}]"
    return text


class _Signals:
    """Signals of a dataset at each (rate, length) asked, read once.

    ``leads_of``, the training records' ``_Signals`` (read first), makes
    these (the external records) read the training leads in their order: a
    root whose headers list the same leads in another order would otherwise
    hand each lead to the weights of another.
    """

    def __init__(self, paths, cache_dir, n_jobs, leads_of=None):
        self.paths, self.cache_dir, self.n_jobs = paths, cache_dir, n_jobs
        self.leads_of = leads_of
        self._arrays = {}
        self.lead_names = None

    def get(self, rate, length):
        key = (float(rate), int(length))
        if key not in self._arrays:
            leads = None if self.leads_of is None else self.leads_of.lead_names
            self._arrays[key], self.lead_names = load_signals(
                self.paths, sampling_rate=rate, length=length, cache_dir=self.cache_dir,
                n_jobs=self.n_jobs, return_lead_names=True, leads=leads)
        return self._arrays[key]

    def loaded(self):
        """``[((rate, length), signals), ...]`` read so far, lowest rate first."""
        return sorted(self._arrays.items(), key=lambda item: item[0])


def compare(pipelines, dataset, task, data, *, folds=None, cv=True, set_params=None,
            tracking_uri=None, test_data=None, test_folds=None, n_boot=1000, seed=0,
            experiment="ecgsk", max_records=None, cache_dir=None, n_jobs=1, progress=True,
            out=None, explain=0, threads=None, resume=True):
    """Cross-validate pipelines, test them once, compare them pairwise; track it all in MLflow.

    Parameters
    ----------
    pipelines : list of str
        Pipeline names (see :func:`~ecgsk.compare.list_pipelines`) or paths
        of pipeline modules.
    dataset : {"ptbxl", "cinc2017", "ptbdb"}
        The dataset ``data`` holds, one of :data:`~ecgsk.compare.DATASETS`.
    task : str
        A task of the dataset (PTB-XL's benchmark tasks, ``"af"`` for CinC
        2017, ``"diagnosis"`` for PTB-DB); each pipeline must declare it.
    data : str or path-like
        Root of the dataset, as its reader takes it.
    folds : list of int or None
        Cross-validation folds to run: PTB-XL folds among 1-8 (9 validates,
        10 tests); among 1-5 for the other datasets. All when None. In each
        fold's fit the networks validate on whole patients of its training
        records (:func:`~ecgsk.compare._data.fit_fold`).
    cv : bool, default=True
        False skips cross-validation: one fit on the training records,
        evaluated on the test records. In the final fit on PTB-XL, the
        networks of a pipeline validate (early stopping, learning-rate
        schedule) on fold 9, as the benchmark does
        (:func:`ecgsk.neural.set_validation`); fold 9 also tunes the
        decision thresholds. Nothing else learns from fold 9.
    set_params : dict or None
        ``{pipeline: {param: value}}`` passed to the pipelines' factories.
        When a factory takes ``random_state`` and it is not set, it gets
        ``seed``.
    tracking_uri : str or None
        MLflow tracking URI (see :func:`~ecgsk.tracking.setup_tracking`).
    test_data : str or path-like or None
        Root of a second copy of the dataset's layout, evaluated with the
        final fits under the prefix ``external_``: every record of the task
        whose patient (or, without patient ids, the record itself) no fit
        learnt from (:func:`~ecgsk.compare._data.unseen_records`). A root
        of other patients is scored on all its records, whatever their
        folds; a full download loses the patients of ``data``'s training
        and validation records. Labels are matched to the training classes
        by name: classes unseen in training are dropped (multi-label
        columns, single-label records). Leads are matched by name too: the
        records are read with the training records' leads, in their order.
    test_folds : list of int or None
        Score only these folds of ``test_data`` (PTB-XL ``strat_fold``):
        ``[10]`` scores a full download by the benchmark's protocol, on its
        test fold. All folds when None.
    n_boot : int, default=1000
        Bootstrap resamples for confidence intervals and paired tests.
    seed : int, default=0
        Seed of the cross-validation folds of datasets without folds, the
        bootstrap and the pipelines' ``random_state``. The subset and the
        test hold-out do not depend on it (:data:`~ecgsk.compare.DATA_SEED`):
        every seed tests on the same records.
    experiment : str, default="ecgsk"
        MLflow experiment.
    max_records : int or None
        Use a fixed stratified subset of this many records (and at most
        this many external records); logged as ``compare.max_records``.
        Its test records are among those of a run on every record
        (:func:`~ecgsk.compare._data.select_records`).
    cache_dir : str, path-like or None
        Cache of the loaded signals (:class:`~ecgsk.preprocessing.WFDBLoader`);
        :func:`default_cache_dir` when None. Its folder ``checkpoints``
        holds the networks' training checkpoints while they train
        (:func:`ecgsk.neural.checkpoints`): an interrupted fit, run again,
        resumes at its last finished epoch. It also holds each pipeline's
        final fit (``compare-final-<run id>.pkl``) until the pipeline's run
        finishes: a run interrupted while it logs the final fit is finished
        with that fit, not fitted again.
    n_jobs : int, default=1
        Processes reading records.
    progress : bool, default=True
        Show a tqdm bar over pipelines × folds on stderr.
    out : file-like or None
        Where the comparison tables are printed; stdout when None.
    explain : int, default=0
        Log explanations of the final fit for the first ``explain`` test
        records under ``explain/`` of each pipeline run
        (:func:`ecgsk.explain.log_explanations`): Grad-CAM for networks;
        for the others, permutation importance of each lead × 1/10 of the
        record, scored by macro AUROC on (at most 250 of) the test records
        with one permutation per cell, which costs ``10 × n_leads``
        predictions of those records. 0 logs none.
    threads : int or None
        At most this many threads in torch (:func:`torch.set_num_threads`)
        and in the OpenMP and BLAS pools (:mod:`threadpoolctl`) of this
        process while it runs; the tag ``ecgsk.threads.torch`` records
        torch's, on the comparison run and on each fold and pipeline run that
        fits (a resumed comparison may use other threads than the folds it
        kept). The libraries' defaults when None.
    resume : bool, default=True
        Resume the latest comparison of the same request (the tag
        ``ecgsk.request``: the same pipelines, module sources, parameters,
        data and options) in this experiment if it did not finish
        (interrupted, killed, or with a failed pipeline): its finished
        pipeline runs are read back and its finished folds kept, in the same
        MLflow runs; only the rest is fitted (not a saved final fit, see
        ``cache_dir``), and what a reopened run holds of it (the cross-
        validation summary; with a saved final fit, its metrics, training
        curves and model) is not logged again; a final fit made anew (its
        saved file gone) logs its own results over the old ones. False
        (``--fresh``) starts a new comparison, and removes the final fits
        saved for the one it leaves. ecgsk's own code is part of
        the request (:func:`ecgsk._source.code_hash`): after an upgrade or
        an edit of the package, a new comparison starts.

    Returns
    -------
    ComparisonResult

    Raises
    ------
    CompareError, PipelineError, TrackingError
        For anything wrong with the request, before any work.
    ComparisonFailed
        After the comparison, when some pipelines failed (their runs and
        the comparison run end FAILED; the others are compared).

    Notes
    -----
    MLflow runs nest comparison → pipeline → fold (tag ``ecgsk.role``).
    Each fold run holds its held-out metrics ``cv_<metric>``; the pipeline
    run holds the same per fold as a history with ``step=fold``, their
    ``cv_<metric>_mean`` and ``_std`` (numpy's, ``ddof=0``, as sklearn's
    ``cv_results_``; from two folds on), the final fit's ``test_<metric>``
    with bootstrap intervals and artifacts
    (:func:`~ecgsk.tracking.log_evaluation`), test predictions, training
    curves of networks, and the model (:func:`~ecgsk.tracking.log_model`).
    The comparison run holds the data of each split, the training split's
    class distribution and label co-occurrence
    (``data/train/class_distribution.png``,
    ``data/train/label_cooccurrence.png`` for multi-label tasks), the
    clinical 12-lead plots of the first 2 test records as the pipelines
    read them (``data/examples/<record>.png``, :func:`ecgsk.plots.plot_ecg`), the
    summary and the pairwise tests (``comparison/summary.json``,
    ``comparison/pairwise.json``; with ``test_data``, the same tests on the
    external records, ``comparison/external_pairwise.json``; CSV copies and
    ``comparison/report.txt``).

    Examples
    --------
    >>> from ecgsk.compare import compare
    >>> result = compare(["features_logreg", "randomconv_ridge"], "ptbxl", "superdiagnostic",
    ...                  "data/ptb-xl", folds=[1, 2], n_boot=200)  # doctest: +SKIP
    >>> result.pairwise[["pipeline_a", "pipeline_b", "diff", "p_holm", "winner"]]  # doctest: +SKIP
    """
    arguments = dict(locals())
    from ..neural import checkpoints

    from ..tracking._uri import tracking_kept

    threads = check_threads(arguments.pop("threads"), CompareError)
    with limit_threads(threads), checkpoints(checkpoint_folder(cache_dir)), tracking_kept():
        return _compare(**arguments)


def _compare(pipelines, dataset, task, data, *, folds=None, cv=True, set_params=None,
             tracking_uri=None, test_data=None, test_folds=None, n_boot=1000, seed=0,
             experiment="ecgsk", max_records=None, cache_dir=None, n_jobs=1, progress=True,
             out=None, explain=0, resume=True):
    """The body of :func:`compare`."""
    from mlflow.tracking import MlflowClient

    from ..tracking import setup_tracking
    from ..tracking._evaluation import infer_task_type

    # ---- everything that can be wrong is checked here, before any work ----
    check_dataset_task(dataset, task)
    if isinstance(pipelines, (str, os.PathLike)):
        pipelines = [pipelines]
    modules = _resolve_pipelines(list(pipelines), dataset, task)
    if set_params is None:
        set_params = {}
    unknown = sorted(set(set_params) - set(modules))
    if unknown:
        raise CompareError(f"parameters set for pipelines not compared: {unknown}.")
    params = {}
    for name, module in modules.items():
        params[name] = dict(set_params.get(name, {}))
        check_factory_params(module, params[name], name)
        names, _ = factory_parameters(module)
        if "random_state" in names and "random_state" not in params[name]:
            params[name]["random_state"] = seed
        _check_built(module, name, params[name])
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise CompareError(f"n_boot must be a non-negative integer, got {n_boot!r}.")
    if folds and not cv:
        raise CompareError("folds choose cross-validation folds; they make no sense with "
                           "cv=False (--no-cv).")
    if isinstance(explain, bool) or not isinstance(explain, (int, np.integer)) or explain < 0:
        raise CompareError(f"explain must be a non-negative number of records, got {explain!r}.")
    if max_records is not None and (isinstance(max_records, bool) or max_records < 20):
        raise CompareError(f"max_records (--max-records) must be at least 20, got "
                           f"{max_records!r}.")
    if test_folds is not None and test_data is None:
        raise CompareError("test_folds (--test-folds) choose folds of test_data (--test-data); "
                           "pass test_data too.")
    import mlflow

    if mlflow.active_run() is not None:  # MLflow refused it once every record was read
        raise CompareError("an MLflow run is active in this thread; compare starts its own "
                           "runs (end the active run first).")
    rates = {name: float(m.SAMPLING_RATE) for name, m in modules.items()}
    full = load_dataset(dataset, task, data, max(rates.values()))
    with warnings_as_notes():  # a class too rare for the folds: said as the readers say theirs
        ds, holdout = select_records(full, max_records, cv=cv)
        plan = make_plan(ds, folds=folds, cv=cv, seed=seed, holdout=holdout)
    ext = ext_full = None
    if test_data is not None:
        same = Path(test_data).expanduser().resolve() == Path(data).expanduser().resolve()
        ext = ext_full = full if same else load_dataset(dataset, task, test_data,
                                                        max(rates.values()), "--test-data")
        n_read, left = len(ext), []  # what is left out, said on stderr
        ext, ext_seen = unseen_records(ext, ds, plan.test, folds=test_folds)
        other_folds = n_read - ext_seen - len(ext)  # --test-folds
        if other_folds:
            left.append(f"{other_folds} outside strat_fold {_fold_text(test_folds)}")
        if ext_seen:
            left.append(f"{ext_seen} of patients a fit learnt from")
        if max_records is not None and len(ext) > max_records:
            n = len(ext)
            ext = stratified_subset(ext, int(max_records), DATA_SEED)
            left.append(f"{n - len(ext)} outside the --max-records subset")
        n = len(ext)
        ext, y_ext, ext_dropped = align_labels(ext, ds.classes, learnt_classes(ds, plan.test))
        if ext_dropped and ext.y.ndim == 2:
            left.append(f"the labels the training data lacks: {', '.join(map(str, ext_dropped))}")
        elif ext_dropped:
            left.append(f"{n - len(ext)} of classes no fit learnt: "
                        f"{', '.join(map(str, ext_dropped))}")
        if len(ext) == 0:
            raise CompareError(f"no external record of {test_data} has a training class.")
        print(f"note: --test-data {test_data}: {len(ext)} of its {n_read} records are scored"
              + (f"; left out: {'; '.join(left)}." if left else "."), file=sys.stderr)
    cache_dir = resolve_cache_dir(cache_dir)
    # Every record is read here, so an unreadable one (a truncated signal file, a bad
    # header, NaN samples) is a bad request: it fails before the store or a run exists.
    signals = _Signals(ds.X, cache_dir, n_jobs)
    ext_signals = (_Signals(ext.X, cache_dir, n_jobs, leads_of=signals) if ext is not None
                   else None)
    for rate_length in sorted({_rate_length(m, ds) for m in modules.values()}):
        for each in (signals, ext_signals):
            if each is not None:
                each.get(*rate_length)
    experiment_id = setup_tracking(tracking_uri, experiment)
    # The folders as the request key and the logged params name them: a rerun that spells
    # one otherwise (a trailing slash, ~, a relative path) resumes the same runs, whose
    # params MLflow would refuse to change.
    data_path = os.fspath(Path(data).expanduser().resolve())
    test_path = None if test_data is None else os.fspath(Path(test_data).expanduser().resolve())
    key = request_key(
        modules, params, dataset=dataset, task=task, data=data_path,
        records=records_sha256(ds),  # records added or labels edited under the same folder
        groups=groups_sha256(ds),  # patients edited: the networks validate on other ones
        folds=[k for k, _, _ in plan.cv], cv=bool(cv), seed=seed, max_records=max_records,
        test_data=test_path,
        test_records=None if ext is None else records_sha256(ext),
        test_folds=test_folds, n_boot=n_boot, explain=int(explain))
    client = MlflowClient()
    previous = find_unfinished(client, experiment_id, key) if resume else None
    if not resume:  # no rerun will read the final fits of the comparison it leaves
        for path in drop_final_fits(client, experiment_id, key, checkpoint_folder(cache_dir)):
            print(f"--fresh: removed {path}, the saved final fit of an unfinished run it "
                  "leaves", file=sys.stderr)

    # ---- the work ----
    import mlflow
    from tqdm.auto import tqdm

    from ..tracking import log_data_info, log_environment, mask_secrets, tracked_run

    out = sys.stdout if out is None else out
    y = fit_targets(ds)
    task_type = infer_task_type(ds.y, ds.classes)
    classes = [str(c) for c in ds.classes]
    if previous is not None:
        end_orphans(client, experiment_id, previous.info.run_id)
        print(f"resuming comparison run {previous.info.run_id} ({previous.info.status}): "
              "finished pipelines and folds are kept; --fresh starts anew", file=sys.stderr)
    elif resume and (done := last_finished(client, experiment_id, key)) is not None:
        print(f"note: this comparison finished before, in run {done.info.run_id}; it runs "
              "again as a new comparison (its results stay in that run)", file=sys.stderr)
    elif resume and (other := in_other_experiment(client, experiment_id, key)) is not None:
        where = client.get_experiment(other.info.experiment_id).name
        if other.info.status == "FINISHED":
            print(f"note: this comparison finished before in the MLflow experiment {where!r} "
                  f"(run {other.info.run_id}); it runs again here", file=sys.stderr)
        else:
            print(f"note: this comparison ran before in the MLflow experiment {where!r} (run "
                  f"{other.info.run_id}, {other.info.status}); it starts anew here, and "
                  f"--experiment {shlex.quote(where)} would resume it there", file=sys.stderr)
    with tracked_run(f"compare {dataset}/{task}",
                     tags={"ecgsk.role": "comparison", "ecgsk.dataset": dataset,
                           "ecgsk.task": task, REQUEST_TAG: key, **process_tags()},
                     run_id=None if previous is None else previous.info.run_id) as run:
        result = ComparisonResult(run_id=run.info.run_id, experiment_id=experiment_id,
                                  task_type=task_type, classes=classes)
        log_environment()
        mlflow.log_params({
            "compare.pipelines": ", ".join(modules), "compare.dataset": dataset,
            "compare.task": task, "compare.task_type": task_type,
            "compare.data": mask_secrets(data_path),
            "compare.data_left_out": dropped_text(full),
            "compare.folds": ", ".join(str(k) for k, _, _ in plan.cv) or "none",
            "compare.cv": str(bool(cv)), "compare.n_boot": str(n_boot),
            "compare.seed": str(seed), "compare.max_records": str(max_records),
            "compare.test_data": mask_secrets(test_path) if test_path else "None",
            "compare.test_data_left_out": dropped_text(ext_full) if ext_full else "None",
            "compare.test_folds": _fold_text(test_folds) if test_folds else "all",
            "compare.classes": ", ".join(classes),
            "compare.explain": str(int(explain)),
        })
        _log_splits(log_data_info, ds, y, plan, plots=True)  # EDA once, not per pipeline
        if ext is not None:
            _log_external_info(log_data_info, ds, ext, y_ext, ext_dropped, ext_seen,
                               test_folds)
        steps = len(modules) * (len(plan.cv) + 1)
        bar = tqdm(total=steps, desc="pipelines × folds", unit="fit", disable=not progress,
                   file=sys.stderr, dynamic_ncols=True)
        notes = set()  # the notes said so far, each once
        try:
            for name, module in modules.items():
                done = bar.n
                earlier = [] if previous is None else child_runs(
                    client, experiment_id, run.info.run_id, "pipeline", pipeline=name)
                reused = next((load_result(client, r) for r in earlier
                               if r.info.status == "FINISHED"), None)
                if reused is not None:
                    result.pipelines[name] = reused
                    bar.update(len(plan.cv) + 1)
                    tqdm.write(f"pipeline {name!r}: finished in the interrupted comparison, "
                               f"read back from run {reused.run_id}", file=sys.stderr)
                    continue
                try:
                    result.pipelines[name] = _run_pipeline(
                        name, module, params[name], ds, y, plan, signals, task_type, classes,
                        ext=(ext, y_ext, ext_signals) if ext is not None else None,
                        n_boot=n_boot, seed=seed, bar=bar, explain=int(explain),
                        resume_run=earlier[0] if earlier else None,
                        final_dir=checkpoint_folder(cache_dir), notes=notes)
                except Exception as exc:  # noqa: BLE001 -- one pipeline must not stop the rest
                    result.failed[name] = f"{type(exc).__name__}: {exc}"
                    bar.update(done + len(plan.cv) + 1 - bar.n)
                    tqdm.write(f"pipeline {name!r} failed (its run is FAILED):\n"
                               + traceback.format_exc(), file=sys.stderr)
        finally:
            bar.close()
        if not signals.loaded() and result.pipelines:  # every pipeline was read back
            signals.get(*_rate_length(modules[max(result.pipelines, key=rates.get)], ds))
        if signals.loaded():
            # The first test records as the pipelines read them (the highest rate read).
            (rate, _), X = signals.loaded()[-1]
            shown = plan.test[:2]
            _log_example_ecgs(X[shown], ds.X[shown], y[shown], classes, rate,
                              signals.lead_names)
        _finish(result, y[plan.test], task_type, classes, n_boot, seed, out,
                y_ext=None if ext is None else y_ext)
        if result.failed:
            raise ComparisonFailed(
                f"{len(result.failed)} of {len(modules)} pipelines failed: "
                + "; ".join(f"{k}: {v}" for k, v in result.failed.items()), result)
    return result


def _log_splits(log_data_info, ds, y, plan, plots=False):
    """Data info of each split; with ``plots``, the training split's label plots too."""
    for split in ("train", "valid", "test"):
        idx = getattr(plan, split)
        if idx is None:
            continue
        log_data_info(ds.name, ds.task, plan.description[split], ds.X[idx], y[idx],
                      classes=ds.classes, prefix=f"{split}.", plots=plots and split == "train")


def _log_external_info(log_data_info, ds, ext, y_ext, dropped, seen, folds):
    import mlflow

    which = "every record" if folds is None else f"strat_fold {_fold_text(folds)}"
    log_data_info(ext.name, ext.task, f"external: {which}, patients no fit learnt from",
                  ext.X, y_ext, classes=ds.classes, prefix="external.")
    mlflow.log_params({"external.dropped_seen": str(seen),
                       "external.dropped_classes": ", ".join(map(str, dropped)) or "none"})


def _fold_text(folds):
    return ", ".join(str(f) for f in sorted({int(f) for f in folds}))


def _predict(est, X, n_classes):
    from ..tracking import predict_proba_matrix

    return predict_proba_matrix(est, X, n_classes)


def _predictions(proba, task_type, thresholds):
    if task_type == "multilabel":
        thr = 0.5 if thresholds is None else np.asarray(thresholds)
        return (proba >= thr).astype(np.int64)
    if task_type == "binary":
        return (proba[:, 1] >= (0.5 if thresholds is None else thresholds)).astype(np.int64)
    return proba.argmax(axis=1)


def _rate_length(module, ds):
    """The sampling rate and length at which ``module`` reads the records of ``ds``."""
    rate = float(module.SAMPLING_RATE)
    return rate, int(getattr(module, "LENGTH", None) or default_length(ds.name, rate))


def _run_pipeline(name, module, params, ds, y, plan, signals, task_type, classes, *, ext,
                  n_boot, seed, bar, explain=0, resume_run=None, final_dir=None, notes=None):
    """Cross-validate, fit, test and log one pipeline in its (new or resumed) run.

    ``resume_run``: an unfinished run of this pipeline in the comparison
    being resumed; it is reopened, its FINISHED folds are kept and what it
    holds of the same fits is not logged again. ``final_dir``: where the final fit is kept
    until the run finishes (:func:`~ecgsk.compare._resume.save_final_fit`),
    so that the resumed run finishes with it instead of fitting anew; None
    keeps none. ``notes``: the notes on the test records said so far, a set
    (:func:`~ecgsk._notes.warnings_as_notes`).
    """
    import mlflow
    from sklearn.base import clone
    from tqdm.auto import tqdm

    from ..tracking import (
        decision_thresholds,
        evaluate_predictions,
        log_data_info,
        log_evaluation,
        log_model,
        log_pipeline_params,
        log_training_curves,
        tracked_run,
    )
    from ..tracking._params import _named_params, thread_tags
    from ._stats import mean_and_spread

    k = len(classes)
    rate, length = _rate_length(module, ds)
    resumed = resume_run is not None
    kept = {}
    held = set(resume_run.data.metrics) if resumed else set()  # logged before, not again
    if resumed:
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        for fold_run in child_runs(client, resume_run.info.experiment_id,
                                   resume_run.info.run_id, "fold"):
            fold = int(fold_run.data.tags["ecgsk.fold"])
            if fold_run.info.status == "FINISHED" and fold not in kept:
                kept[fold] = {metric: value for metric, value
                              in fold_run.data.metrics.items() if metric.startswith("cv_")}
    with tracked_run(name, nested=True, tags={"ecgsk.role": "pipeline", "ecgsk.pipeline": name},
                     description=(module.__doc__ or "").strip()[:5000],
                     run_id=None if resume_run is None else resume_run.info.run_id) as run:
        pipe = _build(module, name, params)
        log_pipeline_params(pipe, name)
        mlflow.log_params(_named_params("factory", params))
        mlflow.log_params({"pipeline.module": module.__ecgsk_path__,
                           "pipeline.sha256": module.__ecgsk_sha256__,
                           "signal.sampling_rate": f"{rate:g}", "signal.length": str(length)})
        bar.set_postfix_str(f"{name}: loading signals")
        X = signals.get(rate, length)
        mlflow.log_param("signal.n_leads", str(X.shape[1]))
        _log_splits(log_data_info, ds, y, plan)

        def thresholds_of(est):
            if plan.valid is None or task_type not in ("multilabel", "binary"):
                return None, None
            proba_valid = _predict(est, X[plan.valid], k)
            return decision_thresholds(y[plan.valid], proba_valid, classes, task_type), \
                proba_valid

        cv_metrics = []
        for fold, tr, te in plan.cv:
            if int(fold) in kept:  # finished before the interruption
                cv_metrics.append(kept[int(fold)])
                bar.update(1)
                continue
            bar.set_postfix_str(f"{name}: fold {fold}")
            with tracked_run(f"{name} fold {fold}", nested=True,
                             tags={"ecgsk.role": "fold", "ecgsk.pipeline": name,
                                   "ecgsk.fold": str(fold), **thread_tags()}):
                mlflow.log_param("fold", str(fold))
                log_data_info(ds.name, ds.task, f"CV training: folds other than {fold}",
                              ds.X[tr], y[tr], classes=classes, prefix="train.")
                log_data_info(ds.name, ds.task, f"CV held out: fold {fold}", ds.X[te], y[te],
                              classes=classes, prefix="heldout.")
                est = fit_fold(clone(pipe), X, y, tr, groups=ds.groups, seed=seed)
                thresholds, _ = thresholds_of(est)
                metrics = evaluate_predictions(y[te], _predict(est, X[te], k), classes,
                                               task_type=task_type, thresholds=thresholds)
                metrics = {f"cv_{key}": v for key, v in metrics.items()}
                mlflow.log_metrics(metrics)
                log_training_curves(est)
            mlflow.log_metrics(metrics, step=int(fold))
            cv_metrics.append(metrics)
            bar.update(1)
        if cv_metrics:
            keys = sorted(set().union(*cv_metrics))
            summary = {}
            for key in keys:
                summary.update(mean_and_spread([m.get(key, np.nan) for m in cv_metrics], key))
            summary = {key: v for key, v in summary.items() if key not in held}
            if summary:
                mlflow.log_metrics(summary)

        bar.set_postfix_str(f"{name}: final fit")
        final_path = None if final_dir is None else final_fit_path(final_dir, run.info.run_id)
        saved = load_final_fit(final_path) if resumed and final_path is not None else None
        # Only the fit whose results the run holds skips them: a new fit logs its own.
        reused = saved is not None
        if saved is None:
            # Networks validate on fold 9, or on patients held out of the training records.
            est, validation = fit_final(pipe, X, y, plan, groups=ds.groups, seed=seed)
            mlflow.set_tags(thread_tags())  # this fit's: a resume may use other threads
            if final_path is not None:  # until the run finishes: a resume does not refit
                save_final_fit(final_path, est, validation)
        else:
            est, validation = saved
            tqdm.write(f"pipeline {name!r}: the final fit of the interrupted run, read back "
                       f"from {final_path}", file=sys.stderr)
        mlflow.log_param("final.validation", validation)
        thresholds, proba_valid = thresholds_of(est)
        proba = _predict(est, X[plan.test], k)
        y_valid = None if proba_valid is None else y[plan.valid]
        with warnings_as_notes(said=notes):  # of the test set: said once, not per pipeline
            test_metrics = log_evaluation(y[plan.test], proba, classes, "test_", task_type,
                                          y_valid=y_valid, proba_valid=proba_valid,
                                          n_boot=n_boot, random_state=seed, skip_logged=reused)
        _log_predictions(ds.X[plan.test], y[plan.test], proba, classes, "test/predictions.csv")
        log_training_curves(est, skip_logged=reused)
        # The model of this very fit, logged before the interruption, is not logged twice.
        model_uri = logged_model_uri(client, resume_run) if reused else None
        if model_uri is None:
            model_uri = log_model(est, classes=classes, input_example=X[plan.test[:2]],
                                  sampling_rate=rate, lead_names=signals.lead_names,
                                  task_type=task_type, thresholds=thresholds).model_uri
        if explain:
            bar.set_postfix_str(f"{name}: explaining {min(explain, len(plan.test))} records")
            _log_explanations(est, X, y, plan, ds, classes, rate, signals.lead_names, explain,
                              seed)
        ext_metrics = proba_ext = None
        if ext is not None:
            ext_ds, y_ext, ext_signals = ext
            X_ext = ext_signals.get(rate, length)
            proba_ext = _predict(est, X_ext, k)
            with warnings_as_notes(said=notes):
                ext_metrics = log_evaluation(y_ext, proba_ext, classes, "external_", task_type,
                                             y_valid=y_valid, proba_valid=proba_valid,
                                             n_boot=n_boot, random_state=seed,
                                             skip_logged=reused)
            _log_predictions(ext_ds.X, y_ext, proba_ext, classes, "external/predictions.csv")
        bar.update(1)
        result = PipelineResult(name=name, run_id=run.info.run_id, cv_metrics=cv_metrics,
                                test_metrics=test_metrics, proba=proba,
                                pred=_predictions(proba, task_type, thresholds),
                                model_uri=model_uri, external_metrics=ext_metrics,
                                external_proba=proba_ext,
                                external_pred=None if proba_ext is None
                                else _predictions(proba_ext, task_type, thresholds))
        save_result(result)  # a resumed comparison reads it back
    if final_path is not None:  # the run FINISHED: nothing left to resume
        remove_final_fit(final_path)
    return result


_EXPLAIN_MAX_SCORED = 250


def _log_explanations(est, X, y, plan, ds, classes, rate, lead_names, n, seed):
    """``--explain``: relevance PNGs of the first ``n`` test records; a failure only warns.

    Shared by ``compare`` (each pipeline's final fit) and ``tune`` (the best
    trial's refit): logs to the active run and returns the artifact paths
    logged (none when it failed; the run is tagged ``ecgsk.explain_error``).
    """
    import mlflow

    from ..explain import log_explanations

    shown = plan.test[:n]
    # Permutation importance predicts the scored records leads x 10 times: score at most
    # _EXPLAIN_MAX_SCORED test records, one permutation per cell.
    scored = plan.test
    if len(scored) > _EXPLAIN_MAX_SCORED:
        rng = np.random.default_rng(seed)
        scored = np.sort(rng.choice(scored, _EXPLAIN_MAX_SCORED, replace=False))
    try:
        return log_explanations(est, X[shown], classes=classes,
                                records=[os.path.basename(p) for p in ds.X[shown]],
                                sampling_rate=rate, lead_names=lead_names,
                                X_score=X[scored], y_score=y[scored], n_segments=10,
                                n_repeats=1, random_state=seed)
    except Exception as exc:  # noqa: BLE001 -- an explanation must not fail the comparison
        mlflow.set_tag("ecgsk.explain_error", f"{type(exc).__name__}: {exc}"[:5000])
        warnings.warn(f"explanations not logged: {type(exc).__name__}: {exc}", UserWarning,
                      stacklevel=2)
        return []


def _log_example_ecgs(X, paths, y, classes, rate, lead_names, *, n=2,
                      artifact_dir="data/examples", split="test"):
    """The clinical 12-lead plot (:func:`ecgsk.plots.plot_ecg`) of the first ``n`` records.

    Shared by ``compare`` (the comparison run) and ``tune`` (the best
    trial's refit): logs ``<artifact_dir>/<record>.png`` to the active run,
    the signals as the pipeline reads them (``rate`` Hz, ``lead_names``),
    titled with the record's labels. Returns the artifact paths logged; a
    record that cannot be drawn is left out with a warning: plots never
    fail a run.
    """
    import mlflow

    logged = []
    for signal, path, target in zip(X[:n], paths[:n], y[:n]):
        record = os.path.basename(os.fspath(path))
        artifact = f"{artifact_dir}/{record}.png"
        try:
            from ..plots import plot_ecg

            if np.ndim(target):  # a row of the multi-label indicator matrix
                labels = [str(c) for c, v in zip(classes, target) if v]
            else:
                labels = [str(classes[int(target)])]
            fig = plot_ecg(signal, rate, lead_names,
                           title=f"{record} ({split}): {', '.join(labels) or 'no label'}")
            mlflow.log_figure(fig, artifact)
        except Exception as exc:  # noqa: BLE001 -- an example plot must not fail the run
            warnings.warn(f"{artifact} not logged: {type(exc).__name__}: {exc}", UserWarning,
                          stacklevel=2)
            continue
        logged.append(artifact)
    return logged


def _log_predictions(paths, y, proba, classes, artifact_file):
    import mlflow

    # One frame from all columns at once: 71 labels inserted one by one fragment it.
    columns = {"record": [os.path.basename(p) for p in paths]}
    if np.ndim(y) == 2:
        columns.update({f"true_{c}": y[:, j] for j, c in enumerate(classes)})
    else:
        columns["true"] = np.asarray(classes)[y]
    columns.update({f"proba_{c}": proba[:, j] for j, c in enumerate(classes)})
    frame = pd.DataFrame(columns)
    mlflow.log_text(frame.to_csv(index=False, float_format="%.6g"), artifact_file)


def _finish(result, y_test, task_type, classes, n_boot, seed, out, y_ext=None):
    """Summary and pairwise tables: logged on the comparison run and printed.

    With external records (``y_ext``), the pipelines are also tested
    pairwise on them (``comparison/external_pairwise.json``).
    """
    import mlflow

    from ..tracking import SUMMARY_METRICS
    from ..tracking._evaluation import log_table
    from ._stats import mean_and_spread, pairwise_comparison

    names = SUMMARY_METRICS[task_type]
    rows, shown = [], []
    for name, res in result.pipelines.items():
        row, view = {"pipeline": name}, {"pipeline": name}
        m = res.test_metrics
        for metric in names:
            for suffix in ("", "_ci_low", "_ci_high"):
                row[f"test_{metric}{suffix}"] = m.get(f"test_{metric}{suffix}", np.nan)
            view[f"test {metric}"] = _fmt(m.get(f"test_{metric}"), m.get(f"test_{metric}_ci_low"),
                                          m.get(f"test_{metric}_ci_high"))
        head = names[0]
        if res.cv_metrics:
            spread = mean_and_spread([c.get(f"cv_{head}", np.nan) for c in res.cv_metrics],
                                     f"cv_{head}")
            mean = spread.get(f"cv_{head}_mean", np.nan)
            std = spread.get(f"cv_{head}_std", np.nan)
            row[f"cv_{head}_mean"], row[f"cv_{head}_std"] = mean, std
            view[f"cv {head}"] = (f"{mean:.3f} ± {std:.3f}" if np.isfinite(std)
                                  else f"{mean:.3f} (one fold)")
        if res.external_metrics:
            row[f"external_{head}"] = res.external_metrics.get(f"external_{head}", np.nan)
            view[f"external {head}"] = _fmt(row[f"external_{head}"],
                                            res.external_metrics.get(f"external_{head}_ci_low"),
                                            res.external_metrics.get(f"external_{head}_ci_high"))
        row["run_id"] = view["run"] = res.run_id
        rows.append(row)
        shown.append(view)
    for name, error in result.failed.items():
        rows.append({"pipeline": name, "error": error})
        shown.append({"pipeline": name, "run": f"FAILED: {error[:80]}"})
    result.summary = pd.DataFrame(rows)
    preds = {name: (res.proba, res.pred) for name, res in result.pipelines.items()}
    result.pairwise = pairwise_comparison(y_test, preds, task_type, len(classes),
                                          n_boot=n_boot, seed=seed, classes=classes)
    report = io.StringIO()
    intervals = (f"95% bootstrap intervals, {n_boot} resamples" if n_boot
                 else "no bootstrap intervals (--n-boot 0)")
    report.write(f"Test set: {len(y_test)} records, {len(classes)} classes ({task_type}); "
                 f"{intervals}.\n\n")
    report.write(pd.DataFrame(shown).to_string(index=False) + "\n")
    _write_pairwise(report, result.pairwise, "")
    if y_ext is not None:
        preds = {name: (res.external_proba, res.external_pred)
                 for name, res in result.pipelines.items()}
        result.external_pairwise = pairwise_comparison(y_ext, preds, task_type, len(classes),
                                                       n_boot=n_boot, seed=seed,
                                                       classes=classes)
        _write_pairwise(report, result.external_pairwise,
                        f" on the {len(y_ext)} external records")
    text = report.getvalue()
    print(text, file=out)
    from ..tracking._uri import where_logged

    print(where_logged(f"comparison run {result.run_id}", result.experiment_id), file=out)
    mlflow.log_text(text, "comparison/report.txt")
    log_table(result.summary, "comparison/summary.json")
    for table, stem in ((result.pairwise, "pairwise"),
                        (result.external_pairwise, "external_pairwise")):
        if table is not None and not table.empty:
            log_table(table, f"comparison/{stem}.json")


def _write_pairwise(report, table, where):
    if table.empty:
        return
    cols = [c for c in ("pipeline_a", "pipeline_b", "metric", "value_a", "value_b", "diff",
                        "diff_ci_low", "diff_ci_high", "p_bootstrap", "p_holm", "p_delong",
                        "accuracy_a", "accuracy_b", "p_mcnemar", "challenge_f1_a",
                        "challenge_f1_b", "p_challenge_f1", "winner")
            if c in table.columns]
    # Only the tests the table shows (a multi-label task has neither DeLong nor McNemar).
    tests = ["paired bootstrap of the AUROC difference, Holm-adjusted over pairs"]
    tests += [text for column, text in (
        ("p_delong", "DeLong (unadjusted)"), ("p_mcnemar", "McNemar on accuracy (unadjusted)"),
        ("p_challenge_f1", "paired bootstrap of the challenge F1 (unadjusted)"))
        if column in table.columns]
    report.write(f"\nPairwise tests{where} ({'; '.join(tests)}):\n")
    # Scores, differences and intervals at 4 decimals, as a column; p-values at 3 digits.
    formatters = {c: _p_value if c.startswith("p_") else _score for c in cols
                  if c not in ("pipeline_a", "pipeline_b", "metric", "winner")}
    report.write(table[cols].to_string(index=False, formatters=formatters) + "\n")


def _score(value):
    return "NaN" if pd.isna(value) else f"{value:.4f}"


def _p_value(value):
    return "NaN" if pd.isna(value) else f"{value:.3g}"
