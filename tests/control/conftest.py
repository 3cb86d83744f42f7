"""Fixtures of the control tests: the fake Kubernetes API server (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_kube_api import RunningApi, start

ISVC_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isvc"


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[RunningApi]:
    """A fresh API server holding every fixture InferenceService."""
    running, server = start(tmp_path)
    # The *-promoted/*-stable fixtures share names with the canary ones; tests
    # that need them load them over the canary.
    for name in ("knative-canary", "standard-canary", "both-styles"):
        running.api.load(ISVC_FIXTURES / f"{name}.yaml")
    yield running
    server.shutdown()
    server.server_close()
