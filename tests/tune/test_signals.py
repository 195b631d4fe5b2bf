"""SIGINT and SIGTERM during a study: the first raises, a second lets its stop finish."""

import signal

import pytest

from ecgsk.tune._signals import (
    TuneInterrupted,
    check_interrupt,
    interrupt_handlers,
    interrupted,
)


def test_the_first_signal_raises_and_is_remembered():
    with interrupt_handlers():
        assert not interrupted()
        with pytest.raises(TuneInterrupted, match="interrupted by SIGTERM") as caught:
            signal.raise_signal(signal.SIGTERM)
        assert caught.value.signum == signal.SIGTERM and interrupted()
        with pytest.raises(TuneInterrupted, match="SIGTERM"):  # in any thread, later
            check_interrupt()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_a_second_signal_lets_the_stop_of_the_first_finish(capfd):
    # A double Ctrl-C raised again inside the first one's stop: the study's run stayed
    # RUNNING, a trial's run kept state=RUNNING, and the message said no trial had run.
    with interrupt_handlers():
        stopped = []
        try:
            signal.raise_signal(signal.SIGINT)
        except TuneInterrupted:
            signal.raise_signal(signal.SIGTERM)  # during the stop: no new raise
            stopped.append("the stop ran to its end")
        assert stopped == ["the stop ran to its end"]
        with pytest.raises(TuneInterrupted, match="interrupted by SIGINT"):  # the first's
            check_interrupt()
    err = capfd.readouterr().err
    assert err.count("; the study is already stopping") == 1
    assert "note: SIGTERM again; the study is already stopping" in err


def test_a_third_signal_stops_a_stop_that_hangs(capfd):
    with interrupt_handlers():
        try:
            signal.raise_signal(signal.SIGINT)
        except TuneInterrupted:
            signal.raise_signal(signal.SIGINT)  # a note
            with pytest.raises(TuneInterrupted):
                signal.raise_signal(signal.SIGINT)  # the stop hangs: out at once
    assert "note: SIGINT a third time: stopping at once" in capfd.readouterr().err
    with interrupt_handlers():  # each study counts anew
        with pytest.raises(TuneInterrupted):
            signal.raise_signal(signal.SIGINT)


def test_each_study_starts_with_no_signal():
    with interrupt_handlers():
        with pytest.raises(TuneInterrupted):
            signal.raise_signal(signal.SIGINT)
    with interrupt_handlers():
        assert not interrupted()
        check_interrupt()  # raises nothing
