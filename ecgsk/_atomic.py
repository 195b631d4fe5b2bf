"""Writing a file so that a crash or Ctrl-C never leaves it half written.

The signal cache, its index, the networks' per-epoch checkpoints and
``compare``'s final fits are all written this way: to a temporary file in the
same folder, moved onto the target with :func:`os.replace` only once
complete. A reader sees the old file or the new one, never a torn one. The
temporary names are those that ``python -m ecgsk.cache`` counts as
``partial`` files. The checkpoints and final fits are also flushed to disk
(``durable=True``), so that they survive a crash of the machine too.
"""

import os
import secrets
import tempfile

__all__ = ["atomic_write", "other_owner", "partial_name"]

# The process's umask, read once at import (reading it means setting it): mkstemp's
# files are 0600, and a cache meant for a team must get the mode any other file would.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path, write, *, partial=None, durable=False):
    """Call ``write(file)`` on a temporary file, then move it onto ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    write : callable
        Called with the temporary file, open for writing bytes.
    partial : str or path-like or None, default=None
        The temporary file's name (:func:`partial_name`); it must not exist.
        None picks a new hidden one beside ``path`` (``.<random>.tmp``).
    durable : bool, default=False
        Also survive a power cut or an OS crash: flush the new bytes to
        disk (:func:`os.fsync`) before the move, and the folder's entry
        after it. Without it, a crash of the process still leaves the old
        file or the new one, but a crash of the machine soon after the move
        may leave an empty file on some file systems. For files that
        cannot be made again (checkpoints, finished fits); a cache entry
        can be read again from its record, and skips the cost.

    Notes
    -----
    A file that replaces another keeps the other's mode (a ``0600``
    checkpoint stays private). A new file gets the mode that ``open``
    gives a new file under the process's umask (``0644`` under the usual
    ``022``), not the ``0600`` of :func:`tempfile.mkstemp`, so that a cache
    folder can be shared (where the file system takes modes: on FAT it
    keeps its own). The temporary file is removed when ``write`` or the
    move fails, whatever the exception (Ctrl-C included), and the
    exception goes on.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:  # no file to replace (or none readable): a new file's mode
        mode = 0o666 & ~_UMASK
    if partial is None:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    else:  # O_EXCL: never another writer's file, which the cleanup below would remove too
        tmp = os.fspath(partial)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    try:
        try:  # not on Windows, where modes are not POSIX's; nor on FAT or some mounts
            os.fchmod(fd, mode)
        except (AttributeError, OSError):
            pass  # the file keeps the mode it was made with: written all the same
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        _fsync_folder(folder)


def partial_name(path):
    """A temporary name for ``path`` of this writer alone: ``<path>.<pid>-<random>.partial``.

    The process id tells whose it is; the random part keeps two writers with
    one process id (two containers' PID 1 sharing a volume) off one file,
    which the first move took from under the second, leaving a torn file.
    ``python -m ecgsk.cache`` counts such files as ``partial``.
    """
    return f"{os.fspath(path)}.{os.getpid()}-{secrets.token_hex(4)}.partial"


def _fsync_folder(folder):
    """Flush a folder's entries (the move) to disk, where the OS can (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the file itself is on disk
        pass
    finally:
        os.close(fd)


def other_owner(file):
    """The user id owning the open ``file`` when it is not this process's user, else None.

    Checkpoints and final fits are unpickled, and unpickling runs whatever code
    the file names: in a cache that a team shares, one written by another user
    is not read. The file is checked as opened, so that one renamed into place
    after the check is not the one read. None on a system without user ids
    (Windows).
    """
    if not hasattr(os, "getuid"):
        return None
    uid = os.fstat(file.fileno()).st_uid
    return None if uid == os.getuid() else uid
