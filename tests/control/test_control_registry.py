"""Promotion and rollback records in a real MLflow registry: tags on the model
versions, ``@champion`` moved, the old one kept as ``@previous``; and a loud,
actionable error when MLflow fails after the Kubernetes patch.

The Kubernetes side is the real local control plane: the chart's own
InferenceService (ci/02 Knative, ci/03 Standard), pinned to versions 1 and 2 of
a model registered for the test, operated by ``alice``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from shiplane.cli import main
from shiplane_contracts.identity import HISTORY_ANNOTATION
from shiplane_contracts.mlflowclient import registry_client
from tests.kubekit import CHART, OPERATOR, Release, settled_isvc

pytestmark = pytest.mark.mlflow
ISVC = "breast-cancer"
SCENARIOS = {
    "knative": CHART / "ci" / "02-knative-canary-values.yaml",
    "standard": CHART / "ci" / "03-standard-canary-values.yaml",
}


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


def _install_for(
    install_chart: Callable[..., Release], style: str, model: str
) -> Release:
    """The scenario's InferenceService serving ``model``: stable v1, canary v2."""
    key = f"inferenceServices.{ISVC}"
    release = install_chart(
        SCENARIOS[style],
        set_values=[
            f"{key}.model.mlflowUri=models:/{model}/1",
            f"{key}.canary.{style}.model.mlflowUri=models:/{model}/2",
        ],
    )
    settled_isvc(release, ISVC)
    return release


def _history(release: Release) -> list[dict[str, object]]:
    annotations = release.get(ISVC)["metadata"]["annotations"]
    return list(json.loads(annotations[HISTORY_ANNOTATION]))


Install = Callable[..., Release]


@pytest.mark.parametrize("style", ["knative", "standard"])
def test_promote_moves_aliases_and_tags_versions(
    install_chart: Install,
    mlflow_uri: str,
    style: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = _register(mlflow_uri, versions=2, champion="1")
    release = _install_for(install_chart, style, model)
    code = main(
        [
            "promote",
            ISVC,
            "--kubeconfig",
            str(release.kubeconfig),
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
    assert f"@champion -> {model} v2" in out and f"@previous -> {model} v1" in out
    client = registry_client(mlflow_uri)
    aliases = client.get_registered_model(model).aliases
    assert aliases == {"champion": "2", "previous": "1"}
    promoted = client.get_model_version(model, "2").tags
    assert promoted["shiplane.verdict"] == "pass"
    assert promoted["shiplane.by"] == OPERATOR
    assert promoted["shiplane.promoted_at"].startswith("20")
    assert promoted["shiplane.target"] == (
        f"the InferenceService {release.namespace}/{ISVC}"
    )
    assert "shiplane.replaced_at" in client.get_model_version(model, "1").tags
    [entry] = _history(release)
    assert entry["at"] == promoted["shiplane.promoted_at"]
    assert (entry["from_version"], entry["to_version"]) == ("1", "2")
    assert (
        main(
            [
                "status",
                ISVC,
                "--kubeconfig",
                str(release.kubeconfig),
                "--mlflow-uri",
                mlflow_uri,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"model:    {model}" in out and "stable:   v2" in out
    assert "mlflow:   @champion=v2, @previous=v1" in out


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
    install_chart: Install, mlflow_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _register(mlflow_uri, versions=2, champion="1")
    release = _install_for(install_chart, "standard", model)
    code = main(
        [
            "rollback",
            ISVC,
            "--kubeconfig",
            str(release.kubeconfig),
            "--mlflow-uri",
            mlflow_uri,
            "--verdict",
            "fail",
            "--reason",
            "p95 2.1x",
        ]
    )
    assert code == 0, capsys.readouterr()
    client = registry_client(mlflow_uri)
    tags = client.get_model_version(model, "2").tags
    assert tags["shiplane.verdict"] == "fail" and tags["shiplane.reason"] == "p95 2.1x"
    assert tags["shiplane.by"] == OPERATOR
    assert "shiplane.rolled_back_at" in tags
    assert client.get_registered_model(model).aliases == {"champion": "1"}
    assert release.get(ISVC)["spec"]["canary"][0]["trafficPercent"] == 0
    [entry] = _history(release)
    assert (entry["action"], entry["verdict"]) == ("rollback", "fail")


def test_mlflow_failure_after_the_patch_is_loud_and_says_how_to_finish(
    install_chart: Install, mlflow_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"never-registered-{uuid.uuid4().hex[:6]}"
    release = _install_for(install_chart, "knative", missing)
    code = main(
        [
            "promote",
            ISVC,
            "--kubeconfig",
            str(release.kubeconfig),
            "--mlflow-uri",
            mlflow_uri,
        ]
    )
    err = capsys.readouterr().err
    assert code == 4
    assert "WAS updated" in err and "updating MLflow failed" in err
    assert "finish by hand" in err and f"{missing!r}, 'champion', '2'" in err
    # The Kubernetes side did happen, and says so in its history.
    obj = release.get(ISVC)
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]
    [entry] = _history(release)
    assert (entry["action"], entry["to_version"]) == ("promote", "2")
