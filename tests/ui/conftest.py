"""Fixtures shared with tests/compare (stores, signal cache, pipelines) and a UI process helper."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from ..compare.conftest import FLAT_LR, STATS_LR  # noqa: F401
from ..conftest import new_store, write_module  # noqa: F401


def descendants(pid):
    """Pids of every process below ``pid`` (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _is_server(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ")
    except OSError:
        return False
    return b"mlflow" in cmd or b"uvicorn" in cmd


class UIProcess:
    """``python -m ecgsk.ui`` in its own session, stopped with SIGINT (as Ctrl-C) or killed."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "ecgsk.ui", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.tree = []

    def output(self):
        self.log.flush()
        return self.log_path.read_text()

    def wait_ready(self, timeout=120):
        """Wait for the printed address and a /health answer; return the URL."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"MLflow UI at (http://\S+)", self.output())
            if found:
                url = found.group(1)
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    assert r.status == 200
                self.tree = descendants(self.proc.pid)
                return url
            if self.proc.poll() is not None:
                pytest.fail(f"python -m ecgsk.ui exited ({self.proc.returncode}):\n"
                            + self.output()[-3000:])
            time.sleep(0.3)
        pytest.fail("python -m ecgsk.ui did not print its address in time:\n"
                    + self.output()[-3000:])

    def interrupt(self, timeout=30, twice=False):
        """Ctrl-C (``twice``: pressed again while it stops): SIGINT to ecgsk.ui alone;
        return its exit status."""
        self.proc.send_signal(signal.SIGINT)
        if twice:
            time.sleep(0.5)
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        """Last resort, for teardown: kill ecgsk.ui's group and the server processes it started.

        A server process is killed only while its command line is still an MLflow or
        uvicorn one (so a pid reused by another process is left alone).
        """
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in {*self.tree, *descendants(self.proc.pid)}:
            if _is_server(pid):
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()
