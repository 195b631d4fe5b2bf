"""Resuming an interrupted comparison: its MLflow runs hold what was finished.

A comparison run carries the tag ``ecgsk.request``, a fingerprint of what
was asked (pipelines and their module hashes, parameters, data, folds,
seed, subset, external records, bootstrap, explanations). Rerunning the
same request after an interruption (Ctrl-C, SIGTERM, a crash, a failed
pipeline) reopens the latest such comparison run that did not finish: a
pipeline whose run FINISHED is read back (:func:`load_result`) and a
finished fold of an unfinished pipeline is kept, so only what is missing is
fitted. A pipeline's final fit is kept on disk until its run finishes
(:func:`save_final_fit`): a run interrupted while it logged the final fit
(test metrics, training curves, model, explanations, external records) is
finished with that same fit, not a new one, and what it had logged is not
logged twice.
"""

import contextlib
import hashlib
import json
import os
import pickle
import socket
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .._atomic import atomic_write, other_owner, partial_name
from .._process import ended_here
from .._source import code_hash

__all__ = ["REQUEST_TAG", "request_key", "process_tags", "find_unfinished", "child_runs",
           "end_orphans", "save_result", "load_result", "final_fit_path", "save_final_fit",
           "load_final_fit", "remove_final_fit", "drop_final_fits", "logged_model_uri"]

#: Tag of a comparison run: the fingerprint of its request (:func:`request_key`).
REQUEST_TAG = "ecgsk.request"
#: Tags naming the process that runs a comparison (a crashed one is seen dead).
HOST_TAG, PID_TAG = "ecgsk.host", "ecgsk.pid"
_RESULT = "result/pipeline_result"
_ORPHAN = "the process running this comparison ended without closing its run (killed or lost)"


def request_key(modules, params, **request):
    """A fingerprint of a comparison request: the same request gives the same key.

    ecgsk's own code counts too (:func:`ecgsk._source.code_hash`): after an
    upgrade or an edit of the package, the same command starts a new
    comparison.

    Parameters
    ----------
    modules : dict
        Pipeline name to module, in the order asked for. The order, each
        module's source (``__ecgsk_sha256__``) and its path count: the
        comparison run logs the names in that order and each pipeline run its
        module's path, and MLflow lets no logged parameter change.
    params : dict
        Pipeline name to its ``make_pipeline`` keywords.
    **request
        Everything else that decides the fits and the tests (data, folds,
        seed...), as JSON-able values or values with a stable ``repr``.
    """
    payload = {
        "ecgsk": code_hash(),
        "pipelines": {name: [getattr(module, "__ecgsk_sha256__", None),
                             getattr(module, "__ecgsk_path__", None)]
                      for name, module in modules.items()},
        "order": list(modules),
        "params": {name: {k: repr(v) for k, v in sorted(p.items())}
                   for name, p in params.items()},
        **{k: repr(v) for k, v in request.items()},
    }
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def process_tags():
    """Tags naming this process, so that a later start sees whether it died."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _dead(run):
    """Whether a RUNNING run's process is gone (on this host; elsewhere nobody can tell)."""
    return ended_here(run.data.tags.get(HOST_TAG), run.data.tags.get(PID_TAG))


def _comparisons(client, experiment_ids, key, extra="", **kwargs):
    """The comparison runs of request ``key`` in ``experiment_ids``, latest first."""
    return client.search_runs(
        experiment_ids, filter_string=(f"tags.`{REQUEST_TAG}` = '{key}' and tags.`ecgsk.role` "
                                       f"= 'comparison' {extra}").strip(),
        order_by=["attributes.start_time DESC"], **kwargs)


def last_finished(client, experiment_id, key):
    """The latest FINISHED comparison run of request ``key``, or None."""
    runs = _comparisons(client, [experiment_id], key, "and attributes.status = 'FINISHED'",
                        max_results=1)
    return runs[0] if runs else None


def in_other_experiment(client, experiment_id, key):
    """The latest comparison run of request ``key`` in another active experiment, or None.

    A renamed experiment keeps its runs under the old id, so a rerun with the
    old name finds no earlier run of its own.
    """
    others = [e.experiment_id for e in client.search_experiments()
              if e.experiment_id != experiment_id]
    if not others:
        return None
    runs = _comparisons(client, others, key, max_results=1)
    return runs[0] if runs else None


def find_unfinished(client, experiment_id, key):
    """The latest comparison run of request ``key`` if it did not finish, else None.

    A run FAILED or KILLED is resumed; so is a run still RUNNING whose
    process on this host is gone (killed by the system, a crash). A later
    FINISHED run of the same request means there is nothing to resume, and
    so does a later run RUNNING in a live process (or on another host): an
    older unfinished one is one that a ``--fresh`` start left.
    """
    for run in _comparisons(client, [experiment_id], key):
        status = run.info.status
        if status == "FINISHED":
            return None
        if status in ("FAILED", "KILLED") or (status == "RUNNING" and _dead(run)):
            return run
        if status == "RUNNING":  # live: the latest comparison of the request is under way
            return None
    return None


def child_runs(client, experiment_id, parent_id, role, **tags):
    """Child runs of ``parent_id`` with ``ecgsk.role`` = ``role`` and the given ``ecgsk.*`` tags."""
    query = [f"tags.`mlflow.parentRunId` = '{parent_id}'", f"tags.`ecgsk.role` = '{role}'"]
    query += [f"tags.`ecgsk.{k}` = '{v}'" for k, v in tags.items()]
    return client.search_runs([experiment_id], filter_string=" and ".join(query),
                              order_by=["attributes.start_time DESC"])


def end_orphans(client, experiment_id, parent_id):
    """End KILLED the runs under ``parent_id`` left RUNNING by a process that died, and
    mark FAILED the models it left half-logged (PENDING) on them."""
    from ..tracking._runs import fail_pending_models

    ended = []
    for role in ("pipeline", "fold"):
        for run in child_runs(client, experiment_id, parent_id, role):
            if run.info.status == "RUNNING":
                client.set_tag(run.info.run_id, "ecgsk.error", _ORPHAN)
                client.set_terminated(run.info.run_id, "KILLED")
                ended.append(run.info.run_id)
            if role == "pipeline":
                with contextlib.suppress(Exception):  # a store without logged models
                    fail_pending_models(client, run.info.run_id)
                ended += end_orphans(client, experiment_id, run.info.run_id)
    return ended


def save_result(result):
    """Log a :class:`~ecgsk.compare.PipelineResult` on the active run, for :func:`load_result`."""
    import mlflow

    arrays = {k: getattr(result, k) for k in ("proba", "pred", "external_proba",
                                              "external_pred")
              if getattr(result, k) is not None}
    meta = {"name": result.name, "cv_metrics": result.cv_metrics,
            "test_metrics": result.test_metrics, "model_uri": result.model_uri,
            "external_metrics": result.external_metrics}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, os.path.basename(_RESULT) + ".npz")
        np.savez(path, meta=json.dumps(meta, default=float), **arrays)
        mlflow.log_artifact(path, os.path.dirname(_RESULT))


def load_result(client, run):
    """The :class:`~ecgsk.compare.PipelineResult` a finished pipeline run saved, or None.

    None too where the saved file cannot be read (torn by a crash of the
    machine, say), with a warning naming the run: the pipeline is fitted
    again, as :func:`load_final_fit` does with its file.
    """
    from unittest import mock

    from mlflow.exceptions import MlflowException

    from ._compare import PipelineResult

    # No MLflow download bar for one small file: compare has its own bar.
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(
            os.environ, {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}):
        try:
            path = client.download_artifacts(run.info.run_id, _RESULT + ".npz", tmp)
        except (MlflowException, OSError):
            return None  # finished before results were saved: fitted again
        try:
            with np.load(path, allow_pickle=False) as saved:
                meta = json.loads(str(saved["meta"]))
                arrays = {k: saved[k] for k in saved.files if k != "meta"}
            return PipelineResult(run_id=run.info.run_id, **meta, **arrays)
        except Exception as exc:  # noqa: BLE001 -- damaged: fitted again, not every rerun stopped
            warnings.warn(f"the saved result {_RESULT}.npz of run {run.info.run_id} cannot be "
                          f"read ({type(exc).__name__}: {exc}); the pipeline is fitted again.",
                          RuntimeWarning, stacklevel=2)
            return None


def final_fit_path(folder, run_id):
    """Where the final fit of pipeline run ``run_id`` is kept until the run finishes."""
    return Path(folder) / f"compare-final-{run_id}.pkl"


def save_final_fit(path, estimator, validation):
    """Keep a fitted final estimator for :func:`load_final_fit`, written whole.

    Pickled with cloudpickle (as :func:`~ecgsk.tracking.log_model` stores
    it) into a temporary file renamed into place, so that an interruption
    never leaves a torn file. A fit that cannot be saved (it does not
    pickle, the disk is full) only warns, and an older file at ``path`` is
    removed: a resumed run fits it again.

    Parameters
    ----------
    path : path-like
        See :func:`final_fit_path`.
    estimator : fitted estimator
    validation : str
        How the fit used the validation records (``final.validation``).
    """
    import cloudpickle

    path = os.fspath(path)
    state = {"estimator": estimator, "validation": validation}
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        atomic_write(path, lambda f: cloudpickle.dump(state, f),
                     partial=partial_name(path), durable=True)
    except Exception as exc:  # noqa: BLE001 -- only a resume loses it: it fits again
        remove_final_fit(path)  # not another fit in its place
        warnings.warn(f"the final fit is not kept in {path} ({type(exc).__name__}: {exc}); "
                      "a rerun interrupted after it fits it again.", RuntimeWarning,
                      stacklevel=2)


def load_final_fit(path):
    """``(estimator, validation)`` saved by :func:`save_final_fit`, or None.

    None when there is no file; a file that cannot be read is treated as
    absent, with a warning naming it (the final model is fitted again and
    the file overwritten).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            owner = other_owner(f)
            if owner is not None:
                warnings.warn(f"the saved final fit {path} was written by another user (uid "
                              f"{owner}): it is not read, as reading it could run code that "
                              "it holds; the final model is fitted again.", RuntimeWarning,
                              stacklevel=2)
                return None
            saved = pickle.load(f)  # noqa: S301 -- this user's own file, as the checkpoints
        return saved["estimator"], str(saved["validation"])
    except Exception as exc:  # noqa: BLE001 -- damaged or foreign: fitted again
        warnings.warn(f"the saved final fit {path} cannot be read ({type(exc).__name__}: "
                      f"{exc}); the final model is fitted again.", RuntimeWarning, stacklevel=2)
        return None


def remove_final_fit(path):
    """Remove the file of :func:`save_final_fit`, if it is there and can be."""
    with contextlib.suppress(OSError):  # one left behind is never read: its run is over
        os.remove(path)


def drop_final_fits(client, experiment_id, key, folder):
    """Remove the saved final fits of the comparison that a fresh start of ``key`` leaves.

    That is the comparison :func:`find_unfinished` would resume: no rerun
    reads its final fits once a new comparison of the same request exists.
    A comparison still running in a live process keeps its own.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    abandoned = find_unfinished(client, experiment_id, key)
    if abandoned is None:
        return []
    removed = []
    for run in child_runs(client, experiment_id, abandoned.info.run_id, "pipeline"):
        path = final_fit_path(folder, run.info.run_id)
        if path.exists():
            remove_final_fit(path)
            if not path.exists():
                removed.append(path)
    return removed


def logged_model_uri(client, run, name="model"):
    """``models:/<id>`` of the model ``name`` that ``run`` logged whole (READY), or None.

    A model whose logging an interruption cut short is not READY (it is
    marked FAILED when its run ends).
    """
    from mlflow.entities import LoggedModelStatus
    from mlflow.exceptions import MlflowException

    from ..tracking._runs import run_logged_models

    try:
        models = run_logged_models(client, run)
    except MlflowException:
        return None
    ready = [m for m in models if m.name == name and m.status == LoggedModelStatus.READY]
    newest = max(ready, key=lambda m: m.creation_timestamp or 0, default=None)
    return None if newest is None else newest.model_uri
