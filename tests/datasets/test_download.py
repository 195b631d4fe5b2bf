"""Tests of ecgsk/datasets/_download.py and the ``python -m ecgsk.datasets`` CLI.

Nothing here touches the internet: a local ``http.server`` serves a small
copy of the real data laid out as PhysioNet does (``content/<db>/`` pages
with the version, ``files/<db>/<version>/`` trees), and wfdb's own downloader
is pointed at it. The server counts the requests, so the tests can tell what
was really downloaded.
"""

import errno
import functools
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import wfdb
import wfdb.io.download as wfdb_download

from ecgsk.datasets import download, load_cinc2017, load_ptbdb, load_ptbxl
from ecgsk.datasets import main
from ecgsk.preprocessing import WFDBLoader

VERSION = "1.0.3"
PTBXL_RECORDS = ["records100/00000/00001_lr", "records100/00000/00002_lr",
                 "records100/00000/00003_lr", "records500/00000/00001_hr"]
CINC_RECORDS = ["A00001", "A00002", "A00003"]
PTBDB_RECORDS = ["patient001/s0010_re"]


def _write_sums(base):
    """PhysioNet's SHA256SUMS.txt of every file under ``base``, as sha256sum writes it."""
    lines = [f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(base)}\n"
             for path in sorted(base.rglob("*"))
             if path.is_file() and path.name != "SHA256SUMS.txt"]
    (base / "SHA256SUMS.txt").write_text("".join(lines))


def _publish(site, slug, files, texts):
    """Lay out one database as PhysioNet serves it; data files are symlinks."""
    content = site / "content" / slug
    (content / VERSION).mkdir(parents=True)
    # wfdb.io.download.get_version reads the line holding "Version:".
    (content / "index.html").write_text(
        f"<html><body>\n<p>Published: Sept. 9, 2022. Version: {VERSION}</p>\n</body></html>\n")
    (content / VERSION / "index.html").write_text("<html><body>files</body></html>\n")
    base = site / "files" / slug / VERSION
    for remote, source in files.items():
        (base / remote).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source, base / remote)
    for remote, text in texts.items():
        (base / remote).parent.mkdir(parents=True, exist_ok=True)
        (base / remote).write_text(text)
    _write_sums(base)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _count(self):
        self.server.requests.append((self.command, self.path))

    def do_GET(self):
        self._count()
        super().do_GET()

    def do_HEAD(self):
        self._count()
        super().do_HEAD()


@pytest.fixture(scope="module")
def physionet(tmp_path_factory, data_root):
    """A local PhysioNet serving a few real records; yields its base URL and server."""
    site = tmp_path_factory.mktemp("physionet")
    ptbxl, cinc = data_root / "ptb-xl", data_root / "cinc2017" / "training2017"
    _publish(site, "ptb-xl",
             {**{r + ext: ptbxl / (r + ext) for r in PTBXL_RECORDS for ext in (".hea", ".dat")},
              **{f: ptbxl / f for f in ("ptbxl_database.csv", "scp_statements.csv",
                                        "LICENSE.txt")}},
             {"RECORDS": "".join(r + "\n" for r in PTBXL_RECORDS)})
    reference = (cinc / "REFERENCE.csv").read_text().splitlines()[:len(CINC_RECORDS)]
    _publish(site, "challenge-2017",
             {f"training/A00/{r}{ext}": cinc / (r + ext)
              for r in CINC_RECORDS for ext in (".hea", ".mat")},
             {"REFERENCE-v3.csv": "\n".join(reference) + "\n"})
    _publish(site, "ptbdb",
             {r + ext: data_root / "ptbdb" / (r + ext)
              for r in PTBDB_RECORDS for ext in (".hea", ".dat", ".xyz")},
             {"RECORDS": "".join(r + "\n" for r in PTBDB_RECORDS)})
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield url, server, site
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def mirror(physionet, monkeypatch):
    """Point wfdb itself at the local server; restore its URLs afterwards."""
    url, server, site = physionet
    monkeypatch.delenv("ECGSK_PHYSIONET_URL", raising=False)
    old_index = wfdb_download.config.db_index_url
    wfdb_download.set_db_index_url(url + "files/")
    monkeypatch.setattr(wfdb_download, "PN_CONTENT_URL", url + "content/")
    server.requests.clear()
    yield url, server, site
    wfdb_download.set_db_index_url(old_index)


def _data_requests(server):
    """The files of records and metadata that were requested (not the version pages)."""
    return sorted(path.rsplit("/", 1)[-1] for method, path in server.requests
                  if path.startswith("/files/"))


def test_ptbxl_subset_has_physionet_layout_and_reads_like_the_source(mirror, tmp_path,
                                                                     ptbxl_root):
    url, server, _ = mirror
    root = tmp_path / "ptb-xl"
    paths = download("ptbxl", root, records=2, progress=False)

    # The first two entries of RECORDS, where PhysioNet's layout puts them.
    assert paths == [str(root / r) for r in PTBXL_RECORDS[:2]]
    for name in ("ptbxl_database.csv", "scp_statements.csv", "LICENSE.txt"):
        assert (root / name).read_bytes() == (ptbxl_root / name).read_bytes()
    assert (root / "RECORDS").read_text().splitlines() == PTBXL_RECORDS
    assert not (root / "records100" / "00000" / "00003_lr.hea").exists()
    assert not (root / ".ecgsk-download").exists()
    # Each data file is requested exactly once.
    assert _data_requests(server) == sorted(
        ["SHA256SUMS.txt", "LICENSE.txt", "RECORDS", "ptbxl_database.csv",
         "scp_statements.csv", "00001_lr.hea", "00001_lr.dat", "00002_lr.hea", "00002_lr.dat"])

    got = WFDBLoader().transform(paths)
    expected = WFDBLoader().transform([ptbxl_root / r for r in PTBXL_RECORDS[:2]])
    np.testing.assert_array_equal(got, expected)
    # The reader finds the records present and leaves out the others.
    with pytest.warns(UserWarning, match="left out"):
        ds = load_ptbxl(root, task="superdiagnostic")
    assert sorted(ds.X) == paths


def test_second_download_requests_nothing_and_resumes_a_missing_file(mirror, tmp_path):
    url, server, _ = mirror
    root = tmp_path / "ptb-xl"
    first = download("ptbxl", root, progress=False)
    assert first == [str(root / r) for r in PTBXL_RECORDS]
    assert len(_data_requests(server)) == 1 + 4 + 2 * len(PTBXL_RECORDS)

    server.requests.clear()
    assert download("ptbxl", root, progress=False) == first
    assert server.requests == []  # present files are not even checked remotely

    (root / "records500" / "00000" / "00001_hr.dat").unlink()
    server.requests.clear()
    download("ptbxl", root, progress=False)
    assert _data_requests(server) == ["00001_hr.dat"]
    assert wfdb.rdheader(first[-1]).fs == 500


def test_a_part_left_by_an_interrupted_batch_is_fetched_again_whole(mirror, tmp_path,
                                                                    ptbxl_root):
    """The local server, as Python's http.server, ignores Range: wfdb's resume appended."""
    from ecgsk.datasets._download import _staging

    root = tmp_path / "ptb-xl"
    staged = _staging(root) / "records100" / "00000" / "00001_lr.dat"
    staged.parent.mkdir(parents=True)
    source = (ptbxl_root / "records100" / "00000" / "00001_lr.dat").read_bytes()
    staged.write_bytes(source[:1000])  # a batch stopped part-way (a full disk, say)
    download("ptbxl", root, records=1, progress=False)
    assert (root / "records100" / "00000" / "00001_lr.dat").read_bytes() == source
    assert not (root / ".ecgsk-download").exists()


def test_an_interrupted_download_leaves_no_staged_file_for_the_readers(mirror, tmp_path,
                                                                      monkeypatch):
    # Ctrl-C after a batch reached the staging folder left it in the root, and a folder
    # reader (load_wfdb_dir, every header below) took its unchecked copies for records.
    from ecgsk.datasets import load_wfdb_dir

    root = tmp_path / "ptb-xl"
    fetch = wfdb_download.dl_files

    def interrupted(db, dl_dir, files, *args, **kwargs):
        fetch(db, dl_dir, files, *args, **kwargs)
        if any(f.endswith(".dat") for f in files):
            raise KeyboardInterrupt

    monkeypatch.setattr(wfdb_download, "dl_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download("ptbxl", root, records=2, progress=False)
    assert not (root / ".ecgsk-download").exists()
    assert not list(root.rglob("*.dat"))  # the batch was not put in place
    # A staging folder a killed process left is no record of the folder either.
    left = root / ".ecgsk-download" / "host-1" / "a.hea"
    left.parent.mkdir(parents=True)
    left.write_text("a 1 100 10\na.dat 16 200 16 0 0 0 0 I\n")
    with pytest.raises(ValueError, match="no WFDB"):
        load_wfdb_dir(root)


def test_each_process_stages_apart_and_ended_ones_are_cleared(mirror, tmp_path):
    import socket
    import subprocess
    import sys

    from ecgsk.datasets._download import _staging

    root = tmp_path / "ptb-xl"
    assert _staging(root).parent == root / ".ecgsk-download"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    killed = root / ".ecgsk-download" / f"{socket.gethostname()}-{ended}"
    elsewhere = root / ".ecgsk-download" / "other-host-1"  # a shared disk: not ours to judge
    for folder in (killed, elsewhere):
        (folder / "records100").mkdir(parents=True)
        (folder / "records100" / "part.dat").write_bytes(b"x")
    download("ptbxl", root, records=1, progress=False)
    assert not killed.exists() and elsewhere.is_dir()


def test_a_full_disk_is_named_as_such_not_as_the_network(mirror, tmp_path, monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wfdb_download, "dl_files", full)
    with pytest.raises(OSError, match=r"cannot write the download of 'ptb-xl' under .*"
                                      r"\.ecgsk-download.*: No space left on device\. Free "
                                      r"some space"):
        download("ptbxl", tmp_path / "ptb-xl", records=1, progress=False)


def test_cinc2017_gets_the_training2017_layout_and_final_labels(mirror, tmp_path, cinc_root):
    url, server, site = mirror
    root = tmp_path / "cinc2017"
    paths = download("cinc2017", root, records=["A00002", "A00001"], progress=False)

    folder = root / "training2017"
    assert paths == [str(folder / "A00002"), str(folder / "A00001")]
    assert (folder / "REFERENCE.csv").read_bytes() == (
        site / "files" / "challenge-2017" / VERSION / "REFERENCE-v3.csv").read_bytes()
    for r in ("A00001", "A00002"):
        for ext in (".hea", ".mat"):
            assert (folder / (r + ext)).read_bytes() == (
                cinc_root / "training2017" / (r + ext)).read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == [
        "A00001.hea", "A00001.mat", "A00002.hea", "A00002.mat", "REFERENCE.csv"]
    with pytest.warns(UserWarning, match="left out 1 of 3"):
        ds = load_cinc2017(root)
    assert list(ds.X) == [str(folder / "A00001"), str(folder / "A00002")]


def test_reader_download_true_fetches_ptbdb_with_both_signal_files(mirror, tmp_path,
                                                                   ptbdb_root):
    root = tmp_path / "ptbdb"
    ds = load_ptbdb(root, download=True)
    assert list(ds.X) == [str(root / "patient001" / "s0010_re")]
    for ext in (".hea", ".dat", ".xyz"):
        assert (root / "patient001" / ("s0010_re" + ext)).read_bytes() == (
            ptbdb_root / "patient001" / ("s0010_re" + ext)).read_bytes()
    X = WFDBLoader().transform(ds.X)
    assert X.shape == (1, 15, 38400)


def test_base_url_points_wfdb_at_a_mirror_and_restores_it(physionet, tmp_path, monkeypatch):
    url, server, _ = physionet
    monkeypatch.delenv("ECGSK_PHYSIONET_URL", raising=False)
    before = (wfdb_download.config.db_index_url, wfdb_download.PN_CONTENT_URL)
    server.requests.clear()
    paths = download("ptbdb", tmp_path, base_url=url, progress=False)
    assert Path(paths[0] + ".xyz").is_file()
    assert server.requests  # the mirror was used...
    assert (wfdb_download.config.db_index_url, wfdb_download.PN_CONTENT_URL) == before


def test_file_missing_on_server_raises_naming_it_and_leaves_no_partial_file(mirror, tmp_path):
    url, server, site = mirror
    records = site / "files" / "ptbdb" / VERSION / "RECORDS"
    root = tmp_path / "ptbdb"
    original = records.read_text()
    records.write_text("patient999/s9999_re\n" + original)
    _write_sums(records.parent)
    try:
        with pytest.raises(OSError, match=r"3 file\(s\) of 'ptbdb' are not on "
                                          r"http://127.0.0.1:\d+/files/ \('patient999/s9999_re"
                                          r".hea', 'patient999/s9999_re.dat', 'patient999/"
                                          r"s9999_re.xyz'\)\. Every other file is in place"):
            download("ptbdb", root, progress=False)
    finally:
        records.write_text(original)
        _write_sums(records.parent)
    assert not (root / "patient999").exists()
    # The record beside it in the batch is in place: one missing file failed the batch,
    # on every rerun, and named the batch's first file.
    assert all((root / (PTBDB_RECORDS[0] + ext)).is_file() for ext in (".hea", ".dat", ".xyz"))
    assert not (root / ".ecgsk-download").exists()


@pytest.mark.parametrize("entry", ["../../../evil", "/tmp/evil", "patient001/../../evil"])
def test_a_record_list_naming_a_path_outside_root_is_refused(mirror, tmp_path, entry):
    # "../../../evil" in the server's RECORDS was fetched and written outside ROOT.
    url, server, site = mirror
    records = site / "files" / "ptbdb" / VERSION / "RECORDS"
    root = tmp_path / "deep" / "er" / "ptbdb"
    original = records.read_text()
    records.write_text(original + entry + "\n")
    _write_sums(records.parent)
    try:
        with pytest.raises(OSError, match=r"the record list RECORDS of 'ptbdb' names 1 "
                                          r"record\(s\) outside the download folder"):
            download("ptbdb", root, progress=False)
    finally:
        records.write_text(original)
        _write_sums(records.parent)
    assert not list(tmp_path.rglob("evil*")) and not (tmp_path / "deep" / "evil.hea").exists()
    assert not any(path.endswith("evil.hea") for _, path in server.requests)
    # The refused list is not kept: every rerun read it again, from the right mirror too.
    assert not (root / "RECORDS").exists()
    download("ptbdb", root, records=PTBDB_RECORDS[:1], progress=False)
    assert (root / (PTBDB_RECORDS[0] + ".hea")).is_file()


def test_a_folder_linked_from_another_disk_is_downloaded_into(mirror, tmp_path, monkeypatch):
    # A folder of ROOT that is the user's link elsewhere (records500/ on a larger disk) was
    # refused as "outside the download folder"; the readers follow such links.
    from ecgsk.datasets import _download

    root, elsewhere = tmp_path / "ptbdb", tmp_path / "big" / "patient001"
    elsewhere.mkdir(parents=True)
    root.mkdir()
    (root / "patient001").symlink_to(elsewhere, target_is_directory=True)
    real_replace, moved = os.replace, []

    def replace(source, target):  # another disk: rename(2) fails with EXDEV
        if ".ecgsk-download" in str(source) and "patient001" in str(target):
            moved.append(target)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(source, target)

    monkeypatch.setattr(_download.os, "replace", replace)
    download("ptbdb", root, records=PTBDB_RECORDS[:1], progress=False)
    assert moved and all((elsewhere / Path(PTBDB_RECORDS[0]).name).with_suffix(ext).is_file()
                         for ext in (".hea", ".dat", ".xyz"))
    assert not (root / ".ecgsk-download").exists()


def test_a_full_disk_behind_a_linked_folder_is_named(mirror, tmp_path, monkeypatch):
    # The copy onto the other disk raised a bare "[Errno 28] No space left on device".
    from ecgsk.datasets import _download

    root, elsewhere = tmp_path / "ptbdb", tmp_path / "big" / "patient001"
    elsewhere.mkdir(parents=True)
    root.mkdir()
    (root / "patient001").symlink_to(elsewhere, target_is_directory=True)
    real_replace = os.replace

    def replace(source, target):
        if ".ecgsk-download" in str(source) and "patient001" in str(target):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(source, target)

    def full(path, write, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_download.os, "replace", replace)
    monkeypatch.setattr(_download, "atomic_write", full)
    with pytest.raises(OSError, match=r"cannot write .*patient001.*, on another disk than the "
                                      r"download's staging folder: No space left on device\. "
                                      r"Free some space"):
        download("ptbdb", root, records=PTBDB_RECORDS[:1], progress=False)
    assert not list(elsewhere.iterdir()) and not (root / ".ecgsk-download").exists()


def test_a_batch_of_which_the_server_has_nothing_stops_the_download(mirror, tmp_path):
    # Each file of a missing batch is asked for on its own: a server without the records
    # would take one request per file of the whole database.
    url, server, site = mirror
    records = site / "files" / "ptbdb" / VERSION / "RECORDS"
    original = records.read_text()
    absent = [f"patient9{i:02d}/s9{i:03d}_re" for i in range(40)]
    records.write_text("".join(f"{r}\n" for r in absent) + original)
    _write_sums(records.parent)
    try:
        with pytest.raises(OSError, match=r"96 file\(s\) of 'ptbdb' are not on .* The download "
                                          r"stopped at a batch of which the server had no file"):
            download("ptbdb", tmp_path / "ptbdb", progress=False)
    finally:
        records.write_text(original)
        _write_sums(records.parent)
    assert not (tmp_path / "ptbdb" / "patient001").exists()  # after the batch: not asked for


def test_a_file_the_server_lacks_stops_no_rerun_before_the_records_after_it(
        mirror, tmp_path, monkeypatch):
    # On the rerun, the batch of that record needed its one missing file only: "a whole
    # batch missing" held, and the records after it were never asked for, on every rerun.
    from ecgsk.datasets import _download as module

    url, server, site = mirror
    monkeypatch.setattr(module, "_CHUNK", 1)
    served = site / "files" / "ptb-xl" / VERSION / "records100" / "00000" / "00002_lr.dat"
    source = served.resolve()
    served.unlink()
    root = tmp_path / "ptb-xl"
    try:
        with pytest.raises(OSError, match=r"1 file\(s\) of 'ptb-xl' are not on .*00002_lr.dat"):
            download("ptbxl", root, records=2, progress=False)  # an interrupted first run
        with pytest.raises(OSError, match=r"1 file\(s\) of 'ptb-xl' are not on .*00002_lr.dat"
                                          r"'\)\. Every other file is in place") as caught:
            download("ptbxl", root, progress=False)
    finally:
        os.symlink(source, served)
    assert "stopped" not in str(caught.value)
    assert all((root / f"{r}.dat").is_file() for r in PTBXL_RECORDS if "00002" not in r)


def test_a_file_that_fails_every_try_keeps_no_other_out_and_is_named(mirror, tmp_path,
                                                                     monkeypatch):
    # A dropped connection on one file, every try, failed its whole batch: the files that
    # came were thrown away on every rerun, and the error named the batch's first file.
    import requests

    from ecgsk.datasets import _download as module

    monkeypatch.setattr(module, "_RETRY_WAITS", (0.0, 0.0))
    real = wfdb_download.dl_files

    def dropping(db, dl_dir, files, **kwargs):
        if any(f.endswith(".xyz") for f in files):
            raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")
        return real(db, dl_dir, files, **kwargs)

    monkeypatch.setattr(wfdb_download, "dl_files", dropping)
    root = tmp_path / "ptbdb"
    with pytest.raises(OSError, match=r"Could not download 1 file\(s\) of the PhysioNet "
                                      r"database 'ptbdb' \(first: 'patient001/s0010_re.xyz'\) "
                                      r".*ChunkedEncodingError"):
        download("ptbdb", root, progress=False)
    assert (root / "patient001" / "s0010_re.hea").is_file()
    assert (root / "patient001" / "s0010_re.dat").is_file()
    assert not (root / "patient001" / "s0010_re.xyz").exists()


def test_files_the_server_lacks_are_not_taken_for_a_failing_server(mirror, tmp_path):
    # Two files missing in a row (metadata, fetched without missing_ok) stopped the rest
    # of the batch as if the server had failed.
    from ecgsk.datasets import _download as module

    root = tmp_path / "other"
    files = [("patient998/x.hea", "patient998/x.hea"), ("patient999/x.hea", "patient999/x.hea"),
             ("RECORDS", "RECORDS")]
    with pytest.raises(OSError, match=r"first: 'patient998/x.hea'"):
        module._fetch(module.DATABASES["ptbdb"], root, files)
    assert (root / "RECORDS").is_file()


def test_a_mirror_s_credentials_stay_out_of_messages_that_name_it(physionet, tmp_path,
                                                                  monkeypatch):
    # The sum refusal named https://physionet.org/ (wfdb's URL, restored by then) for a
    # file the mirror served; a mirror's user and password were printed whole.
    url, server, site = physionet
    monkeypatch.delenv("ECGSK_PHYSIONET_URL", raising=False)
    secret = url.replace("http://", "http://alice:s3cret@")
    served = site / "files" / "ptbdb" / VERSION / "patient001" / "s0010_re.xyz"
    source = served.resolve()
    served.unlink()
    served.write_bytes(b"\0" + source.read_bytes()[1:])
    try:
        with pytest.raises(OSError) as caught:
            download("ptbdb", tmp_path / "ptbdb", progress=False, base_url=secret)
    finally:
        served.unlink()
        os.symlink(source, served)
    message = str(caught.value)
    assert "do not match their SHA-256 sum" in message
    assert f"from {url.replace('http://', 'http://***@')}files/." in message
    assert "s3cret" not in message and "physionet.org" not in message


def test_a_folder_of_another_dataset_is_refused(mirror, tmp_path):
    # RECORDS already there was not fetched again: PTB-DB's list was read as PTB-XL's.
    ptbdb = tmp_path / "ptbdb"
    download("ptbdb", ptbdb, progress=False)
    with pytest.raises(ValueError, match=rf"{ptbdb} holds ptbdb data; download ptbxl into a "
                                         rf"folder of its own \(e.g. {ptbdb / 'ptbxl'}\)"):
        download("ptbxl", ptbdb, progress=False)
    ptbxl = tmp_path / "ptb-xl"
    download("ptbxl", ptbxl, records=1, progress=False)
    for other in ("ptbdb", "cinc2017"):
        with pytest.raises(ValueError, match=rf"{ptbxl} holds ptbxl data; download {other}"):
            download(other, ptbxl, progress=False)
    assert download("ptbxl", ptbxl, records=2, progress=False)  # its own folder: resumed


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "mitdb"}, r"Unknown database 'mitdb'; download knows cinc2017, ptbdb, ptbxl"),
    ({"records": 0}, "records must be a positive number"),
    ({"records": "A00001"}, "list of record names"),
    ({"records": []}, "empty list"),
    ({"records": ["patient001/s0010_re", "nope"]},
     r"not in the ptbdb record list RECORDS: \['nope'\]"),
    ({"progress": "yes"}, "progress must be True or False"),
])
def test_bad_arguments_raise_clear_errors(mirror, tmp_path, kwargs, message):
    kwargs = {"name": "ptbdb", "root": tmp_path, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        download(**kwargs)


def test_cli_exit_codes(mirror, tmp_path, capsys):
    url, server, _ = mirror
    with pytest.raises(SystemExit) as exc:
        main(["download", "--help"])
    assert exc.value.code == 0
    assert "ECGSK_PHYSIONET_URL" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["download", "mitdb", str(tmp_path)])
    assert exc.value.code == 2
    assert main(["download", "ptbdb", str(tmp_path / "ptbdb"), "--records", "nope",
                 "--no-progress"]) == 1
    assert "not in the ptbdb record list" in capsys.readouterr().err
    assert main(["download", "cinc2017", str(tmp_path), "--records", "2",
                 "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == f"2 cinc2017 records in {tmp_path}"
    assert sorted(p.name for p in (tmp_path / "training2017").glob("*.mat")) == [
        "A00001.mat", "A00002.mat"]
    # More records asked for than the list names: all of them, and it says so.
    assert main(["download", "cinc2017", str(tmp_path), "--records", "1000",
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"3 cinc2017 records in {tmp_path}"
    assert captured.err == ("note: records=1000, but the cinc2017 record list "
                            "training2017/REFERENCE.csv "
                            "names 3: all 3 are downloaded.\n")


@pytest.mark.parametrize("records, message", [
    ("0", "--records: records must be a positive number of records, got 0"),
    ("-3", "--records: records must be a positive number of records, got -3"),
])
def test_cli_usage_errors_exit_2_before_any_request(mirror, tmp_path, capsys, records,
                                                    message):
    url, server, _ = mirror
    server.requests.clear()
    with pytest.raises(SystemExit) as exc:
        main(["download", "ptbxl", str(tmp_path / "new"), "--records", records])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    # The download command's usage and name, not the top level's "COMMAND ...".
    assert err.startswith("usage: python -m ecgsk.datasets download ")
    assert "\npython -m ecgsk.datasets download: error: --records" in err
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exc:
        main(["download", "ptbxl", str(tmp_path / "a_file")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"ROOT {tmp_path / 'a_file'} is a file" in err
    assert err.startswith("usage: python -m ecgsk.datasets download ")
    with pytest.raises(NotADirectoryError, match=r"root must be a folder to download ptbxl "
                                                 r"into; .*a_file is a file"):
        download("ptbxl", tmp_path / "a_file", progress=False)
    # Not a URL: each request failed, naming notaurl/files/ and notaurl/content/.
    with pytest.raises(SystemExit) as exc:
        main(["download", "ptbxl", str(tmp_path / "new"), "--base-url", "notaurl"])
    assert exc.value.code == 2
    assert ("download: error: --base-url must be the http(s) URL of a PhysioNet mirror, such "
            "as https://physionet.org/, got 'notaurl'") in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"base_url must be the http\(s\) URL of a PhysioNet "
                                         r"mirror, .*got 'ftp://mirror/'"):
        download("ptbxl", tmp_path / "new", base_url="ftp://mirror/", progress=False)
    assert not (tmp_path / "new").exists()
    assert server.requests == []
    with pytest.raises(ValueError, match="records must be a positive number"):
        download("ptbxl", tmp_path / "new", records=0, progress=False)
    assert server.requests == [] and not (tmp_path / "new").exists()


def test_cli_subprocess_uses_the_mirror_variable(physionet, tmp_path):
    url, server, _ = physionet
    env = {**os.environ, "ECGSK_PHYSIONET_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "ecgsk.datasets", "download", "ptbdb", str(tmp_path),
         "--no-progress"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"1 ptbdb records in {tmp_path}"
    assert (tmp_path / "patient001" / "s0010_re.xyz").is_file()


def test_a_file_that_differs_from_its_sum_is_fetched_again_then_refused(mirror, tmp_path,
                                                                      ptbxl_root):
    url, server, site = mirror
    served = site / "files" / "ptb-xl" / VERSION / "records100" / "00000" / "00002_lr.dat"
    source = served.resolve()
    served.unlink()
    served.write_bytes(b"\0" + source.read_bytes()[1:])  # wrong on the server, sums not
    root = tmp_path / "ptb-xl"
    try:
        with pytest.raises(OSError, match=r"1 downloaded file\(s\) of 'ptb-xl' do not match "
                                          r"their SHA-256 sum in SHA256SUMS.txt, twice, or are "
                                          r"not listed there \(first: "
                                          r"'records100/00000/00002_lr.dat', sum [0-9a-f]{64}, "
                                          r"listed [0-9a-f]{64}\)"):
            download("ptbxl", root, records=2, progress=False)
    finally:
        served.unlink()
        os.symlink(source, served)
    assert _data_requests(server).count("00002_lr.dat") == 2  # fetched once more
    assert not (root / "records100" / "00000" / "00002_lr.dat").exists()
    # The files that matched are in place; a rerun fetches only the one refused.
    assert (root / "records100" / "00000" / "00002_lr.hea").is_file()
    assert (root / "records100" / "00000" / "00001_lr.dat").is_file()
    server.requests.clear()
    download("ptbxl", root, records=2, progress=False)
    assert _data_requests(server) == ["00002_lr.dat"]
    assert (root / "records100" / "00000" / "00002_lr.dat").read_bytes() == source.read_bytes()


def test_a_file_refused_by_its_sum_stops_no_later_batch(mirror, tmp_path, ptbxl_root,
                                                         monkeypatch):
    from ecgsk.datasets import _download as module

    monkeypatch.setattr(module, "_CHUNK", 1)  # one record a batch
    url, server, site = mirror
    served = site / "files" / "ptb-xl" / VERSION / "records100" / "00000" / "00001_lr.dat"
    source = served.resolve()
    served.unlink()
    served.write_bytes(b"\0" + source.read_bytes()[1:])  # wrong on the server
    lacked = served.with_name("00003_lr.dat")  # and a file it lacks, in a later batch
    lacked_source = lacked.resolve()
    lacked.unlink()
    root = tmp_path / "ptb-xl"
    try:
        with pytest.raises(OSError, match=r"1 downloaded file\(s\) of 'ptb-xl' do not match .*"
                                          r"first: 'records100/00000/00001_lr.dat'.* Also, 1 "
                                          r"file\(s\) of 'ptb-xl' are not on .*00003_lr.dat"):
            download("ptbxl", root, records=4, progress=False)
    finally:
        served.unlink()
        os.symlink(source, served)
        os.symlink(lacked_source, lacked)
    # The batches after the refused file were fetched: before, the error ended the download.
    for file in ("records100/00000/00002_lr.hea", "records100/00000/00002_lr.dat",
                 "records100/00000/00003_lr.hea", "records500/00000/00001_hr.hea",
                 "records500/00000/00001_hr.dat"):
        assert (root / file).is_file(), file
    assert not (root / "records100" / "00000" / "00001_lr.dat").exists()
    assert not (root / ".ecgsk-download").exists()
    server.requests.clear()
    download("ptbxl", root, records=4, progress=False)
    assert sorted(_data_requests(server)) == ["00001_lr.dat", "00003_lr.dat"]


def test_a_transfer_gone_wrong_once_is_fetched_again(mirror, tmp_path, ptbxl_root,
                                                     monkeypatch):
    from ecgsk.datasets import _download as module

    real, calls = module._download, []

    def corrupting(db, staging, files):
        real(db, staging, files)
        calls.append([remote for remote, _ in files])
        if len(calls) == 3:  # the sums, the metadata, then the first batch of records
            staged = staging / "records100" / "00000" / "00001_lr.dat"
            staged.write_bytes(staged.read_bytes()[:-10])  # cut short in transit

    monkeypatch.setattr(module, "_download", corrupting)
    root = tmp_path / "ptb-xl"
    download("ptbxl", root, records=1, progress=False)
    assert calls[-1] == ["records100/00000/00001_lr.dat"]  # only that file again
    source = ptbxl_root / "records100" / "00000" / "00001_lr.dat"
    assert (root / "records100" / "00000" / "00001_lr.dat").read_bytes() == source.read_bytes()


def test_a_failure_that_may_pass_is_tried_again_and_a_missing_file_is_not(mirror, tmp_path,
                                                                          monkeypatch):
    from wfdb.io._url import NetFileError

    from ecgsk.datasets import _download as module

    monkeypatch.setattr(module, "_RETRY_WAITS", (0.0, 0.0))
    real, failures = wfdb_download.dl_files, []

    def flaky(db, dl_dir, files, **kwargs):
        if len(failures) < 2:  # a server error twice, then it answers
            failures.append(files)
            raise NetFileError("503 Error: Service Unavailable for url: x", status_code=503)
        return real(db, dl_dir, files, **kwargs)

    monkeypatch.setattr(wfdb_download, "dl_files", flaky)
    root = tmp_path / "ptbdb"
    assert download("ptbdb", root, progress=False) == [str(root / PTBDB_RECORDS[0])]
    assert len(failures) == 2
    failures.clear()
    failures.extend([None, None])  # no more injected failures: the real server answers
    url, server, _ = mirror
    server.requests.clear()
    with pytest.raises(OSError, match="patient999"):  # 404: asked once, not three times
        module._fetch(module.DATABASES["ptbdb"], tmp_path / "other",
                      [("patient999/x.hea", "patient999/x.hea")])
    assert _data_requests(server) == ["x.hea"]


def test_a_mirror_without_sums_is_said_and_still_serves(mirror, tmp_path):
    url, server, site = mirror
    sums = site / "files" / "ptbdb" / VERSION / "SHA256SUMS.txt"
    kept = sums.read_bytes()
    sums.unlink()
    try:
        with pytest.warns(UserWarning, match=r"has no SHA256SUMS.txt for 'ptbdb': the "
                                             "downloaded files are not checked"):
            paths = download("ptbdb", tmp_path / "ptbdb", progress=False)
    finally:
        sums.write_bytes(kept)
    assert wfdb.rdheader(paths[0]).n_sig == 15


def test_the_sums_are_fetched_only_when_a_file_is_and_anew_when_they_are_stale(mirror,
                                                                              tmp_path):
    url, server, _ = mirror
    root = tmp_path / "ptbdb"
    download("ptbdb", root, progress=False)
    (root / "SHA256SUMS.txt").unlink()  # a root filled by hand, or by an older ecgsk
    server.requests.clear()
    download("ptbdb", root, progress=False)
    assert server.requests == [] and not (root / "SHA256SUMS.txt").exists()
    # Sums kept from an older version of the database: fetched anew before refusing.
    record = root / "patient001" / "s0010_re.xyz"
    record.unlink()
    (root / "SHA256SUMS.txt").write_text(f"{'0' * 64}  patient001/s0010_re.xyz\n")
    server.requests.clear()
    download("ptbdb", root, progress=False)
    assert record.is_file()
    assert _data_requests(server) == ["SHA256SUMS.txt", "s0010_re.xyz", "s0010_re.xyz"]


def test_a_file_the_sums_do_not_list_is_not_put_in_place_unchecked(mirror, tmp_path):
    # It was placed without a word: kept sums of another version (or cut short) checked
    # nothing, though every file is said to be checked.
    url, server, site = mirror
    root = tmp_path / "ptbdb"
    download("ptbdb", root, progress=False)
    record = root / "patient001" / "s0010_re.xyz"
    record.unlink()
    served_sums = site / "files" / "ptbdb" / VERSION / "SHA256SUMS.txt"
    kept = served_sums.read_bytes()
    unlisted = b"".join(line for line in kept.splitlines(keepends=True)
                        if b"s0010_re.xyz" not in line)
    (root / "SHA256SUMS.txt").write_bytes(unlisted)
    served_sums.write_bytes(unlisted)  # the server's do not list it either
    try:
        with pytest.raises(OSError, match=r"twice, or are not listed there \(first: "
                                          r"'patient001/s0010_re.xyz', sum [0-9a-f]{64}, "
                                          r"not listed\)"):
            download("ptbdb", root, progress=False)
    finally:
        served_sums.write_bytes(kept)
    assert not record.exists()
    download("ptbdb", root, progress=False)  # the sums fetched anew list it: in place
    assert record.is_file()
