"""Shiplane's own Locust options: SLO thresholds, the expected canary split,
payloads and pacing.

Declared with ``events.init_command_line_parser`` so each one can come from the
command line (``--slo-p95-ms 50``), from ``locust.conf`` (``slo-p95-ms = 50``) or
from the environment (``LOCUST_SLO_P95_MS=50``), the same three ways Locust's
own options work. Every duration carries its unit in its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from locust import events

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PAYLOAD_FILE = REPO / "tests" / "fixtures" / "breast_cancer_rows.json"
"""The same rows the tests use, so a load test never sends data no test has seen."""


def _add(parser: Any, flag: str, **kwargs: Any) -> None:
    env_var = "LOCUST_" + flag.lstrip("-").replace("-", "_").upper()
    kwargs["help"] = f"{kwargs['help']} (env {env_var})"
    parser.add_argument(flag, env_var=env_var, **kwargs)


def add_shiplane_arguments(parser: Any) -> None:
    """Register the options every Shiplane scenario and the verdict read."""
    group = parser.add_argument_group("Shiplane SLOs (0 turns a check off)")
    _add(
        group,
        "--slo-p95-ms",
        type=float,
        default=0.0,
        help="fail when the 95th percentile response time exceeds this",
    )
    _add(
        group,
        "--slo-p99-ms",
        type=float,
        default=0.0,
        help="fail when the 99th percentile response time exceeds this",
    )
    _add(
        group,
        "--slo-max-failure-ratio",
        type=float,
        default=0.01,
        help="fail when more than this share of requests failed (0.01 = 1%%)",
    )
    _add(
        group,
        "--slo-min-rps",
        type=float,
        default=0.0,
        help="fail when the whole-run throughput stays below this",
    )
    _add(
        group,
        "--slo-min-requests",
        type=int,
        default=1,
        help="fail when fewer requests than this were made: no data never passes",
    )

    split = parser.add_argument_group("Shiplane canary split check")
    _add(
        split,
        "--expected-split",
        type=str,
        default="",
        help="expected traffic share per variant, e.g. 'stable=90,canary=10'; "
        "a lone 'canary=10' gives the rest to 'stable'; empty turns it off",
    )
    _add(
        split,
        "--split-header",
        type=str,
        default="x-shiplane-variant",
        help="response header naming who answered (x-shiplane-variant from the "
        "router, x-shiplane-model-version from a KServe canary)",
    )
    _add(
        split,
        "--split-alpha",
        type=float,
        default=0.001,
        help="significance level: the split fails when p-value < alpha",
    )
    _add(
        split,
        "--split-min-units",
        type=int,
        default=50,
        help="fail when fewer independent draws (user ids or anonymous "
        "requests) than this were observed",
    )

    load = parser.add_argument_group("Shiplane payloads and pacing")
    _add(
        load,
        "--model-name",
        type=str,
        default="breast-cancer",
        help="model name in /v1/models/NAME:predict and /v2/models/NAME/infer",
    )
    _add(
        load,
        "--payload-file",
        type=str,
        default=str(DEFAULT_PAYLOAD_FILE),
        help="JSON rows to send (the test fixture by default)",
    )
    _add(
        load,
        "--batch-size",
        type=int,
        default=32,
        help="rows per request in the batch scenario",
    )
    _add(
        load,
        "--wait-min-s",
        type=float,
        default=0.0,
        help="shortest pause between two requests of one simulated user",
    )
    _add(
        load,
        "--wait-max-s",
        type=float,
        default=0.05,
        help="longest pause between two requests of one simulated user",
    )
    _add(
        load,
        "--user-header",
        type=str,
        default="x-user-id",
        help="header the A/B router reads for sticky assignment",
    )
    _add(
        load,
        "--requests-per-user-id",
        type=int,
        default=5,
        help="requests a sticky simulated user sends before it becomes a new "
        "end user (more ids = more independent draws for the split test)",
    )
    _add(
        load,
        "--feedback-path",
        type=str,
        default="/v1/models/{model}/feedback",
        help="path of the ground-truth endpoint; {model} is the model name",
    )
    _add(
        load,
        "--request-id-header",
        type=str,
        default="x-shiplane-request-id",
        help="response header carrying the id that feedback refers to",
    )
    _add(
        load,
        "--report-dir",
        type=str,
        default="reports/loadtest",
        help="folder for verdict.json (CSV/HTML paths are Locust's --csv/--html)",
    )


events.init_command_line_parser.add_listener(add_shiplane_arguments)
