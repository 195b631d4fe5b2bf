"""Optuna storage: where studies live, heartbeats, and failing the trials of dead workers."""

import copy
import functools
import importlib.util
import os
import random
import socket
import time
import urllib.parse
import uuid
import warnings
from collections import Counter
from pathlib import Path

from .._process import boot_id, ended_here
from ._metrics import TuneError

__all__ = ["default_storage_url", "check_storage_url", "open_storage", "with_driver",
           "worker_identity",
           "reap_trials", "fail_trial", "trial_counts", "RETRY_MAX", "WORKER_ATTR"]

_SQLITE = "sqlite:///"
_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")

#: Times a trial killed with its worker is re-queued with the same parameters.
RETRY_MAX = 1
#: Trial user attribute naming the worker process that runs it.
WORKER_ATTR = "ecgsk.worker"

_PROCESS_UID = uuid.uuid4().hex[:12]


def default_storage_url(tracking_uri):
    """``sqlite:///<dir>/optuna.db`` beside a SQLite MLflow store, else ``./mlruns/optuna.db``.

    Parameters
    ----------
    tracking_uri : str or None
        The MLflow tracking URI. A ``sqlite:///`` URI of a database file
        puts the Optuna database in that file's folder; any other (a
        server, an in-memory database, None) in ``mlruns`` of the current
        directory.

    Returns
    -------
    str
        A ``sqlite:///`` URL with an absolute path.

    Examples
    --------
    >>> default_storage_url("sqlite:////work/mlruns/mlflow.db")
    'sqlite:////work/mlruns/optuna.db'
    """
    from ..tracking._uri import sqlite_file, sqlite_uri  # mlflow: not at import (--help)

    database = sqlite_file(tracking_uri)
    folder = Path.cwd() / "mlruns" if database is None else database.resolve().parent
    return sqlite_uri(folder / "optuna.db")


def with_driver(url):
    """A ``postgresql://`` URL with an installed driver named: psycopg (3), else psycopg2.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3; a machine
    with only ``psycopg2-binary`` would fail. Other URLs are returned as
    they are (``postgres://`` becomes ``postgresql``).

    Parameters
    ----------
    url : str
        An Optuna storage URL (SQLAlchemy URL).

    Returns
    -------
    str
        ``postgresql+psycopg://...`` or ``postgresql+psycopg2://...`` for a
        ``postgresql://`` or ``postgres://`` URL; ``url`` itself otherwise
        (a driver already named, another database).

    Raises
    ------
    TuneError
        If neither driver is installed.

    Examples
    --------
    >>> with_driver("sqlite:///mlruns/optuna.db")
    'sqlite:///mlruns/optuna.db'
    """
    from ..tracking import mask_secrets

    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in ("postgresql", "postgres"):
        return url
    for module in ("psycopg", "psycopg2"):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{module}{sep}{rest}"
    raise TuneError(f"the Optuna storage {mask_secrets(url)} needs a PostgreSQL driver: "
                    "pip install psycopg2-binary (or psycopg[binary]).")


_CREATE_ATTEMPTS = 5


def _creation_race(exc):
    """Whether ``exc`` is a lost race to create tables or rows that now exist."""
    import sqlalchemy.exc

    if not isinstance(exc, (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError)):
        return False
    text = str(exc).lower()
    return "already exists" in text or "duplicate" in text or "unique" in text


def _engine_kwargs(scheme):
    if scheme == "sqlite":
        # Several threads (--n-jobs) or processes may write: wait for the lock.
        return {"connect_args": {"timeout": 60}}
    # Fail fast on an unreachable server; re-open connections a server dropped.
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}


def check_storage_url(url, *, heartbeat_interval=10, grace_period=30):
    """Check an Optuna storage URL and its heartbeat settings, touching no database.

    ``tune`` checks them with the rest of the request, before it reads any
    record; :func:`open_storage` checks them again and then connects.

    Parameters
    ----------
    url : str
        The storage URL, as :func:`open_storage` takes it.
    heartbeat_interval : int, default=10
        Seconds between the heartbeats of a running trial.
    grace_period : int, default=30
        Seconds without heartbeat after which a running trial is failed;
        longer than ``heartbeat_interval``.

    Returns
    -------
    str
        The URL's scheme without its driver (``"sqlite"``, ``"postgresql"``...).

    Raises
    ------
    TuneError
        For a URL that is no database URL, an unsupported scheme, an
        in-memory SQLite database, or heartbeat settings that are not
        positive whole seconds with ``grace_period > heartbeat_interval``;
        the URL in the message has its password masked.

    Examples
    --------
    >>> check_storage_url("postgresql+psycopg2://tuner@db:5432/optuna")
    'postgresql'
    """
    from ..tracking import mask_secrets

    shown = mask_secrets(url)
    for value, name in ((heartbeat_interval, "heartbeat_interval"),
                        (grace_period, "grace_period")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TuneError(f"{name} must be a positive number of seconds, got {value!r}.")
    if grace_period <= heartbeat_interval:
        raise TuneError(f"grace_period (--grace-period, {grace_period} s) must be longer "
                        f"than heartbeat_interval (--heartbeat-interval, {heartbeat_interval} "
                        "s).")
    if not isinstance(url, str) or "://" not in url:
        raise TuneError(f"--storage must be a database URL such as sqlite:///mlruns/optuna.db or "
                        f"postgresql://user@host:5432/optuna, got {shown!r}.")
    scheme = urllib.parse.urlsplit(url).scheme.lower().split("+")[0]
    if scheme not in _SCHEMES:
        raise TuneError(f"unsupported Optuna storage {shown}: use sqlite:///PATH, "
                        "postgresql://... or mysql://... (Optuna's RDB storage).")
    if scheme == "sqlite":
        path = url[len(_SQLITE):] if url.startswith(_SQLITE) else ""
        if not path or path == ":memory:":
            raise TuneError(f"a SQLite storage needs a file (sqlite:///mlruns/optuna.db), got "
                            f"{shown}: an in-memory study could not be resumed.")
    return scheme


def open_storage(url, *, heartbeat_interval=10, grace_period=30, max_retry=RETRY_MAX):
    """Open (and create the tables of) an Optuna RDB storage with heartbeats, checking it first.

    Parameters
    ----------
    url : str
        ``sqlite:///path``, ``postgresql://user:password@host:port/db`` or
        ``mysql://...`` (SQLAlchemy URLs, drivers such as
        ``postgresql+psycopg2://`` included).
    heartbeat_interval : int, default=10
        Seconds between the heartbeats of a running trial.
    grace_period : int, default=30
        A running trial without heartbeat for this long is failed (and
        re-queued ``max_retry`` times with its parameters) the next time a
        worker of the study looks.
    max_retry : int, default=1
        Times a trial failed for a stale heartbeat is re-queued with its
        parameters (:data:`RETRY_MAX`; :class:`optuna.storages.RetryHeartbeatStaleTrialCallback`).

    Returns
    -------
    optuna.storages.RDBStorage

    Raises
    ------
    TuneError
        For an unsupported scheme, a missing database driver, a SQLite
        folder that cannot be written, or a database that does not answer;
        the URL in the message has its password masked.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     storage = open_storage(f"sqlite:///{folder}/optuna.db", heartbeat_interval=5)
    ...     type(storage).__name__, storage.get_heartbeat_interval()
    ('RDBStorage', 5)
    """
    import optuna
    from optuna.storages import RDBStorage

    from ..tracking import mask_secrets
    from ..tracking._uri import _sqlite_path, sqlite_uri

    shown = mask_secrets(url)
    scheme = check_storage_url(url, heartbeat_interval=heartbeat_interval,
                               grace_period=grace_period)
    if scheme == "sqlite":
        path = _sqlite_path(url).expanduser().resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TuneError(f"cannot create the folder of the Optuna storage {shown}: "
                            f"{exc}") from None
        if not os.access(path.parent, os.W_OK):
            raise TuneError(f"the folder of the Optuna storage {shown} is not writable.")
        url = sqlite_uri(path)
    url = with_driver(url)

    def create():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url, engine_kwargs=_engine_kwargs(scheme), heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=functools.partial(_retry, max_retry=max_retry))

    try:
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                return create()
            except Exception as exc:  # noqa: BLE001 -- retried only for the creation race
                # Workers starting at once on an empty database race to create Optuna's
                # tables (PostgreSQL: "duplicate key ... pg_type_typname_nsp_index"); the
                # loser finds them made when it tries again.
                if attempt + 1 == _CREATE_ATTEMPTS or not _creation_race(exc):
                    raise
                time.sleep(0.5 + random.random())
    except ImportError as exc:
        driver = {"postgresql": "psycopg2 (pip install psycopg2-binary)",
                  "postgres": "psycopg2 (pip install psycopg2-binary)",
                  "mysql": "a MySQL driver (pip install PyMySQL, URL mysql+pymysql://...)"}
        raise TuneError(f"the Optuna storage {shown} needs {driver.get(scheme, 'a driver')}: "
                        f"{mask_secrets(exc)}") from None
    except Exception as exc:  # noqa: BLE001 -- any database failure becomes one clear error
        text = str(exc).strip().splitlines()
        first = next((line for line in text if line.strip()), repr(exc))
        raise TuneError(f"cannot use the Optuna storage {shown}: "
                        f"{mask_secrets(first.strip())}") from None


def worker_identity():
    """This process as a worker: host name, boot id, process id and a random id.

    Stored, with the trial number, in each trial's user attribute
    ``ecgsk.worker``, so that a later start on the same machine can tell
    that the process running a trial is gone.
    """
    return {"host": socket.gethostname(), "boot": boot_id(), "pid": os.getpid(),
            "uid": _PROCESS_UID}




#: System attribute of a queued trial: how many of its retries followed a Ctrl-C or SIGTERM.
_INTERRUPTS_ATTR = "ecgsk_interrupts"


def _retry(study, frozen, max_retry=RETRY_MAX):
    """Queue a copy of ``frozen`` (WAITING, same parameters); ``max_retry=None``: interrupted.

    optuna's :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback`
    counts every retry towards ``max_retry``; here only those after a kill
    count, so that a trial once stopped by the user is still queued again
    when its worker is later killed.
    """
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    frozen = copy.deepcopy(frozen)
    attrs = dict(frozen.system_attrs)
    interrupts = attrs.get(_INTERRUPTS_ATTR, 0)
    if max_retry is None:
        attrs[_INTERRUPTS_ATTR] = interrupts + 1
    elif len(attrs.get("retry_history", [])) - interrupts >= max_retry:
        return  # killed max_retry times already
    frozen.system_attrs = attrs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback(max_retry=None)(study, frozen)


def fail_trial(study, frozen, retry=True, max_retry=RETRY_MAX):
    """Mark a running trial FAIL.

    With ``retry``, a copy is queued (WAITING) with the same parameters, as
    :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` does for
    trials whose heartbeat stopped, unless the trial was already queued
    again ``max_retry`` times (None: always). Returns whether this call
    failed it (it may have finished or been failed by another worker
    meanwhile).
    """
    import optuna
    from optuna.trial import TrialState

    storage = study._storage
    try:
        if not storage.set_trial_state_values(frozen._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    if retry:
        _retry(study, storage.get_trial(frozen._trial_id), max_retry=max_retry)
    return True


def reap_trials(study):
    """Fail the running trials whose worker is gone; return their numbers.

    Three ways:

    - a trial whose worker ran on this machine (same host name and boot id)
      in a process that no longer exists is failed at once;
    - a trial whose heartbeat is older than the storage's grace period
      (its worker was killed elsewhere, or hangs) is failed by
      :func:`optuna.storages.fail_stale_trials`;
    - a trial that started longer ago than the grace period with no worker
      recorded: its worker was killed between Optuna creating it and the
      objective's first line (a few milliseconds), before any heartbeat, and
      Optuna's stale check skips a trial that never beat, so it ran forever.

    Each way it is re-queued once with the same parameters (see
    :data:`RETRY_MAX`).
    """
    import datetime

    import optuna
    from optuna.trial import TrialState

    failed = []
    grace = _grace_period(study._storage)
    now = datetime.datetime.now()  # as Optuna stamps datetime_start
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get(WORKER_ATTR) or {}
        # A retried trial inherits the user attributes of the one it copies: trust
        # the worker only when it was recorded for this very trial.
        if w.get("trial") == t.number:
            dead = ended_here(w.get("host"), w.get("pid"), w.get("boot", "?"))
        else:  # unclaimed: a live worker records itself within milliseconds of the start
            dead = (grace is not None and t.datetime_start is not None
                    and (now - t.datetime_start).total_seconds() > grace)
        if dead and fail_trial(study, t):
            failed.append(t.number)
    running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    failed += [n for n in running if states.get(n) == TrialState.FAIL]
    return sorted(failed)


def _grace_period(storage):
    """The storage's heartbeat grace period in seconds, None without heartbeats."""
    backend = getattr(storage, "_backend", storage)  # Optuna's _CachedStorage wraps it
    interval = getattr(backend, "heartbeat_interval", None)
    if interval is None:
        return None
    grace = getattr(backend, "grace_period", None)
    return float(2 * interval if grace is None else grace)


def trial_counts(study):
    """Trials of the study by state name (every state, zeros too), ``finished`` and ``surplus``.

    ``finished`` = COMPLETE + PRUNED: what counts toward ``n_trials``.
    ``surplus``: trials a worker failed at once, unrun, because the others had
    covered ``n_trials`` (:class:`~ecgsk.tune._objective.SurplusTrial`); FAIL
    leaves them out, as nothing failed.
    """
    from optuna.trial import TrialState

    counts = Counter({state.name: 0 for state in TrialState})
    trials = study.get_trials(deepcopy=False)
    counts.update(t.state.name for t in trials)
    counts["surplus"] = sum(t.state == TrialState.FAIL and bool(t.user_attrs.get("ecgsk.surplus"))
                            for t in trials)
    counts["FAIL"] -= counts["surplus"]
    counts["finished"] = counts["COMPLETE"] + counts["PRUNED"]
    return counts
