"""The rollout state machine: step, wait (under load), analyze, decide.

For every step below 100 the canary gets that share of traffic, the loop waits
one interval (running the load hook if there is one), then analyzes. A pass
moves to the next step; a fail or an inconclusive analysis counts as a failure
and the same step is analyzed again after another interval, until more than
``max_failures`` failures have accumulated, which rolls back. After the last
step the canary is promoted. A step of 100 is the promotion itself: with no
stable traffic left there is nothing to compare against, so analysis happens
at the steps below it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from shiplane.analysis.verdict import Outcome, Verdict
from shiplane.rollout.actuators import Actuator


class LoadHook(Protocol):
    """Something that generates traffic for a given time."""

    def run(self, duration_s: float) -> str:
        """Generate load for ``duration_s`` seconds; returns a summary line."""
        ...


class RolloutResult(StrEnum):
    """How a rollout ended."""

    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    ABORTED = "aborted"


@dataclass(frozen=True)
class RolloutPlan:
    """Steps and pacing of a rollout."""

    steps: tuple[int, ...]
    interval_s: float
    max_failures: int

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("at least one step is needed")
        if any(not 0 < s <= 100 for s in self.steps):
            raise ValueError(f"steps must be within 1..100, got {list(self.steps)}")
        if list(self.steps) != sorted(set(self.steps)):
            raise ValueError(f"steps must strictly increase, got {list(self.steps)}")
        if not any(s < 100 for s in self.steps):
            raise ValueError(
                "at least one step below 100 is needed: 100 is the "
                "promotion, analysis happens at the steps before it"
            )
        if self.interval_s <= 0:
            raise ValueError("interval must be positive")
        if self.max_failures < 0:
            raise ValueError("max failures must be >= 0")

    @property
    def analyzed_steps(self) -> tuple[int, ...]:
        return tuple(s for s in self.steps if s < 100)


@dataclass
class RolloutReport:
    """What happened, step by step."""

    result: RolloutResult
    verdicts: list[tuple[int, Verdict]] = field(default_factory=list)
    failures: int = 0
    messages: list[str] = field(default_factory=list)


def parse_steps(text: str) -> tuple[int, ...]:
    """``"10,25,50,100"`` -> (10, 25, 50, 100).

    Raises:
        ValueError: not a comma-separated list of integers.
    """
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(
            f"--steps must be integers like 10,25,50,100, got {text!r}"
        ) from exc


def run_rollout(
    actuator: Actuator,
    analyze: Callable[[], Verdict],
    plan: RolloutPlan,
    *,
    load: LoadHook | None = None,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutReport:
    """Run a rollout to its end (promotion or rollback).

    Args:
        actuator: moves traffic and records the outcome.
        analyze: one analysis of the current window.
        plan: steps, interval and failure budget.
        load: optional load generator, run for each interval.
        say: where progress lines go.
        sleep: waits one interval when there is no load hook.
        clock: for the timings in progress lines.

    Returns:
        The report; an exception from the actuator propagates after a rollback
        attempt has been made, so traffic never stays on a half-judged canary.
    """
    started = clock()
    report = RolloutReport(RolloutResult.ABORTED)

    def log(line: str) -> None:
        report.messages.append(line)
        say(f"[{clock() - started:6.1f}s] {line}")

    rolling_back = False

    def rollback(reason: str, verdict: str) -> RolloutReport:
        nonlocal rolling_back
        rolling_back = True
        for line in actuator.rollback(verdict, reason):
            log(line)
        report.result = RolloutResult.ROLLED_BACK
        log(f"rollout ROLLED BACK: {reason}")
        return report

    log(
        f"rollout of {actuator.description}: steps {list(plan.steps)}, "
        f"interval {plan.interval_s:g}s, max failures {plan.max_failures}"
    )
    try:
        for step in plan.analyzed_steps:
            log(f"step {step}%: {actuator.set_canary_percent(step)}")
            while True:
                if load is not None:
                    log(load.run(plan.interval_s))
                else:
                    sleep(plan.interval_s)
                verdict = analyze()
                report.verdicts.append((step, verdict))
                summary = "; ".join(verdict.reasons)
                log(
                    f"step {step}%: analysis {str(verdict.outcome).upper()} ({summary})"
                )
                if verdict.outcome is Outcome.PASS:
                    break
                report.failures += 1
                if report.failures > plan.max_failures:
                    return rollback(
                        f"{report.failures} failed or inconclusive analyses (max "
                        f"{plan.max_failures}); last at {step}%: {summary}",
                        str(verdict.outcome),
                    )
                log(
                    f"step {step}%: failure {report.failures}/{plan.max_failures} "
                    "tolerated, analyzing again"
                )
    except BaseException as exc:
        if rolling_back:  # the rollback itself failed: say so, do not loop
            log(f"ROLLBACK FAILED ({type(exc).__name__}: {exc}); check the traffic")
            raise
        log(f"rollout interrupted ({type(exc).__name__}: {exc}); rolling back")
        try:
            rollback(f"interrupted: {exc}", "error")
        except BaseException as failed:
            log(
                f"ROLLBACK FAILED ({type(failed).__name__}: {failed}); check the "
                "traffic"
            )
            raise failed from exc
        raise
    reason = f"passed analysis at {list(plan.analyzed_steps)}%"
    for line in actuator.promote("pass", reason):
        log(line)
    report.result = RolloutResult.PROMOTED
    log("rollout PROMOTED")
    return report
