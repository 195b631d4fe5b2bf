"""Writing a file so that a crash or Ctrl-C never leaves it half written.

The signal cache, its index, the networks' per-epoch checkpoints and
``compare``'s final fits are all written this way: to a temporary file in the
same folder, moved onto the target with :func:`os.replace` only once
complete. A reader sees the old file or the new one, never a torn one. The
temporary names are those that ``python -m ecgsk.cache`` counts as
``partial`` files.
"""

import os
import tempfile

__all__ = ["atomic_write"]

# The process's umask, read once at import (reading it means setting it): mkstemp's
# files are 0600, and a cache meant for a team must get the mode any other file would.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path, write, *, partial=None):
    """Call ``write(file)`` on a temporary file, then move it onto ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    write : callable
        Called with the temporary file, open for writing bytes.
    partial : str or path-like or None, default=None
        The temporary file's name. None picks a new hidden one beside
        ``path`` (``.<random>.tmp``).

    Notes
    -----
    The file gets the mode that ``open`` gives a new file under the
    process's umask (``0644`` under the usual ``022``), not the ``0600`` of
    :func:`tempfile.mkstemp`, so that a cache folder can be shared (where
    the file system takes modes: on FAT it keeps its own). The
    temporary file is removed when ``write`` or the move fails,
    whatever the exception (Ctrl-C included), and the exception goes on.
    """
    path = os.fspath(path)
    if partial is None:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".", suffix=".tmp")
    else:
        tmp, fd = os.fspath(partial), None
    try:
        if fd is None:
            f = open(tmp, "wb")  # noqa: SIM115 -- closed below, before the move
        else:
            try:  # not on Windows, where modes are not POSIX's; nor on FAT or some mounts
                os.fchmod(fd, 0o666 & ~_UMASK)
            except (AttributeError, OSError):
                pass  # the file keeps mkstemp's 0600: written all the same
            f = os.fdopen(fd, "wb")
        with f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
