"""The rule file the chart ships: promtool-valid, unit-tested, on the contract."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from shiplane_contracts import metrics
from shiplane_tools.observability import promql, rules
from tests.conftest import require_tool

RULE_TESTS = Path(__file__).with_name("rules")
REQUIRED_ALERTS = {
    "ShiplaneLatencyP99High",
    "ShiplaneErrorRatioHigh",
    "ShiplaneDriftShareHigh",
    "ShiplaneCanaryWorseThanStable",
    "ShiplaneNoTraffic",
    "ShiplaneModelNotReady",
    "ShiplaneDriftBaselineMissing",
}
CONTRACT = {name for spec in metrics.ALL for name in metrics.exported_series(spec)}


@pytest.mark.prometheus
def test_promtool_check_rules() -> None:
    promtool = require_tool("promtool")
    done = subprocess.run(
        [promtool, "check", "rules", str(rules.RULES_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.prometheus
def test_promtool_unit_tests() -> None:
    promtool = require_tool("promtool")
    test_files = sorted(RULE_TESTS.glob("*.test.yaml"))
    assert test_files
    done = subprocess.run(
        [promtool, "test", "rules", *map(str, test_files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=RULE_TESTS,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_required_alert_exists_with_severity_and_for() -> None:
    raw = {
        r["alert"]: r
        for g in yaml.safe_load(rules.RULES_FILE.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert set(raw) == REQUIRED_ALERTS
    for name, rule in raw.items():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert rule.get("for"), f"{name} fires on a single evaluation"
        assert {"summary", "description"} <= set(rule["annotations"]), name


def test_every_alert_is_unit_tested() -> None:
    tested = {
        line.split(":", 1)[1].strip()
        for path in RULE_TESTS.glob("*.test.yaml")
        for line in path.read_text().splitlines()
        if line.strip().startswith("alertname:")
    }
    assert REQUIRED_ALERTS <= tested


def test_rules_read_only_contract_series_or_recorded_ones() -> None:
    recorded = rules.recorded_series()
    unknown = {
        f"{rule.name}: {name}"
        for rule in rules.load()
        for name in promql.referenced_series(rule.expr)
        if name not in CONTRACT | recorded
    }
    assert unknown == set()


def test_recording_rules_use_level_metric_operations_names() -> None:
    for name in rules.recorded_series():
        level, metric, operations = name.split(":")
        assert level in {"model", "model_version"}, name
        assert metric.startswith("shiplane_") and operations, name


def test_series_extraction_finds_names_and_ignores_labels() -> None:
    expr = (
        'sum by (model, le) (rate(shiplane_request_duration_seconds_bucket{code="5xx", '
        'model=~"$model"}[5m])) / on (model) group_left (alias) '
        "model_version:shiplane_model_alias:info and on () vector(1) > bool 0"
    )
    assert promql.referenced_series(expr) == {
        "shiplane_request_duration_seconds_bucket",
        "model_version:shiplane_model_alias:info",
    }
