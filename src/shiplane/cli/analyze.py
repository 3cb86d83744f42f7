"""Verb ``analyze``: one canary-vs-stable analysis, printed.

Exit codes: 0 pass, 1 fail, 2 bad input, 3 inconclusive, 5 could not analyze
(Prometheus unreachable or a query rejected).
"""

from __future__ import annotations

import argparse
import sys

from shiplane.analysis import report
from shiplane.analysis.analyzer import analyze
from shiplane.analysis.prometheus import PrometheusClient
from shiplane.analysis.verdict import Outcome
from shiplane.cli.args import (
    EXIT_NO_ANALYSIS,
    Cluster,
    add_analysis_arguments,
    add_kube_arguments,
    analysis_settings,
    resolve_versions,
)
from shiplane.cli.verb import Verb

EXIT_CODES = {Outcome.PASS: 0, Outcome.FAIL: 1, Outcome.INCONCLUSIVE: 3}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", help="InferenceService name (model name with --no-kube)"
    )
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table")
    add_analysis_arguments(parser)
    add_kube_arguments(parser)


def run_analyze(args: argparse.Namespace) -> int:
    """``shiplane analyze NAME``."""
    from shiplane.analysis.prometheus import PrometheusError

    settings = analysis_settings(args)
    versions = resolve_versions(args, Cluster(args), no_kube=args.no_kube)
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


VERBS = [
    Verb(
        "analyze",
        "compare canary with stable from Prometheus",
        "Compare the canary with stable over a window: traffic, error rate "
        "(two-proportion z-test), p95/p99 latency ratio, drift share, online "
        "accuracy from feedback. Verdict pass (exit 0), fail (1) or inconclusive "
        "(3). A canary without traffic or data never passes.",
        _arguments,
        run_analyze,
    ),
]
