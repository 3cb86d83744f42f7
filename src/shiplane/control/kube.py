"""The thin Kubernetes API layer: read and patch InferenceServices.

Only two calls reach the cluster: a GET and a JSON merge PATCH of
``serving.kserve.io/v1beta1`` ``inferenceservices``, through the official
``kubernetes`` client. API errors become :mod:`shiplane.control.errors` types
with messages a user can act on; reading and planning live in the pure
:mod:`shiplane.control.view` and :mod:`shiplane.control.plans`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane.control.errors import ApiError, ConflictError, NotFoundError

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"
MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "shiplane"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class KubeTarget:
    """Where to talk to: an API client plus the defaults its config implies."""

    api: Any
    """A ``kubernetes.client.CustomObjectsApi``."""
    namespace: str
    """The context's namespace (or the pod's, in a cluster)."""
    user: str
    """Who acts, for the audit record: the kubeconfig user or the pod's
    service account."""


def connect(kubeconfig: str | None = None, context: str | None = None) -> KubeTarget:
    """Build a client from a kubeconfig, or from the pod's service account
    when there is no kubeconfig (the rollout Job).

    Args:
        kubeconfig: kubeconfig path; None uses ``$KUBECONFIG`` or ``~/.kube/config``
            as kubectl does.
        context: context name; None uses the current context.

    Raises:
        ApiError: no usable configuration.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        chosen = (
            next((c for c in contexts if c["name"] == context), None)
            if context
            else active
        )
        if chosen is None:
            raise ApiError(f"no context {context!r} in the kubeconfig")
        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context
        )
        details = chosen.get("context") or {}
        namespace = str(details.get("namespace") or "default")
        user = str(details.get("user") or "unknown")
    except (ConfigException, FileNotFoundError) as exc:
        if kubeconfig is not None or not _SA_NAMESPACE.exists():
            raise ApiError(f"no usable Kubernetes configuration: {exc}") from exc
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        api_client = client.ApiClient(configuration)
        namespace = _SA_NAMESPACE.read_text().strip()
        user = f"system:serviceaccount:{namespace}"
    return KubeTarget(client.CustomObjectsApi(api_client), namespace, user)


def _translate(exc: Any, name: str, namespace: str, doing: str) -> Exception:
    status = getattr(exc, "status", None)
    if status == 404:
        return NotFoundError(f"no InferenceService {name} in namespace {namespace}")
    if status == 409:
        return ConflictError(
            f"{namespace}/{name} was changed by someone else since it was read; "
            "nothing applied, retry"
        )
    reason = getattr(exc, "reason", "") or ""
    detail = ""
    body = getattr(exc, "body", None)
    if body:
        try:
            detail = str(json.loads(body).get("message") or "")
        except (ValueError, AttributeError):
            detail = str(body)[:300]
    return ApiError(
        f"{doing} {namespace}/{name} failed: HTTP {status} {reason} {detail}".strip()
        + "; nothing applied"
    )


def get_isvc(target: KubeTarget, name: str, namespace: str) -> JsonDict:
    """Read one InferenceService.

    Raises:
        NotFoundError: no such InferenceService.
        ApiError: any other API failure.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        obj = target.api.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
    except ApiException as exc:
        raise _translate(exc, name, namespace, "reading") from exc
    except (OSError, HTTPError) as exc:  # connection refused, DNS, TLS
        raise ApiError(f"cannot reach the Kubernetes API: {exc}") from exc
    return dict(obj)


def patch_isvc(
    target: KubeTarget, name: str, namespace: str, patch: JsonDict
) -> JsonDict:
    """Apply a JSON merge patch; the patch's ``metadata.resourceVersion`` makes
    the API server refuse it (409) if the object changed since it was read.

    Raises:
        ConflictError: the object changed; nothing applied.
        NotFoundError: the object is gone.
        ApiError: any other refusal; nothing applied.
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        obj = target.api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            patch,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
        )
    except ApiException as exc:
        raise _translate(exc, name, namespace, "patching") from exc
    except (OSError, HTTPError) as exc:
        raise ApiError(f"cannot reach the Kubernetes API: {exc}") from exc
    return dict(obj)
