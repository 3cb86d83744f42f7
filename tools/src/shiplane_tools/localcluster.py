"""A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
kube-controller-manager and KServe's own controller, built from their Go modules.

This is envtest's recipe run as plain processes (``scripts/controlplane-build.sh``
builds the binaries, ``make tools`` calls it): a real API server with RBAC,
admission and the real CRD schemas, so ``helm install``, token-based users and
KServe's reconciler meet the real thing. What it lacks on purpose: a kubelet
(no pod ever runs), container networking and Knative (see docs/controlplane.md).

* etcd 3.6 with ``--unsafe-no-fsync``, data under the state directory;
* kube-apiserver with ``--authorization-mode=RBAC``, serving certificates and
  service-account signing keys generated here, a ``--token-auth-file`` with an
  admin (``system:masters``) and named test users with no groups;
* kube-controller-manager for service-account tokens, namespace deletion,
  garbage collection, Jobs, EndpointSlices. The Deployment and ReplicaSet
  controllers are off: with no kubelet they would keep every Deployment's
  status at zero ready replicas, so a test marks a Deployment ready by writing
  its status subresource, as KServe's own envtest suite does;
* KServe's CRDs and manager in Standard (RawDeployment) mode, its webhooks
  registered with the API server, plus prometheus-operator's CRDs.

``python -m shiplane_tools.localcluster up|down|env --state DIR`` (``make cluster-up``,
``make cluster-down``) gives a person the same cluster.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import functools
import ipaddress
import json
import secrets
import shutil
import ssl
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shiplane_tools import repo
from shiplane_tools.localstack import (
    LOOPBACK,
    ManagedProcess,
    StartError,
    free_port,
    http_ok,
    stop_pidfile,
)

REPO = repo.root()
TOOLS_DIR = REPO / ".tools" / "controlplane"
"""Where scripts/controlplane-build.sh puts ``<component>-<version>/``."""
VERSIONS_FILE = REPO / "scripts" / "controlplane.env"
"""The version pins, shared with the build script."""
BUILD_HINT = (
    "run `make tools` (scripts/controlplane-build.sh builds the control plane "
    "from Go modules: about 10 minutes cold on 2 cores, seconds when built)"
)

SERVICE_CIDR = "10.0.0.0/24"
KUBERNETES_SERVICE_IP = "10.0.0.1"
"""The first address of SERVICE_CIDR: the ``kubernetes`` Service."""
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
CONTEXT = "shiplane-local"
"""The context name in every kubeconfig written here."""
ADMIN_USER = "admin"
TEST_USERS: tuple[str, ...] = ("alice", "bob")
"""Named users with no groups and no bindings: tests grant them what they need."""
FIELD_MANAGER = "shiplane-localcluster"
KSERVE_NAMESPACE = "kserve"
KSERVE_CONFIGMAP = "inferenceservice-config"
STATE_FILE = "cluster.json"
START_ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kserve")
"""Process names in start order; they stop in reverse."""

KCM_CONTROLLERS_OFF: Mapping[str, str] = {
    "deployment-controller": "no kubelet: it would reset the ready counts tests set",
    "replicaset-controller": "no kubelet: pods would never run",
    "node-ipam-controller": "no nodes",
    "node-lifecycle-controller": "no nodes",
    "certificatesigningrequest-signing-controller": "no cluster signing CA",
}
"""kube-controller-manager controllers left off, and why."""

Progress = Callable[[str], None]


class ClusterError(RuntimeError):
    """The control plane could not start or answered an unexpected error."""


class MissingBinariesError(ClusterError):
    """A control-plane binary or CRD file is not built; the message names each
    one and how to build it."""


def _say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


# --- what to run --------------------------------------------------------------


@dataclass(frozen=True)
class Versions:
    """The pinned component versions (scripts/controlplane.env)."""

    kube: str
    etcd: str
    kserve: str
    prometheus_operator: str

    @classmethod
    def load(cls, path: Path = VERSIONS_FILE) -> Versions:
        """Read ``KEY=VALUE`` pins; comments and blank lines are ignored.

        Raises:
            ClusterError: the file or a pin is missing.
        """
        try:
            text = path.read_text()
        except OSError as exc:
            raise ClusterError(f"cannot read the version pins: {exc}") from exc
        pins = dict(
            line.split("=", 1)
            for line in (raw.strip() for raw in text.splitlines())
            if line and not line.startswith("#") and "=" in line
        )
        try:
            return cls(
                kube=pins["KUBE_VERSION"],
                etcd=pins["ETCD_VERSION"],
                kserve=pins["KSERVE_VERSION"],
                prometheus_operator=pins["PROMETHEUS_OPERATOR_VERSION"],
            )
        except KeyError as exc:
            raise ClusterError(f"{path} pins no {exc.args[0]}") from exc


@dataclass(frozen=True)
class Binaries:
    """Paths of everything the control plane runs or installs."""

    versions: Versions
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kserve_manager: Path
    kserve_crds: tuple[Path, ...]
    kserve_configmap: Path
    """KServe's own ``inferenceservice-config`` (config/configmap)."""
    kserve_webhooks: Path
    """KServe's webhook configurations (config/webhook/manifests.yaml)."""
    prometheus_crds: tuple[Path, ...]

    @classmethod
    def find(
        cls, tools_dir: Path = TOOLS_DIR, versions: Versions | None = None
    ) -> Binaries:
        """Locate the built control plane.

        Raises:
            MissingBinariesError: naming every missing file and ``make tools``.
        """
        versions = versions or Versions.load()
        kube = tools_dir / f"kube-{versions.kube}"
        kserve = tools_dir / f"kserve-{versions.kserve}"
        promop = tools_dir / f"promop-{versions.prometheus_operator}"
        found = cls(
            versions=versions,
            etcd=tools_dir / f"etcd-{versions.etcd}" / "etcd",
            kube_apiserver=kube / "kube-apiserver",
            kube_controller_manager=kube / "kube-controller-manager",
            kserve_manager=kserve / "kserve",
            kserve_crds=tuple(sorted((kserve / "crds").glob("*.yaml"))),
            kserve_configmap=kserve / "config" / "inferenceservice-config.yaml",
            kserve_webhooks=kserve / "config" / "webhooks.yaml",
            prometheus_crds=tuple(sorted((promop / "crds").glob("*.yaml"))),
        )
        wanted: list[tuple[str, Path | tuple[Path, ...], Path]] = [
            (f"etcd {versions.etcd}", found.etcd, found.etcd),
            (f"kube-apiserver {versions.kube}", found.kube_apiserver, kube),
            (
                f"kube-controller-manager {versions.kube}",
                found.kube_controller_manager,
                kube,
            ),
            (f"KServe manager {versions.kserve}", found.kserve_manager, kserve),
            (f"KServe CRDs {versions.kserve}", found.kserve_crds, kserve / "crds"),
            (
                f"KServe inferenceservice-config {versions.kserve}",
                found.kserve_configmap,
                kserve,
            ),
            (f"KServe webhooks {versions.kserve}", found.kserve_webhooks, kserve),
            (
                f"prometheus-operator CRDs {versions.prometheus_operator}",
                found.prometheus_crds,
                promop / "crds",
            ),
        ]
        missing = [
            f"{label} ({_shown(where)})"
            for label, what, where in wanted
            if not (what if isinstance(what, tuple) else what.is_file())
        ]
        if missing:
            raise MissingBinariesError(
                "the local Kubernetes control plane is not built; missing: "
                + "; ".join(missing)
                + f". To build it, {BUILD_HINT}."
            )
        return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# --- certificates and keys ----------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """Files of the cluster's certificate authority, serving certificates and
    service-account signing key, all generated at start."""

    ca_cert: Path
    serving_cert: Path
    """For 127.0.0.1 and the ``kubernetes`` Service names; the API server, the
    controller manager and KServe's webhook server all present it."""
    serving_key: Path
    service_account_key: Path
    service_account_pub: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def write_pki(directory: Path) -> Pki:
    """Generate a CA, one serving certificate it signs and a service-account
    key pair (ECDSA P-256: fast to generate, accepted by every component).

    Args:
        directory: created if needed; the files are written into it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    valid = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=7))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shiplane-local-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    serving_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
        x509.IPAddress(ipaddress.ip_address(KUBERNETES_SERVICE_IP)),
        x509.DNSName("localhost"),
        *(
            x509.DNSName(name)
            for name in (
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            )
        ),
    ]
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shiplane-local")])
        )
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = ec.generate_private_key(ec.SECP256R1())
    pki = Pki(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "serving.crt",
        serving_key=directory / "serving.key",
        service_account_key=directory / "service-account.key",
        service_account_pub=directory / "service-account.pub",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.serving_key, serving_key)
    _write_key(pki.service_account_key, sa_key)
    pki.service_account_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return pki


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_file: Path,
    user: str,
    token: str,
    namespace: str = "default",
) -> Path:
    """Write a one-context kubeconfig (context ``shiplane-local``) that
    authenticates with a bearer token.

    Args:
        path: the file to write (mode 0600: it holds a token).
        server: API server URL.
        ca_file: CA bundle that signed the server's certificate.
        user: the user entry's name (shown by kubectl and the CLI).
        token: bearer token.
        namespace: the context's default namespace.

    Returns:
        ``path``.
    """
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority": str(ca_file)},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": user, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


# --- talking to the API server ------------------------------------------------

_APPLY_PATHS: Mapping[tuple[str, str], str] = {
    ("v1", "Namespace"): "/api/v1/namespaces/{name}",
    ("v1", "ConfigMap"): "/api/v1/namespaces/{namespace}/configmaps/{name}",
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    ): "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ): "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}",
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ): "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{name}",
}
"""The kinds the control plane installs itself, and where they live."""


class KubeApi:
    """A small REST client for the API server: bearer token, the cluster's CA.

    Enough for what starting the cluster and the tests need (server-side apply,
    TokenRequest, status subresources) without a generated client.
    """

    def __init__(
        self, server: str, ca_file: Path, token: str, timeout_s: float = 30.0
    ) -> None:
        self._client = httpx.Client(
            base_url=server,
            verify=ssl.create_default_context(cafile=str(ca_file)),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request; the response whatever its status."""
        return self._client.request(
            method,
            path,
            content=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": content_type},
            params=params,
        )

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request that must succeed; its JSON body.

        Raises:
            ClusterError: a non-2xx answer, with the server's message.
        """
        reply = self.request(
            method, path, body, content_type=content_type, params=params
        )
        if reply.status_code >= 300:
            raise ClusterError(
                f"{method} {path}: HTTP {reply.status_code}: {_message(reply)}"
            )
        result: dict[str, Any] = reply.json()
        return result

    def get(self, path: str) -> dict[str, Any] | None:
        """GET that answers None for 404."""
        reply = self.request("GET", path)
        if reply.status_code == 404:
            return None
        if reply.status_code >= 300:
            raise ClusterError(
                f"GET {path}: HTTP {reply.status_code}: {_message(reply)}"
            )
        result: dict[str, Any] = reply.json()
        return result

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of one object of a kind in ``_APPLY_PATHS``."""
        key = (str(obj["apiVersion"]), str(obj["kind"]))
        meta = obj["metadata"]
        path = _APPLY_PATHS[key].format(
            name=meta["name"], namespace=meta.get("namespace", "")
        )
        return self.call(
            "PATCH",
            path,
            obj,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
        )

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create one object of a kind in ``_APPLY_PATHS``, or server-side apply
        it when it exists. Creating a 2 MB CRD costs the API server a third of
        what applying it does (no merge of managed fields)."""
        key = (str(obj["apiVersion"]), str(obj["kind"]))
        meta = obj["metadata"]
        collection = (
            _APPLY_PATHS[key]
            .format(name="", namespace=meta.get("namespace", ""))
            .rstrip("/")
        )
        reply = self.request("POST", collection, obj)
        if reply.status_code == 409:
            return self.apply(obj)
        if reply.status_code >= 300:
            raise ClusterError(
                f"POST {collection}: HTTP {reply.status_code}: {_message(reply)}"
            )
        result: dict[str, Any] = reply.json()
        return result

    def token_request(
        self,
        namespace: str,
        service_account: str,
        expiration_s: int = 3600,
        audiences: Sequence[str] = (),
    ) -> str:
        """A token for a ServiceAccount through the TokenRequest API (what the
        kubelet mounts into pods).

        Args:
            namespace: the ServiceAccount's namespace.
            service_account: its name.
            expiration_s: lifetime; the API server's minimum is 600.
            audiences: token audiences; empty means the API server's own.
        """
        spec: dict[str, Any] = {"expirationSeconds": expiration_s}
        if audiences:
            spec["audiences"] = list(audiences)
        reply = self.call(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": spec,
            },
        )
        return str(reply["status"]["token"])


def _message(reply: httpx.Response) -> str:
    try:
        return str(reply.json().get("message", reply.text))
    except ValueError:
        return reply.text[:500]


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout_s: float,
    poll_s: float = 0.2,
    *,
    detail: Callable[[], str] | None = None,
) -> None:
    """Poll ``check`` until it is true.

    Raises:
        ClusterError: after ``timeout_s``, naming ``what`` (and ``detail()``,
            the last state seen, when given).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll_s)
    extra = f": {detail()}" if detail else ""
    raise ClusterError(f"timed out after {timeout_s:.0f}s waiting for {what}{extra}")


# --- the running cluster ------------------------------------------------------


@dataclass
class LocalCluster:
    """A running local control plane and how to talk to it."""

    state_dir: Path
    server: str
    """``https://127.0.0.1:PORT``."""
    ca_file: Path
    """The CA that signed the API server's certificate."""
    admin_token: str
    """Bearer token of ``admin`` (group ``system:masters``)."""
    admin_kubeconfig: Path
    user_tokens: dict[str, str]
    """Token of each named test user (no groups, no bindings)."""
    user_kubeconfigs: dict[str, Path]
    versions: Versions
    kserve_webhook_port: int
    processes: list[ManagedProcess] = field(default_factory=list, repr=False)
    """In start order; ``stop`` goes in reverse."""

    context: str = CONTEXT

    def api(self, token: str | None = None) -> KubeApi:
        """A REST client acting as ``token`` (the admin by default)."""
        return KubeApi(self.server, self.ca_file, token or self.admin_token)

    def service_account_token(
        self, namespace: str, name: str, expiration_s: int = 3600
    ) -> str:
        """Mint a token for a ServiceAccount with the TokenRequest API."""
        with self.api() as api:
            return api.token_request(namespace, name, expiration_s)

    def service_account_kubeconfig(
        self,
        namespace: str,
        name: str,
        path: Path | None = None,
        expiration_s: int = 3600,
    ) -> Path:
        """Mint a ServiceAccount token and write a kubeconfig that uses it.

        Args:
            namespace: the ServiceAccount's namespace (also the context's).
            name: the ServiceAccount.
            path: where to write; default ``<state>/sa/<namespace>/<name>.kubeconfig``.
            expiration_s: token lifetime.

        Returns:
            The kubeconfig's path.
        """
        token = self.service_account_token(namespace, name, expiration_s)
        path = path or self.state_dir / "sa" / namespace / f"{name}.kubeconfig"
        return write_kubeconfig(
            path,
            server=self.server,
            ca_file=self.ca_file,
            user=f"system:serviceaccount:{namespace}:{name}",
            token=token,
            namespace=namespace,
        )

    def log_path(self, process: str) -> Path:
        """Log file of one of START_ORDER's processes."""
        return self.state_dir / "logs" / f"{process}.log"

    def healthy(self) -> bool:
        """Whether the API server answers ``/readyz``."""
        try:
            with self.api() as api:
                return api.request("GET", "/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop every process, last started first (KServe before the API
        server, the API server before etcd). Idempotent."""
        if self.processes:
            for proc in reversed(self.processes):
                proc.stop()
        else:
            for name in reversed(START_ORDER):
                stop_pidfile(self.state_dir / "logs" / f"{name}.pid")

    def save(self) -> Path:
        """Write ``cluster.json`` (mode 0600: it holds tokens) for ``load``."""
        record = {
            "server": self.server,
            "ca_file": str(self.ca_file),
            "admin_token": self.admin_token,
            "admin_kubeconfig": str(self.admin_kubeconfig),
            "user_tokens": self.user_tokens,
            "user_kubeconfigs": {k: str(v) for k, v in self.user_kubeconfigs.items()},
            "versions": self.versions.__dict__,
            "kserve_webhook_port": self.kserve_webhook_port,
        }
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(record, indent=2))
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, state_dir: Path) -> LocalCluster:
        """The cluster another process started in ``state_dir``; ``stop`` then
        goes through the PID files.

        Raises:
            ClusterError: no cluster was started there.
        """
        try:
            record = json.loads((state_dir / STATE_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ClusterError(f"no local cluster in {state_dir}: {exc}") from exc
        return cls(
            state_dir=state_dir,
            server=record["server"],
            ca_file=Path(record["ca_file"]),
            admin_token=record["admin_token"],
            admin_kubeconfig=Path(record["admin_kubeconfig"]),
            user_tokens=dict(record["user_tokens"]),
            user_kubeconfigs={
                k: Path(v) for k, v in record["user_kubeconfigs"].items()
            },
            versions=Versions(**record["versions"]),
            kserve_webhook_port=int(record["kserve_webhook_port"]),
        )


# --- starting it --------------------------------------------------------------


def _fresh_state_dir(state_dir: Path) -> None:
    """Empty ``state_dir`` for a new cluster, refusing a directory that holds
    anything but a previous cluster."""
    if state_dir.exists() and any(state_dir.iterdir()):
        if not (state_dir / STATE_FILE).exists() and not (state_dir / "pki").exists():
            raise ClusterError(
                f"{state_dir} is not empty and holds no local cluster: "
                "choose an empty directory"
            )
        for name in START_ORDER:  # a previous cluster's processes hold its files
            stop_pidfile(state_dir / "logs" / f"{name}.pid")
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)


def _token_file(path: Path, users: Mapping[str, tuple[str, Sequence[str]]]) -> None:
    """kube-apiserver's static token CSV: ``token,user,uid[,"group1,group2"]``."""
    lines = []
    for user, (token, groups) in users.items():
        line = f"{token},{user},uid-{user}"
        if groups:
            line += ',"' + ",".join(groups) + '"'
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def kserve_configmap(source: Path) -> dict[str, Any]:
    """KServe's own ``inferenceservice-config`` (every key its manager reads,
    with KServe's defaults) set up for this cluster: Standard (RawDeployment)
    mode and no Ingress objects, as ``.github/scripts/e2e-kind.sh`` installs
    KServe; the ``_example`` documentation key dropped.

    Args:
        source: the ConfigMap file copied from the KServe module at build time.
    """
    configmap: dict[str, Any] = yaml.safe_load(source.read_text())
    data = {k: v for k, v in configmap["data"].items() if not k.startswith("_")}
    data["deploy"] = json.dumps({"defaultDeploymentMode": "Standard"})
    ingress = json.loads(data["ingress"])
    ingress["disableIngressCreation"] = True
    data["ingress"] = json.dumps(ingress)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": KSERVE_CONFIGMAP, "namespace": KSERVE_NAMESPACE},
        "data": data,
    }


def kserve_webhooks(source: Path, port: int, ca_file: Path) -> list[dict[str, Any]]:
    """KServe's webhook configurations with each ``clientConfig.service``
    replaced by the local manager's URL and the cluster's CA.

    Args:
        source: KServe's config/webhook/manifests.yaml (copied at build time).
        port: the manager's webhook port on 127.0.0.1.
        ca_file: the CA that signed the manager's serving certificate.
    """
    ca_bundle = base64.b64encode(ca_file.read_bytes()).decode()
    configs: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(source.read_text()):
        if not doc:
            continue
        doc["metadata"] = {"name": doc["metadata"]["name"]}
        for hook in doc["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {
                "url": f"https://{LOOPBACK}:{port}{path}",
                "caBundle": ca_bundle,
            }
        configs.append(doc)
    return configs


def _crd_established(api: KubeApi, name: str) -> bool:
    crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "Established" and c.get("status") == "True" for c in conditions
    )


def install_crds(api: KubeApi, files: Iterable[Path], timeout_s: float) -> list[str]:
    """Create (or apply) every CRD in ``files`` and wait until each is
    Established; returns their names."""
    names: list[str] = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                api.create(doc)
                names.append(str(doc["metadata"]["name"]))
    for name in names:
        wait_for(
            f"CRD {name} to be Established",
            functools.partial(_crd_established, api, name),
            timeout_s,
        )
    return names


def start(
    state_dir: Path,
    *,
    tools_dir: Path = TOOLS_DIR,
    users: Sequence[str] = TEST_USERS,
    progress: Progress = _say,
    timeout_s: float = 60.0,
) -> LocalCluster:
    """Start a fresh control plane with its state in ``state_dir``.

    Args:
        state_dir: emptied first (it must be empty or hold an earlier cluster):
            certificates, tokens, kubeconfigs, etcd data, logs and PID files.
        tools_dir: where the built binaries are.
        users: named test users to create, each with a kubeconfig.
        progress: called with one line per step.
        timeout_s: bound of each wait.

    Returns:
        The running cluster; call ``stop()`` when done.

    Raises:
        MissingBinariesError: something is not built (names it and ``make tools``).
        ClusterError, StartError: a process did not start; the message quotes
            its log. Whatever had started is stopped.
    """
    started = time.monotonic()
    binaries = Binaries.find(tools_dir)
    versions = binaries.versions
    state_dir = state_dir.resolve()
    _fresh_state_dir(state_dir)
    logs = state_dir / "logs"
    pki = write_pki(state_dir / "pki")

    admin_token = secrets.token_urlsafe(24)
    user_tokens = {user: secrets.token_urlsafe(24) for user in users}
    kcm_token, kserve_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    token_file = state_dir / "pki" / "tokens.csv"
    _token_file(
        token_file,
        {
            ADMIN_USER: (admin_token, ["system:masters"]),
            # Its controllers act as itself (no per-controller service accounts).
            "system:kube-controller-manager": (kcm_token, ["system:masters"]),
            # KServe's ClusterRole is KServe's business; the tests check ours.
            "kserve-controller-manager": (kserve_token, ["system:masters"]),
            **{user: (token, []) for user, token in user_tokens.items()},
        },
    )

    ports = {name: free_port() for name in ("etcd", "etcd-peer", "apiserver")}
    server = f"https://{LOOPBACK}:{ports['apiserver']}"
    kubeconfigs = state_dir / "kubeconfigs"
    admin_kubeconfig = write_kubeconfig(
        kubeconfigs / "admin.kubeconfig",
        server=server,
        ca_file=pki.ca_cert,
        user=ADMIN_USER,
        token=admin_token,
    )
    user_kubeconfigs = {
        user: write_kubeconfig(
            kubeconfigs / f"{user}.kubeconfig",
            server=server,
            ca_file=pki.ca_cert,
            user=user,
            token=token,
        )
        for user, token in user_tokens.items()
    }
    processes: list[ManagedProcess] = []
    cluster = LocalCluster(
        state_dir=state_dir,
        server=server,
        ca_file=pki.ca_cert,
        admin_token=admin_token,
        admin_kubeconfig=admin_kubeconfig,
        user_tokens=user_tokens,
        user_kubeconfigs=user_kubeconfigs,
        versions=versions,
        kserve_webhook_port=free_port(),
        processes=processes,
    )
    cluster.save()

    def step(
        name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        proc = ManagedProcess(name, argv, logs, env=dict(env or {}))
        processes.append(proc.start())
        return proc

    try:
        t0 = time.monotonic()
        etcd_url = f"http://{LOOPBACK}:{ports['etcd']}"
        peer_url = f"http://{LOOPBACK}:{ports['etcd-peer']}"
        etcd = step(
            "etcd",
            [
                str(binaries.etcd),
                "--name=shiplane-local",
                f"--data-dir={state_dir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=shiplane-local={peer_url}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        etcd.wait_ready(lambda: http_ok(f"{etcd_url}/health"), timeout_s)
        progress(f"etcd {versions.etcd} on {etcd_url} ({time.monotonic() - t0:.1f}s)")

        t0 = time.monotonic()
        apiserver = step(
            "kube-apiserver",
            [
                str(binaries.kube_apiserver),
                f"--etcd-servers={etcd_url}",
                f"--bind-address={LOOPBACK}",
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={ports['apiserver']}",
                f"--cert-dir={state_dir / 'pki'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                f"--token-auth-file={token_file}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                # The API server would publish 127.0.0.1 as the endpoints of the
                # `kubernetes` Service, which the API itself refuses (loopback).
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
        )
        api = cluster.api()
        apiserver.wait_ready(lambda: _answers(api, "/readyz"), timeout_s, poll_s=0.25)
        version = api.call("GET", "/version")["gitVersion"]
        if version != versions.kube:
            raise ClusterError(
                f"kube-apiserver reports {version}, the pin is {versions.kube}: "
                f"rebuild it ({BUILD_HINT})"
            )
        progress(f"kube-apiserver {version} on {server} ({time.monotonic() - t0:.1f}s)")

        # The CRDs go in before the controller manager starts, so its garbage
        # collector knows their kinds (it rediscovers only every 30 s) and
        # collects what KServe creates the moment an InferenceService goes.
        t0 = time.monotonic()
        crds = install_crds(
            api, (*binaries.kserve_crds, *binaries.prometheus_crds), timeout_s
        )
        api.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": KSERVE_NAMESPACE},
            }
        )
        api.apply(kserve_configmap(binaries.kserve_configmap))
        progress(
            f"{len(crds)} CRDs (KServe {versions.kserve}, prometheus-operator "
            f"{versions.prometheus_operator}) and {KSERVE_NAMESPACE}/"
            f"{KSERVE_CONFIGMAP} ({time.monotonic() - t0:.1f}s)"
        )

        t0 = time.monotonic()
        kcm_port = free_port()
        kcm_kubeconfig = write_kubeconfig(
            kubeconfigs / "kube-controller-manager.kubeconfig",
            server=server,
            ca_file=pki.ca_cert,
            user="system:kube-controller-manager",
            token=kcm_token,
        )
        kcm = step(
            "kube-controller-manager",
            [
                str(binaries.kube_controller_manager),
                f"--kubeconfig={kcm_kubeconfig}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={kcm_port}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--use-service-account-credentials=false",
                "--controllers=*," + ",".join(f"-{c}" for c in KCM_CONTROLLERS_OFF),
                "--leader-elect=false",
                # Namespace deletion lists and deletes every resource type: at
                # the default 20 requests/s that alone takes 5 s.
                "--kube-api-qps=500",
                "--kube-api-burst=1000",
                # The HPAs KServe creates enforce min/max replicas (there is no
                # metrics API to scale on): every 2 s rather than 15 s.
                "--horizontal-pod-autoscaler-sync-period=2s",
                "--v=1",
            ],
        )

        t0 = time.monotonic()
        kserve_kubeconfig = write_kubeconfig(
            kubeconfigs / "kserve.kubeconfig",
            server=server,
            ca_file=pki.ca_cert,
            user="kserve-controller-manager",
            token=kserve_token,
        )
        # controller-runtime reads its webhook certificate from
        # $TMPDIR/k8s-webhook-server/serving-certs; the manager has no flag for it.
        tmpdir = state_dir / "kserve-tmp"
        certs = tmpdir / "k8s-webhook-server" / "serving-certs"
        certs.mkdir(parents=True)
        shutil.copy(pki.serving_cert, certs / "tls.crt")
        shutil.copy(pki.serving_key, certs / "tls.key")
        probe_port = free_port()
        kserve = step(
            "kserve",
            [
                str(binaries.kserve_manager),
                f"--metrics-addr={LOOPBACK}:{free_port()}",
                f"--health-probe-addr={LOOPBACK}:{probe_port}",
                f"--webhook-port={cluster.kserve_webhook_port}",
                "--leader-elect=false",
            ],
            env={
                "KUBECONFIG": str(kserve_kubeconfig),
                "TMPDIR": str(tmpdir),
                "POD_NAMESPACE": KSERVE_NAMESPACE,
            },
        )
        kserve.wait_ready(
            lambda: http_ok(f"http://{LOOPBACK}:{probe_port}/readyz"), timeout_s
        )
        for config in kserve_webhooks(
            binaries.kserve_webhooks, cluster.kserve_webhook_port, pki.ca_cert
        ):
            api.apply(config)
        progress(
            f"KServe {versions.kserve} manager, Standard mode, webhooks on "
            f"port {cluster.kserve_webhook_port} ({time.monotonic() - t0:.1f}s)"
        )

        t0 = time.monotonic()
        kcm.wait_ready(
            lambda: (
                api.get("/api/v1/namespaces/default/serviceaccounts/default")
                is not None
            ),
            timeout_s,
            poll_s=0.25,
        )
        progress(
            "kube-controller-manager: service accounts, namespaces, garbage "
            f"collection, Jobs; off: {', '.join(KCM_CONTROLLERS_OFF)} "
            f"({time.monotonic() - t0:.1f}s)"
        )
        api.close()
    except BaseException:
        cluster.stop()
        raise
    progress(f"ready in {time.monotonic() - started:.1f}s")
    return cluster


def _answers(api: KubeApi, path: str) -> bool:
    try:
        return api.request("GET", path).status_code == 200
    except httpx.HTTPError:
        return False


# --- people: make cluster-up / cluster-down ----------------------------------


def _print_env(cluster: LocalCluster) -> None:
    print(f"export KUBECONFIG={cluster.admin_kubeconfig}")
    for user, path in cluster.user_kubeconfigs.items():
        print(f"# as {user} (no groups, no bindings): --kubeconfig {path}")
    print(f"# logs: {cluster.state_dir / 'logs'}")


def main(argv: Sequence[str] | None = None) -> int:
    """``up``: start a cluster that outlives this command; ``down``: stop it;
    ``env``: print its ``export KUBECONFIG=...``."""
    parser = argparse.ArgumentParser(
        prog="python -m shiplane_tools.localcluster",
        description="A local Kubernetes control plane (etcd, kube-apiserver, "
        "kube-controller-manager, KServe) on 127.0.0.1.",
    )
    parser.add_argument("action", choices=["up", "down", "env"])
    parser.add_argument(
        "--state", type=Path, default=Path(".shiplane/cluster"), help="state directory"
    )
    args = parser.parse_args(argv)
    state: Path = args.state.resolve()
    if args.action == "down":
        try:
            LocalCluster.load(state).stop()
        except ClusterError:
            print(f"no local cluster in {state}")
            return 0
        print(f"local cluster in {state} stopped")
        return 0
    if args.action == "env":
        try:
            cluster = LocalCluster.load(state)
        except ClusterError as exc:
            print(f"error: {exc}; start one with `make cluster-up`", file=sys.stderr)
            return 1
        if not cluster.healthy():
            print(f"error: the cluster in {state} is not running", file=sys.stderr)
            return 1
        _print_env(cluster)
        return 0
    try:
        existing = LocalCluster.load(state)
    except ClusterError:
        existing = None
    if existing is not None and existing.healthy():
        print(f"a local cluster already runs in {state}", file=sys.stderr)
        _print_env(existing)
        return 0
    try:
        cluster = start(state)
    except (ClusterError, StartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print_env(cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
