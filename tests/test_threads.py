"""ecgsk._threads: the --threads of ecgsk.compare, ecgsk.tune and bench/quality.py."""

import pytest
import torch
from threadpoolctl import threadpool_info

from ecgsk._threads import check_threads, limit_threads


def _openmp_and_blas():
    return {(pool["user_api"], pool["filepath"]): pool["num_threads"]
            for pool in threadpool_info()}


def test_limit_threads_limits_torch_and_the_native_pools_then_restores_them():
    torch_before, pools_before = torch.get_num_threads(), _openmp_and_blas()
    assert pools_before, "numpy's BLAS at least is a native pool"
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert set(_openmp_and_blas().values()) == {1}
    assert torch.get_num_threads() == torch_before
    assert _openmp_and_blas() == pools_before


def test_limit_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), limit_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_none_changes_nothing():
    before = torch.get_num_threads()
    with limit_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_threads_are_named(bad):
    with pytest.raises(ValueError, match=r"threads must be a positive integer or None, got"):
        check_threads(bad)
    with pytest.raises(KeyError, match="threads"):
        check_threads(bad, KeyError)
    assert check_threads(3) == 3 and check_threads(None) is None


def test_more_threads_than_cores_are_set_with_a_warning(monkeypatch):
    # --threads had no upper bound and no word: 64 threads on 2 cores take turns.
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    before = torch.get_num_threads()
    with pytest.warns(RuntimeWarning, match=r"threads=3 is more than this machine's 2 cores"):
        with limit_threads(3):
            assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before
