"""helm, kubectl and REST calls against the local control plane, each bounded
in time and failing with the command's own output."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from shiplane_tools.localcluster import (
    ClusterError,
    KubeApi,
    LocalCluster,
    wait_for,
    write_kubeconfig,
)
from tests.conftest import REPO

CHART = REPO / "charts" / "shiplane"
SCENARIOS = tuple(sorted((CHART / "ci").glob("*-values.yaml")))
RELEASE = "shiplane"
T = TypeVar("T")


#: Whom a Release binds to the chart's operator Role (rbac.operatorRole).
OPERATOR = "alice"


class CommandError(AssertionError):
    """A command exited non-zero; the message carries its output."""


def run(
    argv: Sequence[str],
    *,
    timeout_s: float = 120,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``check``, fail with its stderr and stdout."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            input=input_text,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"{' '.join(argv)} ran over {timeout_s:.0f}s") from exc
    if check and done.returncode != 0:
        raise CommandError(
            f"{' '.join(argv)} exited {done.returncode}:\n"
            f"stderr: {done.stderr.strip()}\nstdout: {done.stdout.strip()[-2000:]}"
        )
    return done


class Kube:
    """The admin's helm and kubectl, plus REST helpers, on one cluster."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self._deleting: list[str] = []

    def helm(
        self, *args: str, check: bool = True, timeout_s: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """helm as the admin (``--kubeconfig``/``--kube-context``)."""
        return run(
            [
                "helm",
                *args,
                "--kubeconfig",
                str(self.cluster.admin_kubeconfig),
                "--kube-context",
                self.cluster.context,
            ],
            check=check,
            timeout_s=timeout_s,
        )

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        check: bool = True,
        input_text: str | None = None,
        timeout_s: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl as the admin, or as whoever ``kubeconfig`` names."""
        return run(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig or self.cluster.admin_kubeconfig),
                *args,
            ],
            check=check,
            input_text=input_text,
            timeout_s=timeout_s,
        )

    def api(self, token: str | None = None) -> KubeApi:
        """REST client as the admin or as ``token``."""
        return self.cluster.api(token)

    def install(
        self,
        namespace: str,
        *values: Path,
        set_values: Sequence[str] = (),
        action: str = "install",
    ) -> subprocess.CompletedProcess[str]:
        """``helm install|upgrade RELEASE CHART -n NAMESPACE -f ... --wait=false``."""
        args = [action, RELEASE, str(CHART), "--namespace", namespace, "--wait=false"]
        for path in values:
            args += ["--values", str(path)]
        for item in set_values:
            args += ["--set", item]
        return self.helm(*args)

    def install_release(
        self,
        namespace: str,
        values: Sequence[Path],
        set_values: Sequence[str],
        workdir: Path,
    ) -> Release:
        """Install the chart into ``namespace`` with :data:`OPERATOR` bound to
        its operator Role; the kubeconfig acts as them, in that namespace."""
        subject = "rbac.operatorRole.subjects[0]"
        self.install(
            namespace,
            *values,
            set_values=[
                f"{subject}.kind=User",
                f"{subject}.name={OPERATOR}",
                f"{subject}.apiGroup=rbac.authorization.k8s.io",
                *set_values,
            ],
        )
        kubeconfig = write_kubeconfig(
            workdir / f"{namespace}.{OPERATOR}.kubeconfig",
            server=self.cluster.server,
            ca_file=self.cluster.ca_file,
            user=OPERATOR,
            token=self.cluster.user_tokens[OPERATOR],
            namespace=namespace,
        )
        return Release(self, namespace, kubeconfig)

    def manifest(self, namespace: str) -> list[dict[str, Any]]:
        """The objects of the release (``helm get manifest``)."""
        text = self.helm("get", "manifest", RELEASE, "--namespace", namespace).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def create_namespace(self, name: str) -> None:
        """Create a namespace as the admin."""
        with self.api() as api:
            api.call(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )

    def grant_isvc_reader(self, namespace: str, user: str) -> None:
        """Let ``user`` get, list and watch (never patch) InferenceServices in
        ``namespace``: a Role and a RoleBinding, made as the admin."""
        rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
        role = "isvc-reader"
        with self.api() as api:
            if api.get(f"{rbac}/roles/{role}") is None:
                api.call(
                    "POST",
                    f"{rbac}/roles",
                    {
                        "metadata": {"name": role},
                        "rules": [
                            {
                                "apiGroups": ["serving.kserve.io"],
                                "resources": ["inferenceservices"],
                                "verbs": ["get", "list", "watch"],
                            }
                        ],
                    },
                )
            api.call(
                "POST",
                f"{rbac}/rolebindings",
                {
                    "metadata": {"name": f"{role}-{user}"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": role,
                    },
                    "subjects": [
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "User",
                            "name": user,
                        }
                    ],
                },
            )

    def delete_namespace(self, name: str) -> None:
        """Start deleting a namespace; ``wait_deleted`` waits for it."""
        path = f"/api/v1/namespaces/{name}"
        with self.api() as api:
            reply = api.request("DELETE", path)
        if reply.status_code not in (200, 202, 404):
            raise ClusterError(f"DELETE {path}: HTTP {reply.status_code}")
        self._deleting.append(name)

    def wait_deleted(self, timeout_s: float = 120) -> None:
        """Wait until every namespace deleted so far is gone: the namespace
        controller (which waits 5 s before it starts on each) and any
        finalizer of the objects in them, KServe's included, have finished.
        They are waited for together, once, rather than 5 s per test."""
        with self.api() as api:
            for name in self._deleting:
                path = f"/api/v1/namespaces/{name}"
                wait_for(
                    f"namespace {name} to be deleted",
                    lambda: api.get(path) is None,  # noqa: B023
                    timeout_s,
                    poll_s=0.5,
                    detail=lambda: str((api.get(path) or {}).get("status")),  # noqa: B023
                )
        self._deleting.clear()

    @contextmanager
    def namespace(self, name: str) -> Iterator[str]:
        """A namespace for the duration of a ``with`` block, deleted after
        (the session waits for the deletion to finish)."""
        self.create_namespace(name)
        try:
            yield name
        finally:
            self.delete_namespace(name)


def eventually(
    what: str,
    probe: Callable[[], T | None],
    timeout_s: float = 60,
    poll_s: float = 0.25,
) -> T:
    """Poll ``probe`` until it returns something other than None or False.

    Raises:
        AssertionError: after ``timeout_s``, naming ``what`` and the last
            exception the probe raised, if any.
    """
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (AssertionError, ClusterError, KeyError, IndexError) as exc:
            last, result = exc, None
        if result is not None and result is not False:
            return result
        time.sleep(poll_s)
    raise AssertionError(
        f"timed out after {timeout_s:.0f}s waiting for {what}"
        + (f"; last error: {last}" if last else "")
    )


ISVC_API = "/apis/serving.kserve.io/v1beta1"


@dataclass
class Release:
    """The chart installed in a namespace of its own, and an operator's
    kubeconfig (context namespace: that one) to run the CLI with."""

    kube: Kube
    namespace: str
    kubeconfig: Path

    def isvc_path(self, name: str) -> str:
        return f"{ISVC_API}/namespaces/{self.namespace}/inferenceservices/{name}"

    def get(self, name: str) -> dict[str, Any]:
        """The InferenceService as the API server holds it now (as the admin)."""
        with self.kube.api() as api:
            return api.call("GET", self.isvc_path(name))

    def patch(self, name: str, patch: dict[str, Any], *, status: bool = False) -> None:
        """A JSON merge patch as the admin; ``status`` writes the status
        subresource, as KServe (or, with no Knative here, Knative) reports it."""
        path = self.isvc_path(name) + ("/status" if status else "")
        with self.kube.api() as api:
            api.call("PATCH", path, patch, content_type="application/merge-patch+json")

    def touch(self, name: str) -> str:
        """Another writer changes the object; its new resourceVersion."""
        stamp = f"{time.monotonic_ns()}"
        self.patch(
            name, {"metadata": {"annotations": {"test.shiplane.io/touched": stamp}}}
        )
        return str(self.get(name)["metadata"]["resourceVersion"])


def isvc_versions_since(
    release: Release, name: str, resource_version: str
) -> list[dict[str, Any]]:
    """Every version of the InferenceService the API server stored after
    ``resource_version``, oldest first: a watch from there, which the server
    closes after a second (KServe's status writes included)."""
    import json

    path = f"{ISVC_API}/namespaces/{release.namespace}/inferenceservices"
    params = {
        "watch": "1",
        "resourceVersion": resource_version,
        "fieldSelector": f"metadata.name={name}",
        "timeoutSeconds": "1",
    }
    with release.kube.api() as api:
        reply = api.request("GET", path, params=params)
    if reply.status_code != 200:
        raise ClusterError(f"watch {path}: HTTP {reply.status_code}: {reply.text}")
    events = [json.loads(line) for line in reply.text.splitlines() if line]
    for event in events:
        if event["type"] == "ERROR":  # e.g. 410 Gone: too old a resourceVersion
            raise ClusterError(f"watch {path}: {event['object']}")
    return [event["object"] for event in events if event["type"] != "BOOKMARK"]


def settled_isvc(
    release: Release, name: str, quiet_s: float = 1.0, timeout_s: float = 60
) -> dict[str, Any]:
    """The InferenceService once KServe has reported on it (a status with
    conditions) and stopped writing: its resourceVersion unchanged for
    ``quiet_s``. A test comparing resourceVersions takes its "before" from
    this, so that KServe's own status update cannot land in between."""
    deadline = time.monotonic() + timeout_s
    last, since = "", time.monotonic()
    while time.monotonic() < deadline:
        obj = release.get(name)
        version = str(obj["metadata"]["resourceVersion"])
        if version != last:
            last, since = version, time.monotonic()
        elif (obj.get("status") or {}).get("conditions") and (
            time.monotonic() - since >= quiet_s
        ):
            return obj
        time.sleep(0.1)
    raise AssertionError(
        f"{release.namespace}/{name} did not settle in {timeout_s:.0f}s "
        f"(last resourceVersion {last})"
    )
