"""Generated files stay in sync with their sources: manifests/ with the chart,
the chart README's values table with values.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shiplane_tools import chartdocs, manifests
from tests.chart import chartkit

pytestmark = pytest.mark.helm


def test_manifests_match_a_fresh_render() -> None:
    assert manifests.stale() == [], "run `make manifests` and commit manifests/"


def test_manifests_check_detects_drift(tmp_path: Path) -> None:
    manifests.write_all(tmp_path)
    assert manifests.stale(tmp_path) == []
    path = tmp_path / "shiplane.yaml"
    path.write_text(path.read_text().replace("runAsUser: 10001", "runAsUser: 0", 1))
    assert manifests.stale(tmp_path) == ["shiplane.yaml"]


def test_manifests_hold_the_platform_and_both_canary_styles() -> None:
    platform = chartkit.parse((manifests.MANIFESTS / "shiplane.yaml").read_text())
    kinds = {o["kind"] for o in platform}
    assert {
        "Namespace",
        "ServingRuntime",
        "PodMonitor",
        "PrometheusRule",
        "NetworkPolicy",
        "Role",
        "ConfigMap",
    } <= kinds
    knative = yaml.safe_load(
        (
            manifests.MANIFESTS / "examples/inferenceservice-knative-canary.yaml"
        ).read_text()
    )
    standard = yaml.safe_load(
        (
            manifests.MANIFESTS / "examples/inferenceservice-standard-canary.yaml"
        ).read_text()
    )
    assert knative["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert standard["spec"]["canary"][0]["trafficPercent"] == 25
    for isvc in (knative, standard):
        assert chartkit.check_kserve_object(isvc) == []


def test_chart_readme_values_table_is_up_to_date() -> None:
    readme = (chartkit.CHART / "README.md").read_text()
    values = (chartkit.CHART / "values.yaml").read_text()
    assert chartdocs.render_readme(readme, values) == readme, "run `make chart-docs`"


def test_every_values_key_is_documented_and_in_the_schema() -> None:
    docs = chartdocs.parse((chartkit.CHART / "values.yaml").read_text())
    assert len(docs) > 100
    schema = yaml.safe_load((chartkit.CHART / "values.schema.json").read_text())

    def in_schema(path: list[str]) -> bool:
        node = schema
        for key in path:
            if "$ref" in node:
                node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
            node = node.get("properties", {}).get(key)
            if node is None:
                return False
        return True

    missing = [d.path for d in docs if not in_schema(d.path.split("."))]
    assert missing == []


def test_undocumented_key_is_reported() -> None:
    text = "# -- documented\na: 1\nb:\n  c: 2\n"
    with pytest.raises(chartdocs.UndocumentedKeyError, match="b.c"):
        chartdocs.parse(text)
