"""Whether a process of this machine still runs (for the leftovers of killed ones)."""

import os
import socket
from pathlib import Path

__all__ = ["pid_alive", "boot_id", "ended_here"]


def pid_alive(pid):
    """True while process ``pid`` of this machine exists, another user's included.

    Parameters
    ----------
    pid : int
        The process id.

    Returns
    -------
    bool
        False too for a pid that no process can have (0 or less: ``kill``
        would signal a group; beyond the C int range), and for a zombie (a
        process that has ended, but that its parent has not yet reaped),
        where the OS says so (Linux's ``/proc``).
    """
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) sends a Ctrl-C event there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # it exists, and is not ours
    return not _zombie(pid)


#: Windows: what OpenProcess needs to read an exit code, and the code of a running process.
_QUERY_LIMITED_INFORMATION, _STILL_ACTIVE = 0x1000, 259
_ERROR_ACCESS_DENIED = 5


def _windows_pid_alive(pid):
    """``pid_alive`` on Windows: OpenProcess and GetExitCodeProcess, not a signal.

    On Windows signal 0 is ``CTRL_C_EVENT``: ``os.kill(pid, 0)`` sends a Ctrl-C
    to the processes of a console group (a running ``compare`` or download
    sharing the console stopped), and raises a plain ``OSError`` (WinError 87)
    for a pid that is no group's, where a gone process was to be told apart.
    What cannot be told is taken as alive, so that nothing of it is removed.
    """
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE  # a pointer-sized handle, not an int
    handle = kernel32.OpenProcess(_QUERY_LIMITED_INFORMATION, False, int(pid))
    if not handle:  # no such process (ERROR_INVALID_PARAMETER), or not ours
        return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _zombie(pid):
    """Whether ``pid`` has ended and waits to be reaped ("Z" in ``/proc/<pid>/stat``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS, Windows), or the process has just gone
        return False
    # "pid (command) state ...": the command may hold spaces and parentheses.
    return stat[stat.rfind(")") + 1:].split()[:1] == ["Z"]


def boot_id():
    """This boot of this machine (Linux's ``boot_id``), or "" where there is none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def ended_here(host, pid, boot=None):
    """Whether process ``pid`` of machine ``host`` is known to have ended.

    Only a process of this machine (and, with ``boot``, of this boot: a pid
    of an earlier boot may be reused) can be judged; another machine's, and
    this process, are not ended.
    """
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    if boot is not None and boot != boot_id():
        return False
    return not pid_alive(pid)
