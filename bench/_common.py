"""Helpers shared by the benchmark scripts of ``bench/``."""

import platform

__all__ = ["cpu_name"]


def cpu_name():
    """The processor's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    name = platform.processor() or platform.machine() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), name)
    except OSError:
        return name
