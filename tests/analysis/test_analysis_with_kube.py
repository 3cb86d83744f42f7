"""``analyze`` and ``rollout`` reading the InferenceService (official kubernetes
client -> real HTTP API server) and judging from a real Prometheus."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from contract_exporter import WINDOW_S

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from fake_kube_api import RunningApi, start  # noqa: E402

from shiplane.cli import main  # noqa: E402
from shiplane.identity import (  # noqa: E402
    CANARY_VERSION_ANNOTATION,
    HISTORY_ANNOTATION,
    MODEL_NAME_ANNOTATION,
    STABLE_VERSION_ANNOTATION,
)

pytestmark = pytest.mark.prometheus
KNATIVE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "isvc" / "knative-canary.yaml"
)


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[RunningApi]:
    """InferenceServices named after the exporter's scenarios."""
    running, server = start(tmp_path)
    base = yaml.safe_load(KNATIVE.read_text())
    for model in ("good", "slow", "idle"):
        obj = copy.deepcopy(base)
        obj["metadata"]["name"] = model
        obj["metadata"]["annotations"].update({
            MODEL_NAME_ANNOTATION: model, STABLE_VERSION_ANNOTATION: "1",
            CANARY_VERSION_ANNOTATION: "2"})  # fmt: skip
        running.api.put(obj)
    yield running
    server.shutdown()
    server.server_close()


def _common(prometheus_url: str, kube_api: RunningApi) -> list[str]:
    return ["--kubeconfig", str(kube_api.kubeconfig), "--prometheus-url",
            prometheus_url, "--window", f"{WINDOW_S}s"]  # fmt: skip


def test_analyze_resolves_versions_from_the_inferenceservice(
    prometheus_url: str, kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", "good", *_common(prometheus_url, kube_api)]) == 0
    out = capsys.readouterr().out
    assert "stable v1 (InferenceService), canary v2 (InferenceService)" in out
    assert (
        main(["analyze", "slow", "-o", "json", *_common(prometheus_url, kube_api)]) == 1
    )
    assert json.loads(capsys.readouterr().out)["outcome"] == "fail"


def test_rollout_of_an_inferenceservice_promotes_a_good_canary(
    prometheus_url: str, kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
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
            *_common(prometheus_url, kube_api),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "rollout PROMOTED" in out
    obj = kube_api.api.get("models", "good")
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]
    entry = json.loads(obj["metadata"]["annotations"][HISTORY_ANNOTATION])[-1]
    assert (entry["action"], entry["by"], entry["verdict"]) == ("promote", "ci", "pass")


def test_rollout_of_an_inferenceservice_rolls_back_a_slow_canary(
    prometheus_url: str, kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rollout", "slow", "--steps", "25,100", "--interval", "1s",
                 "--max-failures", "0", "--no-mlflow",
                 *_common(prometheus_url, kube_api)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    assert "ROLLED BACK" in out and "latency p95" in out
    assert (
        kube_api.api.get("models", "slow")["spec"]["predictor"]["canaryTrafficPercent"]
        == 0
    )


def test_rollout_does_not_start_when_queries_are_not_ready(
    prometheus_url: str, kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "rollout",
            "good",
            "--interval",
            "1s",
            "--no-mlflow",
            "--error-codes",
            "5(",
            *_common(prometheus_url, kube_api),
        ]
    )
    assert code == 5
    assert "not started" in capsys.readouterr().err
    assert kube_api.api.patches() == []
