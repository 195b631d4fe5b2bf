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


def test_a_thread_started_under_the_limit_keeps_it_in_its_own_pools():
    # OpenMP's limit holds for the thread that sets it: tune --n-jobs 2 runs trials in
    # threads of their own, whose gradient boosting used every core under --threads 1.
    import os
    import threading

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    from ecgsk._threads import within_limit

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: every pool has one thread anyway")
    seen = {}

    def trial(key, limited):
        if limited:
            with within_limit():
                seen[key] = _openmp_effective_n_threads()
        else:
            seen[key] = _openmp_effective_n_threads()

    with limit_threads(1):
        for key, limited in (("bare", False), ("within", True)):
            thread = threading.Thread(target=trial, args=(key, limited))
            thread.start()
            thread.join()
    assert seen["within"] == 1
    if seen["bare"] == 1:  # OMP_NUM_THREADS=1 in the environment: every thread has one
        pytest.skip("OpenMP gives every thread 1 thread here: no limit to see")
    assert seen["bare"] > 1  # what a bare thread gets


def test_each_trial_of_tune_runs_under_the_limit(monkeypatch):
    # Optuna runs the trials of --n-jobs 2 in threads of their own; the objective limits
    # its thread's OpenMP pool (without it, a trial's gradient boosting used every core).
    import threading

    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    from ecgsk.tune._objective import Objective

    objective = Objective(ctx=None)
    monkeypatch.setattr(Objective, "_run", lambda self, trial: _openmp_effective_n_threads())
    seen = []
    with limit_threads(1):
        thread = threading.Thread(target=lambda: seen.append(objective(None)))
        thread.start()
        thread.join()
    assert seen == [1]


def test_random_conv_threads_read_n_jobs_as_joblib_and_keep_the_limit(monkeypatch):
    # n_jobs=-1 under --threads 1 set torch to every core (and the run's tag said 1);
    # -2 meant every core too, where joblib leaves one free.
    import os

    from ecgsk.features._randomconv import _n_threads

    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert [_n_threads(n) for n in (None, -1, -2, 4, 64)] == [16, 16, 15, 4, 16]
    with limit_threads(1):
        assert [_n_threads(n) for n in (None, -1, -2, 4)] == [1, 1, 1, 1]
