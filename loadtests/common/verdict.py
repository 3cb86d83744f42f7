"""The verdict: at quit, check the SLOs (and the canary split when one is
expected), print one line, write ``verdict.json`` and set the exit code.

The exit code is always set here, 0 or 1, so the SLO's failure budget decides
and not Locust's default (exit 1 on any failed request). Only the process that
holds the whole run's statistics judges: a standalone run or the master.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from common.runtime import RUNTIME
from common.slo import Observed, SloThresholds, check_slo
from common.split import check_split

log = logging.getLogger("shiplane.loadtest")


def judge(environment: Environment) -> tuple[bool, str, dict[str, Any]]:
    """The verdict line and its details for the run ``environment`` holds."""
    options: Any = environment.parsed_options
    observed = Observed.from_stats_entry(environment.stats.total)
    slo = check_slo(observed, SloThresholds.from_options(options))
    passed, parts = slo.passed, [slo.summary]
    details: dict[str, Any] = {
        "slo": {"passed": slo.passed, "misses": list(slo.misses)}
    }
    details["observed"] = {
        "requests": observed.requests,
        "failures": observed.failures,
        "failure_ratio": observed.failure_ratio,
        "p95_ms": observed.p95_ms,
        "p99_ms": observed.p99_ms,
        "rps": observed.rps,
    }
    if RUNTIME.expected_split:
        split = check_split(
            RUNTIME.tracker,
            RUNTIME.expected_split,
            alpha=float(options.split_alpha),
            min_units=int(options.split_min_units),
        )
        passed = passed and split.passed
        parts.append(f"{options.split_header}:{split.summary}")
        details["split"] = {
            "passed": split.passed,
            "header": options.split_header,
            "expected": split.expected,
            "observed_units": split.observed,
            "units": split.units,
            "p_value": split.p_value,
            "alpha": float(options.split_alpha),
            "sticky_violations": split.sticky_violations,
        }
    line = f"SLO {'PASS' if passed else 'FAIL'}: " + " ".join(parts)
    details["passed"], details["verdict"] = passed, line
    return passed, line, details


def on_quitting(environment: Environment, **_: Any) -> None:
    """Locust's last hook before it exits: judge the run and set the exit code."""
    if (
        isinstance(environment.runner, WorkerRunner)
        or environment.parsed_options is None
    ):
        return
    options: Any = environment.parsed_options
    if options.csv_prefix:
        # Locust's CSV writer rewrites the files every CSV_STATS_INTERVAL_SEC and
        # not at exit: without one more tick a short run's CSV misses its last
        # second (or, on a busy machine, every request). Users have stopped.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)
    passed, line, details = judge(environment)
    environment.process_exit_code = 0 if passed else 1
    print(line, flush=True)
    report_dir = Path(options.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "verdict.json").write_text(json.dumps(details, indent=2) + "\n")
    except OSError as exc:  # the verdict line and exit code still stand
        log.warning("could not write %s/verdict.json: %s", report_dir, exc)


events.quitting.add_listener(on_quitting)
