"""Tests of ecgsk/neural/_interrupt.py: a Ctrl-C during fit is not swallowed by skorch."""

import os
import signal
import threading

import pytest
from skorch.callbacks import Callback

from ecgsk.neural._interrupt import sigint_propagates

from .test_classifier import fast, make_signals


class SignalAt(Callback):
    """Sends this process SIGINT at the end of epoch ``epoch`` (as a user's Ctrl-C)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


class StopAt(Callback):
    """Raises KeyboardInterrupt at epoch ``epoch``, as skorch's EarlyStopping does."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_during_fit_stops_the_caller():
    X, y = make_signals(64)
    net = fast(max_epochs=8, callbacks=[("sigint", SignalAt(2))])
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y)
    assert len(net.history) == 2  # training stopped there, and the caller knows it
    assert signal.getsignal(signal.SIGINT) is before


def test_early_stopping_still_ends_fit_quietly():
    X, y = make_signals(64)
    net = fast(max_epochs=8, callbacks=[("stop", StopAt(3))]).fit(X, y)
    assert len(net.history) == 3
    net.predict_proba(X)


def test_a_handler_that_goes_on_is_respected():
    X, y = make_signals(64)
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        net = fast(max_epochs=4, callbacks=[("sigint", SignalAt(2))]).fit(X, y)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIGINT] and len(net.history) == 4


class Stop(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_handlers_own_exception_is_raised_again(signum):
    """Also SIGTERM's: tune turns it into a KeyboardInterrupt, which skorch swallowed, so
    the fit returned as finished and removed its checkpoint."""
    def handler(signum, frame):
        raise Stop("from the caller's handler")

    previous = signal.signal(signum, handler)
    try:
        with pytest.raises(Stop, match="caller's handler"), sigint_propagates():
            try:
                os.kill(os.getpid(), signum)
            except KeyboardInterrupt:
                pass  # swallowed, as skorch does
        assert signal.getsignal(signum) is handler
    finally:
        signal.signal(signum, previous)


def test_sigterms_default_handler_is_left_as_it_is():
    with sigint_propagates():  # by default SIGTERM ends the process
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_outside_the_main_thread_nothing_changes():
    errors = []

    def work():
        try:
            with sigint_propagates():
                pass
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
