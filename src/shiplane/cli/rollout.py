"""Verb ``rollout``: step the traffic, analyze each step, promote or roll
back. Runs to its end in one go (a Kubernetes Job in the chart).

Exit codes: 0 promoted, 1 rolled back, 2 bad input, 5 not started (a query
is invalid or returns nothing, Prometheus unreachable): traffic untouched.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from pathlib import Path

from shiplane.analysis.prometheus import PrometheusError
from shiplane.cli.args import (
    EXIT_NO_ANALYSIS,
    Cluster,
    add_analysis_arguments,
    add_kube_arguments,
    analysis_settings,
    mlflow_not_configured,
    mlflow_uri,
    resolve_versions,
)
from shiplane.cli.verb import Verb
from shiplane.control.errors import InvalidRequestError
from shiplane.control.versions import ResolvedVersions
from shiplane.rollout import runner
from shiplane.rollout.actuators import (
    Actuator,
    InferenceServiceActuator,
    RouterActuator,
)
from shiplane.rollout.load import LocustLoad
from shiplane.rollout.loop import RolloutPlan, RolloutResult, parse_steps

_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smh]?)$")


def parse_duration_s(text: str) -> float:
    """``"30"``, ``"30s"``, ``"2m"`` -> seconds.

    Raises:
        InvalidRequestError: not a duration.
    """
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidRequestError(f"not a duration: {text!r} (use 30s, 2m, 1h)")
    factor = {"": 1, "s": 1, "m": 60, "h": 3600}[match["unit"]]
    return float(match["n"]) * factor


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", help="InferenceService name (model name with --no-kube)"
    )
    parser.add_argument(
        "--steps",
        default="10,25,50,100",
        help="canary percents, increasing (100 = promote)",
    )
    parser.add_argument(
        "--interval",
        default="60s",
        help="wait (and load) before each analysis: 30s, 2m",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=2,
        help="failed or inconclusive analyses tolerated",
    )
    parser.add_argument(
        "--actuator",
        choices=["inferenceservice", "router"],
        default="inferenceservice",
        help="what moves the traffic",
    )
    parser.add_argument("--actor", help="who, for the audit record")
    parser.add_argument(
        "--no-mlflow", action="store_true", help="do not touch the MLflow registry"
    )
    router = parser.add_argument_group("router actuator")
    router.add_argument("--router-url", help="A/B router base URL")
    router.add_argument(
        "--router-token-file",
        type=Path,
        help="file holding the router's admin bearer token",
    )
    router.add_argument("--stable-variant", default="stable")
    router.add_argument("--canary-variant", default="canary")
    load = parser.add_argument_group("load during each interval (optional)")
    load.add_argument("--locustfile", type=Path, help="e.g. loadtests/v1.py")
    load.add_argument("--load-host", help="URL the load goes to")
    load.add_argument("--load-users", type=int, default=4)
    load.add_argument(
        "--load-arg",
        action="append",
        default=[],
        help="extra Locust option, repeatable (--load-arg=--model-name=X)",
    )
    add_analysis_arguments(parser)
    add_kube_arguments(parser)


def _actuator(
    args: argparse.Namespace,
    cluster: Cluster,
    versions: ResolvedVersions,
    mlflow_uri: str | None,
) -> Actuator:
    if args.actuator == "router":
        if not args.router_url or not args.router_token_file:
            raise InvalidRequestError(
                "--actuator router needs --router-url and --router-token-file"
            )
        from shiplane.router.client import RouterAdminClient

        token = args.router_token_file.read_text().strip()
        return RouterActuator(
            RouterAdminClient(args.router_url, token),
            args.stable_variant,
            args.canary_variant,
            versions.model,
            versions.stable,
            versions.canary,
            mlflow_uri,
            args.actor or "shiplane-rollout",
        )
    target, namespace = cluster.connect()
    return InferenceServiceActuator(
        target, args.name, namespace, mlflow_uri, args.actor or target.user
    )


def run_rollout(args: argparse.Namespace) -> int:
    """``shiplane rollout NAME``."""
    try:
        plan = RolloutPlan(
            parse_steps(args.steps), parse_duration_s(args.interval), args.max_failures
        )
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    # Without --window, compare over one interval, so each analysis sees only
    # its step.
    settings = analysis_settings(args, window=f"{max(1, round(plan.interval_s))}s")
    cluster = Cluster(args)
    versions = resolve_versions(
        args, cluster, no_kube=args.no_kube or args.actuator == "router"
    )
    tracking = mlflow_uri(args)
    if tracking is None and not args.no_mlflow:
        raise mlflow_not_configured(", or --no-mlflow")
    load = None
    if args.locustfile is not None:
        if not args.load_host:
            raise InvalidRequestError("--locustfile needs --load-host")
        load = LocustLoad(
            args.locustfile.resolve(),
            args.load_host,
            args.load_users,
            args.load_users,
            tuple(args.load_arg),
        )
    options = runner.RolloutOptions(
        plan,
        settings,
        versions,
        functools.partial(_actuator, args, cluster, versions, tracking),
        load,
    )
    try:
        result = runner.run(options, say=lambda line: print(line, flush=True))
    except runner.NotStarted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_ANALYSIS
    except PrometheusError as exc:
        print(
            f"error: analysis failed mid-rollout ({exc}); rolled back",
            file=sys.stderr,
        )
        return 1
    except runner.Terminated as exc:
        print(f"error: rollout stopped ({exc}); rolled back", file=sys.stderr)
        return 1
    return 0 if result.result is RolloutResult.PROMOTED else 1


VERBS = [
    Verb(
        "rollout",
        "step traffic to the canary, analyzing each step",
        "Step the canary's traffic (e.g. 10,25,50,100), analyze after each "
        "interval, promote after the last step or roll back once more than "
        "--max-failures analyses failed or were inconclusive. Every query is "
        "validated before any traffic moves.",
        _arguments,
        run_rollout,
    ),
]
