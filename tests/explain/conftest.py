"""Fixtures shared with tests/compare: MLflow stores, the signal cache, pipeline sources."""

from ..compare.conftest import (  # noqa: F401 -- fixtures are registered by import
    FLAT_LR,
    empty_store,
    signal_cache,
    tracking_uri,
    write_module,
)
