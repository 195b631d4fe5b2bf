"""Scan and prune ecgsk's cache folder."""

import json
import math
import numbers
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write
from .._lock import file_lock

__all__ = ["KINDS", "CacheFile", "default_cache_dir", "scan_cache", "cache_info", "prune_cache",
           "prune_index"]

#: What the cache folder holds, in the order reports list it.
KINDS = ("signals", "checkpoints", "final fits", "partial")

#: A partial file younger than this is left alone whatever ``older_than`` says:
#: its writer may still be at work (writes take seconds).
PARTIAL_MIN_AGE_S = 3600.0

_DAY_S = 86400.0
# Only names that ecgsk writes are ever touched: a cache_dir shared with other
# files (a mistake, or ``--cache-dir .``) loses nothing else.
_SIGNAL = re.compile(r"[0-9a-f]{64}\.f32")
_SIGNAL_TMP = re.compile(r"\..+\.tmp")
_CHECKPOINT = re.compile(r"ecgnet-[0-9a-f]+\.pt")
_FINAL_FIT = re.compile(r"compare-final-[0-9A-Za-z]+\.pkl")
_PARTIAL = re.compile(r"(?:ecgnet-[0-9a-f]+\.pt|compare-final-[0-9A-Za-z]+\.pkl)"
                      r"\.\d+(?:-[0-9a-f]+)?\.partial")  # <pid>-<random> (<pid> before)


@dataclass(frozen=True)
class CacheFile:
    """One file of the cache.

    Attributes
    ----------
    path : pathlib.Path
        Where the file is.
    kind : str
        One of :data:`KINDS`.
    size : int
        Bytes.
    last_used : float
        Seconds since the epoch: the later of the file's modification and
        access times (a signal cache hit only reads its entry). On a file
        system mounted ``noatime`` reads leave no trace, so an entry read
        every day but written long ago looks unused; pruning it costs one
        rereading of its record.
    """

    path: Path
    kind: str
    size: int
    last_used: float

    def age_days(self, now=None):
        """Days since the file was last used.

        Parameters
        ----------
        now : float, default=None
            Seconds since the epoch that the age is counted to; the current
            time when None.

        Returns
        -------
        float
            Days from :attr:`last_used` to ``now`` (negative if ``now`` is
            earlier).
        """
        return ((time.time() if now is None else now) - self.last_used) / _DAY_S


def default_cache_dir():
    """The cache folder ecgsk uses when given none.

    ``$ECGSK_CACHE``, else ``$XDG_CACHE_HOME/ecgsk/signals``
    (``~/.cache/ecgsk/signals``). ``compare``, ``tune`` and
    ``bench/quality.py`` keep decoded records, checkpoints and final fits
    there; ``python -m ecgsk.cache`` reports and prunes it.

    Returns
    -------
    pathlib.Path
        The folder, which may not exist yet.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> from ecgsk.cache import default_cache_dir
    >>> with mock.patch.dict(os.environ, {"ECGSK_CACHE": "/data/ecgsk-cache"}):
    ...     print(default_cache_dir())
    /data/ecgsk-cache
    """
    if os.environ.get("ECGSK_CACHE"):
        return Path(os.environ["ECGSK_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "ecgsk" / "signals"


def resolve_cache_dir(cache_dir):
    """``cache_dir`` with a leading ``~`` expanded, or :func:`default_cache_dir` for None."""
    return default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()


def _file(path, kind):
    try:
        st = os.stat(path)
    except OSError:  # removed meanwhile (another prune, a finished fit)
        return None
    return CacheFile(Path(path), kind, st.st_size, max(st.st_mtime, st.st_atime))


def _scan(folder, unread):
    """The entries of ``folder``; none, noted in ``unread``, where it cannot be read.

    Another user's shard folder (umask 077) of a shared cache, or one removed
    meanwhile by another prune, would end the whole scan.
    """
    try:
        return list(os.scandir(folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        unread.append((os.fspath(folder), exc.strerror or str(exc)))
        return []


def _signal_files(root, unread):
    """Entries and half-written files of every ``ecgsk-wfdb-v*`` cache under ``root``."""
    for version in sorted(root.glob("ecgsk-wfdb-v*")):
        if not version.is_dir():
            continue
        for entry in _scan(version, unread):  # the index's own temporary files
            if entry.is_file() and _SIGNAL_TMP.fullmatch(entry.name):
                yield entry.path, "partial"
        entries = version / "entries"
        if not entries.is_dir():
            continue
        for shard in _scan(entries, unread):
            if not (shard.is_dir() and re.fullmatch(r"[0-9a-f]{2}", shard.name)):
                continue
            for entry in _scan(shard.path, unread):
                if not entry.is_file():
                    continue
                if _SIGNAL.fullmatch(entry.name):
                    yield entry.path, "signals"
                elif _SIGNAL_TMP.fullmatch(entry.name):
                    yield entry.path, "partial"


def _checkpoint_files(root, unread):
    folder = root / "checkpoints"
    if not folder.is_dir():
        return
    for entry in _scan(folder, unread):
        if not entry.is_file():
            continue
        if _CHECKPOINT.fullmatch(entry.name):
            yield entry.path, "checkpoints"
        elif _FINAL_FIT.fullmatch(entry.name):
            yield entry.path, "final fits"
        elif _PARTIAL.fullmatch(entry.name):
            yield entry.path, "partial"


def scan_cache(cache_dir=None):
    """The files ecgsk wrote in its cache folder.

    Parameters
    ----------
    cache_dir : path-like, default=None
        The cache folder: ``--cache-dir`` of ``compare``, ``tune`` and
        ``bench/quality.py``, or a :class:`~ecgsk.preprocessing.WFDBLoader`'s
        ``cache_dir``. When None, ``$ECGSK_CACHE``, else
        ``~/.cache/ecgsk/signals`` (:func:`default_cache_dir`).

    Returns
    -------
    list of CacheFile
        Sorted by path. Files whose names ecgsk does not write are not
        listed (and never pruned). A folder that does not exist holds none;
        one that cannot be read (no permission) is left out with a warning
        that counts them and names the first.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.cache import scan_cache
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     scan_cache(folder)
    []
    """
    root = resolve_cache_dir(cache_dir)
    if not root.is_dir():
        return []
    unread = []
    found = [_file(path, kind) for source in (_signal_files, _checkpoint_files)
             for path, kind in source(root, unread)]
    if unread:
        path, why = unread[0]
        warnings.warn(f"scan_cache: could not read {len(unread):,} folder(s) of the cache, "
                      f"whose files are left out; the first, {path}: {why}.", UserWarning,
                      stacklevel=2)
    return sorted((f for f in found if f is not None), key=lambda f: f.path)


def cache_info(cache_dir=None, *, now=None):
    """How many files of each kind the cache holds, their size and last use.

    Parameters
    ----------
    cache_dir : path-like, default=None
        See :func:`scan_cache`.
    now : float, default=None
        Seconds since the epoch that ages are counted to; the current time
        when None.

    Returns
    -------
    pandas.DataFrame
        One row per kind of :data:`KINDS` (``signals``: decoded records,
        read again from their WFDB files when missing; ``checkpoints``: the
        training state of networks whose fit was interrupted, which a rerun
        resumes from; ``final fits``: a comparison's final fit, kept until
        its run finishes; ``partial``: files that a killed writer left half
        written, never read), with columns ``files``, ``bytes``,
        ``newest_days`` and ``oldest_days`` (days since last use; NaN for
        none).

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.cache import cache_info
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     cache_info(folder)["files"].tolist()
    [0, 0, 0, 0]
    """
    import pandas as pd

    now = time.time() if now is None else now
    files = scan_cache(cache_dir)
    rows = []
    for kind in KINDS:
        ages = [f.age_days(now) for f in files if f.kind == kind]
        rows.append({"kind": kind, "files": len(ages),
                     "bytes": sum(f.size for f in files if f.kind == kind),
                     "newest_days": min(ages, default=math.nan),
                     "oldest_days": max(ages, default=math.nan)})
    return pd.DataFrame(rows).set_index("kind")


def _check_older_than(older_than):
    if (isinstance(older_than, bool) or not isinstance(older_than, numbers.Real)
            or not math.isfinite(older_than) or older_than < 0):
        raise ValueError(f"older_than must be a non-negative number of days, got "
                         f"{older_than!r}.")
    return float(older_than)


def _check_kinds(kinds):
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {list(KINDS)}, got "
                         f"{list(kinds)!r}.")
    return kinds


def prune_cache(cache_dir=None, *, older_than, kinds=KINDS, dry_run=False, now=None):
    """Remove the cache files not used for ``older_than`` days.

    Nothing but the cache is lost: a removed signal entry is read again from
    its WFDB files, and a fit whose checkpoint or saved final fit is
    removed is fitted from its start when it is run again. Nothing else
    removes a checkpoint or a final fit that no rerun resumes (after
    ``--fresh``, or once the code or parameters changed), so they stay
    until this prunes them.

    Parameters
    ----------
    cache_dir : path-like, default=None
        See :func:`scan_cache`.
    older_than : float
        Days since last use (:class:`CacheFile`); 0 removes every file of
        ``kinds``. A partial file is also kept while it is younger than an
        hour, so that a writer at work keeps its file.
    kinds : str or sequence of str, default=KINDS
        Which kinds of :data:`KINDS` to prune.
    dry_run : bool, default=False
        Only list what would be removed.
    now : float, default=None
        Seconds since the epoch that ages are counted to; the current time
        when None.

    Returns
    -------
    list of CacheFile
        The files removed (with ``dry_run``, those that would be). A file
        that another process removed meanwhile is left out, and so is one
        that cannot be removed (no permission), with a warning that counts
        them and names the first.

    Raises
    ------
    ValueError
        If ``older_than`` is negative or not a number, or ``kinds`` names an
        unknown kind.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.cache import prune_cache
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     prune_cache(folder, older_than=30, dry_run=True)
    []
    """
    limit_s = _check_older_than(older_than) * _DAY_S
    kinds = _check_kinds(kinds)
    now = time.time() if now is None else now
    removed, failed = [], []
    for f in scan_cache(cache_dir):
        age_s = now - f.last_used
        if f.kind not in kinds or age_s < limit_s:
            continue
        if f.kind == "partial" and age_s < PARTIAL_MIN_AGE_S:
            continue
        if not dry_run:
            try:
                os.remove(f.path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # another user's shared cache, a read-only mount
                failed.append((f.path, exc.strerror or str(exc)))
                continue
        removed.append(f)
    if failed:
        path, why = failed[0]
        warnings.warn(f"prune_cache: could not remove {len(failed):,} file(s); the first, "
                      f"{path}: {why}.", UserWarning, stacklevel=2)
    return removed


def prune_index(cache_dir=None, *, dry_run=False):
    """Drop from the signal cache's index the records whose header file is gone.

    The index (``ecgsk-wfdb-v*/index.json``) maps every record path ever
    read to facts from its header, so that a cache hit parses no header.
    Records deleted since (a temporary folder, a moved download) stay in it,
    and every load reads the whole index. A record still there keeps its
    facts; one dropped by mistake is only read again.

    Parameters
    ----------
    cache_dir : path-like, default=None
        See :func:`scan_cache`.
    dry_run : bool, default=False
        Only count what would be dropped.

    Returns
    -------
    int
        The number of records dropped (with ``dry_run``, that would be); an
        index that cannot be rewritten (a read-only folder) drops none, with
        a warning.

    Examples
    --------
    >>> import tempfile
    >>> from ecgsk.cache import prune_index
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     prune_index(folder)
    0
    """
    root = resolve_cache_dir(cache_dir)
    dropped = 0
    for version in sorted(root.glob("ecgsk-wfdb-v*")) if root.is_dir() else []:
        dropped += _prune_one_index(version / "index.json", dry_run)
    return dropped


def _read_index(path):
    """The index as a dict; None if absent, torn or not a dict (the loader reads it as empty)."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) else None


def _prune_one_index(path, dry_run):
    index = _read_index(path)
    if index is None:
        return 0
    stale = sum(not os.path.exists(f"{record}.hea") for record in index)
    if not stale or dry_run:
        return stale
    # Read again under the lock WFDBLoader holds while it merges new records into the
    # index: a loader flushing meanwhile would otherwise lose the records it added.
    try:
        with file_lock(path.with_name("index.lock")):
            index = _read_index(path) or {}
            kept = {record: facts for record, facts in index.items()
                    if os.path.exists(f"{record}.hea")}
            if len(kept) < len(index):
                data = json.dumps(kept).encode("utf-8")
                atomic_write(path, lambda f: f.write(data))
    except OSError as exc:  # a read-only folder: the index stays as it is
        warnings.warn(f"prune_index: could not rewrite {path}: {exc.strerror or exc}.",
                      UserWarning, stacklevel=3)
        return 0
    return len(index) - len(kept)
