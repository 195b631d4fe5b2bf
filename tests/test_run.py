"""run_command: how each ``python -m ecgsk.<command>`` exits."""

import signal
import subprocess
import sys

import pytest

from ecgsk._run import run_command


def _run(code, tmp_path):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_a_ctrl_c_main_does_not_handle_ends_the_process_by_sigint_without_a_traceback(
        tmp_path):
    # python -m ecgsk.predict printed a traceback on every Ctrl-C, and compare and tune did
    # while they imported their libraries. Killed by SIGINT (status 130 in a shell), not
    # exiting with 130, so that a shell loop of commands stops too.
    proc = _run("import atexit\n"
                "atexit.register(lambda: print('exit handlers ran'))\n"
                "from ecgsk._run import run_command\n"
                "def main():\n"
                "    raise KeyboardInterrupt\n"
                "run_command(main)\n", tmp_path)
    assert proc.returncode == -signal.SIGINT
    assert proc.stderr == "interrupted (Ctrl-C).\n"
    assert proc.stdout == "exit handlers ran\n"


def test_a_command_that_handled_ctrl_c_itself_ends_by_sigint_too(tmp_path):
    proc = _run("import sys\n"
                "from ecgsk._run import run_command\n"
                "def main():\n"
                "    print('interrupted: the open runs are marked KILLED', file=sys.stderr)\n"
                "    return 130\n"
                "run_command(main)\n", tmp_path)
    assert proc.returncode == -signal.SIGINT
    assert proc.stderr == "interrupted: the open runs are marked KILLED\n"  # said once


def test_what_stdout_cannot_encode_is_written_escaped(tmp_path):
    # compare's table ("0.406 ± 0.018") raised UnicodeEncodeError on an ASCII or cp1252
    # stdout, after every fit: the comparison run ended FAILED without its reports.
    import os

    proc = subprocess.run(
        [sys.executable, "-c", "from ecgsk._run import run_command\n"
                               "run_command(lambda: print('0.406 \u00b1 0.018 in d\u00edr') "
                               "or 0)\n"],
        capture_output=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"0.406 \\xb1 0.018 in d\\xedr\n"


def test_main_s_status_is_the_exit_status():
    with pytest.raises(SystemExit) as info:
        run_command(lambda: 2)
    assert info.value.code == 2


def test_predict_interrupted_while_it_predicts_ends_by_sigint(tmp_path):
    code = ("import signal, ecgsk.predict._predict as p\n"
            "def ctrl_c(*args, **kwargs):\n"
            "    signal.raise_signal(signal.SIGINT)\n"
            "p.predict_records = ctrl_c\n"
            "from ecgsk._run import run_command\n"
            "from ecgsk.predict._cli import main\n"
            f"run_command(lambda: main(['models:/m/1', {str(tmp_path)!r}]))\n")
    proc = _run(code, tmp_path)
    assert proc.returncode == -signal.SIGINT, proc.stderr
    assert "Traceback" not in proc.stderr and "interrupted (Ctrl-C)." in proc.stderr
