"""The flags several verbs share, and the helpers that read them.

Kubernetes (``-n``, ``--kubeconfig``, ``--context``) and :class:`Cluster`, the
one connection of a command; MLflow (``--mlflow-uri`` with the
``MLFLOW_TRACKING_URI`` fallback, ``--no-mlflow``) and the one refusal when it
is not configured; the version and threshold flags of ``analyze`` and
``rollout``, read into :class:`~shiplane.analysis.settings.AnalysisSettings` and
:class:`~shiplane.control.versions.ResolvedVersions`.
"""

from __future__ import annotations

import argparse
from typing import Any

from shiplane.analysis.settings import AnalysisSettings
from shiplane.control import kube, validation
from shiplane.control.errors import InvalidRequestError
from shiplane.control.versions import ResolvedVersions, resolve
from shiplane.control.view import inspect

EXIT_NO_ANALYSIS = 5
"""``analyze`` could not analyze, ``rollout`` did not start: Prometheus
unreachable or a query rejected."""


# ---- Kubernetes ---------------------------------------------------------------------


def add_kube_arguments(parser: argparse.ArgumentParser) -> None:
    """``-n``, ``--kubeconfig``, ``--context``: as kubectl spells them."""
    group = parser.add_argument_group("Kubernetes")
    group.add_argument("-n", "--namespace", help="namespace (default: the context's)")
    group.add_argument("--kubeconfig", help="kubeconfig file (default: as kubectl)")
    group.add_argument("--context", help="kubeconfig context (default: current)")


class Cluster:
    """The cluster a command talks to, from its Kubernetes flags: connected on
    first use and reused after, so a command connects once (and not at all when
    it never needs to)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.kubeconfig: str | None = args.kubeconfig
        self.context: str | None = args.context
        self.namespace: str | None = args.namespace
        self._target: kube.KubeTarget | None = None

    def connect(self) -> tuple[kube.KubeTarget, str]:
        """API target and the namespace to use (``-n``, else the context's)."""
        if self._target is None:
            self._target = kube.connect(self.kubeconfig, self.context)
        return self._target, self.namespace or self._target.namespace


def connect(args: argparse.Namespace) -> tuple[kube.KubeTarget, str]:
    """API target and the namespace to use, for a verb that connects right away."""
    return Cluster(args).connect()


# ---- MLflow -------------------------------------------------------------------------


def add_mlflow_arguments(
    parser: argparse.ArgumentParser, uri_help: str, *, no_mlflow_help: str | None
) -> None:
    """The ``MLflow`` group: ``--mlflow-uri`` and, with ``no_mlflow_help``,
    ``--no-mlflow``."""
    group = parser.add_argument_group("MLflow")
    group.add_argument("--mlflow-uri", help=uri_help)
    if no_mlflow_help is not None:
        group.add_argument("--no-mlflow", action="store_true", help=no_mlflow_help)


def mlflow_uri(args: argparse.Namespace) -> str | None:
    """The tracking URI to use, or None when MLflow is switched off or not
    configured at all (an unset URI would make MLflow write to ./mlruns)."""
    if getattr(args, "no_mlflow", False):
        return None
    if args.mlflow_uri:
        return str(args.mlflow_uri)
    from mlflow.environment_variables import MLFLOW_TRACKING_URI

    return MLFLOW_TRACKING_URI.get() if MLFLOW_TRACKING_URI.is_set() else None  # type: ignore[no-untyped-call]


def mlflow_not_configured(then: str) -> InvalidRequestError:
    """The refusal of a verb that needs MLflow and has no URI; ``then`` ends the
    sentence (what the URI is for, how to do without it)."""
    return InvalidRequestError(
        "MLflow is not configured: pass --mlflow-uri (or set MLFLOW_TRACKING_URI)"
        + then
    )


# ---- analysis: versions and thresholds ----------------------------------------------

# flag -> AnalysisSettings field; flags left out keep the settings' value
# (SHIPLANE_ANALYSIS_* or the default).
_THRESHOLD_FLAGS: dict[str, tuple[str, type, str]] = {
    "--prometheus-url": ("prometheus_url", str, "Prometheus base URL"),
    "--window": ("window", str, "PromQL range to compare over (30s, 2m, ...)"),
    "--error-codes": ("error_codes", str, "regex of status codes counted as errors"),
    "--min-requests": (
        "min_requests",
        int,
        "requests per version below which the verdict is inconclusive",
    ),
    "--max-error-rate": ("max_error_rate", float, "canary error rate that fails it"),
    "--error-alpha": ("error_alpha", float, "significance of the error-rate z-test"),
    "--max-p95-ratio": ("max_p95_ratio", float, "largest canary/stable p95 ratio"),
    "--max-p99-ratio": ("max_p99_ratio", float, "largest canary/stable p99 ratio"),
    "--latency-min-delta-s": (
        "latency_min_delta_s",
        float,
        "a slower canary fails only if slower by this much",
    ),
    "--max-drift-share": ("max_drift_share", float, "drifted feature share that fails"),
    "--min-feedback": ("min_feedback", int, "feedback labels needed for accuracy"),
    "--max-accuracy-drop": ("max_accuracy_drop", float, "accuracy drop that fails"),
}


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """Version selection and every threshold flag."""
    which = parser.add_argument_group("versions (default: resolved, see docs)")
    which.add_argument("--model", help="registered model name")
    which.add_argument("--stable-version", help="stable model version")
    which.add_argument("--canary-version", help="canary model version")
    which.add_argument("--mlflow-uri", help="resolve @champion/@challenger via MLflow")
    which.add_argument(
        "--no-kube",
        action="store_true",
        help="do not read the InferenceService (local stack behind the router)",
    )
    limits = parser.add_argument_group("thresholds (env SHIPLANE_ANALYSIS_*)")
    for flag, (field, kind, text) in _THRESHOLD_FLAGS.items():
        limits.add_argument(flag, dest=field, type=kind, default=None, help=text)
    limits.add_argument(
        "--no-drift-check",
        dest="check_drift",
        action="store_const",
        const=False,
        default=None,
        help="leave drift out",
    )
    limits.add_argument(
        "--require-feedback",
        dest="require_feedback",
        action="store_const",
        const=True,
        default=None,
        help="inconclusive without enough feedback",
    )


def analysis_settings(args: argparse.Namespace, **defaults: Any) -> AnalysisSettings:
    """Settings from the environment, overridden by the verb's ``defaults``,
    then by the flags given."""
    fields = [f for f, _, _ in _THRESHOLD_FLAGS.values()] + [
        "check_drift",
        "require_feedback",
    ]
    flags: dict[str, Any] = {
        f: getattr(args, f) for f in fields if getattr(args, f, None) is not None
    }
    return AnalysisSettings(**{**defaults, **flags})


def resolve_versions(
    args: argparse.Namespace, cluster: Cluster, *, no_kube: bool
) -> ResolvedVersions:
    """Model and versions from flags, the InferenceService and MLflow.

    ``no_kube``: leave the InferenceService out (``--no-kube``, or nothing to
    read it for); the model name then defaults to NAME.
    """
    view = None
    if not no_kube and not (args.model and args.stable_version and args.canary_version):
        validation.validate_name(args.name)
        target, namespace = cluster.connect()
        view = inspect(kube.get_isvc(target, args.name, namespace))
    client = None
    tracking_uri = args.mlflow_uri or mlflow_uri(args)
    if tracking_uri:
        from shiplane_contracts.mlflowclient import registry_client

        client = registry_client(tracking_uri)
    model = (
        args.model
        or (view.model_name if view else None)
        or (args.name if no_kube else None)
    )
    return resolve(model, args.stable_version, args.canary_version, view, client)
