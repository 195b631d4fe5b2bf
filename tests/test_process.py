"""pid_alive: whether a process of this machine still runs."""

import os
import subprocess
import sys

from ecgsk._process import pid_alive


def test_this_process_is_alive_and_an_ended_one_is_not():
    assert pid_alive(os.getpid())
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert not pid_alive(int(ended))
