"""Fixtures for the load-test tests: the payload rows, the real serving runtime
on the session's registered model, a real router splitting 90/10 in front of
it, and a helper that runs real Locust headless."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RegisteredModel
from tests.loadtests.loadtest_harness import (
    FIXTURE_ROWS,
    LOADTESTS,
    LOCUST_TIMEOUT_S,
    LocustRun,
    start_router,
    start_serving,
)


@pytest.fixture(scope="session")
def payload_file() -> Path:
    """The rows the tests use are the rows the load sends."""
    if not FIXTURE_ROWS.is_file():
        pytest.fail(f"{FIXTURE_ROWS} is missing: the tests' own rows feed the load")
    return FIXTURE_ROWS


@pytest.fixture(scope="session")
def serving_url(
    registered_model: RegisteredModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The real serving runtime on ``models:/breast-cancer@champion``."""
    server = start_serving(
        tmp_path_factory.mktemp("loadtest-serving"),
        registered_model.model_uri,
        registered_model.name,
        registered_model.tracking_uri,
    )
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def router_90_10(
    serving_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The real A/B router, 90% stable / 10% canary, sticky by ``x-user-id``.

    Both variants point at the same runtime: the split under test is the
    router's assignment, which it reports in ``x-shiplane-variant``."""
    router = start_router(
        tmp_path_factory.mktemp("loadtest-router"),
        {
            "stable": {"url": serving_url, "weight": 90},
            "canary": {"url": serving_url, "weight": 10},
        },
    )
    yield router.url
    router.stop()


@pytest.fixture
def run_locust(tmp_path: Path, payload_file: Path) -> Callable[..., LocustRun]:
    """Run Locust headless against ``host`` with ``loadtests/locust.conf`` and
    the given scenario files and extra options; reports go under tmp_path."""

    def run(
        host: str, scenarios: list[str], *extra: str, run_time: str = "4s"
    ) -> LocustRun:
        report_dir = tmp_path / "reports"
        argv = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            ",".join(str(LOADTESTS / name) for name in scenarios),
            "--config",
            str(LOADTESTS / "locust.conf"),
            "--host",
            host,
            "--run-time",
            run_time,
            "--users",
            "4",
            "--spawn-rate",
            "4",
            "--payload-file",
            str(payload_file),
            "--model-name",
            "breast-cancer",
            "--csv",
            str(report_dir / "locust"),
            "--html",
            str(report_dir / "report.html"),
            "--report-dir",
            str(report_dir),
            "--loglevel",
            "WARNING",
            *extra,
        ]
        done = subprocess.run(
            argv, cwd=tmp_path, capture_output=True, text=True, timeout=LOCUST_TIMEOUT_S
        )
        return LocustRun(done.returncode, done.stdout, done.stderr, report_dir)

    return run
