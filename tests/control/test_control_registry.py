"""Promotion and rollback records in a real MLflow registry: tags on the model
versions, ``@champion`` moved, the old one kept as ``@previous``; and a loud,
actionable error when MLflow fails after the Kubernetes patch."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from fake_kube_api import RunningApi

from shiplane.cli import main
from shiplane.identity import HISTORY_ANNOTATION, MODEL_NAME_ANNOTATION
from shiplane.mlflowclient import registry_client

pytestmark = pytest.mark.mlflow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "isvc"


def _register(mlflow_uri: str, versions: int, champion: str | None) -> str:

    client = registry_client(mlflow_uri)
    name = f"ctl-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    # Only the registry matters here: versions point at an empty run folder.
    run = client.create_run(experiment_id="0")
    for _ in range(versions):
        client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
    if champion is not None:
        client.set_registered_model_alias(name, "champion", champion)
    return name


def _load_as(kube_api: RunningApi, fixture: str, model: str) -> str:
    obj = yaml.safe_load((FIXTURES / f"{fixture}.yaml").read_text())
    obj["metadata"].setdefault("annotations", {})[MODEL_NAME_ANNOTATION] = model
    kube_api.api.put(obj)
    return str(obj["metadata"]["name"])


@pytest.mark.parametrize("fixture", ["knative-canary", "standard-canary"])
def test_promote_moves_aliases_and_tags_versions(
    kube_api: RunningApi, mlflow_uri: str, fixture: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip

    model = _register(mlflow_uri, versions=4, champion="3")
    name = _load_as(kube_api, fixture, model)
    code = main(
        [
            "promote",
            name,
            "--kubeconfig",
            str(kube_api.kubeconfig),
            "--mlflow-uri",
            mlflow_uri,
            "--verdict",
            "pass",
            "--reason",
            "ok",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"@champion -> {model} v4" in out and f"@previous -> {model} v3" in out
    client = registry_client(mlflow_uri)
    aliases = client.get_registered_model(model).aliases
    assert aliases == {"champion": "4", "previous": "3"}
    promoted = client.get_model_version(model, "4").tags
    assert promoted["shiplane.verdict"] == "pass"
    assert promoted["shiplane.by"] == "alice"
    assert promoted["shiplane.promoted_at"].startswith("20")
    assert "shiplane.replaced_at" in client.get_model_version(model, "3").tags
    history = json.loads(
        kube_api.api.get("models", name)["metadata"]["annotations"][HISTORY_ANNOTATION]
    )
    assert history[-1]["at"] == promoted["shiplane.promoted_at"]
    assert main(["status", name, "--kubeconfig", str(kube_api.kubeconfig),
                 "--mlflow-uri", mlflow_uri]) == 0  # fmt: skip
    assert "mlflow:   @champion=v4, @previous=v3" in capsys.readouterr().out


def test_versions_resolve_from_mlflow_aliases(mlflow_uri: str) -> None:

    from shiplane.control.errors import InvalidRequestError
    from shiplane.control.versions import resolve

    model = _register(mlflow_uri, versions=2, champion="1")
    client = registry_client(mlflow_uri)
    with pytest.raises(InvalidRequestError, match="canary version"):
        resolve(model, None, None, None, client)
    client.set_registered_model_alias(model, "challenger", "2")
    found = resolve(model, None, None, None, client)
    assert (found.stable, found.canary) == ("1", "2")
    assert found.stable_source == "MLflow @champion"
    assert resolve(model, "7", None, None, client).stable == "7"  # flags win


def test_rollback_tags_the_canary_and_keeps_aliases(
    kube_api: RunningApi, mlflow_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:

    model = _register(mlflow_uri, versions=4, champion="3")
    name = _load_as(kube_api, "standard-canary", model)
    code = main(["rollback", name, "--kubeconfig", str(kube_api.kubeconfig),
                 "--mlflow-uri", mlflow_uri, "--verdict", "fail",
                 "--reason", "p95 2.1x"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    client = registry_client(mlflow_uri)
    tags = client.get_model_version(model, "4").tags
    assert tags["shiplane.verdict"] == "fail" and tags["shiplane.reason"] == "p95 2.1x"
    assert "shiplane.rolled_back_at" in tags
    assert client.get_registered_model(model).aliases == {"champion": "3"}


def test_mlflow_failure_after_the_patch_is_loud_and_says_how_to_finish(
    kube_api: RunningApi, mlflow_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"never-registered-{uuid.uuid4().hex[:6]}"
    name = _load_as(kube_api, "knative-canary", missing)
    code = main(
        [
            "promote",
            name,
            "--kubeconfig",
            str(kube_api.kubeconfig),
            "--mlflow-uri",
            mlflow_uri,
        ]
    )
    err = capsys.readouterr().err
    assert code == 4
    assert "WAS updated" in err and "updating MLflow failed" in err
    assert "finish by hand" in err and f"{missing!r}, 'champion', '4'" in err
    # Kubernetes side did happen, and says so in its history.
    obj = kube_api.api.get("models", name)
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]
