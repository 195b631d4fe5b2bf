"""Whether a process of this machine still runs (for the leftovers of killed ones)."""

import os

__all__ = ["pid_alive"]


def pid_alive(pid):
    """True while process ``pid`` of this machine exists, another user's included.

    Parameters
    ----------
    pid : int
        The process id.

    Returns
    -------
    bool
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and is not ours
    return True
