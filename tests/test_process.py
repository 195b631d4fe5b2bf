"""pid_alive: whether a process of this machine still runs."""

import os
import subprocess
import sys
import types

from ecgsk._process import pid_alive


def test_this_process_is_alive_and_an_ended_one_is_not():
    assert pid_alive(os.getpid())
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert not pid_alive(int(ended))


def test_a_pid_no_process_can_have_is_not_alive():
    # kill(0) and kill(-1) signal groups (taken for alive); a pid past the C int range,
    # from a corrupt run tag or a folder's name, raised OverflowError.
    assert not pid_alive(0) and not pid_alive(-1) and not pid_alive(2 ** 40)


def test_a_zombie_is_not_alive():
    # An ended worker that its parent has not reaped kept its trials "live" forever.
    import time

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # ended, not yet waited for
            try:
                with open(f"/proc/{child.pid}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except OSError:
                break  # no /proc: only the kill check is left
            time.sleep(0.05)
        assert not pid_alive(child.pid) or not os.path.exists("/proc")
    finally:
        child.wait()
    assert not pid_alive(child.pid)


def test_windows_asks_the_process_table_and_never_signals(monkeypatch):
    # os.kill(pid, 0) sends a Ctrl-C event on Windows (signal 0 is CTRL_C_EVENT), and a pid
    # that is no console group's raised OSError (WinError 87).
    import ctypes

    from ecgsk import _process

    table = {100: 259, 101: 0}  # running (STILL_ACTIVE), ended with status 0
    errors = []

    class Kernel32:
        @staticmethod  # a plain function: it takes a restype, as ctypes' do
        def OpenProcess(access, inherit, pid):
            if pid == 102:
                errors.append(5)  # another user's: ERROR_ACCESS_DENIED
                return 0
            if pid not in table:
                errors.append(87)  # ERROR_INVALID_PARAMETER
                return 0
            return pid

        def GetExitCodeProcess(self, handle, code):
            code._obj.value = table[handle]
            return 1

        def CloseHandle(self, handle):
            return 1

    def no_signal(*args):
        raise AssertionError("os.kill sends a Ctrl-C on Windows (signal 0 is CTRL_C_EVENT)")

    # Windows' os as _process sees it (the real os.name left alone: pathlib reads it)
    monkeypatch.setattr(_process, "os", types.SimpleNamespace(name="nt", kill=no_signal))
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, **kwargs: Kernel32(), raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: errors[-1], raising=False)
    assert pid_alive(100) and pid_alive(102)
    assert not pid_alive(101) and not pid_alive(103)
