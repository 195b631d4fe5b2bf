"""Fixtures: an MLflow client on the per-test store of tests/conftest.py."""

import pytest
from mlflow.tracking import MlflowClient


@pytest.fixture
def client(tracking_uri):
    return MlflowClient(tracking_uri)
