"""Real Locust, headless, against a real server on 127.0.0.1: the SLO verdict
decides the exit code, the reports are written, bad options stop the run."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.loadtests.loadtest_harness import LocustRun

ALL_SCENARIOS = ["v1.py", "v2.py", "batch.py", "feedback.py"]
LOOSE = (
    "--slo-p95-ms",
    "5000",
    "--slo-p99-ms",
    "10000",
    "--slo-min-rps",
    "1",
    "--slo-min-requests",
    "3",
    "--slo-max-failure-ratio",
    "0",
)


@pytest.mark.mlflow
@pytest.mark.e2e
def test_loose_slos_pass_and_write_reports(
    run_locust: Callable[..., LocustRun], serving_url: str
) -> None:
    run = run_locust(serving_url, ALL_SCENARIOS, *LOOSE)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.verdict.startswith("SLO PASS: requests=")
    for part in ("p95=", "p99=", "failures=0.00%<=0.00%", "rps="):
        assert part in run.verdict
    stats = (run.report_dir / "locust_stats.csv").read_text()
    # Each scenario file shows up in the CSV by its request names.
    for names in (
        ["v1 predict [1 row]"],
        ["v2 infer [1 row]"],
        ["v1 predict [32 rows]", "v2 infer [32 rows]"],
        ["v1 predict [for feedback]"],
    ):
        assert any(name in stats for name in names), f"{names} not in CSV:\n{stats}"
    assert (run.report_dir / "report.html").stat().st_size > 1000
    verdict = json.loads((run.report_dir / "verdict.json").read_text())
    assert verdict["passed"] is True
    assert verdict["observed"]["requests"] >= 3


@pytest.mark.mlflow
@pytest.mark.e2e
def test_missed_slos_fail_with_exit_code_1(
    run_locust: Callable[..., LocustRun], serving_url: str
) -> None:
    """Impossible latency and throughput, and feedback posted to a path the
    server does not have (half the requests 404): each check misses on its own."""
    run = run_locust(
        serving_url,
        ["feedback.py"],
        "--slo-p95-ms",
        "0.001",
        "--slo-min-rps",
        "1e9",
        "--slo-max-failure-ratio",
        "0.01",
        "--feedback-path",
        "/nowhere/{model}",
        run_time="3s",
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert run.verdict.startswith("SLO FAIL: ")
    assert "<1e+09!" in run.verdict and ">1.00%!" in run.verdict
    verdict = json.loads((run.report_dir / "verdict.json").read_text())
    assert {"rps", "failures"} <= set(verdict["slo"]["misses"])
    assert verdict["observed"]["failure_ratio"] > 0.3


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--payload-file", "/nonexistent/rows.json", "does not exist"),
        ("--expected-split", "stable=60,canary=10", "adds up to 70%"),
    ],
)
def test_bad_options_stop_before_any_load(
    run_locust: Callable[..., LocustRun], option: str, value: str, message: str
) -> None:
    # Port 9 (discard) on loopback: nothing may be sent, so nothing need listen.
    run = run_locust("http://127.0.0.1:9", ["v1.py"], option, value)
    assert run.returncode == 2
    assert message in run.stderr
    assert not (run.report_dir / "verdict.json").exists()
