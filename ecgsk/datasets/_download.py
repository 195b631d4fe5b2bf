"""Download PhysioNet ECG databases into the layout the readers expect.

The HTTP work is done by wfdb's PhysioNet downloader
(:func:`wfdb.io.download.dl_files`), which finds the latest version of a
database and fetches files from ``https://physionet.org/files/<db>/<version>/``.
On top of it this module adds what a dataset download needs: the metadata
files (csv), a choice of records, the local layout of each reader, a tqdm
progress bar, and resumable, atomic downloads:

* a file already under ``root`` is never requested again, so a second call
  costs no network request at all;
* files are downloaded into ``root/.ecgsk-download/<host>-<pid>/`` (one
  folder per process, so that two downloads into one root never share a
  file) and moved into place with :func:`os.replace` only once complete, so
  an interrupted download never leaves a truncated file where the readers
  look; run it again to resume;
* every file is checked against the SHA-256 sum that PhysioNet publishes
  for it (``SHA256SUMS.txt``, fetched into ``root`` with the first file that
  is missing) before it is moved into place; a file that does not match, or
  that the sums do not list, is
  fetched once more, then checked against the sums fetched anew (the kept
  ones may be of an older version), then refused, after every other file
  is in place;
* a request that fails for a reason that may pass (a dropped connection, a
  timeout, a server error) is tried again twice, after 2 and 10 s; a file
  that still fails, or that the server lacks, keeps no other file of its
  batch out: they are fetched one by one, put in place, and the failing file
  is named (with a mirror's user and password left out of every message).

Set the environment variable ``ECGSK_PHYSIONET_URL`` (or pass ``base_url=``)
to download from a PhysioNet mirror: a server that has the same
``content/<db>/`` pages and ``files/<db>/<version>/`` trees as
``https://physionet.org/``.
"""

import contextlib
import errno
import hashlib
import io
import numbers
import os
import re
import shutil
import socket
import time
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

from .._atomic import atomic_write
from .._process import pid_alive

__all__ = ["download", "check_records", "DATABASES"]

#: Environment variable naming a PhysioNet mirror (its base URL).
MIRROR_ENV = "ECGSK_PHYSIONET_URL"

_STAGING = ".ecgsk-download"

# Errors of the local disk, not of the network: said as such.
_LOCAL_ERRORS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT,
                 errno.EFBIG, errno.EISDIR, errno.ENOTDIR}

# Records fetched per call of wfdb's dl_files: each call costs two extra
# requests (version, access check), and the progress bar moves once per call.
_CHUNK = 32

#: PhysioNet's list of the SHA-256 sum of every file of a database version.
SUMS_FILE = "SHA256SUMS.txt"

# Seconds waited before each new try of a request that failed for a reason that may pass.
_RETRY_WAITS = (2.0, 10.0)


class _RecordListError(OSError):
    """A record list that names records outside the download folder."""


@dataclass(frozen=True)
class _Database:
    """How one PhysioNet database maps to the local layout of its reader."""

    slug: str  # PhysioNet's name of the database
    title: str
    metadata: tuple  # (remote path, local path) of files fetched first
    record_list: str  # local metadata file listing the records
    extensions: tuple  # files of each record, all sharing its name

    def records(self, root):
        """All record names of the database, from its local record list."""
        text = (root / self.record_list).read_text(encoding="utf-8", errors="replace")
        if self.slug == "challenge-2017":  # REFERENCE.csv: "A00001,N" per line
            names = [line.split(",")[0] for line in text.splitlines()]
        else:  # a WFDB RECORDS file: one record path per line
            names = text.splitlines()
        names = [name.strip() for name in names if name.strip()]
        # A name is a path under ROOT: "../../x" or "/x" from the server's list wrote there.
        outside = [name for name in names if name.startswith(("/", "\\"))
                   or ".." in re.split(r"[/\\]", name) or re.match(r"[A-Za-z]:", name)]
        if outside:
            raise _RecordListError(f"the record list {self.record_list} of {self.slug!r} names "
                          f"{len(outside)} record(s) outside the download folder "
                          f"({outside[:3]}); nothing was downloaded for them, nor the others. "
                          "Is the mirror the one you meant?")
        return names

    def remote(self, record):
        """Path of a record (without extension) in PhysioNet's tree."""
        if self.slug == "challenge-2017":  # files/challenge-2017/1.0.0/training/A00/A00001.mat
            return f"training/{record[:3]}/{record}"
        return record

    def local(self, record):
        """Path of a record (without extension) under ``root``."""
        if self.slug == "challenge-2017":  # the training2017.zip layout of the readers
            return f"training2017/{record}"
        return record


#: The databases :func:`download` knows, by the name the readers use.
DATABASES = {
    "ptbxl": _Database(
        slug="ptb-xl",
        title="PTB-XL, a large publicly available electrocardiography dataset",
        metadata=(("RECORDS", "RECORDS"),
                  ("ptbxl_database.csv", "ptbxl_database.csv"),
                  ("scp_statements.csv", "scp_statements.csv"),
                  ("LICENSE.txt", "LICENSE.txt")),
        record_list="RECORDS",
        extensions=(".hea", ".dat"),
    ),
    "cinc2017": _Database(
        slug="challenge-2017",
        title="AF Classification from a Short Single Lead ECG Recording "
              "(PhysioNet/CinC Challenge 2017)",
        # The final (v3) labels, where the reader and the training2017.zip
        # layout expect them.
        metadata=(("REFERENCE-v3.csv", "training2017/REFERENCE.csv"),),
        record_list="training2017/REFERENCE.csv",
        extensions=(".hea", ".mat"),
    ),
    "ptbdb": _Database(
        slug="ptbdb",
        title="PTB Diagnostic ECG Database",
        metadata=(("RECORDS", "RECORDS"),),
        record_list="RECORDS",
        # 12 standard leads in .dat, the 3 Frank leads in .xyz.
        extensions=(".hea", ".dat", ".xyz"),
    ),
}


def _mirror_base(base_url, name="base_url"):
    """The mirror's base URL ending in "/" (``base_url``, else $ECGSK_PHYSIONET_URL), or None.

    Refused unless http(s): "notaurl" failed each request, naming
    ``notaurl/files/`` and ``notaurl/content/``.
    """
    if base_url is None:
        base_url, name = os.environ.get(MIRROR_ENV) or None, f"${MIRROR_ENV}"
    if base_url is None:
        return None
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be the http(s) URL of a PhysioNet mirror, such as "
                         f"https://physionet.org/, got {base_url!r}.")
    return base_url.rstrip("/") + "/"


@contextlib.contextmanager
def _physionet_urls(base):
    """Point wfdb at the mirror ``base`` (of :func:`_mirror_base`) for the block, then restore."""
    from wfdb.io import download as wfdb_download

    if base is None:
        yield
        return
    old_index = wfdb_download.config.db_index_url
    old_content = wfdb_download.PN_CONTENT_URL
    wfdb_download.set_db_index_url(base + "files/")
    wfdb_download.PN_CONTENT_URL = base + "content/"
    try:
        yield
    finally:
        wfdb_download.set_db_index_url(old_index)
        wfdb_download.PN_CONTENT_URL = old_content


def _fetch(db, root, files, sums=None, *, missing_ok=False, refused=None):
    """Download ``(remote, local)`` files of ``db`` and move them under ``root``.

    With ``missing_ok``, files the server does not have (HTTP 404) are
    returned instead of failing the batch: one such file failed all of its
    batch's others, on every rerun. Otherwise the list returned is empty.

    Files go to ``root/.ecgsk-download/<host>-<pid>/<remote>`` through wfdb,
    then are moved onto ``root/<local>`` once the whole batch is complete. A
    file an interrupted batch left there is fetched again whole: wfdb would resume it
    with an HTTP Range request, and append the whole file to the part when the
    server ignores Range (as Python's own http.server does), a corrupt file
    that the readers would take for a longer record. With ``sums`` (remote
    path to SHA-256), a file whose sum differs is fetched once more, then
    refused; the files that match are moved into place all the same.
    ``sums`` is a :class:`_Sums`, read only when there is a file to fetch.

    With ``refused`` (a list), the files refused are appended to it as
    ``(remote, sum, listed sum)`` and the batch returns; without it they
    raise (:func:`_refused_error`).
    """
    if not files:
        return []
    staging = _staging(root)
    missing, failure = [], None
    try:
        _download(db, staging, files)
    except _NetworkError as exc:
        lacking = isinstance(exc.__cause__, FileNotFoundError)
        if len(files) == 1 and not (missing_ok and lacking):
            raise
        # One file the server lacks, or that fails every try, failed every other of its
        # batch, on every rerun: the others are fetched and put in place.
        files, missing, failure = _one_by_one(db, staging, files, missing_ok)
    table = None if sums is None else sums.get()
    bad = _mismatches(staging, files, table)
    if bad:  # a transfer gone wrong is fetched again; a file wrong on the server stays wrong
        _download(db, staging, bad)
        bad = _mismatches(staging, bad, table)
    if bad:  # the sums kept may be of an older version of the database
        table = sums.refresh()
        bad = _mismatches(staging, bad, table)
    for remote, local in files:
        if (remote, local) not in bad:
            target = root / local
            # By name, as records() checks them: a folder of ROOT may be the user's link
            # to another disk (records500/, say), which the readers follow too.
            if not Path(os.path.normpath(target)).is_relative_to(os.path.normpath(root)):
                raise OSError(f"{local!r} lies outside the download folder {root}.")
            target.parent.mkdir(parents=True, exist_ok=True)
            _place(staging / remote, target)
    found = [(remote, _sha256(staging / remote), table.get(remote)) for remote, _ in bad]
    if refused is not None:
        refused += found
    elif found:
        raise _refused_error(db, found, _server())
    if failure is not None:  # the files that came are in place
        raise failure
    return missing


def _server():
    """The server wfdb downloads from now (a mirror's within :func:`_physionet_urls`)."""
    from wfdb.io import download as wfdb_download

    return wfdb_download.config.db_index_url


def _refused_error(db, refused, server):
    """The error for files that twice did not match their sum: ``(remote, sum, listed)``."""
    remote, got, listed = refused[0]
    listed = "not listed" if listed is None else f"listed {listed}"
    return OSError(_redacted(
        f"{len(refused)} downloaded file(s) of {db.slug!r} do not match their SHA-256 sum in "
        f"{SUMS_FILE}, twice, or are not listed there (first: {remote!r}, sum {got}, "
        f"{listed}), from "
        f"{server}. They were not put in place; the other files were. Set {MIRROR_ENV} to "
        "use another mirror."))


def _one_by_one(db, staging, files, missing_ok):
    """Fetch ``files`` one at a time: ``(fetched, missing on the server, failure)``.

    ``failure`` is the error of the first file that failed (None if none did):
    a file the server lacks, unless ``missing_ok``, or one that failed every
    try. Two files in a row that failed every try stop the rest: the server,
    not a file, fails.
    """
    fetched, missing, failure, in_row = [], [], None, 0
    for file in files:
        try:
            _download(db, staging, [file])
        except _NetworkError as exc:
            if missing_ok and isinstance(exc.__cause__, FileNotFoundError):
                missing.append(file)
                in_row = 0
                continue
            failure = failure or exc
            # Failures that may pass (a dropped connection, a 5xx) twice in a row: the
            # server fails, not a file. Files it lacks are files, however many.
            in_row = in_row + 1 if _may_pass(exc.__cause__) else 0
            if in_row == 2:
                break
        else:
            fetched.append(file)
            in_row = 0
    return fetched, missing, failure


def _download(db, staging, files):
    """Fetch ``files`` into ``staging`` with wfdb, trying again while the failure may pass."""
    from wfdb.io import download as wfdb_download

    for attempt in range(len(_RETRY_WAITS) + 1):
        try:
            # dl_files prints two lines per call; the progress bar says it better.
            with contextlib.redirect_stdout(io.StringIO()):
                wfdb_download.dl_files(db.slug, str(staging), [remote for remote, _ in files],
                                       keep_subdirs=True, overwrite=True)
            return
        except OSError as exc:
            if exc.errno in _LOCAL_ERRORS:
                raise OSError(f"cannot write the download of {db.slug!r} under {staging}: "
                              f"{exc.strerror or exc}. Free some space or choose another "
                              "folder; files already in place are kept.") from exc
            if attempt == len(_RETRY_WAITS) or not _may_pass(exc):
                raise _network_error(db, files, exc) from exc
        except Exception as exc:  # wfdb/requests raise many types for network errors
            if attempt == len(_RETRY_WAITS) or not _may_pass(exc):
                raise _network_error(db, files, exc) from exc
        time.sleep(_RETRY_WAITS[attempt])


def _may_pass(exc):
    """Whether trying again may help: a dropped connection, a timeout, a busy server."""
    import requests
    from wfdb.io._url import NetFileError

    if isinstance(exc, NetFileError):  # an HTTP status: 5xx and 429 may pass, 404 and 403 not
        code = getattr(exc, "status_code", None)
        return code is None or code >= 500 or code == 429
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            requests.exceptions.ChunkedEncodingError, ConnectionError,
                            TimeoutError))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mismatches(staging, files, sums):
    """The ``(remote, local)`` files whose staged copy differs from its listed sum.

    A file the sums do not list is one of them: it cannot be checked (sums kept from
    an older version of the database, or cut short), so it is not put in place unchecked.
    """
    if not sums:
        return []
    return [(remote, local) for remote, local in files
            if remote not in sums or _sha256(staging / remote) != sums[remote]]


def _read_sums(path):
    """``{remote path: sha256}`` from a ``sha256sum``-style file."""
    sums = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")  # "*name": sha256sum's binary mode
        if len(digest) == 64 and name:
            sums[name] = digest.lower()
    return sums


class _Sums:
    """PhysioNet's SHA-256 sums of a database, fetched into ``root`` when first needed."""

    def __init__(self, db, root):
        self.db, self.root, self._table, self._read = db, root, None, False

    def get(self):
        """``{remote path: sha256}``, or None where the server has no sums."""
        if not self._read:
            self._table, self._read = _checksums(self.db, self.root), True
        return self._table

    def refresh(self):
        """Fetch the sums anew (a new version of the database) and return them."""
        (self.root / SUMS_FILE).unlink(missing_ok=True)
        self._read = False
        return self.get()


def _checksums(db, root):
    """PhysioNet's SHA-256 sums of ``db`` (fetched into ``root`` once), or None if absent."""
    from wfdb.io import download as wfdb_download

    local = root / SUMS_FILE
    if not local.is_file():
        try:
            _fetch(db, root, [(SUMS_FILE, SUMS_FILE)])
        except OSError as exc:
            missing = exc.__cause__
            if not (isinstance(missing, FileNotFoundError)
                    and str(getattr(missing, "url", "")).endswith(SUMS_FILE)):
                raise  # not the sums file that is missing (the whole database, say)
            warnings.warn(_redacted(
                f"{wfdb_download.config.db_index_url} has no {SUMS_FILE} for {db.slug!r}: "
                "the downloaded files are not checked against PhysioNet's SHA-256 sums."),
                UserWarning, stacklevel=4)
            return None
    sums = _read_sums(local)
    if not sums:
        raise OSError(f"{local} lists no SHA-256 sum; delete it to fetch it again.")
    return sums


class _NetworkError(OSError):
    """A file that could not be fetched; its cause is wfdb's or requests' error."""


#: The user and password of a URL (``https://user:secret@host/``), kept out of messages.
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def _redacted(text):
    """``text`` with the credentials of any URL in it replaced by ``***``."""
    return _USERINFO.sub("***@", text)


def _network_error(db, files, exc):
    return _NetworkError(_redacted(
        f"Could not download {len(files)} file(s) of the PhysioNet database "
        f"{db.slug!r} (first: {files[0][0]!r}) from {_server()}: {type(exc).__name__}: "
        f"{exc}. Files already downloaded are kept: run the download again to "
        f"resume. Set {MIRROR_ENV} (or pass --base-url) to use another mirror."))


def _staging(root):
    """This process's staging folder: two downloads into one root never share a file."""
    return root / _STAGING / f"{socket.gethostname()}-{os.getpid()}"


def _remove_staging(root):
    """Remove this process's staging folder, those of this host's ended processes, then
    the staging root if nothing else is left in it."""
    parent = root / _STAGING
    shutil.rmtree(_staging(root), ignore_errors=True)
    host = socket.gethostname()
    for folder in parent.iterdir() if parent.is_dir() else ():
        owner, _, pid = folder.name.rpartition("-")
        if owner == host and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        parent.rmdir()



def check_records(records):
    """``records`` of :func:`download` checked before anything is fetched.

    Returns None, a positive int, or a non-empty list of stripped names.
    """
    if records is None:
        return None
    if isinstance(records, numbers.Integral) and not isinstance(records, bool):
        if records < 1:
            raise ValueError(f"records must be a positive number of records, got {records}.")
        return int(records)
    if isinstance(records, str) or not hasattr(records, "__iter__"):
        raise ValueError(
            f"records must be None, a number of records or a list of record names, "
            f"got {records!r}.")
    wanted = [str(r).strip() for r in records]
    if not wanted:
        raise ValueError("records is an empty list; pass None to download every record.")
    return wanted


def _select(db, name, all_records, records):
    if records is None:
        return all_records
    if isinstance(records, int):
        if records > len(all_records):
            warnings.warn(f"records={records}, but the {name} record list {db.record_list} "
                          f"names {len(all_records)}: all {len(all_records)} are downloaded.",
                          UserWarning, stacklevel=3)
        return all_records[:records]
    wanted = records
    known = set(all_records)
    unknown = [r for r in wanted if r not in known]
    if unknown:
        raise ValueError(
            f"{len(unknown)} record name(s) are not in the {name} record list "
            f"{db.record_list}: {unknown[:5]}; names look like {all_records[:2]}.")
    return list(dict.fromkeys(wanted))


def _place(source, target):
    """Move ``source`` onto ``target``, copying it whole first where they are on two disks."""
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        try:
            with open(source, "rb") as f:  # a reader sees no file or all of it
                atomic_write(target, lambda out: shutil.copyfileobj(f, out))
        except OSError as copy_exc:
            raise OSError(f"cannot write {target}, on another disk than the download's staging "
                          f"folder: {copy_exc.strerror or copy_exc}. Free some space or choose "
                          "another folder; files already in place are kept.") from copy_exc
        os.remove(source)


def _fetch_all(db, name, root, records, progress):
    """Fetch the metadata, then the selected records' files in batches.

    Returns ``(missing, refused, stopped, selected)``: the files the server lacks, those
    that twice did not match their sum (:func:`_fetch`), whether a batch of which the
    server had no file stopped the download, and the records selected. A refused file
    stops nothing: the batches after it are fetched all the same.
    """
    from tqdm.auto import tqdm

    missing, refused, stopped = [], [], False
    sums = _Sums(db, root)  # fetched only if some file is missing
    fetched = [(remote, local) for remote, local in db.metadata
               if not (root / local).is_file()]
    _fetch(db, root, fetched, sums)
    try:
        names = db.records(root)
    except _RecordListError as exc:
        # Kept, the mirror's list was read again by every rerun, from the right mirror too.
        for _, local in fetched:
            (root / local).unlink(missing_ok=True)
        if db.record_list in {local for _, local in fetched}:
            what = "The metadata files fetched from it were removed; a rerun fetches them again."
        else:
            what = f"The list was there before: remove {root / db.record_list} to fetch it again."
        raise _RecordListError(f"{exc} {what}") from None
    selected = _select(db, name, names, records)
    with tqdm(total=len(selected), unit="record", desc=f"Downloading {name}",
              disable=not progress) as bar:
        for start in range(0, len(selected), _CHUNK):
            chunk = selected[start:start + _CHUNK]
            wanted = [(db.remote(r) + ext, db.local(r) + ext) for r in chunk
                      for ext in db.extensions if not (root / (db.local(r) + ext)).is_file()]
            lacked = _fetch(db, root, wanted, sums, missing_ok=True, refused=refused)
            missing += lacked
            whole = len(wanted) == len(chunk) * len(db.extensions)  # none there before
            if whole and len(lacked) == len(wanted) and start + _CHUNK < len(selected):
                # A whole batch missing: the server lacks the records, not a file; asking
                # for every other file one by one would take a request each. (A batch
                # that lacked only the files a server never had stopped every rerun.)
                stopped = True
                break
            bar.update(len(chunk))
    return missing, refused, stopped, selected


def download(name, root, *, records=None, progress=True, base_url=None):
    """Download a PhysioNet ECG database into ``root``, skipping files already there.

    Parameters
    ----------
    name : {"ptbxl", "cinc2017", "ptbdb"}
        Database: PTB-XL (``ptb-xl`` on PhysioNet), the PhysioNet/CinC
        Challenge 2017 (``challenge-2017``) or the PTB Diagnostic ECG Database
        (``ptbdb``). The latest version on PhysioNet is downloaded.
    root : str or path-like
        Destination folder, created if needed. The layout is the one the
        readers expect:

        - ``ptbxl``: PhysioNet's own, ``ptbxl_database.csv``,
          ``scp_statements.csv``, ``RECORDS``, ``LICENSE.txt``,
          ``records100/00000/00001_lr.{hea,dat}`` and ``records500/...``.
        - ``cinc2017``: the ``training2017.zip`` layout,
          ``training2017/A00001.{hea,mat}`` and ``training2017/REFERENCE.csv``
          (PhysioNet's ``REFERENCE-v3.csv``, the final labels); PhysioNet
          keeps the records in ``training/A00/``, ``training/A01/``, ...
        - ``ptbdb``: PhysioNet's own, ``RECORDS`` and
          ``patient001/s0010_re.{hea,dat,xyz}``.
    records : int or list of str, default=None
        Which records to download: all (None), the first ``records`` of the
        database's record list, or these names as written in that list
        (``"records100/00000/00001_lr"`` for PTB-XL, where the 100 Hz records
        come first; ``"A00001"`` for CinC 2017; ``"patient001/s0010_re"`` for
        PTB-DB). The metadata files are always downloaded whole, so after a
        partial download they list more records than there are; the readers
        keep the records present.
    progress : bool, default=True
        Show a tqdm progress bar over the records.
    base_url : str, default=None
        Base http(s) URL of a PhysioNet mirror (``https://physionet.org/``
        has ``content/`` and ``files/`` below it). Defaults to the environment
        variable ``ECGSK_PHYSIONET_URL``, else wfdb's current setting
        (PhysioNet itself unless changed with
        :func:`wfdb.io.download.set_db_index_url`).

    Returns
    -------
    paths : list of str
        Absolute paths, without extension, of the selected records, ready for
        :class:`ecgsk.preprocessing.WFDBLoader`.

    Raises
    ------
    ValueError
        Unknown database or record names, or a ``root`` that holds another
        dataset.
    OSError
        A file could not be downloaded, or twice did not match its SHA-256
        sum; the message names it and the server. Files the server lacks,
        and files refused by their sum, are named after every other file is
        in place.

    Notes
    -----
    A file is considered present when it exists under ``root``; it is not
    compared with the server (PhysioNet never changes a published version).
    Files only appear under ``root`` once completely downloaded and checked
    against PhysioNet's ``SHA256SUMS.txt`` (a mirror without that file gets a
    warning, and its files are not checked), so delete a file by hand to
    fetch it again. A request that fails for a reason that may pass is tried
    again twice, after 2 and 10 s. wfdb's URL settings are changed while a
    mirror is in use, so do not run downloads from several threads at once.

    Examples
    --------
    >>> from ecgsk.datasets import download, load_ptbxl        # doctest: +SKIP
    >>> download("ptbxl", "data/ptb-xl", records=100)         # doctest: +SKIP
    >>> ds = load_ptbxl("data/ptb-xl")                        # doctest: +SKIP
    """
    if name not in DATABASES:
        raise ValueError(
            f"Unknown database {name!r}; download knows {', '.join(sorted(DATABASES))}.")
    db = DATABASES[name]
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}.")
    if base_url is not None and not isinstance(base_url, str):
        raise ValueError(f"base_url must be None or a URL string, got {base_url!r}.")
    records = check_records(records)
    base = _mirror_base(base_url)
    root = Path(root).expanduser().resolve()
    if root.is_file():
        raise NotADirectoryError(f"root must be a folder to download {name} into; {root} is a "
                                 "file.")
    root.mkdir(parents=True, exist_ok=True)
    _refuse_another_dataset(name, root)
    try:
        with _physionet_urls(base):
            from wfdb.io import download as wfdb_download

            server = wfdb_download.config.db_index_url
            missing, refused, stopped, selected = _fetch_all(db, name, root, records,
                                                             progress)
    finally:  # interrupted too: unchecked files are not left where a folder reader looks
        _remove_staging(root)
    lacking = None
    if missing:
        shown = ", ".join(repr(remote) for remote, _ in missing[:3])
        placed = ("The download stopped at a batch of which the server had no file; the "
                  "records after it were not asked for, and the files before it are in "
                  "place" if stopped else "Every other file is in place")
        lacking = _redacted(
            f"{len(missing)} file(s) of {db.slug!r} are not on {server} ({shown}"
            f"{', ...' if len(missing) > 3 else ''}). {placed} under {root}. The readers "
            "leave out the records that lack them.")
    if refused:  # after every batch: one file wrong on the mirror keeps no other out
        error = _refused_error(db, refused, server)
        raise error if lacking is None else OSError(f"{error} Also, {lacking}")
    if lacking is not None:
        raise OSError(lacking)
    return [str(root / db.local(r)) for r in selected]


#: A file that only one database's folder holds, to tell another dataset's folder apart.
_OWN_FILES = {"ptbxl": "ptbxl_database.csv", "cinc2017": "training2017/REFERENCE.csv"}


def _refuse_another_dataset(name, root):
    """Refuse a ``root`` that holds another dataset: their metadata would mix.

    A metadata file already there is not fetched again, so PTB-DB's ``RECORDS``
    was read as PTB-XL's record list (or the other way round).
    """
    held = [other for other, own in _OWN_FILES.items()
            if other != name and (root / own).is_file()]
    records = root / "RECORDS"
    if name != "ptbdb" and not held and records.is_file():
        first = next((line.strip() for line in records.read_text(
            encoding="utf-8", errors="replace").splitlines() if line.strip()), "")
        if first.startswith("patient"):  # PTB-DB's records: patient001/s0010_re
            held.append("ptbdb")
    if held:
        raise ValueError(f"{root} holds {held[0]} data; download {name} into a folder of its "
                         f"own (e.g. {root / name}), as the readers read one dataset per "
                         "folder.")
