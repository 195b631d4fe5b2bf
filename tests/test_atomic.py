"""atomic_write: the target holds the old bytes or the new ones, never a torn file."""

import pytest

import os

from ecgsk._atomic import atomic_write, partial_name


@pytest.mark.parametrize("named", [False, True])
def test_writes_then_leaves_only_the_target(tmp_path, named):
    target = tmp_path / "index.json"
    partial = tmp_path / "index.json.7.partial" if named else None
    atomic_write(target, lambda f: f.write(b"new"), partial=partial)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


@pytest.mark.parametrize("named", [False, True])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_no_partial(tmp_path, named, error):
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"previous epoch")
    seen = []

    def write(f):
        f.write(b"half")
        seen.extend(p.name for p in tmp_path.iterdir() if p.name != "ckpt.pt")
        raise error

    partial = tmp_path / "ckpt.pt.7.partial" if named else None
    with pytest.raises(type(error)):
        atomic_write(target, write, partial=partial)
    assert target.read_bytes() == b"previous epoch"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]
    assert len(seen) == 1  # the bytes went to a temporary file beside the target
    if named:
        assert seen == ["ckpt.pt.7.partial"]
    else:
        assert seen[0].startswith(".") and seen[0].endswith(".tmp")


@pytest.mark.skipif(not hasattr(__import__("os"), "fchmod"), reason="POSIX file modes only")
@pytest.mark.parametrize("named", [False, True])
def test_the_file_gets_the_mode_of_any_new_file(tmp_path, named):
    # mkstemp's 0600 kept the cache's entries and index from anyone else sharing it.
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    target = tmp_path / "entry.f32"
    atomic_write(target, lambda f: f.write(b"x"),
                 partial=tmp_path / "entry.f32.1.partial" if named else None)
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(not hasattr(__import__("os"), "fchmod"), reason="POSIX file modes only")
def test_a_file_system_without_modes_is_written_all_the_same(tmp_path, monkeypatch):
    # FAT and some network mounts refuse chmod: the write failed, and left its temporary
    # file (before the cleanup's try) each time.
    import errno
    import os

    def refused(fd, mode):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refused)
    target = tmp_path / "entry.f32"
    atomic_write(target, lambda f: f.write(b"x"))
    assert target.read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.f32"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fchmod"), reason="POSIX file modes only")
@pytest.mark.parametrize("named", [False, True])
def test_a_replaced_file_keeps_its_mode(tmp_path, named):
    # A private (0600) checkpoint was rewritten with the umask's 0644 at the next epoch.
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"epoch 1")
    target.chmod(0o600)
    atomic_write(target, lambda f: f.write(b"epoch 2"),
                 partial=tmp_path / "ckpt.pt.1.partial" if named else None)
    assert target.read_bytes() == b"epoch 2"
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("named", [False, True])
def test_a_durable_write_flushes_the_file_and_its_folder(tmp_path, fsyncs, named):
    # Without fsync a power cut soon after the move could leave an empty checkpoint.
    target = tmp_path / "ckpt.pt"
    partial = tmp_path / "ckpt.pt.1.partial" if named else None
    atomic_write(target, lambda f: f.write(b"x"), partial=partial)
    assert fsyncs == []  # a cache entry skips the cost
    atomic_write(target, lambda f: f.write(b"y"), partial=partial, durable=True)
    assert fsyncs == ["file", "folder"]
    assert target.read_bytes() == b"y"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]



def test_two_writers_with_one_process_id_never_share_a_partial_file(tmp_path, monkeypatch):
    # Two containers' processes, both PID 1, on one volume wrote into one "<path>.1.partial":
    # the first move took it from under the second, and a torn checkpoint could be left.
    monkeypatch.setattr(os, "getpid", lambda: 1)
    target = tmp_path / "ckpt.pt"
    names = {partial_name(target) for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith(f"{target}.1-") and n.endswith(".partial") for n in names)
    other = tmp_path / "ckpt.pt.1-0123abcd.partial"  # another writer's, being written
    other.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        atomic_write(target, lambda f: f.write(b"mine"), partial=other)
    assert other.read_bytes() == b"theirs" and not target.exists()
