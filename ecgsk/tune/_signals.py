"""SIGINT and SIGTERM during a study: stop the running trials as interrupted, everywhere.

skorch's ``fit`` swallows :class:`KeyboardInterrupt` (it ends training
early and returns), so an interrupt inside a network's training would not
stop the study by itself. While :func:`interrupt_handlers` is active, both
signals set a flag and raise :class:`TuneInterrupted`; the objective calls
:func:`check_interrupt` after every fit and the pruning callback at every
batch, so trials in other threads (``n_jobs > 1``) stop too.

Only the first signal raises. A second one (a double Ctrl-C) would land in
the stop of the first: Optuna failing the trial, the trial queued again, the
runs ended. Cut short there, it left the study's run RUNNING and a trial's
run with ``state=RUNNING``; it now only says that the study is stopping. A
third one stops at once, for a stop that hangs.
"""

import contextlib
import os
import signal
import threading

__all__ = ["TuneInterrupted", "interrupt_handlers", "check_interrupt", "interrupted"]

_flag = threading.Event()
_received = {"signum": signal.SIGINT, "again": 0}


class TuneInterrupted(KeyboardInterrupt):
    """A study stopped by SIGINT or SIGTERM; ``signum`` says which.

    A :class:`KeyboardInterrupt`, so Optuna marks the running trial FAIL
    and :func:`ecgsk.tracking.tracked_run` ends its run KILLED. ``requeued``
    lists the trials queued again, once the study has done so.

    Parameters
    ----------
    signum : int, default=signal.SIGINT
        The signal received, kept as ``signum``.
    """

    def __init__(self, signum=signal.SIGINT):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = int(signum)
        self.requeued = []


def _handler(signum, frame):
    name = signal.Signals(signum).name
    if _flag.is_set():  # the first one's stop is under way: let it finish
        _received["again"] += 1
        if _received["again"] >= 2:  # a stop that hangs (a store that does not answer)
            os.write(2, f"note: {name} a third time: stopping at once; runs may be left "
                        "RUNNING, and a rerun ends them.\n".encode())
            raise TuneInterrupted(signum)
        # os.write: print could be re-entered, if the signal came in the middle of one.
        os.write(2, f"note: {name} again; the study is already stopping, once its runs "
                    "are ended and its trials queued again (a third one stops at "
                    "once).\n".encode())
        return
    _received["signum"], _received["again"] = signum, 0
    _flag.set()
    raise TuneInterrupted(signum)


def interrupted():
    """Whether a signal arrived since :func:`interrupt_handlers` started."""
    return _flag.is_set()


def check_interrupt():
    """Raise :class:`TuneInterrupted` if a signal arrived (in any thread)."""
    if _flag.is_set():
        raise TuneInterrupted(_received["signum"])


@contextlib.contextmanager
def interrupt_handlers():
    """Handle SIGINT and SIGTERM as :class:`TuneInterrupted` (main thread only); restore after."""
    _flag.clear()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
