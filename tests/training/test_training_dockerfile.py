"""The training image's Dockerfile passes hadolint and keeps its promises
(non-root, slim base, the training entry point). No Docker daemon here, so the
image itself is not built in tests."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO, require_tool

DOCKERFILE = REPO / "training" / "Dockerfile"


def test_hadolint_passes() -> None:
    hadolint = require_tool("hadolint")
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_runs_as_non_root_from_a_slim_base() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "USER 10001:10001" in text
    assert 'ENTRYPOINT ["python", "-m", "shiplane_training"]' in text
    final_stage = text.rsplit("FROM ", 1)[1]
    assert "uv" not in final_stage.split("ENV", 1)[0].replace("useradd", "")
