"""KServe's own controller acting on the chart's InferenceService: the
03-standard-canary scenario reconciles into a stable and a canary predictor
(Deployment + Service each), and once their Deployments report available the
InferenceService is Ready and its status reports the canary's traffic.

There is no kubelet, so a Deployment becomes available the way KServe's own
envtest suite makes it so: its status subresource is written (with the
Deployment controller off, nothing overwrites it). KWOK (fake nodes, the
scheduler and the Deployment controller) would get there by running pods that
never run anything either; it was not worth a second cold build and two more
processes on a 2-core machine for the same KServe code path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from shiplane.cli import main
from shiplane_tools.localcluster import KubeApi
from tests.kubekit import CHART, Kube, Release, eventually

pytestmark = pytest.mark.kube

NAMESPACE = "kserve-canary"
SCENARIO = CHART / "ci" / "03-standard-canary-values.yaml"
ISVC = "breast-cancer"
CANARY = "challenger"
STABLE_DEPLOYMENT = f"{ISVC}-predictor"
CANARY_DEPLOYMENT = f"{ISVC}-{CANARY}-predictor"
"""KServe's names: ``<isvc>-predictor`` and ``<isvc>-<canary name>-predictor``."""
ISVC_PATH = (
    f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{ISVC}"
)
#: Pinned versions (the chart refuses aliases in predictors).
OVERRIDES = {
    "mlflow": {"trackingUri": "http://mlflow.mlops.svc:5000"},
    "inferenceServices": {
        ISVC: {
            "model": {"mlflowUri": "models:/breast-cancer/1"},
            "canary": {"standard": {"model": {"mlflowUri": "models:/breast-cancer/2"}}},
        }
    },
}


PINNED = [
    "mlflow.trackingUri=http://mlflow.mlops.svc:5000",
    f"inferenceServices.{ISVC}.model.mlflowUri=models:/breast-cancer/1",
    f"inferenceServices.{ISVC}.canary.standard.model.mlflowUri=models:/breast-cancer/2",
]
"""OVERRIDES as ``--set`` items, for releases of a test's own."""


def _deployment(api: KubeApi, name: str) -> dict[str, Any] | None:
    return api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}")


def _service(api: KubeApi, name: str) -> dict[str, Any] | None:
    return api.get(f"/api/v1/namespaces/{NAMESPACE}/services/{name}")


def _condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def _mark_available(api: KubeApi, name: str) -> None:
    """What a kubelet and the Deployment controller would report once every
    replica runs and is ready."""
    deploy = _deployment(api, name)
    assert deploy is not None, name
    replicas = int(deploy["spec"].get("replicas", 1))
    api.call(
        "PATCH",
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}/status",
        {
            "status": {
                "observedGeneration": deploy["metadata"]["generation"],
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "NewReplicaSetAvailable",
                        "message": f'ReplicaSet "{name}" has successfully progressed.',
                    },
                ],
            }
        },
        content_type="application/merge-patch+json",
    )


def _env(deploy: dict[str, Any]) -> dict[str, str]:
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


@pytest.fixture(scope="module")
def reconciled(
    kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeApi]:
    """The scenario installed and reconciled: both Deployments exist."""
    overrides = tmp_path_factory.mktemp("kserve") / "pinned.yaml"
    overrides.write_text(yaml.safe_dump(OVERRIDES))
    with kube.namespace(NAMESPACE), kube.api() as api:
        kube.install(NAMESPACE, SCENARIO, overrides)
        for name in (STABLE_DEPLOYMENT, CANARY_DEPLOYMENT):
            eventually(
                f"KServe to create Deployment {name}",
                lambda: _deployment(api, name),  # noqa: B023
                timeout_s=60,
            )
        yield api
        kube.helm("uninstall", "shiplane", "--namespace", NAMESPACE, "--wait")
        for name in (STABLE_DEPLOYMENT, CANARY_DEPLOYMENT):
            eventually(
                f"garbage collection of Deployment {name}",
                lambda: _deployment(api, name) is None,  # noqa: B023
                timeout_s=60,
            )


def test_predictor_and_canary_deployments_and_services(reconciled: KubeApi) -> None:
    api = reconciled
    stable = _deployment(api, STABLE_DEPLOYMENT)
    canary = _deployment(api, CANARY_DEPLOYMENT)
    assert stable is not None and canary is not None
    # The ServingRuntime merged with each predictor, as KServe merges them.
    assert _env(stable)["SHIPLANE_SERVING_MODEL_URI"] == "models:/breast-cancer/1"
    assert _env(canary)["SHIPLANE_SERVING_MODEL_URI"] == "models:/breast-cancer/2"
    for deploy in (stable, canary):
        container = deploy["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][:3] == ["python", "-m", "shiplane_serving"]
        assert deploy["metadata"]["ownerReferences"][0]["name"] == ISVC
    # Standard canary at 25% of minReplicas 2: ceil(2 * 0.25) = 1 canary replica,
    # the stable predictor keeps the rest (at least 1).
    assert (stable["spec"]["replicas"], canary["spec"]["replicas"]) == (1, 1)
    for name in (STABLE_DEPLOYMENT, CANARY_DEPLOYMENT):
        service = _service(api, name)
        assert service is not None, f"no Service {name}"
        assert service["spec"]["selector"] == {"app": f"isvc.{name}"}


def _isvc_with(
    api: KubeApi, condition: str, status: str = "True"
) -> dict[str, Any] | None:
    """The InferenceService once ``condition`` has ``status``, else None."""
    obj = api.call("GET", ISVC_PATH)
    return obj if _condition(obj, condition) == status else None


def _canaries(obj: dict[str, Any]) -> list[tuple[str, bool, int]]:
    return [
        (c["name"], c["ready"], c["trafficPercent"])
        for c in (obj.get("status") or {}).get("canaryStatuses") or []
    ]


def test_ready_and_traffic_once_deployments_are_available(reconciled: KubeApi) -> None:
    """KServe's Ready is PredictorReady and IngressReady: the canary's readiness
    is its own condition (CanaryPredictorReady) and ``canaryStatuses[].ready``,
    so whoever reports a canary (``shiplane status``) must read those."""
    api = reconciled
    # The first reconcile can race the chart's ServingRuntime (InvalidSpec,
    # Ready Unknown); wait for the verdict on the Deployments themselves.
    isvc = eventually(
        "KServe to report the predictor not ready yet",
        lambda: _isvc_with(api, "PredictorReady", "False"),
    )
    assert _condition(isvc, "Ready") == "False", isvc.get("status")
    assert _condition(isvc, "CanaryPredictorReady") == "False"
    assert _canaries(isvc) == [(CANARY, False, 25)]

    _mark_available(api, STABLE_DEPLOYMENT)
    stable_only = eventually(
        "Ready once the stable Deployment is available",
        lambda: _isvc_with(api, "Ready"),
    )
    assert _condition(stable_only, "PredictorReady") == "True"
    assert _condition(stable_only, "CanaryPredictorReady") == "False"
    assert _canaries(stable_only) == [(CANARY, False, 25)]

    _mark_available(api, CANARY_DEPLOYMENT)
    both = eventually(
        "CanaryPredictorReady once the canary Deployment is available too",
        lambda: _isvc_with(api, "CanaryPredictorReady"),
    )
    status = both["status"]
    assert _condition(both, "Ready") == "True"
    assert status["deploymentMode"] == "Standard"
    assert _canaries(both) == [(CANARY, True, 25)]
    assert status["address"]["url"] == (
        f"http://{STABLE_DEPLOYMENT}.{NAMESPACE}.svc.cluster.local"
    )


def test_traffic_change_is_reconciled(reconciled: KubeApi) -> None:
    """A patch of spec.canary[0].trafficPercent (what set-traffic writes) is
    reconciled: the canary's status follows, and so does its replica count
    (KServe sets its HPA's bounds, the HPA controller scales the Deployment)."""
    api = reconciled
    api.call(
        "PATCH",
        ISVC_PATH,
        {"spec": {"canary": [dict(_canary(api), trafficPercent=100)]}},
        content_type="application/merge-patch+json",
    )
    eventually(
        "canaryStatuses to report 100%",
        lambda: (
            [
                c["trafficPercent"]
                for c in api.call("GET", ISVC_PATH)["status"].get("canaryStatuses", [])
            ]
            == [100]
        ),
    )
    # ceil(2 * 1.0) = 2 canary replicas; the stable predictor keeps its minimum 1.
    eventually(
        "the canary Deployment to scale to 2",
        lambda: (
            (_deployment(api, CANARY_DEPLOYMENT) or {}).get("spec", {}).get("replicas")
            == 2
        ),
    )


def _canary(api: KubeApi) -> dict[str, Any]:
    canaries = api.call("GET", ISVC_PATH)["spec"]["canary"]
    assert len(canaries) == 1, canaries
    return dict(canaries[0])


@pytest.mark.parametrize("verb", ["rollback", "promote"])
def test_promote_and_rollback_are_reconciled_and_read_back(
    install_chart: Callable[..., Release], verb: str
) -> None:
    """``kubectl shiplane promote|rollback`` on the chart's Standard canary:
    KServe turns the patched object into Deployments (promote: the stable
    predictor runs v2 and the canary's Deployment is gone; rollback: the canary
    stays, dark, at 0%), and the InferenceService's status says so."""
    release = install_chart(SCENARIO, set_values=PINNED)
    deployments = f"/apis/apps/v1/namespaces/{release.namespace}/deployments"
    with release.kube.api() as api:

        def deployment(name: str) -> dict[str, Any] | None:
            return api.get(f"{deployments}/{name}")

        def serves(name: str) -> str | None:
            found = deployment(name)
            return _env(found).get("SHIPLANE_SERVING_MODEL_URI") if found else None

        for name in (STABLE_DEPLOYMENT, CANARY_DEPLOYMENT):
            eventually(f"KServe to create {name}", lambda: deployment(name))  # noqa: B023
        kubeconfig = str(release.kubeconfig)
        assert main([verb, ISVC, "--no-mlflow", "--kubeconfig", kubeconfig]) == 0

        def canaries() -> list[int]:
            status = release.get(ISVC).get("status") or {}
            return [c["trafficPercent"] for c in status.get("canaryStatuses") or []]

        if verb == "promote":
            eventually(
                "the stable Deployment to run v2",
                lambda: serves(STABLE_DEPLOYMENT) == "models:/breast-cancer/2",
            )
            eventually(
                "KServe to remove the canary's Deployment",
                lambda: deployment(CANARY_DEPLOYMENT) is None,
            )
            eventually("status to report no canary", lambda: canaries() == [])
        else:
            eventually("status to report the canary at 0%", lambda: canaries() == [0])
            assert serves(CANARY_DEPLOYMENT) == "models:/breast-cancer/2"
            assert serves(STABLE_DEPLOYMENT) == "models:/breast-cancer/1"
