"""run_command: how each ``python -m ecgsk.<command>`` exits."""

import subprocess
import sys

import pytest

from ecgsk._run import run_command


def test_a_ctrl_c_main_does_not_handle_exits_130_without_a_traceback(capsys):
    # python -m ecgsk.predict printed a traceback on every Ctrl-C, and compare and tune
    # did while they imported their libraries.
    def main():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as info:
        run_command(main)
    assert info.value.code == 130
    assert capsys.readouterr().err == "interrupted (Ctrl-C).\n"


def test_main_s_status_is_the_exit_status():
    with pytest.raises(SystemExit) as info:
        run_command(lambda: 2)
    assert info.value.code == 2


def test_predict_interrupted_while_it_predicts_exits_130(tmp_path):
    code = ("import signal, ecgsk.predict._predict as p\n"
            "def ctrl_c(*args, **kwargs):\n"
            "    signal.raise_signal(signal.SIGINT)\n"
            "p.predict_records = ctrl_c\n"
            "from ecgsk._run import run_command\n"
            "from ecgsk.predict._cli import main\n"
            f"run_command(lambda: main(['models:/m/1', {str(tmp_path)!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "interrupted (Ctrl-C)." in proc.stderr
