"""Real processes for the load-test tests: the serving runtime and the A/B
router on 127.0.0.1 with free ports, and real Locust run headless in a
subprocess."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane_tools import localstack
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
    server = localstack.serving_server(
        workdir, model_uri, model_name, tracking_uri=tracking_uri
    )
    return server.start().wait_ready(
        lambda: localstack.serving_ready(server), timeout_s=90
    )


def start_router(
    workdir: Path, variants: dict[str, Any], sticky_header: str = "x-user-id"
) -> localstack.ManagedProcess:
    """``python -m shiplane.router`` with the given variants (name -> url, weight)."""
    router = localstack.router_server(
        workdir,
        {"variants": variants, "sticky": {"header": sticky_header}},
        extra=["--log-level", "warning"],
    )
    return router.start().wait_ready(
        lambda: localstack.router_ready(router), timeout_s=30
    )
