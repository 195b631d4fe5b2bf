"""``python -m ecgsk.cache``: the report and the prune, as a user runs them."""

import io
import json
import os
import subprocess
import sys
import time

import pytest

from ecgsk.cache import main
from ecgsk.cache._cli import human_bytes

DAY = 86400.0


def _put(path, days_unused, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = time.time() - days_unused * DAY
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def cache(tmp_path):
    root = tmp_path / "cache"
    entries = root / "ecgsk-wfdb-v1" / "entries" / "ab"
    return root, {
        "record": _put(entries / ("ab" + "0" * 62 + ".f32"), 0, 4000),
        "old record": _put(entries / ("ab" + "1" * 62 + ".f32"), 50, 4000),
        "checkpoint": _put(root / "checkpoints" / "ecgnet-00ff.pt", 45, 2_500_000),
        "final fit": _put(root / "checkpoints" / "compare-final-c0ffee.pkl", 3, 42_000_000),
    }


def _run(*argv):
    out = io.StringIO()
    assert main(list(argv), out=out) == 0
    return out.getvalue()


def test_info_reports_each_kind(cache):
    root, _ = cache
    lines = _run("info", "--cache-dir", str(root)).splitlines()
    assert lines[0] == f"ecgsk cache at {root}"
    rows = {line.split()[0]: line for line in lines[2:7]}
    assert rows["signals"].split()[1:4] == ["2", "8.0", "kB"]
    assert "today to 50 days ago" in rows["signals"]
    assert rows["checkpoints"].split()[1:4] == ["1", "2.5", "MB"]
    assert rows["final"].split()[2:5] == ["1", "42.0", "MB"]
    assert rows["partial"].split()[1:4] == ["0", "0", "B"]
    assert rows["total"].split()[1:4] == ["4", "44.5", "MB"]


def test_prune_names_the_large_files_and_counts_the_records(cache):
    root, files = cache
    dry = _run("prune", "--older-than", "30", "--dry-run", "--cache-dir", str(root))
    assert f"would remove checkpoint {files['checkpoint']} (2.5 MB, last used 45 days ago)" \
        in dry
    assert "would remove 2 files (2.5 MB) not used for 30 days: signals 1, checkpoints 1, " \
           "final fits 0, partial 0" in dry
    assert all(path.exists() for path in files.values())

    done = _run("prune", "--older-than", "30", "--cache-dir", str(root))
    assert "removed 2 files" in done
    assert [name for name, path in files.items() if not path.exists()] == ["old record",
                                                                          "checkpoint"]


def test_pruning_signals_drops_gone_records_from_the_index(cache):
    root, _ = cache
    index = root / "ecgsk-wfdb-v1" / "index.json"
    index.write_text(json.dumps({str(root / "gone" / "r1"): {}, str(root / "gone" / "r2"): {}}))
    dry = _run("prune", "--older-than", "30", "--dry-run", "--cache-dir", str(root))
    assert "would drop 2 records whose header file is gone from the signal cache's index" in dry
    assert "dropped 2 records" in _run("prune", "--older-than", "30", "--cache-dir", str(root))
    assert json.loads(index.read_text()) == {}
    out = _run("prune", "--older-than", "30", "--kind", "checkpoints", "--cache-dir", str(root))
    assert "index" not in out


def test_prune_by_kind(cache):
    root, files = cache
    out = _run("prune", "--older-than", "0", "--kind", "final fits", "--cache-dir", str(root))
    assert f"removed final fit {files['final fit']}" in out
    assert "removed 1 file (42.0 MB) not used for 0 days: final fits 1 (in" in out
    assert [name for name, path in files.items() if not path.exists()] == ["final fit"]
    out = _run("prune", "--older-than", "1", "--kind", "final fits", "--cache-dir", str(root))
    assert "removed 0 files (0 B) not used for 1 day: final fits 0 (in" in out  # not "1 days"


def test_a_file_that_cannot_be_removed_is_named_and_the_rest_pruned(cache, monkeypatch,
                                                                   capsys):
    # A PermissionError (another user's shared cache) ended the prune with a traceback,
    # before the files after it, and said nothing of those removed before it.
    root, files = cache
    locked, remove = files["old record"], os.remove

    def guarded(path):
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(1, "Operation not permitted", os.fspath(path))
        remove(path)

    monkeypatch.setattr(os, "remove", guarded)
    out = io.StringIO()
    assert main(["prune", "--older-than", "30", "--cache-dir", str(root)], out=out) == 1
    assert "removed 1 file (2.5 MB)" in out.getvalue()
    assert (f"error: prune_cache: could not remove 1 file(s); the first, {locked}: Operation "
            "not permitted.") in capsys.readouterr().err
    assert locked.exists() and not files["checkpoint"].exists()


def test_an_index_that_cannot_be_rewritten_is_named(cache, monkeypatch, capsys):
    import ecgsk.cache._cache as module

    root, _ = cache
    index = root / "ecgsk-wfdb-v1" / "index.json"
    index.write_text(json.dumps({str(root / "gone" / "r1"): {}}))

    def read_only(path, write):
        raise OSError(30, "Read-only file system", os.fspath(path))

    monkeypatch.setattr(module, "atomic_write", read_only)
    out = io.StringIO()
    assert main(["prune", "--older-than", "30", "--cache-dir", str(root)], out=out) == 1
    assert "dropped" not in out.getvalue() and "removed 2 files" in out.getvalue()
    assert (f"error: prune_index: could not rewrite {index}: Read-only file system."
            in capsys.readouterr().err)
    assert len(json.loads(index.read_text())) == 1


@pytest.mark.parametrize("argv", [
    ["prune"],  # --older-than is required: nothing is removed by default
    ["prune", "--older-than", "-1"],
    ["prune", "--older-than", "a month"],
    ["prune", "--older-than", "1", "--kind", "records"],
    ["clear"],
])
def test_usage_errors_exit_2_and_remove_nothing(cache, argv, capsys):
    root, files = cache
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--cache-dir", str(root)])
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert all(path.exists() for path in files.values())


@pytest.mark.parametrize("command", [["info"], ["prune", "--older-than", "30"]])
def test_a_cache_dir_that_is_no_folder_is_a_usage_error(tmp_path, command, capsys):
    for wrong in (tmp_path / "mistyped", tmp_path / "a file"):
        if wrong.name == "a file":
            wrong.write_text("x")
        assert main([*command, "--cache-dir", str(wrong)], out=io.StringIO()) == 2
        assert f"error: --cache-dir {wrong} is not a folder" in capsys.readouterr().err


def test_the_default_folder_may_not_exist_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGSK_CACHE", str(tmp_path / "not yet"))
    assert _run("info").startswith(f"ecgsk cache at {tmp_path / 'not yet'} (none yet)")
    assert "removed 0 files" in _run("prune", "--older-than", "0")


def test_the_module_runs_from_the_command_line(cache):
    root, _ = cache
    done = subprocess.run([sys.executable, "-m", "ecgsk.cache", "info", "--cache-dir", str(root)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ecgsk cache at {root}")
    assert done.stderr == ""


def test_the_cache_tools_leave_scikit_learn_unimported(tmp_path, monkeypatch):
    """``info`` and ``prune``, run by hand, start fast: neither imports scikit-learn or torch.

    (``compare`` only gave the folder; the signal index is rewritten with
    :func:`ecgsk._atomic.atomic_write`, not through the loader's module.)
    """
    import ecgsk.cache
    import ecgsk.compare

    assert ecgsk.compare.default_cache_dir is ecgsk.cache.default_cache_dir
    monkeypatch.setenv("ECGSK_CACHE", str(tmp_path))  # the default folder, as a user's
    index = tmp_path / "ecgsk-wfdb-v1" / "index.json"
    index.parent.mkdir()
    index.write_text(json.dumps({str(tmp_path / "gone"): [1, 2]}))  # a record deleted since
    for command in (["info"], ["prune", "--older-than", "0"]):
        code = (f"import sys, ecgsk.cache as c; c.main({command!r}); print(sorted(m for m in "
                "sys.modules if m.split('.')[0] in ('sklearn', 'torch')))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("[]"), done.stdout
    assert json.loads(index.read_text()) == {}  # prune did rewrite the index


@pytest.mark.parametrize("n, text", [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"),
                                     (261_361_152, "261.4 MB"), (3.2e12, "3200.0 GB")])
def test_sizes_in_words(n, text):
    assert human_bytes(n) == text


def test_a_folder_that_cannot_be_read_is_named_and_the_rest_is_pruned(cache, monkeypatch,
                                                                     capsys):
    # Another user's shard folder (umask 077) of a shared cache: os.scandir raised, and info
    # and prune ended in a traceback, pruning nothing. (The tests run as root, which any
    # mode lets in: the refusal is made by hand.)
    from ecgsk.cache import _cache

    root, files = cache
    locked = _put(root / "ecgsk-wfdb-v1" / "entries" / "cd" / ("cd" + "2" * 62 + ".f32"), 50,
                  4000)
    real = os.scandir

    def scandir(path):
        if os.fspath(path).endswith(os.path.join("entries", "cd")):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(_cache.os, "scandir", scandir)
    out = io.StringIO()
    assert main(["info", "--cache-dir", str(root)], out=out) == 1
    message = (f"error: scan_cache: could not read 1 folder(s) of the cache, whose files are "
               f"left out; the first, {locked.parent}: Permission denied.")
    assert message in capsys.readouterr().err
    assert {line.split()[0]: line for line in out.getvalue().splitlines()[2:7]}[
        "signals"].split()[1] == "2"  # the readable shard's
    assert main(["prune", "--older-than", "30", "--cache-dir", str(root)],
                out=io.StringIO()) == 1
    assert message in capsys.readouterr().err
    assert not files["old record"].exists() and files["record"].exists()
    assert locked.exists()
