"""Fixtures of the rollout tests: reuse the control tests' fake Kubernetes API
server (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))

from fake_kube_api import RunningApi, start  # noqa: E402

ISVC_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isvc"


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[RunningApi]:
    """A fresh API server holding the canary fixtures of both styles."""
    running, server = start(tmp_path)
    for name in ("knative-canary.yaml", "standard-canary.yaml"):
        running.api.load(ISVC_FIXTURES / name)
    yield running
    server.shutdown()
    server.server_close()
