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
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass  # it exists, and is not ours
    return not _zombie(pid)


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
