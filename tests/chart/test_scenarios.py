"""Every ci/ scenario lints, renders and validates: core objects against the
pinned Kubernetes schemas, KServe objects against the kserve SDK's models,
prometheus-operator objects structurally, everything through checkov and yamllint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from tests.chart import chartkit
from tests.conftest import require_tool

pytestmark = pytest.mark.helm

SCENARIO_IDS = [p.name.removesuffix("-values.yaml") for p in chartkit.SCENARIOS]


def test_the_six_scenarios_exist() -> None:
    expected = {
        "minimal",
        "knative-canary",
        "standard-canary",
        "mlflow",
        "router",
        "everything",
    }
    assert {s.split("-", 1)[1] for s in SCENARIO_IDS} == expected


@pytest.mark.parametrize("scenario", chartkit.SCENARIOS, ids=SCENARIO_IDS)
def test_helm_lint_strict(scenario: Path) -> None:
    out = chartkit.helm(
        "lint", "--strict", str(chartkit.CHART), "--values", str(scenario)
    )
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("scenario", chartkit.SCENARIOS, ids=SCENARIO_IDS)
def test_core_objects_match_kubernetes_schemas(scenario: Path) -> None:
    rendered = chartkit.objects(chartkit.render_scenario(scenario))
    core = [
        o
        for o in rendered
        if (o["apiVersion"], o["kind"]) not in chartkit.KSERVE_KINDS
        and o["apiVersion"] != chartkit.MONITORING_GROUP
    ]
    assert core, "nothing rendered"
    for obj in core:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, chartkit.KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{where}: {err.message} at {list(err.path)}")


@pytest.mark.parametrize("scenario", chartkit.SCENARIOS, ids=SCENARIO_IDS)
def test_kserve_objects_match_the_sdk_models(scenario: Path) -> None:
    rendered = chartkit.objects(chartkit.render_scenario(scenario))
    kserve_objects = [
        o for o in rendered if (o["apiVersion"], o["kind"]) in chartkit.KSERVE_KINDS
    ]
    assert any(o["kind"] == "ServingRuntime" for o in kserve_objects)
    problems = [p for o in kserve_objects for p in chartkit.check_kserve_object(o)]
    assert problems == []


@pytest.mark.parametrize("scenario", chartkit.SCENARIOS, ids=SCENARIO_IDS)
def test_monitoring_objects_are_well_formed(scenario: Path) -> None:
    rendered = chartkit.objects(chartkit.render_scenario(scenario))
    monitoring = [o for o in rendered if o["apiVersion"] == chartkit.MONITORING_GROUP]
    assert {o["kind"] for o in monitoring} >= {"PodMonitor", "PrometheusRule"}
    problems = [p for o in monitoring for p in chartkit.check_monitoring_object(o)]
    assert problems == []


def test_sdk_validator_catches_unknown_and_mistyped_fields() -> None:
    """The validator above must be able to fail."""
    isvc = chartkit.one(
        chartkit.render_scenario(
            chartkit.CHART / "ci" / "03-standard-canary-values.yaml"
        ),
        "InferenceService",
    )
    isvc["spec"]["canary"][0]["trafficPrecent"] = 10
    isvc["spec"]["predictor"]["minReplicas"] = "2"
    isvc["spec"]["predictor"]["model"]["env"][0]["valueFrom"] = {"secretRef": {}}
    problems = chartkit.check_kserve_object(isvc)
    where = "InferenceService/breast-cancer.spec"
    assert (
        f"{where}.canary[0].trafficPrecent: unknown field of V1beta1CanarySpec"
        in problems
    )
    assert f"{where}.predictor.minReplicas: expected int, got str" in problems
    assert any(
        "valueFrom.secretRef: unknown field of V1EnvVarSource" in p for p in problems
    )


def test_checkov_finds_no_failed_check(tmp_path: Path) -> None:
    """One checkov run over every scenario (it costs ~15 s a run), each scenario in
    its own namespace so that objects of different scenarios do not collide."""
    require_tool("checkov")
    streams = [
        chartkit.template(path, namespace=f"shiplane-{i}")
        for i, path in enumerate(chartkit.SCENARIOS, start=1)
    ]
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text("\n---\n".join(streams))
    done = subprocess.run(
        [
            "checkov",
            "-f",
            str(rendered),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"].get("failed_checks", [])
    ]
    assert summary["passed"] > 100, summary
    assert failed == []
    # Every suppression carries its reason inline (checkov.io/skipN: ID=reason).
    skipped = report["results"].get("skipped_checks", [])
    assert skipped, "the images are tag-pinned: CKV_K8S_43 must show as suppressed"
    for check in skipped:
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason) > 20, check["check_id"]


def test_yamllint_passes_on_chart_files_and_rendered_output(tmp_path: Path) -> None:
    require_tool("yamllint")
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    for path in chartkit.SCENARIOS:
        (rendered / path.name).write_text(chartkit.render_scenario(path))
    targets = [
        chartkit.CHART / "Chart.yaml",
        chartkit.CHART / "values.yaml",
        chartkit.CHART / "ci",
        chartkit.CHART / "files" / "rules",
        chartkit.REPO / "manifests",
        chartkit.REPO / "tests" / "observability" / "rules",
        rendered,
    ]
    done = subprocess.run(
        [
            "yamllint",
            "--strict",
            "-c",
            str(chartkit.REPO / "charts" / ".yamllint"),
            *map(str, targets),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
