"""``python -m ecgsk.tune``: see :func:`ecgsk.tune.main`."""

from .._run import run_command
from ._cli import main

if __name__ == "__main__":
    run_command(main)
