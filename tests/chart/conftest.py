"""Fixtures of the chart tests: the external tools they run."""

from __future__ import annotations

import pytest

from tests.conftest import require_tool


@pytest.fixture(scope="session", autouse=True)
def helm_on_path() -> str:
    """Every chart test renders with the real helm."""
    return require_tool("helm")
