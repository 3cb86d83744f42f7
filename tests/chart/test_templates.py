"""Template unit tests: assertions on the objects the chart renders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.chart import chartkit

pytestmark = pytest.mark.helm

CI = chartkit.CHART / "ci"
EVERYTHING = CI / "06-everything-values.yaml"
KNATIVE = CI / "02-knative-canary-values.yaml"
STANDARD = CI / "03-standard-canary-values.yaml"
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}
WORKLOADS = {"Deployment", "Job", "CronJob"}


@pytest.fixture(scope="module")
def everything() -> list[dict[str, Any]]:
    return chartkit.objects(chartkit.render_scenario(EVERYTHING))


def _containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _isvc_predictors(isvc: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield isvc["spec"]["predictor"]
    for canary in isvc["spec"].get("canary", []):
        yield canary["predictor"]


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


# ---- labels and selectors ------------------------------------------------------


def test_every_object_carries_the_standard_labels(
    everything: list[dict[str, Any]],
) -> None:
    for obj in everything:
        labels = obj["metadata"]["labels"]
        assert STANDARD_LABELS <= set(labels), obj["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == chartkit.RELEASE
        assert labels["team"] == "ml-platform"  # commonLabels


def test_selectors_are_stable_and_match_their_pods(
    everything: list[dict[str, Any]],
) -> None:
    """No chart version in selectors (immutable on upgrade); every selector picks
    the pods it is meant for."""
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in everything
        if o["kind"] == "Deployment"
    }
    selectors: list[dict[str, str]] = []
    for obj in everything:
        spec = obj["spec"] if "spec" in obj else {}
        if obj["kind"] == "Deployment":
            match = spec["selector"]["matchLabels"]
            assert match.items() <= pods[obj["metadata"]["name"]].items()
            selectors.append(match)
        elif obj["kind"] == "Service":
            assert spec["selector"].items() <= pods[obj["metadata"]["name"]].items()
            selectors.append(spec["selector"])
        elif obj["kind"] in {"PodMonitor", "ServiceMonitor"}:
            selectors.append(spec["selector"]["matchLabels"])
        elif obj["kind"] == "NetworkPolicy":
            selectors.append(spec["podSelector"]["matchLabels"])
    assert selectors
    for selector in selectors:
        assert "helm.sh/chart" not in selector
        assert "app.kubernetes.io/version" not in selector
        assert selector["app.kubernetes.io/instance"] == chartkit.RELEASE


def test_predictor_pods_carry_the_serving_selector_labels(
    everything: list[dict[str, Any]],
) -> None:
    monitor = next(o for o in everything if o["kind"] == "PodMonitor")
    wanted = monitor["spec"]["selector"]["matchLabels"]
    for isvc in (o for o in everything if o["kind"] == "InferenceService"):
        for predictor in _isvc_predictors(isvc):
            assert wanted.items() <= predictor["labels"].items()


def test_long_release_names_are_cut_to_63_characters() -> None:
    release = ("long-release-" * 5)[:52] + "x"  # helm allows 53 characters
    rendered = chartkit.objects(chartkit.template(EVERYTHING, release=release))
    for obj in rendered:
        name = obj["metadata"]["name"]
        assert len(name) <= 63 and not name.endswith("-"), name
    # Cutting the prefix, not the component suffix, keeps names distinct.
    keys = [(o["kind"], o["metadata"]["name"]) for o in rendered]
    assert len(keys) == len(set(keys))


# ---- KServe ----------------------------------------------------------------------


def test_knative_canary_fields() -> None:
    isvc = chartkit.one(chartkit.render_scenario(KNATIVE), "InferenceService")
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Knative"
    assert annotations["serving.kserve.io/enable-tag-routing"] == "true"
    predictor = isvc["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert "canary" not in isvc["spec"]
    # Knative: the predictor is the newest revision, i.e. the canary model.
    env = _env(predictor["model"])
    assert env["SHIPLANE_SERVING_MODEL_URI"] == "models:/breast-cancer/2"
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlops.svc:5000"
    assert (predictor["minReplicas"], predictor["scaleMetric"]) == (0, "rps")


def test_standard_canary_fields() -> None:
    isvc = chartkit.one(chartkit.render_scenario(STANDARD), "InferenceService")
    assert (
        isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
        == "Standard"
    )
    stable = isvc["spec"]["predictor"]
    assert "canaryTrafficPercent" not in stable
    assert (
        _env(stable["model"])["SHIPLANE_SERVING_MODEL_URI"] == "models:/breast-cancer/1"
    )
    [canary] = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 25
    assert canary["predictor"]["name"] == "challenger"
    assert (
        _env(canary["predictor"]["model"])["SHIPLANE_SERVING_MODEL_URI"]
        == "models:/breast-cancer/2"
    )
    assert stable["scaleMetric"] == "cpu"
    # KServe's validator refuses autoscaling on a canary: it runs fixed replicas.
    for field in ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget"):
        assert field not in canary["predictor"], field


def test_dark_launch_keeps_zero_percent(everything: list[dict[str, Any]]) -> None:
    """trafficPercent 0 is a value, not "unset" (sprig's merge would drop it)."""
    isvc = next(o for o in everything if o["metadata"]["name"] == "diabetes")
    assert isvc["spec"]["canary"][0]["trafficPercent"] == 0


def test_storage_uri_models_load_from_mnt_models(
    everything: list[dict[str, Any]],
) -> None:
    isvc = next(o for o in everything if o["metadata"]["name"] == "diabetes")
    model = isvc["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://shiplane-artifacts/models/diabetes/3"
    assert _env(model)["SHIPLANE_SERVING_MODEL_URI"] == "/mnt/models"
    assert "MLFLOW_TRACKING_URI" not in _env(model)
    assert model["resources"]["limits"]["memory"] == "2Gi"


def test_legacy_deployment_mode_names() -> None:
    rendered = chartkit.template(
        STANDARD, set_values=["kserve.deploymentModeNames=legacy"]
    )
    isvc = chartkit.one(rendered, "InferenceService")
    assert (
        isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
        == "RawDeployment"
    )


def test_inference_services_name_the_runtime(everything: list[dict[str, Any]]) -> None:
    runtime = next(o for o in everything if o["kind"] == "ServingRuntime")
    assert runtime["metadata"]["name"] == "shiplane-sklearn"
    container = runtime["spec"]["containers"][0]
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert container["image"] == f"{registry}/shiplane/shiplane-serving:0.1.0"
    assert container["command"] == ["python", "-m", "shiplane_serving"]
    assert "--workers=2" in container["args"]
    assert not any(f["autoSelect"] for f in runtime["spec"]["supportedModelFormats"])
    for isvc in (o for o in everything if o["kind"] == "InferenceService"):
        for predictor in _isvc_predictors(isvc):
            assert predictor["model"]["runtime"] == "shiplane-sklearn"


def test_disabled_inference_service_is_not_rendered() -> None:
    rendered = chartkit.template(
        KNATIVE, set_values=["inferenceServices.breast-cancer.enabled=false"]
    )
    assert chartkit.objects(rendered, "InferenceService") == []


# ---- security --------------------------------------------------------------------


def _all_pods(objs: list[dict[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for obj in objs:
        for pod in chartkit.pod_specs(obj):
            yield obj["metadata"]["name"], pod
        if obj["kind"] == "InferenceService":
            for predictor in _isvc_predictors(obj):
                yield (
                    obj["metadata"]["name"],
                    {
                        **predictor,
                        "containers": [predictor["model"]],
                    },
                )


def test_restricted_security_context_everywhere(
    everything: list[dict[str, Any]],
) -> None:
    pods = list(_all_pods(everything))
    assert len(pods) >= 8
    for name, pod in pods:
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 10001, name
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in sc["capabilities"], name
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert {"cpu", "memory"} <= set(resources["limits"]), name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in tmp_volumes, name


def test_only_the_rollout_mounts_an_api_token(everything: list[dict[str, Any]]) -> None:
    for name, pod in _all_pods(everything):
        expected = name.startswith("shiplane-rollout")
        assert pod["automountServiceAccountToken"] is expected, name
    for sa in (o for o in everything if o["kind"] == "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False


def test_service_accounts_carry_irsa_annotations(
    everything: list[dict[str, Any]],
) -> None:
    accounts = {
        o["metadata"]["name"]: o["metadata"].get("annotations", {})
        for o in everything
        if o["kind"] == "ServiceAccount"
    }
    for component in ("mlflow", "training", "serving"):
        arn = accounts[f"shiplane-{component}"]["eks.amazonaws.com/role-arn"]
        assert arn.endswith(f"role/shiplane-{component}")


def test_no_secret_is_rendered_and_credentials_come_from_existing_secrets(
    everything: list[dict[str, Any]],
) -> None:
    assert not [o for o in everything if o["kind"] == "Secret"]
    mlflow = next(
        o
        for o in everything
        if o["metadata"]["name"] == "shiplane-mlflow" and o["kind"] == "Deployment"
    )
    env = mlflow["spec"]["template"]["spec"]["containers"][0]["env"]
    backend = next(e for e in env if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert backend["valueFrom"]["secretKeyRef"] == {
        "name": "shiplane-mlflow-db",
        "key": "uri",
    }
    router = next(
        o
        for o in everything
        if o["metadata"]["name"] == "shiplane-router" and o["kind"] == "Deployment"
    )
    pod = router["spec"]["template"]["spec"]
    assert (
        _env(pod["containers"][0])["SHIPLANE_ROUTER_ADMIN_TOKEN_FILE"]
        == "/secrets/admin-token"
    )
    token = next(v for v in pod["volumes"] if v["name"] == "admin-token")
    assert token["secret"]["secretName"] == "shiplane-router-admin"


# ---- RBAC --------------------------------------------------------------------------


def test_training_pods_mount_data_and_take_extra_env(
    everything: list[dict[str, Any]],
) -> None:
    trainers = [
        pod
        for name, pod in _all_pods(everything)
        if name.startswith("shiplane-training")
    ]
    assert len(trainers) == 2  # the Job and the CronJob's template
    for pod in trainers:
        [container] = pod["containers"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["datasets"] == {
            "name": "datasets",
            "persistentVolumeClaim": {
                "claimName": "shiplane-datasets",
                "readOnly": True,
            },
        }
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["datasets"] == {
            "name": "datasets",
            "mountPath": "/data",
            "readOnly": True,
        }
        assert {"config", "tmp"} <= set(mounts)  # the chart's own stay
        assert _env(container)["SHIPLANE_TRAINING_PROBE_TIMEOUT_S"] == "10"
        assert container["envFrom"] == [
            {"configMapRef": {"name": "shiplane-training-env"}}
        ]


def test_training_env_from_secret_keys() -> None:
    """Not in a scenario: checkov prefers Secrets as files (CKV_K8S_35), which
    training.volumes can mount; this is for variables that have no file form."""
    [job] = chartkit.parse(
        chartkit.template(
            set_values=[
                "mlflow.trackingUri=http://mlflow:5000",
                "training.job.enabled=true",
                "training.secretEnv.MLFLOW_TRACKING_TOKEN.name=mlflow-token",
                "training.secretEnv.MLFLOW_TRACKING_TOKEN.key=token",
                "training.envFrom[0].secretRef.name=training-s3",
            ],
            show_only="templates/training/job.yaml",
        )
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_TRACKING_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-token",
        "key": "token",
    }
    assert container["envFrom"] == [{"secretRef": {"name": "training-s3"}}]
    kubernetes_validate.validate(job, chartkit.KUBERNETES_VERSION, strict=True)


def test_rbac_is_least_privilege(everything: list[dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in everything}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    roles = {o["metadata"]["name"]: o for o in everything if o["kind"] == "Role"}
    assert set(roles) == {"shiplane-rollout", "shiplane-operator"}
    for role in roles.values():
        rules = {
            (group, resource): sorted(rule["verbs"])
            for rule in role["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
        }
        assert rules == {
            ("serving.kserve.io", "inferenceservices"): [
                "get",
                "list",
                "patch",
                "watch",
            ],
            ("", "pods"): ["get", "list", "watch"],
        }
    bindings = {
        o["metadata"]["name"]: o for o in everything if o["kind"] == "RoleBinding"
    }
    assert bindings["shiplane-rollout"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "shiplane-rollout", "namespace": "shiplane"}
    ]
    assert bindings["shiplane-operator"]["subjects"][0]["name"] == "ml-platform"


def test_rollout_job_runs_the_cli(everything: list[dict[str, Any]]) -> None:
    job = next(
        o
        for o in everything
        if o["kind"] == "Job" and "rollout" in o["metadata"]["name"]
    )
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["shiplane"]
    assert container["args"][:2] == ["rollout", "breast-cancer"]
    assert "--steps=10,25,50,100" in container["args"]
    assert "--interval=60s" in container["args"]


# ---- monitoring -------------------------------------------------------------------


def test_monitors_and_rules_carry_the_release_label() -> None:
    rendered = chartkit.objects(
        chartkit.template(EVERYTHING, set_values=["monitoring.labels.release=kps"])
    )
    monitoring = [o for o in rendered if o["apiVersion"] == chartkit.MONITORING_GROUP]
    assert {o["kind"] for o in monitoring} == {
        "PodMonitor",
        "ServiceMonitor",
        "PrometheusRule",
    }
    for obj in monitoring:
        assert obj["metadata"]["labels"]["release"] == "kps"


def test_prometheus_rule_embeds_the_rule_file(everything: list[dict[str, Any]]) -> None:
    rule = next(o for o in everything if o["kind"] == "PrometheusRule")
    source = yaml.safe_load(
        (chartkit.CHART / "files/rules/shiplane.rules.yaml").read_text()
    )
    assert [g["name"] for g in rule["spec"]["groups"]] == [
        g["name"] for g in source["groups"]
    ]
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    written = [r["alert"] for g in source["groups"] for r in g["rules"] if "alert" in r]
    assert [a["alert"] for a in alerts] == written and len(written) >= 7
    for alert in alerts:
        assert alert["labels"]["team"] == "ml-platform"  # additionalAlertLabels
        assert alert["labels"]["severity"]  # the file's own labels survive
        assert alert["annotations"]["runbook_url"].endswith(
            "#" + alert["alert"].lower()
        )


def test_dashboard_config_maps(everything: list[dict[str, Any]]) -> None:
    maps = [
        o
        for o in everything
        if o["kind"] == "ConfigMap" and "dashboard" in o["metadata"]["name"]
    ]
    assert len(maps) == 4
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"]["grafana_folder"] == "Shiplane"
        [(filename, text)] = cm["data"].items()
        assert json.loads(text)["uid"] == filename.removesuffix(".json")


def test_network_policies(everything: list[dict[str, Any]]) -> None:
    policies = {
        o["metadata"]["name"]: o["spec"]
        for o in everything
        if o["kind"] == "NetworkPolicy"
    }
    deny = policies["shiplane-default-deny"]
    assert deny["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "shiplane",
        "app.kubernetes.io/instance": "shiplane",
    }
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    assert {p["port"] for p in deny["egress"][0]["ports"]} == {53}
    serving = policies["shiplane-serving"]
    peers = [peer for rule in serving["ingress"] for peer in rule["from"]]
    namespaces = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in peers
        if "namespaceSelector" in p
    }
    assert namespaces == {"knative-serving", "istio-system", "monitoring"}
    mlflow = policies["shiplane-mlflow"]
    assert {p["port"] for r in mlflow["egress"] for p in r["ports"]} == {443, 5432}


# ---- NOTES.txt ------------------------------------------------------------------


def test_notes_tell_how_to_reach_the_model(tmp_path: Path) -> None:
    """helm template skips NOTES.txt; render it through a copy of the chart."""
    chart = tmp_path / "shiplane"
    shutil.copytree(chartkit.CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes_under_test.tpl").write_text(
        '{{- define "notes-under-test" -}}\n' + notes + "\n{{- end }}\n"
    )
    (chart / "templates" / "notes-under-test.yaml").write_text(
        'notes: {{ include "notes-under-test" . | toJson }}\n'
    )
    out = chartkit.helm(
        "template",
        "shiplane",
        str(chart),
        "-n",
        "shiplane",
        "--values",
        str(EVERYTHING),
        "--show-only",
        "templates/notes-under-test.yaml",
    )
    text = yaml.safe_load(out)["notes"]
    assert "kubectl shiplane status breast-cancer --namespace shiplane" in text
    assert "kubectl shiplane canary NAME --namespace shiplane --model" in text
    assert "kubectl -n shiplane get inferenceservice breast-cancer" in text
    assert "/v1/models/breast-cancer:predict" in text
    assert "Knative canary at 25%" in text
    assert 'Standard canary "canary" at 0%' in text
    assert "shiplane-operator" in text and "MLflow UI" in text


# ---- contracts with the components ------------------------------------------------


def test_rendered_settings_exist_in_the_components(
    everything: list[dict[str, Any]],
) -> None:
    """Every SHIPLANE_SERVING_* / SHIPLANE_ROUTER_* / SHIPLANE_TRAINING_* variable
    the chart sets is a field of that component's settings class (a typo would be
    silently ignored)."""
    from shiplane.router.settings import RouterSettings
    from shiplane_serving.settings import ServingSettings
    from shiplane_training.settings import TrainingSettings

    fields = {
        "SHIPLANE_SERVING_": set(ServingSettings.model_fields),
        "SHIPLANE_ROUTER_": set(RouterSettings.model_fields),
        "SHIPLANE_TRAINING_": set(TrainingSettings.model_fields),
    }
    containers = [
        c
        for o in everything
        for pod in chartkit.pod_specs(o)
        for c in pod["containers"]
    ]
    containers += [
        c
        for o in everything
        if o["kind"] == "ServingRuntime"
        for c in o["spec"]["containers"]
    ]
    containers += [
        p["model"]
        for o in everything
        if o["kind"] == "InferenceService"
        for p in _isvc_predictors(o)
    ]
    checked = 0
    for container in containers:
        for env in container.get("env", []):
            for prefix, known in fields.items():
                if env["name"].startswith(prefix):
                    assert env["name"].removeprefix(prefix).lower() in known, env[
                        "name"
                    ]
                    checked += 1
    assert checked >= 6


def test_default_configs_are_valid_for_the_trainer_and_the_router(
    everything: list[dict[str, Any]],
) -> None:
    """train.yaml and router.yaml as rendered pass the components' own schemas."""
    from shiplane.router.config import parse_config as parse_router_config
    from shiplane_training.config import parse_config as parse_training_config

    maps = {
        o["metadata"]["name"]: o["data"] for o in everything if o["kind"] == "ConfigMap"
    }
    parse_training_config(yaml.safe_load(maps["shiplane-training"]["train.yaml"]))
    parse_router_config(yaml.safe_load(maps["shiplane-router"]["router.yaml"]))
