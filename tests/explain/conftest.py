"""Pipeline sources shared with tests/compare (stores and the signal cache: tests/conftest.py)."""

from ..compare.conftest import FLAT_LR  # noqa: F401
from ..conftest import write_module  # noqa: F401
