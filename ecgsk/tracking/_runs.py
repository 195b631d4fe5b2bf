"""A run context that never leaves a run RUNNING: FAILED on error, KILLED on interruption."""

import contextlib
import logging
import os
import signal
import threading
import warnings

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

from ._masking import MASK, is_secret_key, mask_secrets

__all__ = ["tracked_run", "RunTerminated", "ERROR_TAG", "run_logged_models",
           "fail_pending_models", "sigterm_as_exception"]

_logger = logging.getLogger(__name__)

#: Tag naming the exception that ended a run FAILED or KILLED.
ERROR_TAG = "ecgsk.error"

_FINISHED = RunStatus.to_string(RunStatus.FINISHED)
_FAILED = RunStatus.to_string(RunStatus.FAILED)
_KILLED = RunStatus.to_string(RunStatus.KILLED)


class RunTerminated(SystemExit):
    """Raised in the main thread on SIGTERM while a :func:`tracked_run` is open.

    A :class:`SystemExit` with code ``128 + signum`` (143), so an uncaught
    one ends the process with the status a shell reports for SIGTERM, after
    the open runs have been marked KILLED.
    """


_run_id_env_lock = threading.Lock()
_run_id_env_warned = set()


@contextlib.contextmanager
def _without_run_id_env():
    """Hide ``MLFLOW_RUN_ID`` from ``mlflow.start_run``, which would resume that run instead.

    Set by ``mlflow run`` or left in a shell, it made a comparison or a trial of
    ecgsk's take over the user's run (its params mixed in, its name changed), or
    fail with MLflow's "active experiment ID does not match" once every record
    was read. ecgsk starts runs of its own, and says once that it leaves that run alone.
    MLflow deletes the variable when a run ends; :func:`tracked_run` sets it again
    when its outermost run ends, so that the user's later runs resume that run.
    """
    with _run_id_env_lock:  # trials start runs in threads
        value = os.environ.pop("MLFLOW_RUN_ID", None)
        try:
            if value and value not in _run_id_env_warned:
                _run_id_env_warned.add(value)
                # stacklevel: this generator, contextlib, tracked_run, contextlib, its caller
                warnings.warn(f"MLFLOW_RUN_ID={value} is set; ecgsk starts runs of its own and "
                              "leaves that run alone.", UserWarning, stacklevel=5)
            yield
        finally:
            if value is not None:
                os.environ["MLFLOW_RUN_ID"] = value


_sigterm_lock = threading.Lock()
_sigterm_depth = 0
_previous_handler = None


def _on_sigterm(signum, frame):
    raise RunTerminated(128 + signum)


@contextlib.contextmanager
def sigterm_as_exception():
    """Turn SIGTERM into :class:`RunTerminated` for the block (the outermost one, if nested).

    Only in the main thread (Python delivers signals there), and only where
    nobody else has installed a handler; the previous handler is restored.
    :func:`tracked_run` holds it while its run is open; a command holds it
    for its whole work, so that SIGTERM before any run (reading records with
    joblib workers) ends the work as Ctrl-C does, workers included.
    """
    global _sigterm_depth, _previous_handler
    installed = False
    if threading.current_thread() is threading.main_thread():
        with _sigterm_lock:
            if _sigterm_depth == 0:
                current = signal.getsignal(signal.SIGTERM)
                if current in (signal.SIG_DFL, None):
                    _previous_handler = current
                    signal.signal(signal.SIGTERM, _on_sigterm)
                    installed = True
            elif signal.getsignal(signal.SIGTERM) is _on_sigterm:
                installed = True
            if installed:
                _sigterm_depth += 1
    try:
        yield
    finally:
        if installed:
            with _sigterm_lock:
                _sigterm_depth -= 1
                if _sigterm_depth == 0:
                    signal.signal(signal.SIGTERM, _previous_handler or signal.SIG_DFL)


def _status_of(exc):
    if exc is None:
        return _FINISHED
    if isinstance(exc, (KeyboardInterrupt, RunTerminated)):
        return _KILLED
    if isinstance(exc, SystemExit):
        return _FINISHED if exc.code in (None, 0) else _FAILED
    return _FAILED


def _describe(exc):
    if isinstance(exc, RunTerminated):
        return "terminated by SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return mask_secrets(f"{type(exc).__name__}: {exc}")[:5000]


def run_logged_models(client, run):
    """The logged models (MLflow 3) whose source is ``run`` (a run or its id)."""
    if isinstance(run, str):
        run = client.get_run(run)
    return client.search_logged_models([run.info.experiment_id],
                                       filter_string=f"source_run_id = '{run.info.run_id}'")


def fail_pending_models(client, run_id):
    """Mark FAILED the logged models of ``run_id`` left PENDING (a ``log_model`` cut short)."""
    from mlflow.entities import LoggedModelStatus

    for model in run_logged_models(client, run_id):
        if model.status == LoggedModelStatus.PENDING:
            client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)


def _end(run_id, parent_id, status, exc):
    """End ``run_id`` (and any run left open inside it) with ``status``, whatever happens."""
    client = MlflowClient()
    if exc is not None and status != _FINISHED:
        with contextlib.suppress(Exception):
            client.set_tag(run_id, ERROR_TAG, _describe(exc))
        with contextlib.suppress(Exception):  # a store without logged models has none
            fail_pending_models(client, run_id)
    # Runs started inside ours and left open end with the same status; stop at
    # our parent in case our own run was already ended inside the block.
    active = mlflow.active_run()
    while active is not None and active.info.run_id not in (run_id, parent_id):
        mlflow.end_run(status)
        active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run(status)
    elif client.get_run(run_id).info.status == RunStatus.to_string(RunStatus.RUNNING):
        # Taken off the fluent stack by hand but not ended in the store.
        client.set_terminated(run_id, status)


@contextlib.contextmanager
def tracked_run(name, *, nested=False, tags=None, description=None, run_id=None):
    """Start (or resume) an MLflow run that always ends with its true status.

    Wraps :func:`mlflow.start_run`. The run ends

    - FINISHED when the block completes (or calls ``sys.exit(0)``);
    - FAILED when the block raises, with the exception in the
      ``ecgsk.error`` tag;
    - KILLED on :class:`KeyboardInterrupt`, and on SIGTERM: while the
      outermost tracked run of the main thread is open, SIGTERM raises
      :class:`RunTerminated` (a :class:`SystemExit`), unless the process has
      its own SIGTERM handler.

    A model whose logging the error cut short (a logged model left PENDING)
    is marked FAILED.

    The exception is re-raised; what was logged before it stays, and runs
    left open inside the block end with the same status. A nested run that
    fails leaves its parent RUNNING, so the parent can catch the exception
    and go on.

    A run named by ``MLFLOW_RUN_ID`` (``mlflow run`` sets it) is left alone,
    with one warning: ``mlflow.start_run`` would resume it. The variable is
    set again when the outermost run ends (MLflow deletes it at ``end_run``).

    Parameters
    ----------
    name : str
        Run name shown in the MLflow UI.
    nested : bool, default=False
        Start the run as a child of the active run (tag
        ``mlflow.parentRunId``).
    tags : dict or None
        Tags set when the run starts, their secrets masked as parameters'
        are (:func:`~ecgsk.tracking.mask_secrets`; the whole value of a
        key that names a secret).
    description : str or None
        Run description (``mlflow.note.content``), its secrets masked.
    run_id : str or None
        Resume this ended run (RUNNING again; its ``ecgsk.error`` tag is
        removed) instead of starting a new one.

    Yields
    ------
    mlflow.ActiveRun

    Examples
    --------
    >>> from ecgsk.tracking import tracked_run                # doctest: +SKIP
    >>> with tracked_run("comparison") as parent:             # doctest: +SKIP
    ...     try:
    ...         with tracked_run("fold 1", nested=True):
    ...             raise ValueError("diverged")   # fold 1 ends FAILED
    ...     except ValueError:
    ...         pass                               # the parent goes on
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}.")
    parent = mlflow.active_run() if nested else None
    parent_id = parent.info.run_id if parent is not None else None
    # A tag or the description may hold a store's URI or a token, as parameters may.
    if tags:
        tags = {key: MASK if is_secret_key(key) else mask_secrets(value)
                for key, value in tags.items()}
    if description is not None:
        description = mask_secrets(description)
    if run_id is not None:
        client = MlflowClient()
        if ERROR_TAG in client.get_run(run_id).data.tags:
            client.delete_tag(run_id, ERROR_TAG)
        run = mlflow.start_run(run_id=run_id, nested=nested, tags=tags, description=description)
    else:
        with _without_run_id_env():
            run = mlflow.start_run(run_name=name, nested=nested, tags=tags,
                                   description=description)
    run_id = run.info.run_id
    error = None
    # MLflow's end_run deletes MLFLOW_RUN_ID (ecgsk's first nested run ending did): the
    # outermost run puts back the user's, which a later start_run of theirs resumes.
    user_run_id = os.environ.get("MLFLOW_RUN_ID") if parent_id is None else None
    try:
        with sigterm_as_exception():
            yield run
    except BaseException as exc:
        error = exc
        raise
    finally:
        status = _status_of(error)
        try:
            _end(run_id, parent_id, status, error)
        except Exception as end_error:  # noqa: BLE001 -- never hide the block's own exception
            if error is None:
                raise
            _logger.warning("could not mark run %s %s: %s", run_id, status, end_error)
        finally:
            if user_run_id:
                os.environ["MLFLOW_RUN_ID"] = user_run_id
