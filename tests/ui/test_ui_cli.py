"""python -m ecgsk.ui: a lean local MLflow UI that stops cleanly on Ctrl-C."""

import socket
import urllib.error
import urllib.request

import pytest

from ecgsk.ui import LEAN_ENV, UIError, is_loopback, main, start_ui, ui_command

from .conftest import UIProcess, alive, new_store


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


def test_port_in_use_is_refused(empty_store, tmp_path):
    uri = new_store(empty_store, tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UIError, match=f"port {s.getsockname()[1]} on 127.0.0.1 is in use"):
            start_ui(uri, port=s.getsockname()[1])


def test_command_is_lean_and_local(tmp_path):
    cmd = ui_command(f"sqlite:///{tmp_path}/mlflow.db", port=5123)
    assert cmd[1:4] == ["-m", "mlflow", "ui"]
    assert cmd[cmd.index("--workers") + 1] == "1"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--artifacts-destination") + 1] == str(tmp_path / "artifacts")
    assert LEAN_ENV == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


@pytest.mark.slow
def test_ui_serves_and_stops_on_ctrl_c(empty_store, tmp_path):
    uri = new_store(empty_store, tmp_path / "store")
    ui = UIProcess(["--port", "0", "--backend-store-uri", uri], tmp_path / "ui.log")
    try:
        url = ui.wait_ready()
        assert url.startswith("http://127.0.0.1:")
        assert 1 <= len(ui.tree) <= 3, ui.tree  # mlflow ui and one uvicorn worker
        with urllib.request.urlopen(f"{url}/ajax-api/2.0/mlflow/experiments/search"
                                    "?max_results=5", timeout=10) as r:
            assert b'"name": "Default"' in r.read().replace(b'":"', b'": "')
        assert ui.interrupt() == 0
        assert "stopped the MLflow UI." in ui.output()
        assert not any(alive(pid) for pid in ui.tree), "server processes outlived Ctrl-C"
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(f"{url}/health", timeout=3)
    finally:
        ui.kill()
