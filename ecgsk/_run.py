"""How each ``python -m ecgsk.<command>`` runs its ``main`` as the program."""

import os
import sys

__all__ = ["run_command"]

#: The status a shell gives a process that SIGPIPE ended (128 + 13).
BROKEN_PIPE_STATUS = 141


#: The status a shell gives a process that SIGINT (Ctrl-C) ended (128 + 2).
INTERRUPTED_STATUS = 130


def run_command(main):
    """Exit with ``main()``'s status; quietly when the reader of stdout goes away or on Ctrl-C.

    ``python -m ecgsk.compare --list | head`` closes the pipe after ten
    lines: the next write raises :class:`BrokenPipeError`, which is no error
    of the command. As Python's documentation advises (:mod:`signal`, "Note
    on SIGPIPE"), stdout is then pointed at ``os.devnull``, so the flush at
    exit does not raise again, and the status is the one a shell reports
    for a process ended by SIGPIPE.

    A character that stdout's encoding cannot write (``±`` in an ASCII or
    cp1252 stream, a path's ``é``) is written escaped, as stderr writes it:
    the table printed at the end of ``compare`` raised, after every fit, and
    the comparison run ended FAILED without its reports.

    A Ctrl-C that ``main`` does not handle itself (while it imports its
    libraries, say, or in a command with nothing to save) prints one line,
    not a traceback. Interrupted either way (``main`` returning 130 after
    handling it), the process ends as Python ends one that Ctrl-C stopped:
    killed by SIGINT after its exit handlers, status 130 in a shell. An
    exit with 130 instead let a shell loop of commands go on to the next.

    Parameters
    ----------
    main : callable
        The command line's ``main()``, returning its exit status.

    Returns
    -------
    NoReturn
        Raises :class:`SystemExit` with the status, or, interrupted,
        :class:`KeyboardInterrupt` for Python to end the program with (the
        one line printed by ``sys.excepthook``): call it as a program's last
        statement.
    """
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a TextIOWrapper; not a test's capture
        reconfigure(errors="backslashreplace")
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        _end_interrupted("interrupted (Ctrl-C).")
    if status == INTERRUPTED_STATUS:
        _end_interrupted(None)  # main said so itself
    raise SystemExit(status)


def _end_interrupted(message):
    """Raise KeyboardInterrupt to Python, which prints ``message`` (no traceback) and exits.

    CPython ends a program that an unhandled KeyboardInterrupt stopped by
    killing itself with SIGINT once it has finalised: a shell then stops its
    loop or script, as it does only for a child that SIGINT killed.
    """
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if not issubclass(kind, KeyboardInterrupt):
            previous(kind, value, traceback)
        elif message:
            print(message, file=sys.stderr)

    sys.excepthook = hook
    raise KeyboardInterrupt from None
