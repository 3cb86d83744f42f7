"""Fixtures shared by every test package: real servers on 127.0.0.1, started once
per session, and the external tools `make tools` installs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane import localstack

REPO = Path(__file__).resolve().parents[1]


def require_tool(name: str) -> str:
    """Path of an external tool; fails (never skips) when it is missing, because
    CI installs every tool it needs."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: run `make tools` (scripts/tools.sh)")
    return path


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a real MLflow tracking server (SQLite + local artifacts) shared by the
    whole session. Tests isolate themselves by model and experiment names."""
    workdir = tmp_path_factory.mktemp("mlflow")
    server = localstack.mlflow_server(workdir)
    started = time.monotonic()
    server.start().wait_ready(
        lambda: localstack.http_ok(f"{server.url}/health"), timeout_s=90
    )
    print(f"MLflow server ready at {server.url} in {time.monotonic() - started:.1f}s")
    yield server.url
    server.stop()
