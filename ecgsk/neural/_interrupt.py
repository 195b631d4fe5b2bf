"""A user's Ctrl-C stops the caller of ``fit``, not only skorch's epoch loop.

skorch's ``partial_fit`` catches :class:`KeyboardInterrupt` and returns
normally: its :class:`~skorch.callbacks.EarlyStopping` raises one to end
training. So a Ctrl-C during training would end the fit quietly, and the
caller (a comparison fold, a benchmark row) would score and save a network
trained for fewer epochs than it asked for as if it were finished.
:func:`sigint_propagates` tells the two apart by the signal itself.
"""

import contextlib
import signal
import threading

__all__ = ["sigint_propagates"]


@contextlib.contextmanager
def sigint_propagates():
    """Re-raise, after the block, the interrupt of a SIGINT (or SIGTERM) that arrived in it.

    The handler in force is still called (Python's default raises
    :class:`KeyboardInterrupt`; ``ecgsk.tune``'s raises ``TuneInterrupted``
    for SIGINT and SIGTERM alike); whatever it raised is raised again once
    the block returns, even if the block swallowed it (a handler that
    returns, or an ignored SIGINT, goes on as before). SIGTERM is watched
    only where a handler of the process's own is in force: by default it
    ends the process. Early stopping's own :class:`KeyboardInterrupt`, with
    no signal, is left alone. Only the main thread receives signals:
    elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []
    previous = {signal.SIGINT: signal.getsignal(signal.SIGINT),
                signal.SIGTERM: signal.getsignal(signal.SIGTERM)}
    if not callable(previous[signal.SIGTERM]):  # SIG_DFL, SIG_IGN: as it was
        del previous[signal.SIGTERM]

    def handler(signum, frame):
        before = previous[signum]
        if before == signal.SIG_IGN:
            return
        if not callable(before):  # SIG_DFL: the process would end; interrupt it instead
            raised.append(KeyboardInterrupt())
            raise raised[-1]
        try:
            before(signum, frame)  # a handler that returns chose to go on
        except BaseException as exc:
            raised.append(exc)
            raise

    for signum in previous:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before if before is not None else signal.SIG_DFL)
    if raised:
        raise raised[0]
