"""Fixtures for the training tests: configs written on the fly, unique model
names (the MLflow server is shared by the whole session), an MLflow client."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

from tests.training.trainkit import WriteConfig


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered model name no other test uses."""
    stem = request.node.name.replace("_", "-").replace("[", "-").strip("]-")[:40]
    return f"{stem}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write a config dict as YAML in tmp_path; returns its path."""

    def write(config: dict[str, Any], name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    return write


@pytest.fixture
def client(mlflow_uri: str) -> MlflowClient:
    """MLflow client on the session's server. Also sets the global tracking URI,
    which ``models:/`` downloads resolve the registry through."""
    mlflow.set_tracking_uri(mlflow_uri)
    return MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
