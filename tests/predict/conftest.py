"""Stores come from tests/conftest.py; ``new_store`` is re-exported for the tests here."""

from ..conftest import new_store  # noqa: F401
