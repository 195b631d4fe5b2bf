"""An exclusive lock shared by the processes of one machine, held on a file.

Two ``compare`` or ``tune`` commands started together on a new SQLite store
both create MLflow's tables; the loser failed with "duplicate column name".
Holding this lock while the store is opened makes the second wait for the
first.
"""

import contextlib
import os
import sys
import time

try:
    import fcntl
except ImportError:  # Windows: no advisory locks through fcntl
    fcntl = None

__all__ = ["file_lock"]

#: Seconds of waiting for the lock before saying so on stderr.
SAY_AFTER_S = 5.0


@contextlib.contextmanager
def file_lock(path):
    """Hold an exclusive lock on ``path`` (created if absent) for the block.

    Parameters
    ----------
    path : str or path-like
        The lock file; its folder must exist. The file is left in place
        (removing it could let two processes lock two different files).

    Notes
    -----
    A POSIX advisory lock (:func:`fcntl.flock`): released when the block
    ends, and by the system when the process dies, so a crash never leaves
    it held. A process that waits for it longer than :data:`SAY_AFTER_S`
    says so once on stderr, naming the file (another process holds it: one
    stopped with Ctrl-Z holds it until resumed). Where :mod:`fcntl` is
    missing (Windows) the block runs without a lock.
    """
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(os.fspath(path), os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:  # another user's lock file in a shared folder: flock reads will do
        fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        _acquire(fd, path)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _acquire(fd, path):
    """Lock ``fd``, saying once on stderr when that takes longer than :data:`SAY_AFTER_S`."""
    start, said, pause = time.monotonic(), False, 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not said and time.monotonic() - start >= SAY_AFTER_S:
            print(f"note: waiting for the lock {os.fspath(path)}, which another process "
                  "holds (a compare, tune or loader writing there; one stopped with Ctrl-Z "
                  "holds it until resumed).", file=sys.stderr, flush=True)
            said = True
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
