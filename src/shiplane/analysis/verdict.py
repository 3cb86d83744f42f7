"""Per-check results and how they combine into one verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """Result of one check or of the whole analysis."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"
    """Optional check without enough data (never the overall verdict)."""


@dataclass(frozen=True)
class CheckResult:
    """One row of the analysis table."""

    metric: str
    stable: float | None
    canary: float | None
    threshold: str
    outcome: Outcome
    reason: str
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The whole analysis: the combined outcome, why, and every check."""

    outcome: Outcome
    reasons: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    model: str
    stable_version: str
    canary_version: str
    window: str

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASS

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--output json``."""
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["checks"] = [{**asdict(c), "outcome": str(c.outcome)} for c in self.checks]
        return data


def combine(checks: list[CheckResult]) -> Outcome:
    """FAIL beats INCONCLUSIVE beats PASS; skipped checks do not count; no
    checks at all (or only skipped ones) is inconclusive, never a pass."""
    outcomes = {c.outcome for c in checks}
    if Outcome.FAIL in outcomes:
        return Outcome.FAIL
    if Outcome.INCONCLUSIVE in outcomes or Outcome.PASS not in outcomes:
        return Outcome.INCONCLUSIVE
    return Outcome.PASS


def reasons_of(checks: list[CheckResult], outcome: Outcome) -> tuple[str, ...]:
    """The reasons that explain ``outcome`` (the failing checks for a FAIL, ...)."""
    if outcome is Outcome.PASS:
        return ("every check passed",)
    relevant = [c for c in checks if c.outcome is outcome]
    if not relevant:
        return ("no check could be evaluated",)
    return tuple(f"{c.metric}: {c.reason}" for c in relevant)
