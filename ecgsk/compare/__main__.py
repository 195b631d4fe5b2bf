"""``python -m ecgsk.compare``: see :func:`ecgsk.compare.main`."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
