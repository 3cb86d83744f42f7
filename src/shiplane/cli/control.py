"""Verbs ``status``, ``set-traffic``, ``canary``, ``promote`` and ``rollback``.

Exit codes: 0 done (or nothing to do), 1 refused (conflict, no canary, API
error; nothing applied), 2 bad input, 4 Kubernetes applied but MLflow not.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shiplane.cli.args import (
    add_kube_arguments,
    add_mlflow_arguments,
    connect,
    mlflow_not_configured,
    mlflow_uri,
)
from shiplane.cli.verb import Handler, Verb
from shiplane.control import kube, plans, registry, validation
from shiplane.control.audit import AuditContext
from shiplane.control.errors import InvalidRequestError
from shiplane.control.operations import execute
from shiplane.control.plans import Plan
from shiplane.control.view import CanaryView, ModelRef, inspect
from shiplane_contracts.identity import (
    HISTORY_ANNOTATION,
    ModelUriError,
    parse_models_uri,
    pinned_uri,
)

# ---- arguments -----------------------------------------------------------------------


def _status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("name", help="InferenceService name")
    status.add_argument("-o", "--output", choices=["table", "json"], default="table")
    add_kube_arguments(status)
    status.add_argument("--mlflow-uri", help="also show the MLflow aliases")


def _set_traffic_arguments(traffic: argparse.ArgumentParser) -> None:
    traffic.add_argument("name", help="InferenceService name")
    traffic.add_argument("percent", help="0..100")
    traffic.add_argument("--dry-run", action="store_true", help="print the patch only")
    add_kube_arguments(traffic)


def _canary_arguments(canary: argparse.ArgumentParser) -> None:
    canary.add_argument("name", help="InferenceService name")
    canary.add_argument(
        "--model",
        required=True,
        metavar="URI",
        help="models:/NAME@ALIAS (resolved now) or models:/NAME/VERSION",
    )
    canary.add_argument(
        "--percent", default="10", help="canary traffic, 0..100 (default: 10)"
    )
    canary.add_argument("--dry-run", action="store_true", help="print the patch only")
    canary.add_argument("--reason", default="", help="why (kept in the audit record)")
    canary.add_argument("--actor", help="who (default: the kubeconfig user)")
    add_kube_arguments(canary)
    add_mlflow_arguments(
        canary,
        "MLflow tracking server that resolves --model (default: $MLFLOW_TRACKING_URI)",
        no_mlflow_help=None,
    )


def _finish_arguments(parser: argparse.ArgumentParser) -> None:
    """``promote`` and ``rollback``."""
    parser.add_argument("name", help="InferenceService name")
    parser.add_argument("--dry-run", action="store_true", help="print the patch only")
    parser.add_argument("--reason", default="", help="why (kept in the audit record)")
    parser.add_argument(
        "--verdict", default="manual", help="verdict to record (default: manual)"
    )
    parser.add_argument("--actor", help="who (default: the kubeconfig user)")
    add_kube_arguments(parser)
    add_mlflow_arguments(
        parser,
        "MLflow tracking server (records tags and moves aliases; default: "
        "$MLFLOW_TRACKING_URI)",
        no_mlflow_help="do not touch the MLflow registry (the annotation history "
        "is still written)",
    )


# ---- status -------------------------------------------------------------------------


def _aliases(uri: str, model: str | None) -> dict[str, str]:
    if not model:
        return {}
    from mlflow.exceptions import MlflowException

    from shiplane_contracts.mlflowclient import registry_client

    try:
        found = registry_client(uri).get_registered_model(model).aliases
    except MlflowException as exc:
        return {"error": str(exc).splitlines()[0]}
    return {str(k): str(v) for k, v in dict(found).items()}


def format_status(view: CanaryView, aliases: dict[str, str] | None = None) -> str:
    """Human-readable status."""

    def version(v: str | None, ref: ModelRef | None) -> str:
        where = f"  ({ref.uri})" if ref is not None else ""
        return (f"v{v}" if v else "unknown") + where

    ready = {True: "True", False: "False", None: "Unknown"}[view.ready]
    lines = [
        f"InferenceService {view.namespace}/{view.name}  ({view.style} mode, "
        f"resourceVersion {view.resource_version})",
        f"model:    {view.model_name or 'unknown'}",
        f"stable:   {version(view.stable_version, view.stable)}",
    ]
    if view.has_canary:
        lines.append(
            f"canary:   {version(view.canary_version, view.canary)}  "
            f"traffic {view.canary_percent}%"
        )
    else:
        lines.append("canary:   none")
    if view.traffic:
        split = ", ".join(
            f"{t.target}={t.percent}%" + (f" ({t.role})" if t.role else "")
            for t in view.traffic
        )
        lines.append(f"traffic:  {split}  (reported by KServe)")
    lines.append(
        f"ready:    {ready}" + (f"  {view.ready_message}" if view.ready_message else "")
    )
    if aliases:
        lines.append(
            "mlflow:   "
            + ", ".join(
                f"@{k}=v{v}" if k != "error" else v for k, v in sorted(aliases.items())
            )
        )
    last = view.last_promotion
    if last:
        lines.append(
            f"last promotion: v{last.get('from_version')} -> "
            f"v{last.get('to_version')} at {last.get('at')} by {last.get('by')} "
            f"(verdict {last.get('verdict')})"
        )
    else:
        lines.append("last promotion: none recorded")
    return "\n".join(lines)


def run_status(args: argparse.Namespace) -> int:
    """``shiplane status NAME``."""
    validation.validate_name(args.name)
    target, namespace = connect(args)
    view = inspect(kube.get_isvc(target, args.name, namespace))
    aliases = _aliases(args.mlflow_uri, view.model_name) if args.mlflow_uri else None
    if args.output == "json":
        data = view.to_dict()
        data["mlflow_aliases"] = aliases
        print(json.dumps(data, indent=2, default=str))
    else:
        print(format_status(view, aliases))
    return 0


# ---- changes -------------------------------------------------------------------------


def _report(plan: Plan, dry_run: bool, changed: bool) -> None:
    if dry_run:
        print(f"dry run: {plan.message}")
        if plan.patch is not None:
            print(
                f"would PATCH (application/merge-patch+json) "
                f"{kube.GROUP}/{kube.VERSION} inferenceservices "
                f"{plan.namespace}/{plan.name}:"
            )
            print(json.dumps(plan.patch, indent=2, sort_keys=True))
        return
    print(plan.message if changed or plan.noop else f"{plan.message} (not applied)")


def parse_percent(text: str) -> int:
    """A CLI percent, checked.

    Raises:
        InvalidRequestError: not an integer in 0..100.
    """
    try:
        value = int(text)
    except ValueError:
        raise InvalidRequestError(
            f"percent must be an integer 0..100, got {text!r}"
        ) from None
    return validation.validate_percent(value)


def run_canary(args: argparse.Namespace) -> int:
    """``shiplane canary NAME --model URI``."""
    percent = parse_percent(args.percent)
    validation.validate_name(args.name)
    try:
        uri = parse_models_uri(args.model)
    except ModelUriError as exc:
        raise InvalidRequestError(str(exc)) from None
    if uri is None:
        raise InvalidRequestError(
            f"--model must name a registry version (models:/NAME/VERSION or "
            f"models:/NAME@ALIAS), got {args.model!r}"
        )
    tracking = mlflow_uri(args)
    if tracking is None:
        raise mlflow_not_configured(f" to resolve {uri}; nothing applied")
    version = registry.resolve_version(uri, tracking)
    if uri.alias:
        print(f"resolved {uri} -> {pinned_uri(uri.name, version)}")
    target, namespace = connect(args)
    ctx = AuditContext(
        by=args.actor or target.user, at=datetime.now(UTC), reason=args.reason
    )
    outcome = execute(
        target,
        args.name,
        namespace,
        lambda obj: plans.plan_canary(obj, uri.name, version, percent, ctx),
        dry_run=args.dry_run,
    )
    _report(outcome.plan, args.dry_run, outcome.changed)
    if outcome.changed:
        print(f"audit: appended to {HISTORY_ANNOTATION}")
    return 0


def run_set_traffic(args: argparse.Namespace) -> int:
    """``shiplane set-traffic NAME PERCENT``."""
    percent = parse_percent(args.percent)
    validation.validate_name(args.name)
    target, namespace = connect(args)
    outcome = execute(
        target,
        args.name,
        namespace,
        lambda obj: plans.plan_set_traffic(obj, percent),
        dry_run=args.dry_run,
    )
    _report(outcome.plan, args.dry_run, outcome.changed)
    return 0


def _finish(
    args: argparse.Namespace, planner: Callable[[dict[str, Any], AuditContext], Plan]
) -> int:
    validation.validate_name(args.name)
    uri = mlflow_uri(args)
    if uri is None and not args.no_mlflow and not args.dry_run:
        raise mlflow_not_configured(
            " so aliases and tags follow, or --no-mlflow to skip the registry; "
            "nothing applied"
        )
    target, namespace = connect(args)
    ctx = AuditContext(
        by=args.actor or target.user,
        at=datetime.now(UTC),
        verdict=args.verdict,
        reason=args.reason,
    )
    outcome = execute(
        target,
        args.name,
        namespace,
        lambda obj: planner(obj, ctx),
        dry_run=args.dry_run,
    )
    _report(outcome.plan, args.dry_run, outcome.changed)
    if outcome.changed and outcome.plan.audit_entry is not None:
        print(f"audit: appended to {HISTORY_ANNOTATION}")
        if uri is None:
            print("mlflow: skipped (--no-mlflow)")
        else:
            for line in registry.record_plan(outcome.plan, uri):
                print(line)
    return 0


def run_promote(args: argparse.Namespace) -> int:
    """``shiplane promote NAME``."""
    return _finish(args, plans.plan_promote)


def run_rollback(args: argparse.Namespace) -> int:
    """``shiplane rollback NAME``."""
    return _finish(args, plans.plan_rollback)


def _finish_verb(name: str, summary: str, run: Handler) -> Verb:
    return Verb(
        name,
        summary,
        summary.capitalize() + "; records it in an annotation and in MLflow.",
        _finish_arguments,
        run,
    )


VERBS = [
    Verb(
        "status",
        "stable and canary versions, traffic split, readiness",
        "Show an InferenceService's stable and canary model versions (and MLflow "
        "aliases with --mlflow-uri), traffic split, readiness and last promotion.",
        _status_arguments,
        run_status,
    ),
    Verb(
        "set-traffic",
        "send PERCENT of traffic to the canary",
        "Set the canary's share of traffic (Knative: "
        "predictor.canaryTrafficPercent; Standard: canary[0].trafficPercent).",
        _set_traffic_arguments,
        run_set_traffic,
    ),
    Verb(
        "canary",
        "start a canary of a pinned model version",
        "Start a canary: the InferenceService gets a predictor serving the version "
        "--model names, pinned as models:/NAME/VERSION (an alias is resolved once, "
        "now), with PERCENT of the traffic (Knative: a new revision with "
        "canaryTrafficPercent; Standard: spec.canary[0]). Refused while a canary "
        "receives traffic, or if the version does not exist.",
        _canary_arguments,
        run_canary,
    ),
    _finish_verb("promote", "make the canary the stable version", run_promote),
    _finish_verb("rollback", "send all traffic back to stable", run_rollback),
]
