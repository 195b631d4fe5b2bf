"""Run a Python module as the server, ending its process group if the wrapper dies.

``python -m ecgsk.ui._child MODULE ARGS...`` runs ``python -m MODULE ARGS...``
in this process. With ``ECGSK_UI_PARENT_PID`` set (by :func:`server_command`,
on Linux), it first asks the kernel for :data:`PARENT_DEATH_SIGNAL` when its
parent dies, even by SIGKILL, and answers that signal by sending SIGTERM to
its whole process group: the ``mlflow ui`` process and the uvicorn server it
starts (which MLflow releases before early 2026 leave running when ``mlflow
ui`` alone gets SIGTERM).
"""

import ctypes
import os
import runpy
import signal
import sys
import threading

__all__ = ["PARENT_ENV", "PARENT_DEATH_SIGNAL", "server_command", "main"]

#: The environment variable that passes the wrapper's pid to the child.
PARENT_ENV = "ECGSK_UI_PARENT_PID"
#: The signal the kernel sends when the parent dies: one neither MLflow nor uvicorn handles.
PARENT_DEATH_SIGNAL = getattr(signal, "SIGUSR2", None)  # None on Windows, where it is unused
_PR_SET_PDEATHSIG = 1


def server_command(cmd):
    """``cmd`` (``python -m MODULE ...``) and its extra environment, tied to this process.

    On Linux, called from the main thread, the command runs through this
    module and the environment names this process; elsewhere ``cmd`` is
    returned as it is, with no extra environment. The kernel sends the
    parent-death signal when the *thread* that started the child ends, so
    from another thread (which may end long before the process) the server
    is not tied.
    """
    if (not sys.platform.startswith("linux") or cmd[1:2] != ["-m"]
            or threading.current_thread() is not threading.main_thread()):
        return list(cmd), {}
    return [cmd[0], "-m", __name__, *cmd[2:]], {PARENT_ENV: str(os.getpid())}


def _end_group(signum=None, frame=None):
    """The parent is gone: SIGTERM to this process group (this process included).

    Only a group this process leads (``start_new_session``) is signalled;
    otherwise this process alone ends.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGTERM)
    else:
        os.kill(os.getpid(), signal.SIGTERM)


def _tie_to_parent(parent):
    """Ask for :data:`PARENT_DEATH_SIGNAL` when ``parent`` dies; whether the kernel agreed."""
    signal.signal(PARENT_DEATH_SIGNAL, _end_group)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(PARENT_DEATH_SIGNAL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # no prctl: no tie, the server runs as before
        return False
    if os.getppid() != parent:  # the parent died before the request: too late for it
        _end_group()
    return True


def main(argv=None):
    """Run ``python -m MODULE ARGS...`` (``argv``), tied to the parent named in the environment."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.exit("usage: python -m ecgsk.ui._child MODULE [ARGS...]")
    parent = os.environ.pop(PARENT_ENV, "")
    if parent.isdigit():
        _tie_to_parent(int(parent))
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
