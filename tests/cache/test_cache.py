"""ecgsk.cache: what the cache folder holds, and pruning it by last use."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from ecgsk.cache import KINDS, cache_info, prune_cache, prune_index, scan_cache
from ecgsk.cache._cache import PARTIAL_MIN_AGE_S
from ecgsk.compare._resume import final_fit_path

DAY = 86400.0
NOW = 2_000_000_000.0  # ages are counted to this instant


def _put(path, days_unused, size=10):
    """A file of ``size`` bytes last used ``days_unused`` days before NOW."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = NOW - days_unused * DAY
    os.utime(path, (stamp, stamp))
    return path


def _entry(root, digest_char, days_unused, size=40):
    digest = digest_char * 64
    return _put(root / "ecgsk-wfdb-v1" / "entries" / digest[:2] / f"{digest}.f32",
                days_unused, size)


@pytest.fixture
def synthetic_records(tmp_path):
    """Three small 2-lead WFDB records, written with wfdb."""
    import wfdb

    folder = tmp_path / "records"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        wfdb.wrsamp(f"r{k}", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
                    p_signal=rng.normal(size=(300, 2)), fmt=["16", "16"],
                    write_dir=str(folder))
    return [str(folder / f"r{k}") for k in range(3)]


@pytest.fixture
def cache(tmp_path):
    """A cache folder holding one file of every kind, and files ecgsk never writes."""
    root = tmp_path / "cache"
    files = {
        "old record": _entry(root, "a", 40),
        "new record": _entry(root, "b", 1),
        "old checkpoint": _put(root / "checkpoints" / "ecgnet-0123abcd.pt", 40, 100),
        "new checkpoint": _put(root / "checkpoints" / "ecgnet-4567ef00.pt", 2, 100),
        "final fit": _put(final_fit_path(root / "checkpoints", "f00d1e"), 20, 1000),
        "partial": _put(root / "checkpoints" / "ecgnet-0123abcd.pt.4242.partial", 40, 7),
        "partial entry": _put(root / "ecgsk-wfdb-v1" / "entries" / "aa" / ".x1y2.tmp", 40, 3),
        "index": _put(root / "ecgsk-wfdb-v1" / "index.json", 40, 5),
        # Names ecgsk does not write: never listed, never removed.
        "user file": _put(root / "checkpoints" / "notes.txt", 400),
        "user data": _put(root / "records" / "ab" / ("c" * 64 + ".f32"), 400),
    }
    return root, files


def test_the_scan_lists_what_ecgsk_wrote_by_kind(cache):
    root, files = cache
    found = {f.path: f for f in scan_cache(root)}
    kinds = {name: found[path].kind for name, path in files.items() if path in found}
    assert kinds == {"old record": "signals", "new record": "signals",
                     "old checkpoint": "checkpoints", "new checkpoint": "checkpoints",
                     "final fit": "final fits", "partial": "partial",
                     "partial entry": "partial"}
    assert found[files["final fit"]].size == 1000
    assert found[files["old record"]].age_days(NOW) == pytest.approx(40)


def test_the_info_counts_each_kind(cache):
    root, _ = cache
    info = cache_info(root, now=NOW)
    assert list(info.index) == list(KINDS)
    assert info["files"].to_dict() == {"signals": 2, "checkpoints": 2, "final fits": 1,
                                       "partial": 2}
    assert info["bytes"].to_dict() == {"signals": 80, "checkpoints": 200, "final fits": 1000,
                                       "partial": 10}
    assert info.loc["checkpoints", "newest_days"] == pytest.approx(2)
    assert info.loc["checkpoints", "oldest_days"] == pytest.approx(40)


def test_an_absent_or_empty_folder_holds_nothing(tmp_path):
    assert scan_cache(tmp_path / "missing") == []
    info = cache_info(tmp_path)
    assert info["files"].sum() == 0 and np.isnan(info["oldest_days"]).all()


def test_pruning_removes_only_what_was_unused_for_long_enough(cache):
    root, files = cache
    removed = prune_cache(root, older_than=30, now=NOW)
    gone = {name for name, path in files.items() if not path.exists()}
    assert gone == {"old record", "old checkpoint", "partial", "partial entry"}
    assert sorted(f.path for f in removed) == sorted(files[name] for name in gone)
    # Everything else stays: newer files, the index, and names ecgsk never writes.
    assert prune_cache(root, older_than=30, now=NOW) == []


def test_a_dry_run_removes_nothing(cache):
    root, files = cache
    listed = prune_cache(root, older_than=0, dry_run=True, now=NOW)
    assert len(listed) == 7
    assert all(path.exists() for path in files.values())


def test_pruning_by_kind(cache):
    root, files = cache
    removed = prune_cache(root, older_than=10, kinds=["final fits", "checkpoints"], now=NOW)
    assert {f.path for f in removed} == {files["final fit"], files["old checkpoint"]}
    assert files["old record"].exists()
    assert [f.path for f in prune_cache(root, older_than=0, kinds="signals", now=NOW)] == \
        sorted([files["old record"], files["new record"]])


def test_older_than_zero_empties_the_kinds_but_spares_a_partial_file_being_written(tmp_path):
    root = tmp_path / "cache"
    writing = _put(root / "checkpoints" / "compare-final-abc.pkl.99.partial", 0)
    stale = _put(root / "checkpoints" / "compare-final-abd.pkl.98.partial",
                 2 * PARTIAL_MIN_AGE_S / DAY)
    fit = _put(root / "checkpoints" / "compare-final-abc.pkl", 0)
    removed = prune_cache(root, older_than=0, now=NOW)
    assert {f.path for f in removed} == {stale, fit}
    assert writing.exists()


def test_the_age_is_the_last_read_or_write(tmp_path):
    entry = _entry(tmp_path, "d", 40)
    read = NOW - 1 * DAY  # a cache hit reads the entry without writing it
    os.utime(entry, (read, NOW - 40 * DAY))
    assert prune_cache(tmp_path, older_than=30, now=NOW) == []
    assert entry.exists()


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "30", True, None])
def test_a_bad_age_is_refused_by_name(tmp_path, bad):
    with pytest.raises(ValueError, match="older_than must be a non-negative number"):
        prune_cache(tmp_path, older_than=bad)


def test_numpy_and_fraction_ages_are_taken(tmp_path):
    # np.int64(3) (a value read from an array) was refused as not a number of days.
    from fractions import Fraction

    for age in (np.int64(3), np.float32(0.5), Fraction(1, 2)):
        assert prune_cache(tmp_path, older_than=age, now=NOW) == []


@pytest.mark.parametrize("bad", [["records"], [], "everything"])
def test_an_unknown_kind_is_refused_by_name(tmp_path, bad):
    with pytest.raises(ValueError, match="kinds must be a non-empty subset"):
        prune_cache(tmp_path, older_than=1, kinds=bad)


def test_the_default_folder_is_the_compare_and_tune_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGSK_CACHE", str(tmp_path))
    entry = _entry(tmp_path, "e", 3)
    assert [f.path for f in scan_cache()] == [entry]


def test_a_real_loader_cache_is_found_and_reread_after_pruning(tmp_path, synthetic_records):
    """The names scanned are the ones WFDBLoader writes: prune them, and it reads again."""
    from ecgsk.preprocessing import WFDBLoader

    paths = synthetic_records
    tmp_path = tmp_path / "cache"
    loader = WFDBLoader(cache_dir=tmp_path)
    first = loader.fit_transform(paths)
    entries = [f for f in scan_cache(tmp_path) if f.kind == "signals"]
    assert len(entries) == len(paths)
    assert len(prune_cache(tmp_path, older_than=0, now=time.time() + 1)) == len(paths)
    np.testing.assert_array_equal(WFDBLoader(cache_dir=tmp_path).fit_transform(paths), first)
    assert len(scan_cache(tmp_path)) == len(paths)  # written again


def test_the_index_forgets_records_whose_files_are_gone(tmp_path, synthetic_records):
    import json

    from ecgsk.preprocessing import WFDBLoader

    paths = synthetic_records
    cache = tmp_path / "cache"
    first = WFDBLoader(cache_dir=cache).fit_transform(paths)
    (index_path,) = cache.glob("ecgsk-wfdb-v*/index.json")
    assert sorted(json.loads(index_path.read_text())) == sorted(paths)
    for suffix in (".hea", ".dat"):
        os.remove(paths[0] + suffix)  # a record deleted since it was read
    assert prune_index(cache, dry_run=True) == 1
    assert len(json.loads(index_path.read_text())) == 3
    assert prune_index(cache) == 1
    assert sorted(json.loads(index_path.read_text())) == sorted(paths[1:])
    assert prune_index(cache) == 0
    again = WFDBLoader(cache_dir=cache).fit_transform(paths[1:])  # the others still hit
    np.testing.assert_array_equal(again, first[1:])


def test_a_torn_or_absent_index_is_left_alone(tmp_path):
    assert prune_index(tmp_path / "missing") == 0
    index = tmp_path / "ecgsk-wfdb-v1" / "index.json"
    index.parent.mkdir(parents=True)
    index.write_text("{not json")
    assert prune_index(tmp_path) == 0
    assert index.read_text() == "{not json"


def test_a_writers_partial_file_of_either_name_is_counted_as_partial(tmp_path):
    # Since each writer's temporary name has a random part (partial_name), "<pid>.partial"
    # left by earlier versions too.
    from ecgsk._atomic import partial_name

    checkpoints = tmp_path / "checkpoints"
    new = _put(Path(partial_name(checkpoints / "ecgnet-0123abcd.pt")), 40, 7)
    old = _put(checkpoints / "compare-final-abc.pkl.4242.partial", 40, 7)
    assert {f.path: f.kind for f in scan_cache(tmp_path)} == {new: "partial", old: "partial"}
