"""The canary split check: its statistics on known counts, and end to end with
real Locust against a real server that splits 90/10 sticky by user id."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from types import ModuleType

import pytest

from tests.loadtests.loadtest_harness import LOADTESTS, LocustRun


def _load_split() -> ModuleType:
    # By path and under its own name: importing loadtests/common as a package
    # would import Locust (and gevent's monkey-patching) into pytest.
    spec = importlib.util.spec_from_file_location(
        "shiplane_loadtests_split", LOADTESTS / "common" / "split.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


split = _load_split()


def _tracker(stable: int, canary: int, violations: int = 0) -> object:
    tracker = split.SplitTracker()
    for i in range(stable):
        tracker.record("stable", f"s{i}")
    for i in range(canary):
        tracker.record("canary", f"c{i}")
    for i in range(violations):
        tracker.record("stable", f"v{i}")
        tracker.record("canary", f"v{i}")
    return tracker


def test_parse_expected_split() -> None:
    assert split.parse_expected_split("canary=10") == {"canary": 0.1, "stable": 0.9}
    assert split.parse_expected_split("a=50, b=30, c=20") == {
        "a": 0.5,
        "b": 0.3,
        "c": 0.2,
    }
    for bad in ("canary", "=10", "a=0,b=100", "a=60,b=60", "a=50,a=50", "x=abc"):
        with pytest.raises(split.SplitSpecError):
            split.parse_expected_split(bad)


@pytest.mark.parametrize(
    ("stable", "canary", "passed"),
    [
        (450, 50, True),  # exactly 90/10
        (440, 60, True),  # 12%: within sampling noise for 500 users
        (400, 100, False),  # 20%: far outside
        (500, 0, False),  # the canary got nothing
    ],
)
def test_binomial_decision(stable: int, canary: int, passed: bool) -> None:
    result = split.check_split(
        _tracker(stable, canary), {"stable": 0.9, "canary": 0.1}, 0.001, 50
    )
    assert result.passed is passed, result.summary
    assert result.units == stable + canary


def test_users_count_once_and_stickiness_violations_fail() -> None:
    tracker = _tracker(90, 10)
    for _ in range(100):  # many requests of one user are still one draw
        tracker.record("canary", "c0")
    result = split.check_split(tracker, {"stable": 0.9, "canary": 0.1}, 0.001, 50)
    assert result.passed and result.units == 100

    result = split.check_split(
        _tracker(90, 10, violations=1), {"stable": 0.9, "canary": 0.1}, 0.001, 50
    )
    assert not result.passed and "saw two variants" in result.summary


def test_no_traffic_or_unknown_variant_never_passes() -> None:
    expected = {"stable": 0.9, "canary": 0.1}
    assert not split.check_split(split.SplitTracker(), expected, 0.001, 50).passed
    assert not split.check_split(_tracker(9, 1), expected, 0.001, 50).passed
    tracker = _tracker(90, 10)
    tracker.record("shadow", None)
    assert (
        "unexpected variants" in split.check_split(tracker, expected, 0.001, 50).summary
    )


def test_chi_square_for_three_variants() -> None:
    tracker = split.SplitTracker()
    for name, count in (("a", 500), ("b", 300), ("c", 200)):
        for _ in range(count):
            tracker.record(name, None)
    expected = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert split.check_split(tracker, expected, 0.001, 50).passed
    assert not split.check_split(
        tracker, {"a": 0.2, "b": 0.3, "c": 0.5}, 0.001, 50
    ).passed


# Loose SLOs: only the split may decide. 25 units keep the test quick on a busy
# machine and still reject 50% vs a true 10% at p < 1e-4.
STICKY = (
    "--slo-min-rps",
    "1",
    "--slo-min-requests",
    "10",
    "--slo-p95-ms",
    "5000",
    "--slo-p99-ms",
    "10000",
    "--requests-per-user-id",
    "2",
    "--wait-max-s",
    "0",
    "--split-min-units",
    "25",
)


@pytest.mark.mlflow
@pytest.mark.e2e
def test_split_passes_at_the_configured_90_10(
    run_locust: Callable[..., LocustRun], router_90_10: str
) -> None:
    run = run_locust(
        router_90_10,
        ["sticky_router.py"],
        *STICKY,
        "--expected-split",
        "canary=10",
        run_time="12s",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "x-shiplane-variant:split=canary:" in run.verdict
    details = json.loads((run.report_dir / "verdict.json").read_text())["split"]
    assert details["passed"] and details["sticky_violations"] == 0
    assert details["units"] >= 25


@pytest.mark.mlflow
@pytest.mark.e2e
def test_split_fails_when_the_expected_split_is_wrong(
    run_locust: Callable[..., LocustRun], router_90_10: str
) -> None:
    run = run_locust(
        router_90_10,
        ["sticky_router.py"],
        *STICKY,
        "--expected-split",
        "canary=50",
        run_time="12s",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.verdict.startswith("SLO FAIL: ")
    details = json.loads((run.report_dir / "verdict.json").read_text())
    assert details["slo"]["passed"] is True, "only the split may fail here"
    assert details["split"]["p_value"] < 0.001
