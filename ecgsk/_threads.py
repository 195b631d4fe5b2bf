"""Limit the threads of torch and of the native pools scikit-learn uses, for one block of work.

``python -m ecgsk.compare --threads N`` and ``python -m ecgsk.tune --threads
N`` run with it, so that their fits use the threads ``bench/quality.py
--threads N`` does.
"""

import contextlib
import os
import threading
import warnings

from ._validation import check_positive_int

__all__ = ["check_threads", "limit_threads", "thread_ceiling", "within_limit",
           "main_thread_only"]

#: The limits of the limit_threads blocks in force, innermost last (process-wide: a thread
#: started inside one, such as an Optuna trial of --n-jobs 2, is under it too).
_CEILINGS = []


def check_threads(threads, error=ValueError):
    """Return ``threads`` as an int (or None); raise ``error`` naming it if it is not positive."""
    if threads is None:
        return None
    try:
        return check_positive_int(threads, name="threads")
    except ValueError:
        raise error(f"threads must be a positive integer or None, got {threads!r}.") from None


@contextlib.contextmanager
def limit_threads(threads):
    """Run the block with at most ``threads`` threads per pool; restore the settings after.

    Sets torch's intra-op threads (:func:`torch.set_num_threads`) and limits
    the OpenMP and BLAS pools of numpy, scipy and scikit-learn
    (:func:`threadpoolctl.threadpool_limits`; histogram gradient boosting
    uses OpenMP). An estimator's own ``n_jobs`` (joblib processes) is not
    changed. ``None`` changes nothing. More threads than the machine has
    cores are set, with a warning.
    """
    threads = check_threads(threads)
    if threads is None:
        yield
        return
    cores = os.cpu_count()
    if cores and threads > cores:
        warnings.warn(f"threads={threads} is more than this machine's {cores} cores: the "
                      "threads take turns on them, which is slower than one per core.",
                      RuntimeWarning, stacklevel=3)
    import torch  # lazy: torch is slow to import
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    _CEILINGS.append(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        _CEILINGS.pop()
        torch.set_num_threads(previous)


def thread_ceiling():
    """The thread limit of the innermost :func:`limit_threads` block in force, or None."""
    return _CEILINGS[-1] if _CEILINGS else None


@contextlib.contextmanager
def within_limit():
    """Limit this thread's OpenMP and BLAS pools to :func:`thread_ceiling`, for the block.

    OpenMP's limit holds for the thread that sets it: trials that Optuna runs in
    threads of their own (``tune --n-jobs 2``) used every core in gradient boosting
    under ``--threads 1``. A no-op outside :func:`limit_threads`.
    """
    limit = thread_ceiling()
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit):
        yield


def main_thread_only(context):
    """``context()`` in the main thread; in another, no context at all.

    For contexts of ``warnings.catch_warnings``, which swaps the process's
    filters: threads running at once undo each other's. Whoever starts the
    threads enters the context around them (``tune`` around its trials).
    """
    if threading.current_thread() is threading.main_thread():
        return context()
    return contextlib.nullcontext()
