"""CLI verb ``rollout``: step the traffic, analyze each step, promote or roll
back. Runs to its end in one go (a Kubernetes Job in the chart).

Exit codes: 0 promoted, 1 rolled back, 2 bad input, 5 not started (a query
is invalid or returns nothing, Prometheus unreachable): traffic untouched.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path
from typing import Any

from shiplane.analysis import report
from shiplane.analysis.analyzer import analyze, validate_queries
from shiplane.analysis.command import (
    EXIT_NO_ANALYSIS,
    add_analysis_arguments,
    resolve_versions,
    settings_from_args,
)
from shiplane.analysis.prometheus import PrometheusClient, PrometheusError
from shiplane.analysis.verdict import Verdict
from shiplane.control import commands
from shiplane.control.errors import InvalidRequestError
from shiplane.rollout.actuators import (
    Actuator,
    InferenceServiceActuator,
    RouterActuator,
)
from shiplane.rollout.load import LocustLoad
from shiplane.rollout.loop import RolloutPlan, RolloutResult, parse_steps, run_rollout


class Terminated(Exception):
    """SIGTERM arrived: the Job's deadline, its deletion, or a node drain."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}")


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


def register(verbs: Any) -> None:
    """Add ``rollout`` to the ``shiplane`` parser."""
    parser = verbs.add_parser(
        "rollout", help="step traffic to the canary, analyzing each step",
        description="Step the canary's traffic (e.g. 10,25,50,100), analyze after "
        "each interval, promote after the last step or roll back once more than "
        "--max-failures analyses failed or were inconclusive. Every query is "
        "validated before any traffic moves.",
    )  # fmt: skip
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
    commands.add_kube_arguments(parser)


def _actuator(
    args: argparse.Namespace,
    model: str,
    stable: str,
    canary: str,
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
            model,
            stable,
            canary,
            mlflow_uri,
            args.actor or "shiplane-rollout",
        )
    target, namespace = commands.connect(args)
    return InferenceServiceActuator(
        target, args.name, namespace, mlflow_uri, args.actor or target.user
    )


def run_rollout_command(args: argparse.Namespace) -> int:
    """``shiplane rollout NAME``."""
    try:
        plan = RolloutPlan(
            parse_steps(args.steps), parse_duration_s(args.interval), args.max_failures
        )
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    if args.window is None:
        # Compare over one interval, so each analysis sees only its step.
        args.window = f"{max(1, round(plan.interval_s))}s"
    settings = settings_from_args(args)
    if args.actuator == "router":
        args.no_kube = True
    versions = resolve_versions(args)
    mlflow_uri = (
        None if args.no_mlflow else (args.mlflow_uri or commands.mlflow_uri(args))
    )
    if mlflow_uri is None and not args.no_mlflow:
        raise InvalidRequestError(
            "MLflow is not configured: pass --mlflow-uri (or set "
            "MLFLOW_TRACKING_URI), or --no-mlflow"
        )
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
    with PrometheusClient(settings.prometheus_url, settings.query_timeout_s) as prom:
        try:
            problems = validate_queries(
                prom, settings, versions.model, versions.stable, versions.canary
            )
        except PrometheusError as exc:
            print(f"error: not started: {exc}", file=sys.stderr)
            return EXIT_NO_ANALYSIS
        if problems:
            print(
                "error: not started, queries not ready:\n  " + "\n  ".join(problems),
                file=sys.stderr,
            )
            return EXIT_NO_ANALYSIS
        print(
            f"queries validated against {settings.prometheus_url}; stable "
            f"v{versions.stable}, canary v{versions.canary} of {versions.model}"
        )
        actuator = _actuator(
            args, versions.model, versions.stable, versions.canary, mlflow_uri
        )

        def one_analysis() -> Verdict:
            verdict = analyze(
                prom, settings, versions.model, versions.stable, versions.canary
            )
            print(report.table(verdict))
            return verdict

        # Kubernetes stops a Job (activeDeadlineSeconds, deletion, drain) with
        # SIGTERM; as an exception it reaches the loop, which rolls back before
        # the grace period ends, so no unrecorded halfway split is left behind.
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            result = run_rollout(
                actuator,
                one_analysis,
                plan,
                load=load,
                say=lambda line: print(line, flush=True),
            )
        except PrometheusError as exc:
            print(
                f"error: analysis failed mid-rollout ({exc}); rolled back",
                file=sys.stderr,
            )
            return 1
        except Terminated as exc:
            print(f"error: rollout stopped ({exc}); rolled back", file=sys.stderr)
            return 1
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0 if result.result is RolloutResult.PROMOTED else 1
