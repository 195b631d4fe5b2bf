"""An exclusive lock shared by the processes of one machine, held on a file.

Two ``compare`` or ``tune`` commands started together on a new SQLite store
both create MLflow's tables; the loser failed with "duplicate column name".
Holding this lock while the store is opened makes the second wait for the
first.
"""

import contextlib
import os

try:
    import fcntl
except ImportError:  # Windows: no advisory locks through fcntl
    fcntl = None

__all__ = ["file_lock"]


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
    it held. Where :mod:`fcntl` is missing (Windows) the block runs without
    a lock.
    """
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(os.fspath(path), os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:  # another user's lock file in a shared folder: flock reads will do
        fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
