"""``analyze`` and ``rollout`` reading the InferenceServices the chart rendered
(official kubernetes client -> the real kube-apiserver, KServe's webhooks and
controller) and judging from a real Prometheus."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiplane.cli import main
from shiplane_contracts.identity import (
    CANARY_VERSION_ANNOTATION,
    HISTORY_ANNOTATION,
    MODEL_NAME_ANNOTATION,
    STABLE_VERSION_ANNOTATION,
    pinned_uri,
)
from tests.analysis.contract_exporter import WINDOW_S
from tests.kubekit import CHART, Release, isvc_versions_since

pytestmark = [pytest.mark.prometheus, pytest.mark.kube]
KNATIVE_CANARY = CHART / "ci" / "02-knative-canary-values.yaml"
MODELS = ("good", "slow", "idle")
"""Scenarios of the exporter (conftest.py) that have an InferenceService."""


@pytest.fixture
def release(install_chart: Callable[..., Release], tmp_path: Path) -> Release:
    """The chart's Knative canary scenario (02), its breast-cancer entry once
    per model named after the exporter's scenarios: stable v1, canary v2 at
    10%."""
    values = yaml.safe_load(KNATIVE_CANARY.read_text())
    template = values["inferenceServices"].pop("breast-cancer")
    for model in MODELS:
        isvc = copy.deepcopy(template)
        isvc["model"]["mlflowUri"] = pinned_uri(model, 1)
        isvc["canary"]["knative"]["model"]["mlflowUri"] = pinned_uri(model, 2)
        values["inferenceServices"][model] = isvc
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    installed = install_chart(path)
    for model in MODELS:
        annotations = installed.get(model)["metadata"]["annotations"]
        assert (
            annotations[MODEL_NAME_ANNOTATION],
            annotations[STABLE_VERSION_ANNOTATION],
            annotations[CANARY_VERSION_ANNOTATION],
        ) == (model, "1", "2")
    return installed


def _common(prometheus_url: str, release: Release) -> list[str]:
    return [
        "--kubeconfig",
        str(release.kubeconfig),
        "--prometheus-url",
        prometheus_url,
        "--window",
        f"{WINDOW_S}s",
    ]


def _history(obj: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(
        obj["metadata"]["annotations"][HISTORY_ANNOTATION]
    )
    return entries


def test_analyze_resolves_versions_from_the_inferenceservice(
    prometheus_url: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "good", *_common(prometheus_url, release)]) == 0
    out = capsys.readouterr().out
    assert "stable v1 (InferenceService), canary v2 (InferenceService)" in out
    assert (
        main(["analyze", "slow", "-o", "json", *_common(prometheus_url, release)]) == 1
    )
    assert json.loads(capsys.readouterr().out)["outcome"] == "fail"


def test_rollout_of_an_inferenceservice_promotes_a_good_canary(
    prometheus_url: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "rollout",
            "good",
            "--steps",
            "25,50,100",
            "--interval",
            "1s",
            "--no-mlflow",
            "--actor",
            "ci",
            *_common(prometheus_url, release),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "rollout PROMOTED" in out
    obj = release.get("good")
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]
    assert obj["metadata"]["annotations"][STABLE_VERSION_ANNOTATION] == "2"
    entry = _history(obj)[-1]
    assert (entry["action"], entry["by"], entry["verdict"]) == ("promote", "ci", "pass")


def test_rollout_of_an_inferenceservice_rolls_back_a_slow_canary(
    prometheus_url: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "rollout",
            "slow",
            "--steps",
            "25,100",
            "--interval",
            "1s",
            "--max-failures",
            "0",
            "--no-mlflow",
            *_common(prometheus_url, release),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "ROLLED BACK" in out and "latency p95" in out
    obj = release.get("slow")
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0
    entry = _history(obj)[-1]
    assert (entry["action"], entry["verdict"]) == ("rollback", "fail")
    # The rollout acted as the kubeconfig's user, the chart's operator.
    assert entry["by"] == "alice"


def test_rollout_does_not_start_when_queries_are_not_ready(
    prometheus_url: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    before = release.get("good")
    code = main(
        [
            "rollout",
            "good",
            "--interval",
            "1s",
            "--no-mlflow",
            "--error-codes",
            "5(",
            *_common(prometheus_url, release),
        ]
    )
    assert code == 5
    assert "not started" in capsys.readouterr().err
    # Traffic untouched: no version the API server stored since differs in
    # spec or annotations (KServe may still write its status).
    since = str(before["metadata"]["resourceVersion"])
    for obj in [*isvc_versions_since(release, "good", since), release.get("good")]:
        assert obj["spec"] == before["spec"]
        assert obj["metadata"]["annotations"] == before["metadata"]["annotations"]
