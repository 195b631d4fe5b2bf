"""Shared fixtures: the real-data root and small synthetic ECGs."""

import os
from pathlib import Path

import numpy as np
import pytest


def _data_root():
    root = os.environ.get("ECGSK_DATA")
    return Path(root).resolve() if root else None


def _require(sub):
    root = _data_root()
    if root is None:
        pytest.skip("ECGSK_DATA is not set: real PhysioNet data is needed "
                    "(CI sets ECGSK_DATA=../shared/data)")
    path = root / sub
    if not path.exists():
        # The variable is set, so the data is expected: fail loudly, never skip.
        pytest.fail(f"ECGSK_DATA={root} has no {sub!r} folder")
    return path


@pytest.fixture(scope="session")
def data_root():
    """The ECGSK_DATA folder; skips when the variable is unset."""
    return _require(".")


@pytest.fixture(scope="session")
def ptbxl_root():
    return _require("ptb-xl")


@pytest.fixture(scope="session")
def cinc_root():
    return _require("cinc2017")


@pytest.fixture(scope="session")
def ptbdb_root():
    return _require("ptbdb")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
