"""Every CLI verb against the real local control plane: the InferenceServices
are the chart's own (helm-installed into a namespace of each test's own), the
CLI acts as ``alice`` through the chart's operator Role, and every refusal,
conflict and admission decision comes from the real kube-apiserver and KServe's
webhooks. Both canary styles: Knative (ci/02) and Standard (ci/03).

KServe runs in Standard mode and there is no Knative here: a Knative-mode
InferenceService is stored but never reconciled, so where ``status`` must show
a Knative canary's traffic the test writes the status subresource as KServe on
Knative reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.rest import RESTClientObject

from shiplane.cli import main
from shiplane.control import kube as control_kube
from shiplane_contracts.identity import HISTORY_ANNOTATION
from tests.conftest import require_tool
from tests.kubekit import CHART, OPERATOR, Release, settled_isvc

ISVC = "breast-cancer"
KNATIVE = CHART / "ci" / "02-knative-canary-values.yaml"
"""Knative mode: stable v1, canary v2 at canaryTrafficPercent 10."""
STANDARD = CHART / "ci" / "03-standard-canary-values.yaml"
"""Standard mode: stable v1, spec.canary[0] ``challenger`` (v2) at 25%."""
SCENARIOS = {"knative": KNATIVE, "standard": STANDARD}
PERCENT_PATHS: dict[str, tuple[str | int, ...]] = {
    "knative": ("spec", "predictor", "canaryTrafficPercent"),
    "standard": ("spec", "canary", 0, "trafficPercent"),
}
NO_CANARY = {
    "knative": "inferenceServices.breast-cancer.canary.knative.enabled=false",
    "standard": "inferenceServices.breast-cancer.canary.standard.enabled=false",
}

#: What KServe on Knative reports mid-canary: the latest revision (v2) gets
#: the canary's 10%, the previously rolled-out one (v1) the rest.
KNATIVE_CANARY_STATUS: dict[str, Any] = {
    "url": "http://breast-cancer.models.example.com",
    "address": {"url": "http://breast-cancer.models.svc.cluster.local"},
    "components": {
        "predictor": {
            "latestCreatedRevision": "breast-cancer-predictor-00002",
            "latestReadyRevision": "breast-cancer-predictor-00002",
            "latestRolledoutRevision": "breast-cancer-predictor-00001",
            "previousRolledoutRevision": "breast-cancer-predictor-00001",
            "traffic": [
                {
                    "latestRevision": True,
                    "percent": 10,
                    "tag": "latest",
                    "revisionName": "breast-cancer-predictor-00002",
                },
                {
                    "latestRevision": False,
                    "percent": 90,
                    "tag": "prev",
                    "revisionName": "breast-cancer-predictor-00001",
                },
            ],
        }
    },
    "conditions": [
        {"type": kind, "status": "True", "lastTransitionTime": "2026-12-01T06:40:02Z"}
        for kind in ("IngressReady", "PredictorReady", "PredictorRouteReady", "Ready")
    ],
}


@dataclass(frozen=True)
class Sent:
    """One request the CLI's Kubernetes client put on the wire."""

    method: str
    url: str
    content_type: str
    body: Any


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request the official client sends (it still reaches the server)."""
    sent: list[Sent] = []
    real: Any = RESTClientObject.request

    def request(
        self: RESTClientObject,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
        **kwargs: Any,
    ) -> Any:
        content_type = (headers or {}).get("Content-Type", "")
        sent.append(Sent(method, url, content_type, body))
        return real(self, method, url, headers=headers, body=body, **kwargs)

    monkeypatch.setattr(RESTClientObject, "request", request)
    return sent


def patches(wire: list[Sent]) -> list[Sent]:
    return [s for s in wire if s.method == "PATCH"]


@dataclass(frozen=True)
class Installed:
    """A release of one scenario, settled (KServe has reported and stopped)."""

    release: Release
    style: str

    def shiplane(self, *argv: str) -> int:
        """``shiplane VERB ...`` as alice, in the release's namespace."""
        return main([*argv, "--kubeconfig", str(self.release.kubeconfig)])

    def get(self) -> dict[str, Any]:
        return self.release.get(ISVC)

    def version(self) -> str:
        return str(self.get()["metadata"]["resourceVersion"])

    def percent(self) -> object:
        value: Any = self.get()
        for key in PERCENT_PATHS[self.style]:
            value = value[key]
        return value


Install = Callable[..., Release]


def _install(install_chart: Install, style: str, *set_values: str) -> Installed:
    release = install_chart(SCENARIOS[style], set_values=set_values)
    settled_isvc(release, ISVC)
    return Installed(release, style)


@pytest.fixture(params=["knative", "standard"])
def canary(request: pytest.FixtureRequest, install_chart: Install) -> Installed:
    """The chart's canary InferenceService, each style in turn."""
    return _install(install_chart, request.param)


@pytest.fixture
def knative(install_chart: Install) -> Installed:
    return _install(install_chart, "knative")


@pytest.fixture
def standard(install_chart: Install) -> Installed:
    return _install(install_chart, "standard")


def test_status_knative(knative: Installed, capsys: pytest.CaptureFixture[str]) -> None:
    # No Knative here: report the traffic as KServe on Knative would.
    knative.release.patch(ISVC, {"status": KNATIVE_CANARY_STATUS}, status=True)
    assert knative.shiplane("status", ISVC) == 0
    out = capsys.readouterr().out
    assert f"InferenceService {knative.release.namespace}/{ISVC}" in out
    assert "knative mode" in out
    assert "stable:   v1" in out
    assert "canary:   v2  (models:/breast-cancer/2)  traffic 10%" in out
    assert "breast-cancer-predictor-00001=90% (stable)" in out
    assert "breast-cancer-predictor-00002=10% (canary)" in out
    assert "ready:    True" in out
    assert "last promotion: none recorded" in out


def test_status_standard_json(
    standard: Installed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert standard.shiplane("status", ISVC, "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["style"] == "standard"
    assert (data["stable_version"], data["canary_version"], data["canary_percent"]) == (
        "1",
        "2",
        25,
    )
    assert data["canary"]["uri"] == "models:/breast-cancer/2"
    assert data["resource_version"] == standard.version()
    # KServe reconciled it (no pod runs here, so it is not ready).
    assert data["ready"] is False
    assert data["last_promotion"] is None


def test_unknown_name_is_a_clear_404(
    standard: Installed, capsys: pytest.CaptureFixture[str]
) -> None:
    assert standard.shiplane("set-traffic", "nope", "10") == 1
    namespace = standard.release.namespace
    assert f"no InferenceService nope in namespace {namespace}" in (
        capsys.readouterr().err
    )


def test_bad_percent_sends_nothing(
    standard: Installed, wire: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    before = standard.version()
    for percent in ("-5", "101", "ten", "12.5"):
        assert standard.shiplane("set-traffic", ISVC, percent) == 2, percent
        assert "percent must be" in capsys.readouterr().err, percent
    assert wire == []
    assert standard.version() == before


def test_set_traffic_both_styles(canary: Installed, wire: list[Sent]) -> None:
    before = canary.version()
    assert canary.shiplane("set-traffic", ISVC, "50") == 0
    assert canary.percent() == 50
    assert canary.version() != before
    [sent] = patches(wire)
    assert sent.content_type == "application/merge-patch+json"
    assert sent.body["metadata"]["resourceVersion"] == before


def test_dry_run_prints_the_patch_and_changes_nothing(
    canary: Installed, wire: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    before = canary.get()
    assert canary.shiplane("promote", ISVC, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "dry run:" in out and "merge-patch+json" in out
    patch = json.loads(out[out.index("{") :])
    if canary.style == "standard":
        assert patch["spec"]["canary"] is None
    else:
        assert patch["spec"]["predictor"]["canaryTrafficPercent"] is None
    assert patch["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert canary.get() == before
    assert patches(wire) == []


def _read_then(
    monkeypatch: pytest.MonkeyPatch, after_read: Callable[[], object]
) -> None:
    """Make the CLI's GET of the InferenceService run ``after_read`` once it
    returns, before the CLI plans and patches."""
    real = control_kube.get_isvc

    def get_isvc(target: control_kube.KubeTarget, name: str, namespace: str) -> Any:
        obj = real(target, name, namespace)
        after_read()
        return obj

    monkeypatch.setattr(control_kube, "get_isvc", get_isvc)


def test_conflict_applies_nothing_and_says_retry(
    canary: Installed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    touched: list[str] = []
    # Someone writes between our GET and our PATCH: the server answers 409.
    _read_then(monkeypatch, lambda: touched.append(canary.release.touch(ISVC)))
    assert canary.shiplane("set-traffic", ISVC, "30") == 1
    err = capsys.readouterr().err
    assert "changed by someone else" in err and "nothing applied, retry" in err
    assert "Traceback" not in err
    assert canary.percent() == (10 if canary.style == "knative" else 25)
    # Each read was followed by another writer's change, the one after our
    # re-read included: the conflict is reported, nothing of ours applied.
    assert canary.version() == touched[-1]


@pytest.mark.parametrize("style", ["knative", "standard"])
def test_no_canary_is_refused(
    install_chart: Install,
    wire: list[Sent],
    capsys: pytest.CaptureFixture[str],
    style: str,
) -> None:
    stable = _install(install_chart, style, NO_CANARY[style])
    before = stable.version()
    assert stable.shiplane("set-traffic", ISVC, "10") == 1
    assert "has no canary" in capsys.readouterr().err
    assert stable.shiplane("rollback", ISVC, "--no-mlflow") == 1
    assert "has no canary" in capsys.readouterr().err
    assert patches(wire) == []
    assert stable.version() == before


def test_both_styles_are_admitted_by_kserve_and_refused_by_shiplane(
    standard: Installed, wire: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    # KServe's webhooks accept spec.canary and canaryTrafficPercent together;
    # shiplane refuses to guess which one is meant.
    standard.release.patch(ISVC, {"spec": {"predictor": {"canaryTrafficPercent": 10}}})
    confused = settled_isvc(standard.release, ISVC)
    assert confused["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert confused["spec"]["canary"]
    before = confused["metadata"]["resourceVersion"]
    assert standard.shiplane("rollback", ISVC, "--no-mlflow") == 1
    assert "both canary styles" in capsys.readouterr().err
    assert standard.shiplane("set-traffic", ISVC, "50") == 1
    assert "both canary styles" in capsys.readouterr().err
    assert patches(wire) == []
    assert standard.version() == before


def test_promote_without_mlflow_config_is_refused_before_anything(
    standard: Installed,
    wire: list[Sent],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    before = standard.version()
    assert standard.shiplane("promote", ISVC) == 2
    assert "MLflow is not configured" in capsys.readouterr().err
    assert wire == []
    assert standard.version() == before


def _history(obj: dict[str, Any]) -> list[dict[str, Any]]:
    raw = (obj["metadata"].get("annotations") or {}).get(HISTORY_ANNOTATION)
    return list(json.loads(raw)) if raw else []


def test_promote_then_promote_again(
    canary: Installed, wire: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("promote", ISVC, "--no-mlflow", "--reason", "looks good")
    assert canary.shiplane(*argv) == 0
    assert "promoted canary v2 over stable v1" in capsys.readouterr().out
    promoted = canary.get()
    [entry] = _history(promoted)
    assert (entry["by"], entry["reason"], entry["action"]) == (
        OPERATOR,
        "looks good",
        "promote",
    )
    assert (entry["from_version"], entry["to_version"]) == ("1", "2")
    if canary.style == "standard":
        assert "canary" not in promoted["spec"]
        env = promoted["spec"]["predictor"]["model"]["env"]
        assert {
            "name": "SHIPLANE_SERVING_MODEL_URI",
            "value": "models:/breast-cancer/2",
        } in env
    else:
        assert "canaryTrafficPercent" not in promoted["spec"]["predictor"]
    assert canary.shiplane("promote", ISVC, "--no-mlflow") == 0
    assert "already promoted" in capsys.readouterr().out
    assert len(patches(wire)) == 1
    assert len(_history(canary.get())) == 1
    assert canary.shiplane("status", ISVC) == 0
    out = capsys.readouterr().out
    assert "last promotion: v1 -> v2" in out and f"by {OPERATOR}" in out
    assert "stable:   v2" in out and "canary:   none" in out


def test_rollback_then_rollback_again(
    canary: Installed, wire: list[Sent], capsys: pytest.CaptureFixture[str]
) -> None:
    assert canary.shiplane("rollback", ISVC, "--no-mlflow") == 0
    assert "rolled back canary v2; stable v1 gets 100%" in capsys.readouterr().out
    assert canary.percent() == 0
    [entry] = _history(canary.get())
    assert (entry["action"], entry["by"]) == ("rollback", OPERATOR)
    assert canary.shiplane("rollback", ISVC, "--no-mlflow") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert len(patches(wire)) == 1


def test_a_status_write_in_between_is_not_a_conflict(
    canary: Installed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """KServe writes status whenever it reconciles: a 409 caused by that alone
    leaves the plan standing, so the CLI applies it to the fresh object."""
    writes: list[str] = []

    def status_write() -> None:
        if not writes:  # once: KServe reporting between our GET and PATCH
            canary.release.patch(ISVC, {"status": {"url": "http://moved"}}, status=True)
            writes.append(canary.version())

    _read_then(monkeypatch, status_write)
    assert canary.shiplane("set-traffic", ISVC, "30") == 0, capsys.readouterr().err
    assert canary.percent() == 30
    assert writes and canary.version() != writes[0]


def test_two_promotes_at_once_one_wins_one_is_told_to_retry(
    canary: Installed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Both read the same resourceVersion before either patches; the real API
    # server lets exactly one precondition hold.
    both_read = threading.Barrier(2, timeout=60)
    read_versions: list[str] = []
    real = control_kube.get_isvc
    reader = threading.local()

    def get_isvc(target: control_kube.KubeTarget, name: str, namespace: str) -> Any:
        obj = real(target, name, namespace)
        if not getattr(reader, "read", False):  # the loser reads again after its 409
            reader.read = True
            read_versions.append(str(obj["metadata"]["resourceVersion"]))
            both_read.wait()
        return obj

    monkeypatch.setattr(control_kube, "get_isvc", get_isvc)
    codes: dict[str, int] = {}
    crashed: list[BaseException] = []

    def promote(who: str) -> None:
        try:
            codes[who] = canary.shiplane(
                "promote", ISVC, "--no-mlflow", "--actor", who, "--reason", who
            )
        except BaseException as exc:  # noqa: BLE001 (reported below)
            crashed.append(exc)
            both_read.abort()

    threads = [threading.Thread(target=promote, args=(w,)) for w in ("ann", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert crashed == [], crashed
    assert len(read_versions) == 2 and len(set(read_versions)) == 1, read_versions
    assert sorted(codes.values()) == [0, 1], codes
    winner = next(who for who, code in codes.items() if code == 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert err.count("changed by someone else since it was read") == 1, err
    assert "nothing applied, retry" in err
    assert out.count("promoted canary v2 over stable v1") == 1, out
    [entry] = _history(canary.get())
    assert (entry["action"], entry["by"], entry["reason"]) == (
        "promote",
        winner,
        winner,
    )


def test_kubectl_finds_the_plugin(standard: Installed) -> None:
    kubectl = require_tool("kubectl")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "KUBECONFIG": str(standard.release.kubeconfig),
    }

    def kubectl_run(*argv: str, check: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl, *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    listed = kubectl_run("plugin", "list", check=False)
    assert str(bin_dir / "kubectl-shiplane") in listed.stdout, listed.stderr
    helped = kubectl_run("shiplane", "--help", check=True)
    for verb in ("status", "set-traffic", "promote", "rollback", "analyze", "rollout"):
        assert verb in helped.stdout
    # The plugin reaches the real API server through KUBECONFIG, as kubectl does.
    status = kubectl_run("shiplane", "status", ISVC, check=False)
    assert status.returncode == 0, status.stderr
    assert f"InferenceService {standard.release.namespace}/{ISVC}" in status.stdout
    assert "canary:   v2" in status.stdout
