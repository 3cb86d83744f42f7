"""CLI verb ``analyze``: one canary-vs-stable analysis, printed.

Exit codes: 0 pass, 1 fail, 2 bad input, 3 inconclusive, 5 could not analyze
(Prometheus unreachable or a query rejected).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shiplane.analysis import report
from shiplane.analysis.analyzer import analyze
from shiplane.analysis.prometheus import PrometheusClient
from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.verdict import Outcome
from shiplane.control import kube, validation
from shiplane.control.commands import mlflow_uri
from shiplane.control.versions import ResolvedVersions, resolve
from shiplane.control.view import inspect

EXIT_CODES = {Outcome.PASS: 0, Outcome.FAIL: 1, Outcome.INCONCLUSIVE: 3}
EXIT_NO_ANALYSIS = 5

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
        "--no-kube", action="store_true",
        help="do not read the InferenceService (local stack behind the router)",
    )  # fmt: skip
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


def settings_from_args(args: argparse.Namespace) -> AnalysisSettings:
    """Settings from the environment, overridden by the flags given."""
    fields = [f for f, _, _ in _THRESHOLD_FLAGS.values()] + [
        "check_drift",
        "require_feedback",
    ]
    overrides: dict[str, Any] = {
        f: getattr(args, f) for f in fields if getattr(args, f, None) is not None
    }
    return AnalysisSettings(**overrides)


def resolve_versions(args: argparse.Namespace) -> ResolvedVersions:
    """Model and versions from flags, the InferenceService and MLflow."""
    view = None
    if not args.no_kube and not (
        args.model and args.stable_version and args.canary_version
    ):
        validation.validate_name(args.name)
        target = kube.connect(args.kubeconfig, args.context)
        view = inspect(
            kube.get_isvc(target, args.name, args.namespace or target.namespace)
        )
    client = None
    tracking_uri = args.mlflow_uri or mlflow_uri(args)
    if tracking_uri:
        from shiplane.mlflowclient import registry_client

        client = registry_client(tracking_uri)
    model = (
        args.model
        or (view.model_name if view else None)
        or (args.name if args.no_kube else None)
    )
    return resolve(model, args.stable_version, args.canary_version, view, client)


def register(verbs: Any) -> None:
    """Add ``analyze`` to the ``shiplane`` parser."""
    from shiplane.control.commands import add_kube_arguments

    parser = verbs.add_parser(
        "analyze", help="compare canary with stable from Prometheus",
        description="Compare the canary with stable over a window: traffic, error "
        "rate (two-proportion z-test), p95/p99 latency ratio, drift share, online "
        "accuracy from feedback. Verdict pass (exit 0), fail (1) or inconclusive "
        "(3). A canary without traffic or data never passes.",
    )  # fmt: skip
    parser.add_argument(
        "name", help="InferenceService name (model name with --no-kube)"
    )
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table")
    add_analysis_arguments(parser)
    add_kube_arguments(parser)


def run_analyze(args: argparse.Namespace) -> int:
    """``shiplane analyze NAME``."""
    from shiplane.analysis.prometheus import PrometheusError

    settings = settings_from_args(args)
    versions = resolve_versions(args)
    with PrometheusClient(settings.prometheus_url, settings.query_timeout_s) as prom:
        try:
            verdict = analyze(
                prom, settings, versions.model, versions.stable, versions.canary
            )
        except PrometheusError as exc:
            print(f"error: could not analyze: {exc}", file=sys.stderr)
            return EXIT_NO_ANALYSIS
    if args.output == "json":
        print(report.as_json(verdict))
    else:
        print(
            f"stable v{versions.stable} ({versions.stable_source}), canary "
            f"v{versions.canary} ({versions.canary_source})\n"
        )
        print(report.table(verdict))
    return EXIT_CODES[verdict.outcome]
