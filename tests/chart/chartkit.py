"""Render the Shiplane chart with the real `helm` and check what it renders.

Shared by the chart tests: rendering (cached per scenario, helm is the slow part),
and the two validators for what kubernetes-validate cannot see: the KServe
custom resources, checked field by field against the kserve SDK's generated
models, and the prometheus-operator objects, checked structurally.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kserve.models
import yaml

from tests.chart import kserve_schema as schema
from tests.conftest import REPO

CHART = REPO / "charts" / "shiplane"
SCENARIOS = tuple(sorted((CHART / "ci").glob("*-values.yaml")))
NAMESPACE = "shiplane"
RELEASE = "shiplane"

#: The Kubernetes version every core object is validated against (kubectl 1.32 here,
#: Chart.yaml's kubeVersion allows >= 1.29).
KUBERNETES_VERSION = "1.32.0"

KSERVE_KINDS: dict[tuple[str, str], type] = {
    ("serving.kserve.io/v1beta1", "InferenceService"): (
        kserve.models.V1beta1InferenceService
    ),
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): (
        kserve.models.V1alpha1ServingRuntime
    ),
}
MONITORING_GROUP = "monitoring.coreos.com/v1"


class HelmError(RuntimeError):
    """helm exited non-zero; the message carries its stderr."""


def helm(*args: str) -> str:
    """Run helm and return stdout; raise HelmError with stderr on failure."""
    done = subprocess.run(
        ["helm", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise HelmError(done.stderr.strip())
    return done.stdout


def template(
    *values_files: Path,
    set_values: Iterable[str] = (),
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    show_only: str | None = None,
) -> str:
    """`helm template` of the chart; returns the rendered YAML stream."""
    args = ["template", release, str(CHART), "--namespace", namespace]
    for path in values_files:
        args += ["--values", str(path)]
    for item in set_values:
        args += ["--set", item]
    if show_only:
        args += ["--show-only", show_only]
    return helm(*args)


def parse(stream: str) -> list[dict[str, Any]]:
    """The non-empty documents of a YAML stream."""
    return [doc for doc in yaml.safe_load_all(stream) if doc]


@functools.cache
def render_scenario(path: Path) -> str:
    """Rendered YAML of one ci/ scenario (cached: each is rendered once a session)."""
    return template(path)


def objects(stream: str, kind: str | None = None) -> list[dict[str, Any]]:
    """Objects of a rendered stream, optionally of one kind."""
    return [o for o in parse(stream) if kind is None or o["kind"] == kind]


def one(stream: str, kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of a kind (and name) in a rendered stream."""
    found = [
        o
        for o in objects(stream, kind)
        if name is None or o["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Pod specs inside a workload (Deployment, Job, CronJob); [] for other kinds."""
    spec = obj.get("spec", {})
    if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return [spec["template"]["spec"]]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return []


# ---- KServe objects against the SDK's generated models --------------------------


def check_kserve_object(obj: Mapping[str, Any]) -> list[str]:
    """Problems of a rendered InferenceService or ServingRuntime."""
    cls = KSERVE_KINDS[(obj["apiVersion"], obj["kind"])]
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    return schema.validate(dict(obj), cls.__name__, path=where)


# ---- prometheus-operator objects ---------------------------------------------------


def check_monitoring_object(obj: Mapping[str, Any]) -> list[str]:
    """Structural problems of a PodMonitor, ServiceMonitor or PrometheusRule.

    No schema for these CRDs is available offline, so this checks what the
    operator needs to pick them up and what Shiplane relies on.
    """
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    spec = obj.get("spec") or {}
    problems = []
    if obj["apiVersion"] != MONITORING_GROUP:
        problems.append(f"{where}: apiVersion {obj['apiVersion']}")
    selection = {"selector", "namespaceSelector", "jobLabel"}
    allowed = {
        "PodMonitor": selection | {"podMetricsEndpoints"},
        "ServiceMonitor": selection | {"endpoints"},
        "PrometheusRule": {"groups"},
    }[obj["kind"]]
    problems += [f"{where}.spec.{k}: unknown field" for k in spec if k not in allowed]
    if obj["kind"] in {"PodMonitor", "ServiceMonitor"}:
        if not spec.get("selector", {}).get("matchLabels"):
            problems.append(f"{where}: selector.matchLabels is empty")
        endpoints = spec.get("podMetricsEndpoints") or spec.get("endpoints") or []
        if not endpoints:
            problems.append(f"{where}: no endpoints")
        for i, endpoint in enumerate(endpoints):
            if not isinstance(endpoint.get("port"), str):
                problems.append(f"{where}: endpoint {i} has no named port")
            if endpoint.get("path") != "/metrics":
                problems.append(f"{where}: endpoint {i} path is not /metrics")
    else:
        for group in spec.get("groups", []):
            if set(group) - {"name", "interval", "rules"}:
                problems.append(f"{where}: group {group.get('name')} has unknown keys")
            for rule in group.get("rules", []):
                kind = "alert" if "alert" in rule else "record"
                if kind not in rule or not rule.get("expr"):
                    problems.append(f"{where}: rule without alert/record name or expr")
                known = {"alert", "record", "expr", "for", "labels", "annotations"}
                if set(rule) - known:
                    problems.append(f"{where}: rule {rule.get(kind)} has unknown keys")
    return problems
