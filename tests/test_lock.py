"""ecgsk/_lock.py: one holder at a time, across processes."""

import subprocess
import sys

import pytest

from ecgsk._lock import file_lock

pytest.importorskip("fcntl", reason="file_lock runs unlocked where fcntl is missing (Windows)")

_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _other_process_sees(path):
    return subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_the_lock_is_held_for_the_block_only_and_its_file_stays(tmp_path):
    path = tmp_path / "store.lock"
    with file_lock(path):
        assert _other_process_sees(path) == "held"
    assert _other_process_sees(path) == "free"
    assert path.exists()


def test_an_exception_releases_the_lock(tmp_path):
    path = tmp_path / "store.lock"
    with pytest.raises(KeyboardInterrupt), file_lock(path):
        raise KeyboardInterrupt
    assert _other_process_sees(path) == "free"


def test_a_lock_file_that_cannot_be_written_is_locked_for_reading(tmp_path, monkeypatch):
    """Another user's lock file in a shared store folder: flock works on a read-only open.

    Opening for writing is refused by hand, so that the test also runs as root, whom
    file modes do not stop.
    """
    import os

    from ecgsk import _lock

    path = tmp_path / "store.lock"
    path.write_text("")
    real_open = os.open

    def no_writing(file, flags, *args):
        if flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(13, "Permission denied", file)
        return real_open(file, flags, *args)

    monkeypatch.setattr(_lock.os, "open", no_writing)
    with file_lock(path):
        monkeypatch.setattr(_lock.os, "open", real_open)
        assert _other_process_sees(path) == "held"


def test_a_long_wait_for_the_lock_is_said_once_naming_the_file(tmp_path, monkeypatch, capfd):
    # A holder stopped with Ctrl-Z made the next compare wait in silence for ever.
    import ecgsk._lock as lock

    monkeypatch.setattr(lock, "SAY_AFTER_S", 0.2)
    path = tmp_path / "store.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
         "os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); "
         "time.sleep(1.5)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with file_lock(path):  # waits until the holder ends
            pass
    finally:
        holder.kill()
        holder.wait()
    err = capfd.readouterr().err
    assert err.count("note: waiting for the lock") == 1 and str(path) in err
    with file_lock(path):  # no wait, nothing said
        pass
    assert capfd.readouterr().err == ""
