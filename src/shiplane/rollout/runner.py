"""One rollout from start to end: every query validated before any traffic
moves, then the loop, under a SIGTERM handler that ends it with a rollback.

``shiplane rollout`` (:mod:`shiplane.cli.rollout`) builds the
:class:`RolloutOptions` from its flags and turns the outcome into an exit code.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass

from shiplane.analysis import report
from shiplane.analysis.analyzer import analyze, validate_queries
from shiplane.analysis.prometheus import PrometheusClient, PrometheusError
from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.verdict import Verdict
from shiplane.control.versions import ResolvedVersions
from shiplane.rollout.actuators import Actuator
from shiplane.rollout.loop import LoadHook, RolloutPlan, RolloutReport, run_rollout


@dataclass(frozen=True)
class RolloutOptions:
    """What to roll out and how, parsed and checked."""

    plan: RolloutPlan
    settings: AnalysisSettings
    """Where the metrics are and the thresholds of every analysis."""
    versions: ResolvedVersions
    actuator: Callable[[], Actuator]
    """Builds what moves the traffic; called once the queries are validated."""
    load: LoadHook | None = None
    """Load to run during each interval."""


class NotStarted(Exception):
    """A query is invalid or returns nothing, or Prometheus is unreachable: the
    traffic was not touched."""


class Terminated(Exception):
    """SIGTERM arrived: the Job's deadline, its deletion, or a node drain."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}")


def run(options: RolloutOptions, say: Callable[[str], None]) -> RolloutReport:
    """Validate the queries, then step the traffic to promotion or rollback.

    Args:
        options: the rollout.
        say: where the loop's progress lines go (the analysis tables are
            printed).

    Raises:
        NotStarted: nothing moved.
        PrometheusError: an analysis failed mid-rollout; rolled back.
        Terminated: SIGTERM mid-rollout; rolled back.
    """
    settings, versions = options.settings, options.versions
    with PrometheusClient(settings.prometheus_url, settings.query_timeout_s) as prom:
        try:
            problems = validate_queries(
                prom, settings, versions.model, versions.stable, versions.canary
            )
        except PrometheusError as exc:
            raise NotStarted(f"not started: {exc}") from exc
        if problems:
            raise NotStarted(
                "not started, queries not ready:\n  " + "\n  ".join(problems)
            )
        print(
            f"queries validated against {settings.prometheus_url}; stable "
            f"v{versions.stable}, canary v{versions.canary} of {versions.model}"
        )
        actuator = options.actuator()

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
            return run_rollout(
                actuator, one_analysis, options.plan, load=options.load, say=say
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
