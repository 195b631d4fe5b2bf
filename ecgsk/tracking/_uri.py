"""Where runs go: the default sqlite store, and checking a tracking URI before any work."""

import contextlib
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from .._lock import file_lock
from ._masking import mask_secrets

__all__ = ["TrackingError", "default_tracking_uri", "setup_tracking", "artifact_root"]

_SQLITE_PREFIX = "sqlite:///"


class TrackingError(RuntimeError):
    """The tracking store cannot be used (unreachable, unwritable or refused)."""


def default_tracking_uri():
    """The tracking URI ecgsk uses when none is given.

    ``MLFLOW_TRACKING_URI`` when that variable is set, else a SQLite store at
    ``<cwd>/mlruns/mlflow.db``, whose artifacts go to
    ``<cwd>/mlruns/artifacts/``. MLflow 3 refuses its plain ``./mlruns`` file
    store unless ``MLFLOW_ALLOW_FILE_STORE=true``, hence SQLite. Nothing is
    created here: :func:`setup_tracking` makes the folder when a run is
    about to be logged, so reading the default (to check a request, to open
    the UI or to load a model) leaves the working folder as it was.

    Returns
    -------
    str

    Examples
    --------
    >>> from ecgsk.tracking import default_tracking_uri
    >>> default_tracking_uri()                           # doctest: +SKIP
    'sqlite:////home/me/project/mlruns/mlflow.db'
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    return uri or sqlite_uri(Path.cwd() / "mlruns" / "mlflow.db")


def sqlite_uri(path):
    """The ``sqlite:///`` URI of a database file; a "%" in its path is escaped.

    SQLAlchemy decodes %-escapes in the path ("%20" is a space), so a folder
    named ``100%`` must be written ``100%25``.
    """
    return f"{_SQLITE_PREFIX}{os.fspath(path).replace('%', '%25')}"


def _sqlite_path(uri):
    path = uri[len(_SQLITE_PREFIX):]
    if not path or path == ":memory:":
        return None
    # As SQLAlchemy reads it: "%41" undecoded made a folder of that name, then the store,
    # opened at the decoded path, failed after two minutes of retries.
    return Path(urllib.parse.unquote(path))


def sqlite_file(uri):
    """The database file of a ``sqlite:///`` URI; None for other stores and in-memory ones."""
    if not uri or not uri.startswith(_SQLITE_PREFIX):
        return None
    return _sqlite_path(uri.split("?", 1)[0])


def artifact_root(tracking_uri, experiment):
    """Artifact location for a new experiment of a SQLite store: beside the database.

    ``sqlite:///<dir>/mlflow.db`` puts the artifacts of experiment ``name`` in
    ``<dir>/artifacts/<name>`` (characters other than letters, digits,
    ``._-`` become ``_``). Other stores (an MLflow server) choose themselves:
    None.
    """
    if not tracking_uri.startswith(_SQLITE_PREFIX):
        return None
    path = _sqlite_path(tracking_uri)
    if path is None:
        return None
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).strip("._") or "experiment"
    return str(path.resolve().parent / "artifacts" / slug)


def _check_reachable(uri):
    """Fail fast, naming the URI (secrets masked), where MLflow would retry for minutes."""
    shown = mask_secrets(uri)
    scheme = urllib.parse.urlparse(uri).scheme.lower()
    if scheme in ("http", "https"):
        parts = urllib.parse.urlsplit(uri)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        health = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health",
                                          "", ""))
        try:
            with urllib.request.urlopen(health, timeout=5) as response:  # noqa: S310 (http only)
                response.read(64)
        except urllib.error.HTTPError:
            pass  # a server answered; MLflow reports what it thinks of us below
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(f"the MLflow tracking server at {shown} is unreachable: "
                                f"{reason}. Start it (mlflow server --host 127.0.0.1) or pass "
                                "another --tracking-uri.") from None
    elif uri.startswith(_SQLITE_PREFIX):
        path = _sqlite_path(uri)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TrackingError(f"cannot create the folder of the SQLite store {shown}: "
                                    f"{exc}") from None
            if not os.access(path.parent, os.W_OK):
                raise TrackingError(f"the folder of the SQLite store {shown} is not writable.")
    elif scheme == "sqlite":
        raise TrackingError(f"SQLite tracking URIs take three slashes and a path, "
                            f"e.g. sqlite:///mlruns/mlflow.db; got {shown}.")


def setup_tracking(tracking_uri=None, experiment="ecgsk"):
    """Point MLflow at a store and an experiment, checking both first.

    Parameters
    ----------
    tracking_uri : str or None, default=None
        Any MLflow tracking URI; :func:`default_tracking_uri` when None.
        ``sqlite:///path/mlflow.db`` creates the database and its folder
        (``./mlruns/`` for the default). Processes that open one SQLite
        store at once take turns, through the lock file ``mlflow.db.lock``
        beside it, so that only one creates its tables.
    experiment : str, default="ecgsk"
        Experiment name; created when absent. For a SQLite store its
        artifacts go beside the database (see :func:`artifact_root`).

    Returns
    -------
    experiment_id : str

    Raises
    ------
    TrackingError
        If the store is unreachable or refuses us (a server that does not
        answer, a folder that cannot be written, MLflow's file store without
        ``MLFLOW_ALLOW_FILE_STORE``) or the experiment is deleted. The URI in
        the message has its credentials masked.
    ValueError
        If ``experiment`` is not a non-empty string.

    Examples
    --------
    >>> from ecgsk.tracking import setup_tracking, tracked_run
    >>> exp_id = setup_tracking("sqlite:///mlruns/mlflow.db", "ptbxl")  # doctest: +SKIP
    >>> with tracked_run("baseline") as run:             # doctest: +SKIP
    ...     mlflow.log_metric("auroc", 0.9)
    """
    if not isinstance(experiment, str) or not experiment.strip():
        raise ValueError(f"experiment must be a non-empty name, got {experiment!r}.")
    uri = tracking_uri or default_tracking_uri()
    if uri.startswith(_SQLITE_PREFIX) and not uri.startswith(_SQLITE_PREFIX + "/"):
        # sqlite:///relative/path: make it absolute so that chdir does not move the store.
        path = _sqlite_path(uri)
        if path is not None:
            uri = sqlite_uri(path.resolve())
    _check_reachable(uri)
    database = sqlite_file(uri)
    # Processes opening a new SQLite store at once would all create its tables; the
    # first to lock creates them, the others wait and find them.
    lock = (file_lock(database.with_name(database.name + ".lock")) if database is not None
            else contextlib.nullcontext())
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock)
        except OSError as exc:
            raise TrackingError(f"cannot lock the SQLite store {mask_secrets(uri)}: "
                                f"{exc}") from None
        try:
            client = MlflowClient(uri)
            found = client.get_experiment_by_name(experiment)
            if found is None:
                try:
                    experiment_id = client.create_experiment(
                        experiment, artifact_location=artifact_root(uri, experiment))
                except MlflowException as exc:
                    if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                        raise
                    experiment_id = client.get_experiment_by_name(experiment).experiment_id
            elif found.lifecycle_stage != "active":
                raise TrackingError(
                    f"experiment {experiment!r} is deleted in {mask_secrets(uri)}; restore it "
                    "(mlflow experiments restore) or choose another name.")
            else:
                experiment_id = found.experiment_id
        except TrackingError:
            raise
        except Exception as exc:  # noqa: BLE001 -- any store failure becomes one clear error
            text = str(exc).strip()
            message = mask_secrets(text.splitlines()[0] if text else repr(exc))
            raise TrackingError(f"cannot use the MLflow tracking store {mask_secrets(uri)}: "
                                f"{message}") from exc
    mlflow.set_tracking_uri(uri)
    # Models are registered in the same store (tune looks its versions up there), not in a
    # registry the session had set apart: unset, the registry follows the tracking URI.
    # (Pinned to ``uri`` instead, it outlived the store in MLFLOW_REGISTRY_URI, where any
    # later MlflowClient(other_store) looked its models up.)
    mlflow.set_registry_uri(None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


#: The environment variables through which MLflow hands its store, registry and experiment
#: to subprocesses; ``set_tracking_uri``, ``set_registry_uri`` and ``set_experiment`` write
#: them.
_TRACKING_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID")


@contextlib.contextmanager
def tracking_kept():
    """MLflow's tracking and registry URIs and active experiment, as they were on entry, on exit.

    :func:`setup_tracking` points the process at ecgsk's store, which
    ``compare`` and ``tune`` need while they log. Called from a library, they
    left it so: the caller's own runs after them, and its subprocesses (through
    ``MLFLOW_TRACKING_URI``, ``MLFLOW_REGISTRY_URI`` and ``MLFLOW_EXPERIMENT_ID``),
    went to ecgsk's store and experiment. MLflow keeps them in module globals
    with no public getter of the unresolved values, so they are read there.
    """
    from mlflow.tracking import fluent
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils

    uri, registry_uri = utils._tracking_uri, registry._registry_uri
    experiment_id = fluent._active_experiment_id
    env = {name: os.environ.get(name) for name in _TRACKING_ENV}
    try:
        yield
    finally:
        mlflow.set_tracking_uri(uri)  # None too: MLflow's default, resolved at each use
        registry._registry_uri = registry_uri
        fluent._active_experiment_id = experiment_id
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def where_logged(what, experiment_id):
    """The closing line of ``compare`` and ``tune``: where ``what`` (a run) was logged.

    It names the experiment and the store (its credentials masked) and how to
    browse them: ``python -m ecgsk.ui`` for a local store, the server's own UI
    for an HTTP one.
    """
    import shlex

    experiment = mlflow.get_experiment(experiment_id).name
    uri = mlflow.get_tracking_uri()
    shown = mask_secrets(uri)
    browse = ("its server's UI shows them" if uri.startswith(("http://", "https://"))
              else f"python -m ecgsk.ui --backend-store-uri {shlex.quote(shown)} shows them")
    return f"Logged to MLflow: {what}, experiment {experiment!r}, store {shown} ({browse})."
