"""Helpers shared by the benchmark scripts of ``bench/``."""

import os
import platform

__all__ = ["cpu_name", "torch_machine"]


def cpu_name():
    """The processor's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    name = platform.processor() or platform.machine() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), name)
    except OSError:
        return name


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
