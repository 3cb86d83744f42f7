"""Fixtures for the training tests: configs written on the fly, unique model
names (the MLflow server is shared by the whole session), an MLflow client, and
a real S3 server with a bucket (shared by the session too)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

from shiplane_tools import localstack
from tests.conftest import require_tool
from tests.training.trainkit import S3Store, WriteConfig


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


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    """A real S3-compatible server (SeaweedFS, ``make tools`` builds it) on a
    free loopback port, its data in a temporary folder, with one bucket and one
    identity; stopped at the end of the session. Tests keep apart by key."""
    require_tool("weed")
    credentials = localstack.S3Credentials("shiplane-test", secrets.token_hex(16))
    server = localstack.s3_server(tmp_path_factory.mktemp("s3"), credentials)
    started = time.monotonic()
    server.start().wait_ready(lambda: localstack.s3_ready(server), timeout_s=60)
    store = S3Store(server.url, "datasets", credentials)
    try:
        store.filesystem(allow_bucket_creation=True).create_dir(store.bucket)
    except OSError:
        server.stop()
        raise
    print(f"S3 server ready at {server.url} in {time.monotonic() - started:.1f}s")
    yield store
    server.stop()
