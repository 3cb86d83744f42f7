"""Real processes for the load-test tests: the serving runtime and the A/B
router on 127.0.0.1 with free ports, and real Locust run headless in a
subprocess."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shiplane import localstack
from tests.conftest import REPO

LOADTESTS = REPO / "loadtests"
FIXTURE_ROWS = REPO / "tests" / "fixtures" / "breast_cancer_rows.json"
LOCUST_TIMEOUT_S = 60


@dataclass(frozen=True)
class LocustRun:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def verdict(self) -> str:
        """The one verdict line (fails the test when there is not exactly one)."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("SLO ")]
        assert len(lines) == 1, (
            f"expected one verdict line:\n{self.stdout}\n{self.stderr}"
        )
        return lines[0]


def start_serving(
    workdir: Path, model_uri: str, model_name: str, tracking_uri: str
) -> localstack.ManagedProcess:
    """``python -m shiplane_serving`` for one registered model, REST only."""
    port = localstack.free_port()
    argv = [
        sys.executable, "-m", "shiplane_serving",
        "--model-uri", model_uri, "--model-name", model_name,
        "--tracking-uri", tracking_uri,
        "--host", localstack.LOOPBACK, "--http-port", str(port), "--grpc-port", "0",
        "--download-dir", str(workdir / "models"),
        "--metrics-dir", str(workdir / "metrics"),
    ]  # fmt: skip
    server = localstack.ManagedProcess(
        "serving",
        argv,
        workdir,
        # The registry download also reads MLflow's own variable (seen with
        # mlflow 3.17: without it, models:/ downloads look in ./mlflow.db).
        env={"MLFLOW_TRACKING_URI": tracking_uri},
        url=f"http://{localstack.LOOPBACK}:{port}",
    )
    return server.start().wait_ready(
        lambda: localstack.http_ok(f"{server.url}/v2/health/ready"), timeout_s=90
    )


def start_router(
    workdir: Path, variants: dict[str, Any], sticky_header: str = "x-user-id"
) -> localstack.ManagedProcess:
    """``python -m shiplane.router`` with the given variants (name -> url, weight)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "router.yaml"
    config.write_text(
        yaml.safe_dump({"variants": variants, "sticky": {"header": sticky_header}})
    )
    port = localstack.free_port()
    argv = [sys.executable, "-m", "shiplane.router", "--config", str(config),
            "--port", str(port), "--log-level", "warning"]  # fmt: skip
    router = localstack.ManagedProcess(
        "router", argv, workdir, url=f"http://{localstack.LOOPBACK}:{port}"
    )
    return router.start().wait_ready(
        lambda: localstack.http_ok(f"{router.url}/healthz"), timeout_s=30
    )
