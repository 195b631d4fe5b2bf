"""``python -m ecgsk.tune``: see :func:`ecgsk.tune.main`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
