"""Every CLI verb through the official kubernetes client against a real HTTP
API server on 127.0.0.1 (tests/control/fake_kube_api.py), both canary styles,
conflicts and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_kube_api import RunningApi

from shiplane.cli import main
from shiplane.identity import HISTORY_ANNOTATION

REPO = Path(__file__).resolve().parents[2]


def run(kube_api: RunningApi, *argv: str) -> int:
    return main([*argv, "--kubeconfig", str(kube_api.kubeconfig)])


def test_status_knative(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(kube_api, "status", "breast-cancer") == 0
    out = capsys.readouterr().out
    assert "knative mode" in out
    assert "stable:   v3" in out
    assert "canary:   v4  (models:/breast-cancer/4)  traffic 10%" in out
    assert "breast-cancer-predictor-00003=90% (stable)" in out
    assert "ready:    True" in out


def test_status_standard_json(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(kube_api, "status", "diabetes", "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["style"] == "standard"
    assert (data["stable_version"], data["canary_version"], data["canary_percent"]) == (
        "3",
        "4",
        25,
    )
    assert data["last_promotion"] is None


def test_unknown_name_is_a_clear_404(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(kube_api, "set-traffic", "nope", "10") == 1
    assert "no InferenceService nope in namespace models" in capsys.readouterr().err


@pytest.mark.parametrize("percent", ["-5", "101", "ten", "12.5"])
def test_bad_percent_sends_nothing(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str], percent: str
) -> None:
    assert run(kube_api, "set-traffic", "breast-cancer", percent) == 2
    assert "percent must be" in capsys.readouterr().err
    assert kube_api.api.requests == []


@pytest.mark.parametrize(("name", "path"), [
    ("breast-cancer", ("spec", "predictor", "canaryTrafficPercent")),
    ("diabetes", ("spec", "canary", 0, "trafficPercent")),
])  # fmt: skip
def test_set_traffic_both_styles(
    kube_api: RunningApi, name: str, path: tuple[str | int, ...]
) -> None:
    before = kube_api.api.get("models", name)
    assert run(kube_api, "set-traffic", name, "50") == 0
    after = kube_api.api.get("models", name)
    value: object = after
    for key in path:
        value = value[key]  # type: ignore[index]
    assert value == 50
    assert after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
    method, _, ctype, body = kube_api.api.requests[-1]
    assert (method, ctype) == ("PATCH", "application/merge-patch+json")
    assert body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_dry_run_prints_the_patch_and_changes_nothing(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    before = kube_api.api.get("models", "diabetes")
    assert run(kube_api, "promote", "diabetes", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "dry run:" in out and "merge-patch+json" in out
    patch = json.loads(out[out.index("{") :])
    assert patch["spec"]["canary"] is None
    assert patch["metadata"]["resourceVersion"] == "91044"
    assert kube_api.api.get("models", "diabetes") == before
    assert kube_api.api.patches() == []


def test_conflict_applies_nothing_and_says_retry(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    kube_api.api.race_after_get = True  # someone writes between our GET and PATCH
    assert run(kube_api, "set-traffic", "breast-cancer", "30") == 1
    err = capsys.readouterr().err
    assert "changed by someone else" in err and "nothing applied, retry" in err
    after = kube_api.api.get("models", "breast-cancer")
    assert after["spec"]["predictor"]["canaryTrafficPercent"] == 10


def test_no_canary_is_refused(
    kube_api: RunningApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kube_api.api.load(REPO / "tests/fixtures/isvc/standard-stable.yaml")
    assert run(kube_api, "set-traffic", "diabetes", "10") == 1
    assert "has no canary" in capsys.readouterr().err
    assert run(kube_api, "rollback", "diabetes", "--no-mlflow") == 1
    assert kube_api.api.patches() == []


def test_both_styles_are_refused(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(kube_api, "rollback", "confused", "--no-mlflow") == 1
    assert "both canary styles" in capsys.readouterr().err
    assert kube_api.api.patches() == []


def test_promote_without_mlflow_config_is_refused_before_anything(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert run(kube_api, "promote", "breast-cancer") == 2
    assert "MLflow is not configured" in capsys.readouterr().err
    assert kube_api.api.requests == []


@pytest.mark.parametrize("name", ["breast-cancer", "diabetes"])
def test_promote_then_promote_again(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert run(kube_api, "promote", name, "--no-mlflow", "--reason", "looks good") == 0
    out = capsys.readouterr().out
    assert "promoted canary v4 over stable v3" in out
    obj = kube_api.api.get("models", name)
    history = json.loads(obj["metadata"]["annotations"][HISTORY_ANNOTATION])
    assert history[-1]["by"] == "alice" and history[-1]["reason"] == "looks good"
    assert run(kube_api, "promote", name, "--no-mlflow") == 0
    assert "already promoted" in capsys.readouterr().out
    assert len(kube_api.api.patches()) == 1
    assert run(kube_api, "status", name) == 0
    assert "last promotion: v3 -> v4" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["breast-cancer", "diabetes"])
def test_rollback_then_rollback_again(
    kube_api: RunningApi, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert run(kube_api, "rollback", name, "--no-mlflow") == 0
    assert "rolled back canary v4; stable v3 gets 100%" in capsys.readouterr().out
    assert run(kube_api, "rollback", name, "--no-mlflow") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert len(kube_api.api.patches()) == 1


def test_kubectl_finds_the_plugin(kube_api: RunningApi) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH (it is on the image at /usr/bin/kubectl)")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "KUBECONFIG": str(kube_api.kubeconfig)}  # fmt: skip
    listed = subprocess.run([kubectl, "plugin", "list"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert str(bin_dir / "kubectl-shiplane") in listed.stdout, listed.stderr
    helped = subprocess.run(
        [kubectl, "shiplane", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for verb in ("status", "set-traffic", "promote", "rollback", "analyze", "rollout"):
        assert verb in helped.stdout
    # The plugin reaches the (real HTTP) API server through KUBECONFIG like kubectl.
    status = subprocess.run(
        [kubectl, "shiplane", "status", "diabetes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert "canary:   v4" in status.stdout
