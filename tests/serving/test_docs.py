"""The documented contracts match the code: metrics table, settings table, the
container image (hadolint) and the ServingRuntime example."""

from __future__ import annotations

import re

import pytest
import yaml

from shiplane_contracts.metrics import ALL
from shiplane_serving.settings import ENV_PREFIX, ServingSettings
from tests.conftest import REPO

METRICS_DOC = (REPO / "docs" / "metrics.md").read_text()
SERVING_DOC = (REPO / "docs" / "serving.md").read_text()


@pytest.mark.parametrize(
    "spec", [m for m in ALL if m.component == "serving"], ids=lambda m: m.name
)
def test_every_serving_metric_is_documented_as_declared(spec) -> None:  # type: ignore[no-untyped-def]
    row = re.search(rf"^\| `{spec.series}` \| (\w+) \| ([^|]*) \|", METRICS_DOC, re.M)
    assert row, f"{spec.series} missing from docs/metrics.md"
    assert row[1] == spec.kind
    assert re.findall(r"`(\w+)`", row[2]) == list(spec.labels)


def test_metrics_doc_names_nothing_that_is_not_exported() -> None:
    declared = {m.series for m in ALL}
    documented = set(re.findall(r"^\| `(shiplane_\w+)`", METRICS_DOC, re.M))
    assert documented <= declared


def test_every_setting_is_documented() -> None:
    for name in ServingSettings.model_fields:
        flag = "--" + name.replace("_", "-")
        assert f"| `{flag}` | `{ENV_PREFIX}{name.upper()}` |" in SERVING_DOC, name


def test_cluster_serving_runtime_example_is_a_valid_kserve_spec() -> None:
    from kserve.models import V1alpha1ServingRuntimeSpec

    doc = yaml.safe_load(
        (REPO / "serving/deploy/clusterservingruntime.yaml").read_text()
    )
    assert doc["kind"] == "ClusterServingRuntime"
    spec = doc["spec"]
    known = set(V1alpha1ServingRuntimeSpec.attribute_map.values())
    assert set(spec) <= known, set(spec) - known
    container = spec["containers"][0]
    assert container["name"] == "kserve-container"
    assert "--host=0.0.0.0" in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {p["containerPort"] for p in container["ports"]} == {8080}
