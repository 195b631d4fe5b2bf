"""Helpers shared by the benchmark scripts of ``bench/``."""

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["code_version", "cpu_name", "torch_machine"]


def cpu_name():
    """The processor's model name (what runs record in their tag ``ecgsk.cpu``)."""
    from ecgsk.tracking._params import cpu_model

    return cpu_model()


def code_version():
    """The repository's commit (``-dirty`` with uncommitted changes), else ecgsk's version."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        import ecgsk

        return f"ecgsk {ecgsk.__version__}"
    return commit + ("-dirty" if dirty else "")


def torch_machine():
    """CPU, cores, torch threads and versions: the common lines of a report's machine."""
    import torch

    return {
        "cpu": cpu_name(),
        "logical cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
