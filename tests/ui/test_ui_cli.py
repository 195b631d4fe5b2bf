"""python -m ecgsk.ui: a lean local MLflow UI that stops cleanly on Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from ecgsk.ui import LEAN_ENV, UIError, is_loopback, main, start_ui, ui_command
from ecgsk.ui._child import PARENT_ENV, server_command

from .conftest import UIProcess, alive, new_store

LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the parent-death signal (prctl PR_SET_PDEATHSIG) is "
                                       "Linux-only; elsewhere the server is not tied")


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", True), ("127.3.2.1", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_remote_host_is_refused_without_allow_remote(capsys):
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-remote" in err


def test_allow_remote_warns(tmp_path, capsys):
    # The warning comes first; the missing store then stops it before any server starts.
    assert main(["--host", "0.0.0.0", "--allow-remote", "--backend-store-uri",
                 f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warning: binding 0.0.0.0") and "no tracking database" in err
    assert "on port 5000 can read" in err


@pytest.mark.parametrize("workers", [0, -2, 1.5, True])
def test_workers_must_be_a_positive_integer(workers):
    with pytest.raises(UIError, match=r"workers must be a positive integer, got "):
        start_ui(port=0, workers=workers)


def test_main_puts_back_the_signal_handlers_it_found(tmp_path, capsys):
    """A program that calls main keeps its own Ctrl-C, SIGTERM and SIGHUP handling."""
    def mine(signum, frame):
        pass

    before = {sig: signal.signal(sig, mine)
              for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        assert main(["--backend-store-uri", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
        assert all(signal.getsignal(sig) is mine for sig in before)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    assert "no tracking database" in capsys.readouterr().err


def test_no_store_in_the_working_folder_is_refused_making_nothing(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    assert f"no tracking database at {tmp_path / 'mlruns' / 'mlflow.db'}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_tracking_server_uri_is_sent_to_its_own_ui(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://me:pw@127.0.0.1:5999")
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2  # MLflow's raw traceback before, after starting the server
    err = capsys.readouterr().err
    assert ("error: http://me:***@127.0.0.1:5999 is an MLflow server, which serves its own UI: "
            "open it in a browser.") in err
    assert list(tmp_path.iterdir()) == []


def test_allow_remote_with_port_0_names_no_port_0(tmp_path, capsys):
    assert main(["--host", "0.0.0.0", "--allow-remote", "--port", "0", "--backend-store-uri",
                 f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    err = capsys.readouterr().err
    assert "on the port it picks (--port 0) can read" in err and "port 0 can" not in err


def test_port_in_use_is_refused(empty_store, tmp_path):
    uri = new_store(empty_store, tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UIError, match=f"port {s.getsockname()[1]} on 127.0.0.1 is in use"):
            start_ui(uri, port=s.getsockname()[1])


@pytest.mark.parametrize("port", [5000, 0])
def test_a_host_that_cannot_be_bound_is_named_not_taken_for_a_port_in_use(
        empty_store, tmp_path, capsys, port):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine. It was "port 5000 on
    # 192.0.2.1 is in use", and with --port 0 a traceback.
    uri = new_store(empty_store, tmp_path)
    assert main(["--host", "192.0.2.1", "--allow-remote", "--port", str(port),
                 "--backend-store-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "error: cannot serve on --host 192.0.2.1: " in err
    assert "in use" not in err and "Traceback" not in err


def test_a_port_this_user_may_not_bind_is_named_not_the_host(monkeypatch):
    # EACCES (a port below 1024 for an unprivileged user) was "cannot serve on --host".
    import errno

    from ecgsk.ui import _server

    class NoPrivilege(socket.socket):
        def bind(self, address):
            raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_server.socket, "socket", NoPrivilege)
    with pytest.raises(UIError, match=r"^port 80 on 127.0.0.1 needs privileges this user "
                                      r"lacks \(ports below 1024 do\)"):
        _server._port_taken("127.0.0.1", 80)


def test_command_is_lean_and_local(tmp_path):
    cmd = ui_command(f"sqlite:///{tmp_path}/mlflow.db", port=5123)
    assert cmd[1:4] == ["-m", "mlflow", "ui"]
    assert cmd[cmd.index("--workers") + 1] == "1"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--artifacts-destination") + 1] == str(tmp_path / "artifacts")
    assert LEAN_ENV == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    assert "--allowed-hosts" not in cmd  # MLflow's default Host check: localhost and private
    # The store, and the password it may hold, is not on the command line (ps shows it to
    # every user): the server reads it from MLFLOW_BACKEND_STORE_URI.
    secret = ui_command("postgresql://me:hunter2@db:5432/mlflow", port=5123)
    assert not any("hunter2" in part or "postgresql" in part for part in secret)
    assert "--backend-store-uri" not in secret


@LINUX_ONLY  # /proc
def test_the_server_gets_its_store_from_the_environment_and_answers_past_a_proxy(
        empty_store, tmp_path, monkeypatch):
    # An http_proxy of the environment took the readiness poll of 127.0.0.1: the wrapper
    # waited out its timeout and stopped a server that was up.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    uri = new_store(empty_store, tmp_path / "store")
    server = start_ui(uri, port=0, timeout=60)
    try:
        with open(f"/proc/{server.process.pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
        assert b"sqlite:" not in cmdline and b"--backend-store-uri" not in cmdline
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(f"{server.url}/ajax-api/2.0/mlflow/experiments/search"
                         "?max_results=5", timeout=10) as r:
            assert r.status == 200 and b"Default" in r.read()  # the store given, read
    finally:
        server.stop()


def test_another_loopback_address_is_an_allowed_host(empty_store, tmp_path):
    # MLflow's Host check knew only 127.0.0.1 and localhost: 127.0.0.2 got 403 on every page.
    cmd = ui_command("sqlite:///x.db", host="127.0.0.2", port=5123)
    assert cmd[cmd.index("--allowed-hosts") + 1] == \
        "127.0.0.2,127.0.0.2:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
    uri = new_store(empty_store, tmp_path / "store")
    server = start_ui(uri, host="127.0.0.2", port=0)
    try:
        with urllib.request.urlopen(f"{server.url}/ajax-api/2.0/mlflow/experiments/search"
                                    "?max_results=5", timeout=10) as r:
            assert r.status == 200
    finally:
        server.stop()


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_a_bracketed_ipv6_loopback_is_served(empty_store, tmp_path):
    # is_loopback took "[::1]", and mlflow got it as it was: uvicorn could not resolve it.
    cmd = ui_command("sqlite:///x.db", host="[::1]", port=5123)
    assert cmd[cmd.index("--host") + 1] == "::1"
    uri = new_store(empty_store, tmp_path / "store")
    server = start_ui(uri, host="[::1]", port=0)
    try:
        assert server.url.startswith("http://[::1]:")
        with urllib.request.urlopen(f"{server.url}/ajax-api/2.0/mlflow/experiments/search"
                                    "?max_results=5", timeout=10) as r:
            assert r.status == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_ui_serves_and_stops_on_ctrl_c(empty_store, tmp_path):
    uri = new_store(empty_store, tmp_path / "store")
    ui = UIProcess(["--port", "0", "--backend-store-uri", uri], tmp_path / "ui.log")
    try:
        url = ui.wait_ready()
        assert url.startswith("http://127.0.0.1:")
        assert 1 <= len(ui.tree) <= 3, ui.tree  # mlflow ui and one uvicorn worker
        # MLflow's banner advises "--host 0.0.0.0", which this command refuses on its own.
        assert "here, pass --host with --allow-remote" in ui.output()
        with urllib.request.urlopen(f"{url}/ajax-api/2.0/mlflow/experiments/search"
                                    "?max_results=5", timeout=10) as r:
            assert b'"name": "Default"' in r.read().replace(b'":"', b'": "')
        # Pressed twice, as people do: the second one, while it stops, is no traceback.
        assert ui.interrupt(twice=True) == 0
        assert "stopped the MLflow UI." in ui.output() and "Traceback" not in ui.output()
        assert not any(alive(pid) for pid in ui.tree), "server processes outlived Ctrl-C"
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(f"{url}/health", timeout=3)
    finally:
        ui.kill()


@LINUX_ONLY
def test_server_command_ties_the_server_to_this_process_from_the_main_thread(monkeypatch):
    cmd = ui_command("sqlite:///mlflow.db", port=5123)
    tied, env = server_command(cmd)
    assert tied == [sys.executable, "-m", "ecgsk.ui._child", *cmd[2:]]
    assert env == {PARENT_ENV: str(os.getpid())}
    # From another thread (the signal comes when that thread ends), or off Linux: as it is.
    out = []
    worker = threading.Thread(target=lambda: out.append(server_command(cmd)))
    worker.start()
    worker.join()
    assert out == [(cmd, {})]
    monkeypatch.setattr(sys, "platform", "darwin")
    assert server_command(cmd) == (cmd, {})


@LINUX_ONLY
@pytest.mark.timeout(60)
def test_child_whose_parent_is_already_gone_ends_at_once(tmp_path):
    # The parent it is told of is not its parent (as when that died before prctl): it stops
    # at once rather than run as an orphan. http.server would otherwise serve until killed.
    cmd = [sys.executable, "-m", "ecgsk.ui._child", "http.server", "0", "--bind", "127.0.0.1"]
    env = {**os.environ, PARENT_ENV: str(os.getppid())}  # our parent, never the child's
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert proc.wait(timeout=30) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.timeout(60)
def test_the_launcher_runs_its_module_without_a_runtime_warning():
    # python -m ecgsk.ui._child imports the package ecgsk.ui first; had that imported the
    # launcher, runpy would print a RuntimeWarning at every start of the UI.
    proc = subprocess.run([sys.executable, "-m", "ecgsk.ui._child", "json.tool", "--help"],
                          capture_output=True, text=True, timeout=50)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout and "Warning" not in proc.stderr, proc.stderr


@pytest.mark.slow
@LINUX_ONLY
@pytest.mark.timeout(300)
def test_server_dies_with_a_killed_wrapper(empty_store, tmp_path):
    uri = new_store(empty_store, tmp_path / "store")
    ui = UIProcess(["--port", "0", "--backend-store-uri", uri], tmp_path / "ui.log")
    try:
        url = ui.wait_ready()
        assert ui.tree
        # SIGKILL: no handler of ecgsk.ui runs; only the kernel can tell the server.
        os.kill(ui.proc.pid, signal.SIGKILL)
        assert ui.proc.wait(timeout=10) == -signal.SIGKILL
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in ui.tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in ui.tree if alive(pid)], "the server outlived its wrapper"
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(f"{url}/health", timeout=3)
    finally:
        ui.kill()


def test_a_port_left_in_time_wait_is_free_and_a_listener_takes_it():
    # A UI stopped while a browser was connected left its port in TIME_WAIT: the
    # restart was refused for about a minute although nothing listened.
    from ecgsk.ui._server import _port_taken

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert _port_taken("127.0.0.1", port)
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()  # the server's side closes first: its port is in TIME_WAIT
            client.recv(1)
    assert not _port_taken("127.0.0.1", port)


def test_a_timeout_that_is_not_positive_is_refused(capsys):
    # --timeout -1 started the server and stopped it at once, "not answering within -1 s".
    with pytest.raises(SystemExit) as err:
        main(["--timeout", "-1"])
    assert err.value.code == 2
    assert "--timeout: expected a positive number of seconds, got -1" in capsys.readouterr().err


def test_stop_without_process_groups_ends_the_server_and_its_workers(monkeypatch):
    # Windows has no os.killpg nor SIGKILL: stop() raised AttributeError and left the
    # server running, from start_ui's own cleanup too.
    from ecgsk.ui import _server

    asked = []

    def taskkill(command, **kwargs):
        asked.append(command)
        if len(asked) == 1:  # the first server: taskkill ends it
            os.kill(int(command[-1]), signal.SIGTERM)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.delattr(_server.os, "killpg")
    monkeypatch.setattr(_server.subprocess, "run", taskkill)
    pids = []
    # the second ignores taskkill: killed after the timeout
    for ended_by in (signal.SIGTERM, signal.SIGKILL):
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        pids.append(process.pid)
        server = _server.UIServer(process=process, url="http://127.0.0.1:1", backend_store_uri="x")
        assert server.stop(timeout=1.0) == -ended_by
        assert process.poll() is not None
    assert asked == [["taskkill", "/T", "/F", "/PID", str(pid)] for pid in pids]
