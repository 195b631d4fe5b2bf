"""``python -m ecgsk.datasets``."""

from .._run import run_command
from ._cli import main

if __name__ == "__main__":
    run_command(main)
