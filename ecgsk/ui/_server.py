"""Start, wait for and stop a lean local ``mlflow ui`` over ecgsk's tracking store."""

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["UIError", "UIServer", "is_loopback", "free_port", "ui_command", "start_ui"]

#: Environment of the server: no background job runner (MLflow 3 starts one
#: with a pool of workers by default, for GenAI jobs the UI does not need).
LEAN_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


class UIError(RuntimeError):
    """The UI cannot be started as asked (remote host refused, port taken, server died)."""


def is_loopback(host):
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``.

    Parameters
    ----------
    host : str
        A host name or IP address (an IPv6 address may be in brackets).

    Returns
    -------
    bool
        False for any other name or address.
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host="127.0.0.1"):
    """A TCP port free on ``host`` now (the OS's pick).

    Parameters
    ----------
    host : str, default="127.0.0.1"
        The interface to bind: an IPv4 address or host name, or an IPv6
        address (one with ``:``, brackets allowed).

    Returns
    -------
    int
        The port. It is free when this returns; another process may take
        it before it is used.

    Raises
    ------
    OSError
        If ``host`` cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host.strip("[]"), 0))
        return s.getsockname()[1]


def _port_taken(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the server binds: a port whose last connection is in TIME_WAIT (a UI stopped
        # with a browser attached) is free; only a listener makes it taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            if exc.errno == errno.EACCES:  # the port, not the host
                raise UIError(f"port {port} on {host} needs privileges this user lacks "
                              "(ports below 1024 do); pass --port with a port of 1024 or "
                              "more, or --port 0 for any.") from None
            raise _host_error(host, exc) from None
    return False


def _host_error(host, exc):
    """A host that cannot be bound at all, whatever the port: not a port in use."""
    reason = exc.strerror or str(exc)
    return UIError(f"cannot serve on --host {host}: {reason}. Give a name or address of "
                   "this machine (127.0.0.1, the default, for this machine alone).")


def _url(host, port):
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}"


def ui_command(backend_store_uri, host="127.0.0.1", port=5000, workers=1):
    """The ``mlflow ui`` command line ecgsk runs (with this Python's MLflow).

    For a SQLite store, artifacts of experiments created from the UI go to
    ``artifacts/`` beside the database, as ecgsk's own experiments do. The
    store itself is not on the command line, where any user of the machine
    reads it (``ps``) with the password it may hold: MLflow reads it from
    the environment variable ``MLFLOW_BACKEND_STORE_URI``, which
    :func:`start_ui` sets.

    Parameters
    ----------
    backend_store_uri : str
        The tracking store (``--backend-store-uri``).
    host : str, default="127.0.0.1"
        The interface to bind (``--host``).
    port : int, default=5000
        The TCP port (``--port``).
    workers : int, default=1
        The number of server workers (``--workers``).

    Returns
    -------
    list of str
        The command, ``sys.executable -m mlflow ui ...``, to run with
        ``MLFLOW_BACKEND_STORE_URI=backend_store_uri`` in its environment.
    """
    unbracketed = host.strip().strip("[]")  # uvicorn cannot resolve "[::1]"; it binds ::1
    bare = unbracketed.lower()
    cmd = [sys.executable, "-m", "mlflow", "ui", "--host", unbracketed,
           "--port", str(port), "--workers", str(workers)]
    if is_loopback(host) and bare not in ("127.0.0.1", "localhost", "::1"):
        # MLflow's Host check (against DNS rebinding) knows no other loopback address: it
        # would answer every page of 127.0.0.2 with 403.
        cmd += ["--allowed-hosts", ",".join(f"{name},{name}:*" for name in
                                            (bare, "localhost", "127.0.0.1"))]
    from ..tracking._uri import sqlite_file

    db = sqlite_file(backend_store_uri)
    if db is not None:
        cmd += ["--artifacts-destination", str(db.absolute().parent / "artifacts")]
    return cmd


@dataclass
class UIServer:
    """A running ``mlflow ui``; :meth:`stop` ends it and every process it started.

    Made by :func:`start_ui`.

    Attributes
    ----------
    process : subprocess.Popen
        The server's process, the leader of its own process group.
    url : str
        Where the UI answers, ``http://<host>:<port>``.
    backend_store_uri : str
        The tracking store it shows.
    """

    process: subprocess.Popen
    url: str
    backend_store_uri: str

    def alive(self):
        """Whether the server process is still running."""
        return self.process.poll() is None

    def stop(self, timeout=15.0):
        """Stop the server's process group: SIGTERM, then SIGKILL after ``timeout`` s.

        Where there are no process groups (Windows), ``taskkill /T`` ends the
        server and its workers, and ``kill`` the server if it still runs after
        ``timeout`` s.

        Parameters
        ----------
        timeout : float, default=15.0
            Seconds to wait for the group to end after SIGTERM, and again
            after SIGKILL.

        Returns
        -------
        int
            The exit status of the server's process (negative: the number of
            the signal that ended it). For a server whose process group has
            ended already, no signal is sent.
        """
        if not hasattr(os, "killpg"):  # Windows: no process groups to signal
            return self._stop_tree(timeout)
        if self.process.poll() is not None and not _group_alive(self.process.pid):
            return self.process.returncode
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self.process.poll()
                if not _group_alive(self.process.pid):
                    return self.process.wait()
                time.sleep(0.1)
        return self.process.wait()


    def _stop_tree(self, timeout):
        """Windows' stop: ``taskkill /T`` ends the server and its workers, else ``kill``."""
        if self.process.poll() is None:
            command = ["taskkill", "/T", "/F", "/PID", str(self.process.pid)]
            subprocess.run(command, capture_output=True, check=False)  # noqa: S603,S607
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_ready(server, timeout):
    health = f"{server.url}/health"
    # Straight to the server: an http_proxy of the environment would answer (or not) for it.
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise UIError(f"mlflow ui exited with status {server.process.returncode} before "
                          "answering; its messages are above.")
        try:
            with direct.open(health, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    server.stop()
    raise UIError(f"mlflow ui did not answer at {health} within {timeout:g} s.")


def start_ui(backend_store_uri=None, *, host="127.0.0.1", port=5000, allow_remote=False,
             workers=1, timeout=120.0, stdout=None, stderr=None):
    """Start ``mlflow ui`` on a tracking store and wait until it answers.

    The server runs in its own process group (so :meth:`UIServer.stop`
    ends the workers it starts too), with ``workers`` workers (one by
    default) and no job runner. On
    Linux, started from the main thread, the server also ends when this
    process dies, even by SIGKILL, rather than hold the port as an orphan.

    Parameters
    ----------
    backend_store_uri : str or None
        Tracking store; :func:`ecgsk.tracking.default_tracking_uri` when None
        (``$MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlruns/mlflow.db``).
    host : str, default="127.0.0.1"
        Interface to bind. Anything but a loopback address is refused unless
        ``allow_remote``: the UI and its REST API (which can delete runs)
        have no authentication.
    port : int, default=5000
        TCP port; 0 picks a free one.
    allow_remote : bool, default=False
        Allow a ``host`` that is not a loopback address (``--allow-remote``):
        other machines can then reach the UI, without authentication.
    workers : int, default=1
        The number of server workers (``mlflow ui --workers``, :func:`ui_command`).
    timeout : float, default=120
        Seconds to wait for ``/health`` to answer.
    stdout, stderr : file or None
        Where the server's output goes (inherited when None).

    Returns
    -------
    UIServer

    Raises
    ------
    UIError
        For a remote host without ``allow_remote``, a port that is not one or
        is in use, ``workers`` below 1, a store that is an MLflow server
        (``http://``) or a SQLite database that does not exist, or a server
        that exits or does not answer in time.

    Examples
    --------
    >>> from ecgsk.ui import start_ui                                    # doctest: +SKIP
    >>> server = start_ui("sqlite:///mlruns/mlflow.db", port=0)          # doctest: +SKIP
    >>> server.url                                                       # doctest: +SKIP
    'http://127.0.0.1:40521'
    >>> server.stop()                                                    # doctest: +SKIP
    """
    from ..tracking import default_tracking_uri
    from ..tracking._uri import sqlite_file
    # Imported here, not with the package: python -m ecgsk.ui._child imports ecgsk.ui first,
    # and runpy warns when that already imported the module it is about to run.
    from ._child import server_command

    if not is_loopback(host) and not allow_remote:
        raise UIError(f"--host {host} is not a loopback address: the MLflow UI has no "
                      "authentication and its REST API can change and delete runs. Bind "
                      "127.0.0.1 (and use an SSH tunnel), or pass --allow-remote.")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise UIError(f"port must be an integer in 0-65535, got {port!r}.")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UIError(f"workers must be a positive integer, got {workers!r}.")
    uri = backend_store_uri or default_tracking_uri()
    if uri.split(":", 1)[0].lower() in ("http", "https"):
        from ..tracking import mask_secrets

        raise UIError(f"{mask_secrets(uri)} is an MLflow server, which serves its own UI: open "
                      "it in a browser. The UI here reads a store (sqlite:///..., "
                      "postgresql://...); pass one with --backend-store-uri, or unset "
                      "MLFLOW_TRACKING_URI.")
    db = sqlite_file(uri)
    if db is not None and not db.is_file():
        raise UIError(f"no tracking database at {db}: run python -m ecgsk.compare first, "
                      "or pass --backend-store-uri.")
    if port == 0:
        try:
            port = free_port(host)
        except OSError as exc:
            raise _host_error(host, exc) from None
    elif _port_taken(host, port):
        raise UIError(f"port {port} on {host} is in use (another MLflow UI?); pass --port "
                      "with a free port, or --port 0 for any.")
    cmd, tie = server_command(ui_command(uri, host, port, workers))
    env = {**os.environ, **LEAN_ENV, **tie, "MLFLOW_BACKEND_STORE_URI": uri}  # not in ps
    process = subprocess.Popen(cmd, env=env, start_new_session=True,  # noqa: S603
                               stdout=stdout, stderr=stderr)
    server = UIServer(process=process, url=_url(host, port), backend_store_uri=uri)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server
