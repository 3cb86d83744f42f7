"""RBAC for real: tokens minted for the chart's own ServiceAccounts (TokenRequest,
what the kubelet would mount), real requests and the API server's own access
reviews, checked against docs/chart.md ("Security"):

- the rollout Job's account may get/list/watch/patch InferenceServices and
  get/list/watch pods in the release namespace, and nothing else there or
  anywhere else;
- the serving, training, router, MLflow and scoring accounts have nothing beyond what
  every authenticated account has, and no pod but the rollout Job's mounts a
  token;
- a user who may read but not patch an InferenceService gets, from
  `shiplane set-traffic`, a message naming the missing permission.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shiplane_tools.localcluster import KubeApi, LocalCluster
from tests.kubekit import CHART, Kube, eventually, run

pytestmark = pytest.mark.kube

NAMESPACE = "rbac"
OTHER = "rbac-other"
SCENARIO = CHART / "ci" / "06-everything-values.yaml"
"""Every component on: rollout, training, serving, router, MLflow and scoring
accounts."""
ISVC = "breast-cancer"
ISVCS = ("serving.kserve.io", "inferenceservices")
PODS = ("", "pods")

#: docs/chart.md: what the rollout account may do, in its namespace only.
ROLLOUT_RULES: dict[tuple[str, str], set[str]] = {
    ISVCS: {"get", "list", "watch", "patch"},
    PODS: {"get", "list", "watch"},
}
VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
)
PROBED: tuple[tuple[str, str], ...] = (
    ISVCS,
    PODS,
    ("serving.kserve.io", "servingruntimes"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "serviceaccounts"),
    ("", "services"),
    ("apps", "deployments"),
    ("batch", "jobs"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("monitoring.coreos.com", "podmonitors"),
)
COMPONENTS = ("rollout", "serving", "training", "router", "mlflow", "scoring")


@pytest.fixture(scope="module")
def release(kube: Kube) -> Iterator[dict[str, str]]:
    """06-everything installed in NAMESPACE, an empty OTHER namespace beside it,
    and a ServiceAccount with no bindings as the baseline; yields the chart's
    ServiceAccount name per component."""
    with kube.namespace(NAMESPACE), kube.namespace(OTHER):
        kube.install(NAMESPACE, SCENARIO)
        accounts = {
            obj["metadata"]["labels"]["app.kubernetes.io/component"]: obj["metadata"][
                "name"
            ]
            for obj in kube.manifest(NAMESPACE)
            if obj["kind"] == "ServiceAccount"
        }
        assert set(accounts) == set(COMPONENTS), accounts
        with kube.api() as api:
            api.call(
                "POST",
                f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
                {"metadata": {"name": "nobody"}},
            )
        yield accounts
        kube.helm("uninstall", "shiplane", "--namespace", NAMESPACE, "--wait")


def _rules(api: KubeApi, namespace: str) -> dict[tuple[str, str], set[str]]:
    """SelfSubjectRulesReview (what `kubectl auth can-i --list` asks):
    (group, resource) -> verbs, with ``*`` expanded where it appears."""
    review = api.call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"spec": {"namespace": namespace}},
    )
    assert not review["status"].get("incomplete"), review["status"]
    rules: dict[tuple[str, str], set[str]] = {}
    for rule in review["status"]["resourceRules"]:
        for group in rule.get("apiGroups", [""]):
            for resource in rule.get("resources", []):
                rules.setdefault((group, resource), set()).update(rule["verbs"])
    return rules


def _extra(
    rules: dict[tuple[str, str], set[str]], baseline: dict[tuple[str, str], set[str]]
) -> dict[tuple[str, str], set[str]]:
    out = {}
    for key, verbs in rules.items():
        more = verbs - baseline.get(key, set())
        if more:
            out[key] = more
    return out


def _allowed(
    api: KubeApi, namespace: str, group: str, resource: str, verb: str
) -> bool:
    review = api.call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "group": group,
                    "resource": resource,
                    "verb": verb,
                }
            }
        },
    )
    return bool(review["status"]["allowed"])


def _token(control_plane: LocalCluster, account: str) -> str:
    return control_plane.service_account_token(NAMESPACE, account, 600)


def test_rollout_account_has_exactly_the_documented_rules(
    control_plane: LocalCluster, release: dict[str, str]
) -> None:
    with control_plane.api(
        control_plane.service_account_token(NAMESPACE, "nobody", 600)
    ) as api:
        baseline = _rules(api, NAMESPACE)
    with control_plane.api(_token(control_plane, release["rollout"])) as api:
        assert _extra(_rules(api, NAMESPACE), baseline) == ROLLOUT_RULES
        assert _extra(_rules(api, OTHER), baseline) == {}
        for namespace in (NAMESPACE, OTHER):
            for group, resource in PROBED:
                for verb in VERBS:
                    expected = namespace == NAMESPACE and verb in ROLLOUT_RULES.get(
                        (group, resource), set()
                    )
                    assert (
                        _allowed(api, namespace, group, resource, verb) is expected
                    ), (namespace, group, resource, verb)


@pytest.mark.parametrize(
    "component", ["serving", "training", "router", "mlflow", "scoring"]
)
def test_other_accounts_have_nothing_beyond_any_account(
    control_plane: LocalCluster, release: dict[str, str], component: str
) -> None:
    with control_plane.api(
        control_plane.service_account_token(NAMESPACE, "nobody", 600)
    ) as api:
        baseline = _rules(api, NAMESPACE)
    with control_plane.api(_token(control_plane, release[component])) as api:
        assert _extra(_rules(api, NAMESPACE), baseline) == {}
        for group, resource in PROBED:
            assert not _allowed(api, NAMESPACE, group, resource, "get"), resource
        reply = api.request(
            "GET",
            f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices",
        )
        assert reply.status_code == 403, reply.text


def test_rollout_account_real_requests(
    control_plane: LocalCluster, release: dict[str, str]
) -> None:
    isvcs = f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices"
    with control_plane.api(_token(control_plane, release["rollout"])) as api:
        assert api.request("GET", f"{isvcs}/{ISVC}").status_code == 200
        assert api.request("GET", isvcs).status_code == 200
        patched = api.request(
            "PATCH",
            f"{isvcs}/{ISVC}",
            {"metadata": {"annotations": {"shiplane.test/touched": "rollout"}}},
            content_type="application/merge-patch+json",
        )
        assert patched.status_code == 200, patched.text
        assert (
            api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods").status_code
            == 200
        )

        forbidden = {
            "delete isvc": api.request("DELETE", f"{isvcs}/{ISVC}"),
            "create isvc": api.request(
                "POST",
                isvcs,
                {
                    "apiVersion": "serving.kserve.io/v1beta1",
                    "kind": "InferenceService",
                    "metadata": {"name": "x"},
                    "spec": {},
                },
            ),
            "read secrets": api.request(
                "GET", f"/api/v1/namespaces/{NAMESPACE}/secrets"
            ),
            "read configmaps": api.request(
                "GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps"
            ),
            "patch pods": api.request(
                "PATCH",
                f"/api/v1/namespaces/{NAMESPACE}/pods/any",
                {"metadata": {"labels": {"x": "y"}}},
                content_type="application/merge-patch+json",
            ),
            "isvcs elsewhere": api.request(
                "GET",
                f"/apis/serving.kserve.io/v1beta1/namespaces/{OTHER}/inferenceservices",
            ),
            "isvcs cluster-wide": api.request(
                "GET", "/apis/serving.kserve.io/v1beta1/inferenceservices"
            ),
            "namespaces": api.request("GET", "/api/v1/namespaces"),
        }
    assert {what: r.status_code for what, r in forbidden.items()} == {
        what: 403 for what in forbidden
    }


def test_kubectl_auth_can_i_list(
    kube: Kube, control_plane: LocalCluster, release: dict[str, str], tmp_path: Path
) -> None:
    config = control_plane.service_account_kubeconfig(
        NAMESPACE, release["rollout"], tmp_path / "rollout.kubeconfig", 600
    )
    listed = kube.kubectl("auth", "can-i", "--list", "-n", NAMESPACE, kubeconfig=config)
    rows = {
        line.split()[0]: line.split("[")[-1].rstrip("]").split()
        for line in listed.stdout.splitlines()[1:]
        if line.strip() and not line.split()[0].startswith("[")
    }
    assert sorted(rows["inferenceservices.serving.kserve.io"]) == sorted(
        ROLLOUT_RULES[ISVCS]
    ), listed.stdout
    assert sorted(rows["pods"]) == sorted(ROLLOUT_RULES[PODS]), listed.stdout
    elsewhere = kube.kubectl(
        "auth",
        "can-i",
        "patch",
        "inferenceservices.serving.kserve.io",
        "-n",
        OTHER,
        kubeconfig=config,
        check=False,
    )
    assert (elsewhere.returncode, elsewhere.stdout.strip()) == (1, "no")


def _pod_for(api: KubeApi, job: str) -> dict[str, Any] | None:
    pods = api.call(
        "GET",
        f"/api/v1/namespaces/{NAMESPACE}/pods",
        params={"labelSelector": f"job-name={job}"},
    )["items"]
    return pods[0] if pods else None


def test_only_the_rollout_pod_mounts_a_token(
    control_plane: LocalCluster, kube: Kube, release: dict[str, str]
) -> None:
    """The ServiceAccount admission plugin decides which pods get a token: the
    Job controller's pods show what a kubelet would be handed."""
    jobs = {
        obj["metadata"]["labels"]["app.kubernetes.io/component"]: obj["metadata"][
            "name"
        ]
        for obj in kube.manifest(NAMESPACE)
        if obj["kind"] == "Job"
    }
    assert set(jobs) == {"rollout", "training", "scoring"}, jobs
    with control_plane.api() as api:
        for component, job in jobs.items():
            pod = eventually(f"a pod of Job {job}", lambda: _pod_for(api, job))  # noqa: B023
            mounts_token = any(
                "serviceAccountToken" in str(volume)
                for volume in pod["spec"].get("volumes", [])
            )
            assert pod["spec"]["serviceAccountName"] == release[component]
            assert mounts_token is (component == "rollout"), (component, pod["spec"])


def _shiplane(*args: str) -> tuple[int, str]:
    # The console script `uv run shiplane` runs, from this environment.
    cli = Path(sys.executable).with_name("shiplane")
    done = run([str(cli), *args], check=False, timeout_s=60)
    return done.returncode, done.stdout + done.stderr


def test_set_traffic_without_patch_names_the_missing_permission(
    control_plane: LocalCluster, kube: Kube, release: dict[str, str]
) -> None:
    kube.grant_isvc_reader(NAMESPACE, "alice")
    config = control_plane.user_kubeconfigs["alice"]
    code, output = _shiplane(
        "set-traffic", ISVC, "10", "-n", NAMESPACE, "--kubeconfig", str(config)
    )
    assert code != 0, output
    assert "Traceback" not in output, output
    assert 'cannot patch resource "inferenceservices"' in output, output
    assert "alice" in output, output
    # Nothing changed: the canary keeps the chart's 25%.
    with control_plane.api() as api:
        obj = api.call(
            "GET",
            f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{ISVC}",
        )
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 25


def test_set_traffic_without_any_grant_names_get(
    control_plane: LocalCluster, release: dict[str, str]
) -> None:
    config = control_plane.user_kubeconfigs["bob"]
    code, output = _shiplane(
        "set-traffic", ISVC, "10", "-n", NAMESPACE, "--kubeconfig", str(config)
    )
    assert code != 0, output
    assert "Traceback" not in output, output
    assert 'cannot get resource "inferenceservices"' in output, output
