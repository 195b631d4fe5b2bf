"""A hyperparameter study of one pipeline on one dataset task: resumable, distributed, tracked."""

import hashlib
import io
import json
import logging
import numbers
import os
import re
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._notes import warnings_as_notes
from .._threads import check_threads, limit_threads
from ._metrics import TuneError, resolve_metric, task_type_of
from ._objective import RUN_ATTR, Objective
from ._runs import (
    HEARTBEAT_TAG,
    PROCESS_TAG,
    end_orphan_trial_runs,
    end_unfinished_final_runs,
    final_heartbeat,
    find_or_create_parent,
    live_final_runs,
    log_study_summary,
    mark_unfinished_final,
    now_ms,
    process_tag,
    ranked_trials,
    best_trial,
    tag_best_trial,
)
from ._signals import check_interrupt, interrupt_handlers, interrupted
from ._space import check_search_space, fixed_in_space, make_pruner, make_sampler, trial_params
from ._storage import (
    WORKER_ATTR,
    check_storage_url,
    default_storage_url,
    fail_trial,
    open_storage,
    reap_trials,
    trial_counts,
    worker_identity,
)

__all__ = ["tune", "TuneResult", "TuneFailed", "CONFIG_ATTR", "UID_ATTR", "FINAL_ATTR"]

#: Study user attribute: what the study optimises (checked when a study is resumed).
CONFIG_ATTR = "ecgsk.config"
#: Study user attribute: a random id of the study, tagged on its MLflow runs.
UID_ATTR = "ecgsk.study_uid"
#: Study user attribute: the final refit (MLflow run, best trial, model version).
FINAL_ATTR = "ecgsk.final"
#: Tag of a final refit run whose trial stopped being the best before it registered a model.
SUPERSEDED_TAG = "ecgsk.superseded"

_WAIT_FOR_CREATOR_S = 30.0


class TuneFailed(RuntimeError):
    """The study stopped on failures (too many failed trials, or the final refit failed).

    Parameters
    ----------
    message : str
        What failed.
    result : TuneResult
        What was done, kept as ``result``.
    """

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass
class TuneResult:
    """What a :func:`tune` call left: the study's state, its best trial and the final test.

    ``counts`` are the study's trials by state (all workers), with
    ``finished`` = COMPLETE + PRUNED; ``ran`` the ``(number, state)`` of the
    trials this call ran. ``final_run_id``, ``test_metrics``, ``model_uri``,
    ``model_version`` and ``final_validation`` (how the refit used the
    validation records, its parameter ``final.validation``: ``"fold 9
    (networks)"``, ``"fold 9 (thresholds only)"`` or ``"none"``) are set
    when this call did the final refit, and read back from the study and the
    refit's run when ``refit`` is ``"done before"``;
    ``refit`` says who did (``"this worker"``, ``"done before"``,
    ``"another worker ..."``, with the run id of a refit of the same trial
    another worker is running) or why none was done (``"trial N's refit was
    superseded: ..."``: a better trial came while it ran). ``explanations``: the
    artifact paths ``explain=N`` logged on the final refit's run (empty
    when off, when this call did no refit, or when explaining failed: the
    run is then tagged ``ecgsk.explain_error``). ``found_complete``: the
    study had its trials when this call started (it only refits, if the
    refit is missing or stale).

    Attributes
    ----------
    study_name : str
        The Optuna study, also the name the final model is registered under.
    storage : str
        The Optuna storage URL, its password masked.
    experiment_id : str
        The MLflow experiment of the study's runs.
    parent_run_id : str
        The MLflow run of the study; each trial is a child run of it.
    metric : str
        The metric optimised (a name of :data:`ecgsk.tune.METRICS`).
    direction : {"maximize", "minimize"}
        The study's direction.
    n_trials : int
        The number of finished trials the study should have.
    counts : dict of str to int
        The study's trials by state name (all workers), and ``finished``.
    ran : list of tuple
        ``(number, state)`` of the trials this call ran, ``state`` one of
        ``"COMPLETE"``, ``"PRUNED"`` and ``"FAIL"``.
    best_trial : int or None
        The number of the study's best trial; None when no trial completed.
    best_value : float or None
        Its value of ``metric``.
    best_params : dict or None
        Its sampled parameters.
    table : pandas.DataFrame or None
        The ranking printed at the end: the best completed trials, best
        first (``rank``, ``trial``, ``value``, ``duration_s`` and their
        parameters).
    refit : str
        Who did the final refit, or why none was done.
    final_run_id : str or None
        The MLflow run of the final refit (also set, from the study, when
        ``refit`` is ``"done before"``).
    test_metrics : dict of str to float or None
        The test metrics of the final refit, with their bootstrap intervals
        (:func:`ecgsk.tracking.log_evaluation`, prefix ``test_``; read from
        its run when ``refit`` is ``"done before"``).
    model_uri : str or None
        The URI of the model the final refit logged (also set, from the
        study, when ``refit`` is ``"done before"``), in the store of
        :func:`tune`'s ``tracking_uri``. :func:`tune` leaves MLflow's global
        tracking URI as it found it, so load the model with
        ``ecgsk.predict.load_ecg_model(model_uri, tracking_uri=...)``, or
        after ``mlflow.set_tracking_uri(...)``.
    model_version : str or None
        The version it is registered as (also set, from the study, when
        ``refit`` is ``"done before"``).
    timed_out : bool
        Whether the search stopped because ``timeout`` passed.
    found_complete : bool
        Whether the study had its ``n_trials`` finished trials when this call
        started.
    explanations : list of str
        The artifact paths the final refit's explanations were logged at.
    final_validation : str or None
        How the final refit used the validation records (read from its run
        when ``refit`` is ``"done before"``).

    Examples
    --------
    >>> result = tune("features_logreg", "ptbxl", "superdiagnostic", "data/ptb-xl",
    ...               n_trials=10)                                # doctest: +SKIP
    >>> result.counts["finished"], result.best_trial, result.model_version  # doctest: +SKIP
    (10, 3, '1')
    >>> result.table.head(3)        # the ranking printed at the end  # doctest: +SKIP
    """

    study_name: str
    storage: str
    experiment_id: str
    parent_run_id: str
    metric: str
    direction: str
    n_trials: int
    counts: dict = field(default_factory=dict)
    ran: list = field(default_factory=list)
    best_trial: int | None = None
    best_value: float | None = None
    best_params: dict | None = None
    table: pd.DataFrame | None = None
    refit: str = ""
    final_run_id: str | None = None
    test_metrics: dict | None = None
    model_uri: str | None = None
    model_version: str | None = None
    timed_out: bool = False
    found_complete: bool = False
    explanations: list = field(default_factory=list)
    final_validation: str | None = None


@dataclass
class _Context:
    module: object
    name: str
    fixed: dict
    metric: object
    task_type: str
    classes: list
    X: np.ndarray
    y: np.ndarray
    plan: object
    study_name: str
    study_uid: str
    parent_run_id: str
    n_trials: int
    sampling_rate: float | None = None
    lead_names: list | None = None
    explain: int = 0
    heartbeat_interval: int = 10
    grace_period: int = 30
    groups: np.ndarray | None = None  # patients: networks validate on whole ones
    seed: int = 0
    # This call's sampler and pruner, logged on each trial it runs: a resumed study may
    # have trials of others.
    search_params: dict = field(default_factory=dict)


def _check_int(value, name, minimum, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise TuneError(f"{name} must be an integer >= {minimum}"
                        f"{' or None' if allow_none else ''}, got {value!r}.")


def _as_list(value):
    return (value,) if isinstance(value, str) else tuple(value)


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


#: Keys of the study configuration added after studies were first created.
_LATER_KEYS = ("pipeline_sha256", "records_sha256", "groups_sha256", "heartbeat")


def _search_params(sampler, pruner, startup, warmup):
    """The ``tune.sampler`` and ``tune.pruner`` params of the trials of one call."""
    def named(obj):
        return obj if isinstance(obj, str) or obj is None else type(obj).__name__

    pruner_text = str(named(pruner))
    if pruner == "median":
        pruner_text += f" (startup trials {startup}, warmup steps {warmup})"
    return {"tune.sampler": str(named(sampler)), "tune.pruner": pruner_text}


def _cv_summary(trial, key):
    """``{"cv_<key>_mean": ..., "cv_<key>_std": ...}`` of a finished trial's fold scores.

    The mean is the trial's value; a trial of a study created before its fold scores
    were kept (``cv_values``) gives the mean alone.
    """
    from ..compare._stats import mean_and_spread

    return (mean_and_spread(trial.user_attrs.get("cv_values", []), f"cv_{key}")
            or {f"cv_{key}_mean": float(trial.value)})


def _test_log_loss(ctx, y, proba, metrics, n_boot, seed):
    """``test_log_loss`` with its interval, logged, when the study optimised it.

    :func:`~ecgsk.tracking.log_evaluation` scores the task's summary metrics,
    which the log loss the trials were ranked by is not one of.
    """
    import mlflow

    from ..metrics import bootstrap_ci
    from ._metrics import _log_loss

    key = f"test_{ctx.metric.key(ctx.task_type)}"
    if ctx.metric.name != "log_loss" or key in metrics:
        return {}

    def score(t, p):
        return _log_loss(t, p, ctx.task_type)

    if n_boot:
        point, low, high = bootstrap_ci(score, y, proba, n_boot=n_boot, random_state=seed)
        extra = {key: point, f"{key}_ci_low": low, f"{key}_ci_high": high}
    else:
        extra = {key: score(y, proba)}
    mlflow.log_metrics(extra)
    return extra


def _open_study(storage, study_name, direction, config):
    """Create the study (returns created=True) or load it and check it optimises the same thing."""
    import optuna

    try:
        study = optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                    sampler=optuna.samplers.RandomSampler())
        created = True
        study.set_user_attr(UID_ATTR, uuid.uuid4().hex)
        study.set_user_attr(CONFIG_ATTR, config)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=storage,
                                  sampler=optuna.samplers.RandomSampler())
        created = False
    deadline = time.monotonic() + _WAIT_FOR_CREATOR_S
    attrs = study.user_attrs
    while (CONFIG_ATTR not in attrs or UID_ATTR not in attrs) and time.monotonic() < deadline:
        time.sleep(0.5)  # the worker that created the study is writing them
        attrs = study.user_attrs
    if (CONFIG_ATTR not in attrs or UID_ATTR not in attrs) \
            and not set(attrs) - {CONFIG_ATTR, UID_ATTR} \
            and not study.get_trials(deepcopy=False):
        # An empty study left by a creation cut off (Ctrl-C, a kill) before its attributes
        # were written: the rerun takes it over, rather than refuse it as not ecgsk's.
        if UID_ATTR not in attrs:
            study.set_user_attr(UID_ATTR, uuid.uuid4().hex)
        if CONFIG_ATTR not in attrs:
            study.set_user_attr(CONFIG_ATTR, config)
        attrs, created = study.user_attrs, True
    stored = attrs.get(CONFIG_ATTR)
    if stored is None or UID_ATTR not in attrs:
        raise TuneError(f"study {study_name!r} exists but was not created by ecgsk.tune (it has "
                        "no ecgsk configuration); choose another --study-name.")
    # A study created before ecgsk recorded a key is not refused for lacking it.
    unrecorded = {key for key in _LATER_KEYS if key not in stored}
    diffs = [k for k in sorted(set(config) | set(stored))
             if k not in unrecorded and stored.get(k) != config.get(k)]
    if "records_sha256" in diffs:  # other records have other patients: said once
        diffs = [k for k in diffs if k != "groups_sha256"]
    if "subset" in diffs and config.get("subset") and "subset" not in stored:
        raise TuneError(
            f"study {study_name!r} tuned on a --max-records subset of {config.get('dataset')} "
            "drawn by an earlier ecgsk, which drew its test hold-out on the subset (so its "
            "trials could train on the test records of a run on every record). This ecgsk "
            "draws the subset around the hold-out of all the records, so that study's "
            "records cannot be drawn again: pass another --study-name.")
    if diffs:
        detail = "; ".join(
            "records: this run scores other records, labels or folds than the study (another "
            "--data?)" if k == "records_sha256" else
            "patients: the records' patient ids differ from the study's" if k == "groups_sha256"
            else
            f"pipeline: the file of pipeline {config.get('pipeline')!r}, or a file it loads (a "
            "pipeline, a module beside it), was edited since the study began (its SHA-256 "
            "differs)"
            if k == "pipeline_sha256" else
            f"heartbeat: the study's workers beat every {stored[k]['interval_s']:g} s and are "
            f"taken for dead after {stored[k]['grace_period_s']:g} s, this run asks "
            f"{config[k]['interval_s']:g} s and {config[k]['grace_period_s']:g} s (pass "
            f"--heartbeat-interval {stored[k]['interval_s']:g} --grace-period "
            f"{stored[k]['grace_period_s']:g}: a worker with a shorter grace period fails "
            "the others' live trials)" if k == "heartbeat" and stored.get(k) and config.get(k)
            else
            f"{k}: study has {stored.get(k)!r}, this run asks {config.get(k)!r}" for k in diffs)
        raise TuneError(f"study {study_name!r} optimises something else ({detail}). Rerun with "
                        "the study's settings and files to resume it, or pass another "
                        "--study-name.")
    return study, created


def _sampler_seed(seed, created, n_existing):
    """``seed`` for a new study; a fresh seed for a resumed one or an extra worker.

    A resumed study (or a second worker) seeded alike would draw the same
    parameters as the trials already run.
    """
    if created:
        return seed
    text = f"{seed}:{n_existing}:{worker_identity()['uid']}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def _fmt(value, low=None, high=None):
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.4f}"
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        text += f" [{low:.4f}, {high:.4f}]"
    return text


def _designated(study, me):
    """Whether this process refits: it ran the study's last finished trial (or that one is gone).

    Every worker sees the same trials once none runs, so they agree. A worker
    of this machine whose process has ended hands over to whoever looks; a
    process started on a study whose trials were all done refits too when the
    refit is missing (see ``TuneResult.found_complete``).
    """
    from optuna.trial import TrialState

    from .._process import ended_here

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    if not done:
        return False
    last = max(done, key=lambda t: t.number)
    w = last.user_attrs.get(WORKER_ATTR) or {}
    if w.get("uid") == me["uid"]:
        return True
    return ended_here(w.get("host"), w.get("pid"), w.get("boot", "?"))


def _current_final_run(study, client, best_number):
    """The FINISHED, active run of the study's stored final refit of ``best_number``, or None."""
    final = study.user_attrs.get(FINAL_ATTR) or {}
    if final.get("best_trial") != best_number or not final.get("run_id"):
        return None
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(final["run_id"])
    except MlflowException:
        return None
    return run if run.info.status == "FINISHED" and run.info.lifecycle_stage == "active" else None


def tune(pipeline, dataset, task, data, *, n_trials, timeout=None, metric=None, study_name=None,
         storage=None, sampler="tpe", pruner="median", n_jobs=1, seed=0, tracking_uri=None,
         set_params=None, max_records=None, folds=None, experiment="ecgsk", cache_dir=None,
         n_boot=1000, heartbeat_interval=10, grace_period=30, max_failures=5,
         pruner_startup_trials=5, pruner_warmup_steps=1, top=10, progress=True, out=None,
         explain=0, threads=None):
    """Tune a pipeline's hyperparameters with Optuna; refit the best, test it once, register it.

    Parameters
    ----------
    pipeline : str or path-like
        A pipeline name (``python -m ecgsk.compare --list``) or the path of
        a pipeline module; its ``search_space(trial)`` gives the trials'
        ``make_pipeline`` keywords.
    dataset : {"ptbxl", "cinc2017", "ptbdb"}
        The dataset ``data`` holds, one of :data:`~ecgsk.compare.DATASETS`.
    task : str
        A task of the dataset the pipeline declares.
    data : str or path-like
        Root of the dataset.
    n_trials : int
        The number of finished trials (COMPLETE or PRUNED) the study should
        have, counting those of earlier runs and of other workers: a
        resumed study runs only the missing ones; failed trials do not
        count.
    timeout : float or None
        Seconds after which this call starts no new trial (running ones
        finish).
    metric : str or None
        Metric of :data:`ecgsk.tune.METRICS` to optimise, scored on the
        held-out folds; the task's default (``macro_auroc``, or
        ``challenge_f1`` for CinC 2017) when None.
    study_name : str or None
        Default ``<pipeline>-<dataset>-<task>-<metric>``. Also the name the
        final model is registered under.
    storage : str or None
        Optuna storage URL (``postgresql://user@host/db`` to share the study
        between machines, the password in ``PGPASSWORD`` or ``~/.pgpass``
        rather than the URL); default ``sqlite:///<dir>/optuna.db``
        beside a SQLite MLflow store, else ``./mlruns/optuna.db``.
    sampler : {"tpe", "random", "cmaes"} or optuna.samplers.BaseSampler
        Draws the trials' parameters (:func:`make_sampler`): a name, seeded
        from ``seed`` (TPE by default), or a sampler, used as it is.
    pruner : {"median", "hyperband", "none"} or optuna.pruners.BasePruner, default="median"
        Stops unpromising trials on their reports, per epoch of a network and per
        fold of other pipelines (:func:`make_pruner`); ``"none"`` never prunes.
    n_jobs : int, default=1
        Trials run at once in this process (threads).
    seed : int, default=0
        Seed of the sampler (for a study this call creates), of the
        cross-validation folds of datasets without folds, of the bootstrap,
        and the pipelines' ``random_state`` unless set. The record subset and
        the test hold-out do not depend on it
        (:data:`~ecgsk.compare.DATA_SEED`), as in ``python -m ecgsk.compare``.
    tracking_uri : str or None
        MLflow tracking URI (:func:`ecgsk.tracking.setup_tracking`).
    set_params : dict or None
        ``make_pipeline`` keywords fixed for every trial, over the sampled
        ones (``{"max_epochs": 3}``).
    max_records : int or None
        Use a fixed stratified subset of this many records. Its test
        records are among those of a run on every record
        (:func:`~ecgsk.compare._data.select_records`), so the trials never
        train on a comparison's test records.
    folds : list of int or None
        Cross-validation folds scored per trial (PTB-XL among 1-8); all
        when None.
    experiment : str, default="ecgsk"
        MLflow experiment.
    cache_dir : str, path-like or None
        Signal cache (:func:`ecgsk.compare.default_cache_dir` when None).
        Its folder ``checkpoints`` holds the networks' training checkpoints
        (:func:`ecgsk.neural.checkpoints`): a trial queued again after an
        interruption resumes each network of the trial it repeats at its
        last finished epoch.
    n_boot : int, default=1000
        Bootstrap resamples of the final test's confidence intervals.
    heartbeat_interval, grace_period : int, default=10, 30
        Seconds between a running trial's heartbeats, and without one after
        which another worker fails it (see :func:`ecgsk.tune.open_storage`);
        the same for the final refit's run (tag ``ecgsk.heartbeat``): a
        refit whose heartbeat is fresh is left to its worker, one whose
        heartbeat is stale (or missing) is ended KILLED and redone. A study
        records its first worker's; a worker with others is refused, as each
        judges the others' trials by its own grace period.
    max_failures : int, default=5
        Stop with :class:`TuneFailed` after this many trials failed in a
        row in this process.
    pruner_startup_trials, pruner_warmup_steps : int, default=5, 1
        ``n_startup_trials`` and ``n_warmup_steps`` of the median pruner.
    top : int, default=10
        Trials in the printed ranking.
    progress : bool, default=True
        A tqdm bar over the study's finished trials on stderr.
    out : file-like or None
        Where the ranking and the test result are printed; stdout when None.
    explain : int, default=0
        Log explanations of the best trial's refit for the first
        ``explain`` test records under ``explain/`` of the final refit's
        run, as ``compare --explain`` does
        (:func:`ecgsk.explain.log_explanations`): Grad-CAM for networks;
        for the others, permutation importance of each lead × 1/10 of the
        record, scored by macro AUROC on (at most 250 of) the test records.
        Only a call that does the final refit explains. 0 logs none.
    threads : int or None
        At most this many threads in torch (:func:`torch.set_num_threads`)
        and in the OpenMP and BLAS pools (:mod:`threadpoolctl`) of this
        process while it runs; the tag ``ecgsk.threads.torch`` of the
        study's parent run records torch's. The libraries' defaults when None.

    Returns
    -------
    TuneResult

    Raises
    ------
    TuneError, ecgsk.compare.CompareError, ecgsk.compare.PipelineError, ecgsk.tracking.TrackingError
        For anything wrong with the request, before any trial.
    TuneFailed
        When trials keep failing, or the final refit fails.
    TuneInterrupted
        On SIGINT or SIGTERM (a :class:`KeyboardInterrupt`): the running
        trials are FAIL and queued again, their runs KILLED.

    Notes
    -----
    See :mod:`ecgsk.tune` for the MLflow runs, resuming, pruning and
    several workers.

    Examples
    --------
    >>> from ecgsk.tune import tune
    >>> result = tune("features_logreg", "ptbxl", "superdiagnostic", "data/ptb-xl",
    ...               n_trials=10, folds=[1, 2], max_records=500)   # doctest: +SKIP
    >>> result.best_params, result.test_metrics["test_macro_auroc"]  # doctest: +SKIP
    ({'C': 0.0083, 'class_weight': None}, 0.79...)
    >>> tune("features_logreg", "ptbxl", "superdiagnostic", "data/ptb-xl",
    ...      n_trials=20, folds=[1, 2], max_records=500)  # doctest: +SKIP
    ... # the same study: runs the 10 missing trials, refits if the best changed
    """
    arguments = dict(locals())
    threads = check_threads(arguments.pop("threads"), TuneError)
    import optuna

    from ..compare._data import checkpoint_folder
    from ..neural import checkpoints
    from ..tracking._uri import tracking_kept

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the bar and the table say it all
    trial_log = logging.getLogger(_OPTUNA_TRIAL_LOGGER)
    quiet = _NoInterruptTraceback()
    trial_log.addFilter(quiet)
    try:
        # A trial queued again after an interruption resumes its networks' epochs.
        with limit_threads(threads), checkpoints(checkpoint_folder(cache_dir)), \
                tracking_kept():
            return _tune(**arguments)
    finally:
        trial_log.removeFilter(quiet)
        optuna.logging.set_verbosity(verbosity)


#: The logger of Optuna's trial loop, which logs a failed trial with its traceback.
_OPTUNA_TRIAL_LOGGER = "optuna.study._optimize"


class _NoInterruptTraceback(logging.Filter):
    """Drop Optuna's "Trial N failed" warnings, traceback and all, for a trial stopped by Ctrl-C.

    (Or SIGTERM.) Optuna logs two: "Trial N failed with parameters ...",
    carrying the traceback, then "Trial N failed with value None.". The
    trial is still marked failed and queued again; the command says in one
    line that it was interrupted and how to resume. Other failed trials are
    logged as before.
    """

    _TRIAL = re.compile(r"Trial (\d+) failed with ")

    def __init__(self):
        super().__init__()
        self._interrupted = set()

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        message = str(record.msg)
        match = self._TRIAL.match(message)
        if isinstance(error, KeyboardInterrupt):
            if match:
                self._interrupted.add(match.group(1))
            return False
        if match and message.startswith(f"Trial {match.group(1)} failed with value"):
            if match.group(1) in self._interrupted:
                self._interrupted.discard(match.group(1))
                return False
        return True


def _tune(pipeline, dataset, task, data, *, n_trials, timeout=None, metric=None, study_name=None,
          storage=None, sampler="tpe", pruner="median", n_jobs=1, seed=0, tracking_uri=None,
          set_params=None, max_records=None, folds=None, experiment="ecgsk", cache_dir=None,
          n_boot=1000, heartbeat_interval=10, grace_period=30, max_failures=5,
          pruner_startup_trials=5, pruner_warmup_steps=1, top=10, progress=True, out=None,
          explain=0):
    """The body of :func:`tune`."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from ..cache._cache import resolve_cache_dir
    from ..compare._data import (
        check_dataset_task,
        default_length,
        dropped_text,
        fit_targets,
        load_dataset,
        load_signals,
        groups_sha256,
        make_plan,
        records_sha256,
        select_records,
    )
    from ..compare._registry import check_factory_params, factory_parameters, load_pipeline_module
    from ..tracking import default_tracking_uri, mask_secrets, setup_tracking
    from ..tracking._masking import MASK, is_secret_key
    from ..tracking._evaluation import infer_task_type

    # ---- every check, before any work ----
    _check_int(n_trials, "n_trials", 1)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                or not timeout > 0):
        raise TuneError(f"timeout must be a positive number of seconds or None, got {timeout!r}.")
    _check_int(n_jobs, "n_jobs", 1)
    _check_int(seed, "seed", 0)
    _check_int(max_records, "max_records", 20, allow_none=True)
    _check_int(n_boot, "n_boot", 0)
    _check_int(max_failures, "max_failures", 1)
    _check_int(top, "top", 1)
    _check_int(explain, "explain", 0)
    check_dataset_task(dataset, task)
    module = load_pipeline_module(pipeline)
    name = module.__ecgsk_name__
    if dataset not in _as_list(module.DATASET) or task not in _as_list(module.TASK):
        raise TuneError(f"pipeline {name!r} is made for dataset {module.DATASET!r}, task "
                        f"{module.TASK!r}, not {dataset!r}, {task!r}.")
    task_type = task_type_of(dataset, task)
    spec = resolve_metric(metric, task_type, f"{dataset}/{task}")
    fixed = dict(set_params or {})
    bad = [k for k in fixed if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise TuneError(f"set_params keys must be keyword names, got {bad!r}.")
    check_factory_params(module, fixed, name)
    names, _ = factory_parameters(module)
    if "random_state" in names and "random_state" not in fixed:
        fixed["random_state"] = seed
    distributions = check_search_space(module, name, fixed, seed)
    make_sampler(sampler, seed)  # the name is checked now, the sampler made once seeded
    pruner_obj = make_pruner(pruner, n_startup_trials=pruner_startup_trials,
                             n_warmup_steps=pruner_warmup_steps)
    study_name = study_name or f"{name}-{dataset}-{task}-{spec.name}"
    if not isinstance(study_name, str) or not study_name.strip():
        raise TuneError(f"study_name must be a non-empty string, got {study_name!r}.")
    if mlflow.active_run() is not None:
        raise TuneError("an MLflow run is active in this thread; tune starts its own runs "
                        "(end the active run first).")
    # The storage URL is checked with the request; the stores are made once the records are
    # read (a server that does not answer is found then).
    check_storage_url(storage or default_storage_url(tracking_uri or default_tracking_uri()),
                      heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    rate = float(module.SAMPLING_RATE)
    length = int(getattr(module, "LENGTH", None) or default_length(dataset, rate))
    full = load_dataset(dataset, task, data, rate)
    with warnings_as_notes():  # a class too rare for the folds: said as the readers say theirs
        ds, holdout = select_records(full, max_records)
        plan = make_plan(ds, folds=folds, cv=True, seed=seed, holdout=holdout)
    if not plan.cv:
        raise TuneError("no cross-validation fold to score trials on.")
    if pruner == "median" and len(plan.cv) - 1 <= pruner_warmup_steps:
        from ..neural._split import networks_in

        if not networks_in(module.make_pipeline(**fixed)):
            # A classic pipeline reports its score after each fold but the last.
            print(f"note: {name} is scored per fold, and reports after each fold but the "
                  f"last: with {len(plan.cv)} fold(s) and --pruner-warmup-steps "
                  f"{pruner_warmup_steps}, no trial can be pruned (more --folds, or a lower "
                  "--pruner-warmup-steps, let the median pruner act).", file=sys.stderr)
    inferred = infer_task_type(ds.y, ds.classes)
    if inferred != task_type:
        spec = resolve_metric(spec.name, inferred, f"{dataset}/{task} ({inferred} targets here)")
        task_type = inferred
    classes = [str(c) for c in ds.classes]
    config = {
        "pipeline": name, "dataset": dataset, "task": task, "metric": spec.name,
        "direction": spec.direction, "folds": [int(k) for k, _, _ in plan.cv],
        "max_records": max_records, "seed": seed, "n_records": len(ds), "classes": classes,
        "sampling_rate": rate, "length": length,
        # A secret by its key's name is never written to the study, nor any password
        # in a value (a URL's); a study is the same whatever the secret's value.
        "fixed": {k: MASK if is_secret_key(k) else
                  mask_secrets(v) if isinstance(v, str) else _jsonable(v)
                  for k, v in sorted(fixed.items())},
        # The pipeline's file: an edited one optimises something else.
        "pipeline_sha256": module.__ecgsk_sha256__,
        # The records, labels and folds scored: another --data of as many records was
        # resumed, its trials ranked with those scored on other records.
        "records_sha256": records_sha256(ds),
        # The patients: the networks validate on whole ones of their training records.
        "groups_sha256": groups_sha256(ds),
        # Every worker judges the others' trials dead by its own grace period: one with a
        # shorter one failed the live trials of a worker beating less often.
        "heartbeat": {"interval_s": heartbeat_interval, "grace_period_s": grace_period},
    }
    if holdout is not None and max_records is not None:
        # Since select_records: a subset keeps the hold-out of all the records. A study of
        # a subset drawn before cannot be resumed, and is told so (_open_study).
        config["subset"] = "hold-out of all the records"
    config = json.loads(json.dumps(config))
    # Unreadable records fail here, before the stores or any run exists, as in compare.
    cache_dir = resolve_cache_dir(cache_dir)
    X, lead_names = load_signals(ds.X, sampling_rate=rate, length=length, cache_dir=cache_dir,
                                 return_lead_names=True)
    rdb = None
    if storage:  # a server that does not answer is refused before the MLflow store is made
        rdb = open_storage(storage, heartbeat_interval=heartbeat_interval,
                           grace_period=grace_period)
    experiment_id = setup_tracking(tracking_uri, experiment)
    uri = mlflow.get_tracking_uri()
    storage_url = storage or default_storage_url(uri)
    shown_storage = mask_secrets(storage_url)
    if rdb is None:  # beside the MLflow store, which now exists
        rdb = open_storage(storage_url, heartbeat_interval=heartbeat_interval,
                           grace_period=grace_period)
    study, created = _open_study(rdb, study_name, spec.direction, config)

    # ---- the work ----
    from mlflow.entities import Param

    from ..tracking import environment_tags
    from ..tracking._params import _named_params, data_info_params

    out = sys.stdout if out is None else out
    if not created:
        _say_resumed(study, study_name, shown_storage, n_trials)
    client = MlflowClient()
    uid = study.user_attrs[UID_ATTR]
    n_existing = len(study.get_trials(deepcopy=False))
    study.sampler = make_sampler(sampler, _sampler_seed(seed, created, n_existing),
                                 fixed_in_space(fixed, distributions))
    study.pruner = pruner_obj
    parent_tags = {"ecgsk.role": "study", "ecgsk.study": study_name, "ecgsk.study_uid": uid,
                   "ecgsk.pipeline": name, "ecgsk.dataset": dataset, "ecgsk.task": task,
                   "ecgsk.metric": spec.name, "ecgsk.direction": spec.direction}
    parent_id, new_parent = find_or_create_parent(
        client, experiment_id, study, uid=uid, created=created, run_name=f"study {study_name}",
        tags=parent_tags, wait_s=_WAIT_FOR_CREATOR_S)
    y = fit_targets(ds)
    # Also on a parent whose creator was stopped before it logged them: no later run would.
    if new_parent or "tune.study_name" not in client.get_run(parent_id).data.params:
        params = {"tune.study_name": study_name, "tune.pipeline": name,
                  "tune.dataset": dataset, "tune.task": task, "tune.task_type": task_type,
                  "tune.metric": spec.name, "tune.direction": spec.direction,
                  "tune.folds": ", ".join(str(k) for k, _, _ in plan.cv),
                  "tune.max_records": str(max_records), "tune.seed": str(seed),
                  "tune.storage": shown_storage,
                  # As compare logs it: the study can be run again from another folder.
                  "tune.data": mask_secrets(os.fspath(Path(data).expanduser().resolve())),
                  "tune.data_left_out": dropped_text(full),
                  "tune.classes": ", ".join(classes),
                  "pipeline.module": module.__ecgsk_path__,
                  "pipeline.sha256": module.__ecgsk_sha256__,
                  "signal.sampling_rate": f"{rate:g}", "signal.length": str(length)}
        params.update(_named_params("factory", fixed))
        for split in ("train", "valid", "test"):
            idx = getattr(plan, split)
            if idx is not None:
                params.update(data_info_params(ds.name, ds.task, plan.description[split],
                                               ds.X[idx], y[idx], classes=ds.classes,
                                               prefix=f"{split}."))
        try:
            client.log_batch(parent_id, params=[Param(k, str(v)) for k, v in params.items()])
        except mlflow.exceptions.MlflowException:
            if new_parent:
                raise
            # Another worker logged them a moment ago, some spelt otherwise (its data path).
        for key, value in environment_tags().items():
            client.set_tag(parent_id, key, value)
    client.update_run(parent_id, status="RUNNING")
    if "ecgsk.error" in client.get_run(parent_id).data.tags:  # resumed: that error is past
        client.delete_tag(parent_id, "ecgsk.error")
    client.set_tag(parent_id, "tune.n_trials", str(n_trials))

    result = TuneResult(study_name=study_name, storage=shown_storage,
                        experiment_id=experiment_id, parent_run_id=parent_id,
                        metric=spec.name, direction=spec.direction, n_trials=n_trials)
    ctx = _Context(module=module, name=name, fixed=fixed, metric=spec, task_type=task_type,
                   classes=classes, X=X, y=y, plan=plan, study_name=study_name, study_uid=uid,
                   parent_run_id=parent_id, n_trials=n_trials, sampling_rate=rate,
                   lead_names=lead_names, explain=int(explain),
                   heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                   groups=ds.groups, seed=seed,
                   search_params=_search_params(sampler, pruner, pruner_startup_trials,
                                                pruner_warmup_steps))
    objective = Objective(ctx)
    me = worker_identity()
    with interrupt_handlers():
        try:
            _search(study, objective, client, experiment_id, uid, n_trials, timeout, n_jobs,
                    max_failures, grace_period, progress, result)
            _finish(study, ctx, objective, client, experiment_id, parent_id, me, ds, n_boot,
                    seed, top, out, result)
            if interrupted():  # its raise was swallowed, and nothing was left to stop
                print("note: a signal came while the study finished its last step; the "
                      "study is complete, so nothing was stopped.", file=sys.stderr)
        except KeyboardInterrupt as exc:
            exc.requeued = _on_interrupt(study, objective, client, parent_id, me, exc)
            raise
        except TuneFailed as exc:
            _end_parent_if_alone(study, client, parent_id, "FAILED", str(exc))
            exc.result = result
            raise
        except Exception as exc:  # noqa: BLE001 -- the parent run must not stay RUNNING
            _end_parent_if_alone(study, client, parent_id, "FAILED",
                                 mask_secrets(f"{type(exc).__name__}: {exc}"))
            raise
    return result


def _search(study, objective, client, experiment_id, uid, n_trials, timeout, n_jobs,
            max_failures, grace_period, progress, result):
    """Run trials until the study has ``n_trials`` finished ones (or the time is up)."""
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    from ..compare._data import quiet_constant_labels
    from ._metrics import quiet_fold_scores

    start = time.monotonic()
    deadline = None if timeout is None else start + float(timeout)
    poll = max(1.0, min(5.0, grace_period / 4))
    counts = trial_counts(study)
    bar = tqdm(total=n_trials, initial=min(counts["finished"], n_trials), desc="trials",
               unit="trial", disable=not progress, file=sys.stderr, dynamic_ncols=True)

    def show(counts):
        bar.n = min(counts["finished"], n_trials)
        post = {"pruned": counts["PRUNED"], "failed": counts["FAIL"]}
        if counts["COMPLETE"]:
            post["best"] = f"{best_trial(study).value:.4f}"
        if counts["RUNNING"]:
            post["running"] = counts["RUNNING"]
        bar.set_postfix(post, refresh=True)

    def after_trial(study, frozen):
        counts = trial_counts(study)
        show(counts)
        with objective._lock:
            if frozen.state == TrialState.FAIL and not frozen.user_attrs.get("ecgsk.surplus"):
                objective.failed_in_row += 1
            elif frozen.state in (TrialState.COMPLETE, TrialState.PRUNED):
                objective.failed_in_row = 0
            too_many = objective.failed_in_row >= max_failures
        if too_many or counts["finished"] + counts["RUNNING"] >= n_trials:
            study.stop()

    first = True
    try:
        while True:
            check_interrupt()
            reap_trials(study)
            end_orphan_trial_runs(client, experiment_id, uid, study)
            counts = trial_counts(study)
            show(counts)
            if first:
                result.found_complete = counts["finished"] >= n_trials
                first = False
            if objective.failed_in_row >= max_failures:
                raise TuneFailed(f"{objective.failed_in_row} trials failed in a row; the search "
                                 "stopped (see the FAILED trial runs for the errors).", result)
            if counts["finished"] >= n_trials:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                result.timed_out = True
                break
            if counts["finished"] + counts["RUNNING"] >= n_trials:
                # Other workers run the last trials; wait in case one of them dies.
                time.sleep(poll if remaining is None else max(0.0, min(poll, remaining)))
                continue
            try:
                # around the threads: catch_warnings is not thread-safe in them
                with quiet_constant_labels(), quiet_fold_scores(scoring_only=True):
                    study.optimize(objective, n_trials=None, timeout=remaining,
                                   n_jobs=n_jobs, catch=(Exception,), callbacks=[after_trial])
            except ValueError as exc:
                if not str(exc).startswith("Cannot tell a "):
                    raise
                # Another worker took a trial of this one for dead (its heartbeat came later
                # than the grace period: a slow store) and failed it, queued again; Optuna's
                # tell of its result raised, out of the catch above. The search goes on.
                print("note: another worker failed a trial of this one, taking it for dead "
                      "(its heartbeat came later than --grace-period); it is queued again.",
                      file=sys.stderr)
    finally:
        bar.close()


def _say_resumed(study, study_name, storage, n_trials):
    """Tell on stderr what a rerun of the command finds and keeps, as compare does."""
    counts = trial_counts(study)
    n = counts["finished"]
    if n:
        text = (f"resuming study {study_name!r} ({storage}): its {n} finished "
                f"trial{'' if n == 1 else 's'} {'is' if n == 1 else 'are'} kept (--n-trials "
                f"{n_trials})")
    else:  # another worker made it a moment ago, or a rerun before any trial ended
        text = (f"joining study {study_name!r} ({storage}): no trial has finished yet "
                f"(--n-trials {n_trials})")
    if counts["WAITING"]:
        text += f"; {counts['WAITING']} queued again with their parameters"
    if counts["RUNNING"]:
        text += (f"; {counts['RUNNING']} running (in another worker, or left by a killed one, "
                 "which is failed and queued again)")
    print(text + ".", file=sys.stderr)


def _own_running(study, me):
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if (t.user_attrs.get(WORKER_ATTR) or {}).get("uid") == me["uid"]
            and (t.user_attrs.get(WORKER_ATTR) or {}).get("trial") == t.number]


def _end_parent_if_alone(study, client, parent_id, status, reason):
    """End the parent run ``status`` unless trials still run (in other workers).

    Called while an exception propagates: a failure here is a warning, not a
    new exception hiding the first.
    """
    from optuna.trial import TrialState

    try:
        if study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            return False
        client.set_tag(parent_id, "ecgsk.error", reason[:5000])
        client.set_terminated(parent_id, status)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"could not mark the study's run {parent_id} {status}: {exc}",
                      RuntimeWarning, stacklevel=2)
        return False
    return True


def _on_interrupt(study, objective, client, parent_id, me, exc):
    """Trials stopped by the signal: FAIL, and queued again with their parameters.

    Returns the numbers of the trials queued again.
    """
    from optuna.trial import TrialState

    from ._storage import _retry

    requeued = set()
    try:
        # Stopping is the user's choice, not the trial's fault: an interrupted trial is
        # queued again however often it was interrupted (RETRY_MAX limits killed ones).
        for t in _own_running(study, me):  # told nothing yet (the signal came between steps)
            if fail_trial(study, t, retry=True, max_retry=None):
                requeued.add(t.number)
        for number in sorted(set(objective.interrupted) - requeued):
            trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number),
                         None)
            if trial is not None and trial.state == TrialState.FAIL:
                _retry(study, trial, max_retry=None)
                requeued.add(number)
    except Exception as error:  # noqa: BLE001 -- the next start fails them (heartbeat)
        warnings.warn(f"could not queue the interrupted trials again: {error}", RuntimeWarning,
                      stacklevel=2)
    signame = "SIGTERM" if getattr(exc, "signum", None) == 15 else "SIGINT"
    _end_parent_if_alone(study, client, parent_id, "KILLED", f"interrupted by {signame}")
    return sorted(requeued)


def _finish(study, ctx, objective, client, experiment_id, parent_id, me, ds, n_boot, seed, top,
            out, result):
    """After the search: reap, rank, tag the best, plots, the final refit, the printout."""
    from ..tracking import mask_secrets

    reap_trials(study)
    end_orphan_trial_runs(client, experiment_id, ctx.study_uid, study)
    counts = trial_counts(study)
    result.counts = dict(counts)
    result.ran = list(objective.ran)
    table = ranked_trials(study, top)
    result.table = table
    alone = counts["RUNNING"] == 0
    best = best_trial(study)
    best_number = None if best is None else best.number
    if alone:
        tag_best_trial(client, experiment_id, ctx.study_uid, study, RUN_ATTR)
        log_study_summary(client, parent_id, study, top)
    if best is not None:
        result.best_trial, result.best_value, result.best_params = best.number, best.value, \
            dict(best.params)
    report = io.StringIO()
    done = (f"{counts['finished']} of {ctx.n_trials}" if counts["finished"] <= ctx.n_trials
            else f"{counts['finished']} (more than --n-trials {ctx.n_trials}: an earlier run "
                 f"asked for them)")  # not "6 of 3"
    report.write(f"Study {ctx.study_name!r} ({result.storage}): {done} "
                 f"trials finished ({counts['COMPLETE']} complete, "
                 f"{counts['PRUNED']} pruned), {counts['FAIL']} failed"
                 + (f", {counts['surplus']} surplus (started once other workers had covered "
                    "--n-trials; nothing ran)" if counts["surplus"] else "")
                 + (f", {counts['RUNNING']} running in other workers" if counts["RUNNING"]
                    else "") + (", stopped by --timeout" if result.timed_out else "") + ".\n")
    report.write(f"Metric: {ctx.metric.name} ({ctx.metric.direction}), mean over CV folds "
                 f"{', '.join(str(k) for k, _, _ in ctx.plan.cv)}.\n")
    if table.empty:
        report.write("No completed trial yet.\n")
    else:
        shown = table.copy()
        shown["value"] = shown["value"].map(lambda v: f"{v:.4f}")
        shown["duration_s"] = shown["duration_s"].map(lambda v: f"{v:.1f}")
        report.write(f"\nBest trials ({ctx.metric.name}, best first):\n"
                     + shown.to_string(index=False) + "\n")

    failed = elsewhere = None
    if best_number is None:
        result.refit = "no completed trial: nothing to refit"
    elif not alone:
        result.refit = "trials still run in other workers: the last to finish refits"
    elif (done := _current_final_run(study, client, best_number)) is not None:
        result.refit = "done before"
        final = study.user_attrs[FINAL_ATTR]
        result.final_run_id = done.info.run_id
        result.model_version = final.get("model_version")
        result.model_uri = final.get("model_uri")
        # The earlier refit's test, read back from its run.
        result.test_metrics = {k: v for k, v in done.data.metrics.items()
                               if k.startswith("test_")}
        result.final_validation = done.data.params.get("final.validation")
    elif _designated(study, me) or result.found_complete:
        try:
            elsewhere = _final_refit(study, ctx, client, experiment_id, parent_id, ds, n_boot,
                                     seed, result)
            result.refit = elsewhere or "this worker"
        except Exception as exc:  # noqa: BLE001 -- reported below, the study itself is fine
            failed = mask_secrets(f"the final refit of trial {best_number} failed: "
                                  f"{type(exc).__name__}: {exc}")
            result.refit = failed
    else:
        result.refit = "another worker (it ran the study's last trial)"
        elsewhere = result.refit  # and the parent run with it: it ends it after its refit

    if result.refit == "done before":
        report.write(f"\nFinal refit: done before, in run {result.final_run_id}.\n")
    if result.test_metrics:
        m, key = result.test_metrics, f"test_{ctx.metric.key(ctx.task_type)}"
        # An earlier refit's interval came from its own --n-boot, which its run does not keep.
        resamples = "" if result.refit == "done before" else f", {n_boot} resamples"
        report.write(f"\nBest trial {result.best_trial} refitted on the training records "
                     f"(validation: {result.final_validation}), tested once on "
                     f"{len(ctx.plan.test)} test records: {key} = "
                     f"{_fmt(m.get(key), m.get(key + '_ci_low'), m.get(key + '_ci_high'))} "
                     f"(95% bootstrap interval{resamples}).\n"
                     f"Model registered as {ctx.study_name!r} version {result.model_version}.\n")
        if ctx.explain and result.refit != "done before":
            pngs = [p for p in result.explanations if p.endswith(".png")]
            report.write(f"Explanations of {len(pngs)} test records logged under explain/ of "
                         f"run {result.final_run_id}.\n" if pngs else
                         "Explanations not logged: see the final run's ecgsk.explain_error "
                         "tag.\n")
    elif result.refit != "done before":
        report.write(f"\nFinal refit: {result.refit}.\n")
    text = report.getvalue()
    print(text, file=out, end="")
    from ..tracking._uri import where_logged

    print(where_logged(f"study run {parent_id}", experiment_id), file=out)
    if alone and not elsewhere:  # a worker refitting the best trial ends the parent run itself
        client.log_text(parent_id, text, "optuna/report.txt")
        if failed:
            client.set_tag(parent_id, "ecgsk.error", failed[:5000])
            client.set_terminated(parent_id, "FAILED")
        else:
            client.set_terminated(parent_id, "FINISHED")
    if failed:
        raise TuneFailed(failed, result)


def _rival_refit(study, client, experiment_id, ctx, trial_number, run_id):
    """The run id of another worker's refit of the same trial that goes on before this one.

    That is a live refit (fresh heartbeat) of ``trial_number`` with a smaller
    run id than ``run_id`` (a rule every worker computes alike, without
    clocks), or a refit of it that already stored ``ecgsk.final`` and whose
    run is still running or finished. None when this refit goes on.
    """
    live = live_final_runs(client, experiment_id, ctx.study_uid, ctx.grace_period,
                           trial_number)
    first = next(iter(live), None)
    if first is not None and first.info.run_id < run_id:
        return first.info.run_id
    final = study.user_attrs.get(FINAL_ATTR) or {}
    if final.get("best_trial") != trial_number or final.get("run_id") in (None, run_id):
        return None
    from mlflow.exceptions import MlflowException

    try:  # a refit that stored it and then ended KILLED (or was deleted) is no rival
        done = client.get_run(final["run_id"])
    except MlflowException:
        return None
    alive = done.info.status in ("RUNNING", "FINISHED") and done.info.lifecycle_stage == "active"
    return final["run_id"] if alive else None


def _give_way(client, run_id, other):
    """End this refit's run KILLED, registering nothing: run ``other`` refits the same trial."""
    import mlflow

    client.set_tag(run_id, "ecgsk.error",
                   f"gave way to run {other}: another worker refits the same trial at the "
                   "same time; this run registered nothing")
    mlflow.end_run("KILLED")
    return f"another worker is refitting (run {other}); this worker's run {run_id} gave way"


def _taken_for_dead(client, run_id, grace_period):
    """This refit's run was ended by a worker that took it for dead: register nothing.

    Its heartbeat stalled for longer than ``grace_period`` (a hung store), so
    another worker ended the run KILLED and refits the trial itself.
    """
    import mlflow

    client.set_tag(run_id, "ecgsk.error",
                   f"another worker took this refit for dead (no heartbeat for more than "
                   f"{grace_period:g} s) and ended its run; the refit then registered nothing")
    mlflow.end_run("KILLED")
    return (f"this worker's run {run_id} was ended by another worker, which took it for dead "
            f"(no heartbeat for more than {grace_period:g} s) and refits the trial itself; it "
            "registered nothing")


def _final_refit(study, ctx, client, experiment_id, parent_id, ds, n_boot, seed, result):
    """Refit the best trial as compare's final fit, test it once, register it.

    The refit learns from the training records; its networks validate on
    the validation records (PTB-XL's fold 9), which also tune the decision
    thresholds (:func:`ecgsk.compare._data.fit_final`).

    One worker refits the best trial, wherever the workers run: the refit's
    run carries a heartbeat (:func:`ecgsk.tune._runs.final_heartbeat`). A
    final run of the study with a stale heartbeat (or none) was left by a
    dead process and is ended KILLED. One with a fresh heartbeat that refits
    the same trial is another worker's refit, which this one leaves alone;
    one that refits another trial (an older best) does not stop this refit.
    Two workers may open runs for the same trial at once: each looks again
    right after opening its run and once more before it registers, and
    gives way to a live refit of the trial with a smaller run id (no clock
    decides), or to one that has already stored ``ecgsk.final``; a run that
    gives way ends KILLED, tagged ``ecgsk.error``, having registered
    nothing. Each worker's run is live (or its ``ecgsk.final`` stored) from
    its opening to its end, so of two at once exactly one registers. A
    refit whose own run was ended by another worker meanwhile (its heartbeat
    stalled past the grace period, a hung store) was taken for dead while
    that worker refits the trial: it registers nothing either.

    Just before it registers its model, the refit reads the study's best
    trial again: when another trial has become the best meanwhile (the study
    was resumed with more trials), it registers nothing, stores no
    ``ecgsk.final`` and leaves the parent run alone (the refit of the new
    best ends it); its run ends FINISHED, tagged ``ecgsk.superseded``.

    Returns
    -------
    str or None
        None when this worker refitted; else what ``TuneResult.refit``
        says: another worker refits (run id), or this refit was superseded.
    """
    import mlflow
    import optuna
    from mlflow.entities import Metric

    from ..compare._compare import _build, _log_example_ecgs, _log_explanations, _log_predictions
    from ..compare._data import fit_final
    from ..tracking import (
        decision_thresholds,
        log_data_info,
        log_evaluation,
        log_model,
        log_pipeline_params,
        log_training_curves,
        predict_proba_matrix,
        tracked_run,
    )
    from ..tracking._params import _named_params

    best = best_trial(study)
    params = trial_params(ctx.module, ctx.name, optuna.trial.FixedTrial(best.params, best.number),
                          ctx.fixed)
    plan, X, y, k = ctx.plan, ctx.X, ctx.y, len(ctx.classes)
    tags = {"ecgsk.role": "final", "ecgsk.study": ctx.study_name,
            "ecgsk.study_uid": ctx.study_uid, "ecgsk.pipeline": ctx.name,
            "trial_number": str(best.number), "mlflow.parentRunId": parent_id}
    uid, grace = ctx.study_uid, ctx.grace_period
    end_unfinished_final_runs(client, experiment_id, uid, grace_period=grace)
    live = live_final_runs(client, experiment_id, uid, grace, best.number)
    if live:
        return f"another worker is refitting (run {live[0].info.run_id})"
    tags[HEARTBEAT_TAG] = str(now_ms())  # live from its first moment
    tags[PROCESS_TAG] = process_tag()  # on this machine, its end is seen at once
    run = None
    try:
        with (tracked_run(f"final refit (trial {best.number})", tags=tags) as run,
              final_heartbeat(client, run.info.run_id, ctx.heartbeat_interval)):
            run_id = run.info.run_id
            # Another worker may have opened its run since the look above: the smallest run
            # id goes on. Looked at again before registering, for a rival opened later.
            other = _rival_refit(study, client, experiment_id, ctx, best.number, run_id)
            if other is not None:
                return _give_way(client, run_id, other)
            mlflow.log_params(_named_params("optuna", best.params))
            mlflow.log_params(_named_params("factory", params))
            mlflow.log_params({"best_trial": str(best.number), "tune.n_boot": str(n_boot)})
            # The best trial's CV score, as numbers named as the trials and compare name them.
            cv_summary = _cv_summary(best, ctx.metric.key(ctx.task_type))
            mlflow.log_metrics(cv_summary)
            pipe = _build(ctx.module, ctx.name, params)
            log_pipeline_params(pipe, ctx.name)
            for split in ("train", "valid", "test"):
                idx = getattr(plan, split)
                if idx is not None:
                    log_data_info(ds.name, ds.task, plan.description[split], ds.X[idx], y[idx],
                                  classes=ctx.classes, prefix=f"{split}.", plots=split == "train")
            shown = plan.test[:2]
            _log_example_ecgs(X[shown], ds.X[shown], y[shown], ctx.classes, ctx.sampling_rate,
                              ctx.lead_names)
            # As compare's final fit: the training records; networks validate on fold 9, or
            # on patients held out of the training records.
            est, validation = fit_final(pipe, X, y, plan, groups=ctx.groups, seed=seed)
            mlflow.log_param("final.validation", validation)
            check_interrupt()
            thresholds = y_valid = proba_valid = None
            if plan.valid is not None and ctx.task_type in ("multilabel", "binary"):
                y_valid, proba_valid = y[plan.valid], predict_proba_matrix(est, X[plan.valid], k)
                thresholds = decision_thresholds(y_valid, proba_valid, ctx.classes, ctx.task_type)
            proba = predict_proba_matrix(est, X[plan.test], k)
            with warnings_as_notes():  # a class undefined among the test records, say
                metrics = log_evaluation(y[plan.test], proba, ctx.classes, "test_", ctx.task_type,
                                         y_valid=y_valid, proba_valid=proba_valid, n_boot=n_boot,
                                         random_state=seed)
                metrics.update(_test_log_loss(ctx, y[plan.test], proba, metrics, n_boot, seed))
            _log_predictions(ds.X[plan.test], y[plan.test], proba, ctx.classes,
                             "test/predictions.csv")
            log_training_curves(est)
            explanations = []
            if ctx.explain:
                explanations = _log_explanations(
                    est, X, y, plan, ds, ctx.classes, ctx.sampling_rate, ctx.lead_names,
                    ctx.explain, seed)
            # A signal whose raise was swallowed (it landed in a garbage-collection
            # callback, which only prints it) stops the refit here, before it registers.
            check_interrupt()
            if client.get_run(run_id).info.status != "RUNNING":
                return _taken_for_dead(client, run_id, grace)
            other = _rival_refit(study, client, experiment_id, ctx, best.number, run_id)
            if other is not None:
                return _give_way(client, run_id, other)
            now_best = best_trial(study).number  # a resumed study may have found a better one
            if now_best != best.number:
                client.set_tag(run_id, SUPERSEDED_TAG,
                               f"trial {now_best} became the study's best while this refit of "
                               f"trial {best.number} ran: it registered no model; the refit "
                               f"of trial {now_best} registers the study's model")
                return (f"trial {best.number}'s refit was superseded: trial {now_best} is now "
                        "the best; its refit is left to the worker running it")
            # Registered last: a version exists only for a refit that got this far.
            info = log_model(est, classes=ctx.classes, input_example=X[plan.test[:2]],
                             registered_model_name=ctx.study_name,
                             sampling_rate=ctx.sampling_rate, lead_names=ctx.lead_names,
                             task_type=ctx.task_type, thresholds=thresholds)
            version = getattr(info, "registered_model_version", None)
            version = None if version is None else str(version)
            # Stored while the run still runs (and beats): a worker starting once it has
            # ended finds the refit done, never missing.
            study.set_user_attr(FINAL_ATTR, {"run_id": run_id, "best_trial": best.number,
                                             "model_version": version,
                                             "model_uri": info.model_uri})
    except KeyboardInterrupt:
        if run is not None:  # a model version it registered is not the study's result
            mark_unfinished_final(client, run.info.run_id)
        raise
    now = int(time.time() * 1000)
    client.log_batch(parent_id, metrics=[Metric(key, float(v), now, 0)
                                         for key, v in {**cv_summary, **metrics}.items()])
    client.set_tag(parent_id, "final_run_id", run_id)
    client.set_tag(parent_id, "best_trial", str(best.number))
    client.set_tag(parent_id, "model_version", str(version))
    result.final_run_id = run_id
    result.explanations = explanations
    result.final_validation = validation
    result.test_metrics = metrics
    result.model_uri = info.model_uri
    result.model_version = version
    return None
