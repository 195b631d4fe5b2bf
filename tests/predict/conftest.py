"""Fixtures shared with tests/compare: empty MLflow stores copied per test."""

from ..compare.conftest import empty_store, new_store  # noqa: F401 -- fixtures register by import
