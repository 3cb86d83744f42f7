"""Service-level objectives checked against Locust's aggregated statistics.

Pure functions over plain numbers, so the thresholds can be tested without a
load and the verdict reads the same in CI logs, ``make loadtest`` and
``shiplane rollout``. A threshold of 0 turns that check off; a run with fewer
requests than ``min_requests`` fails, because no data is not a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SloThresholds:
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_failure_ratio: float = 0.01
    min_rps: float = 0.0
    min_requests: int = 1

    @classmethod
    def from_options(cls, options: Any) -> SloThresholds:
        """Read the ``--slo-*`` options registered by ``common.options``."""
        return cls(
            p95_ms=float(options.slo_p95_ms),
            p99_ms=float(options.slo_p99_ms),
            max_failure_ratio=float(options.slo_max_failure_ratio),
            min_rps=float(options.slo_min_rps),
            min_requests=int(options.slo_min_requests),
        )


@dataclass(frozen=True)
class Observed:
    """What the run measured, over all requests of all scenarios."""

    requests: int
    failures: int
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 1.0

    @classmethod
    def from_stats_entry(cls, total: Any) -> Observed:
        """From Locust's ``environment.stats.total`` (a ``StatsEntry``)."""
        return cls(
            requests=int(total.num_requests),
            failures=int(total.num_failures),
            p95_ms=float(total.get_response_time_percentile(0.95) or 0.0),
            p99_ms=float(total.get_response_time_percentile(0.99) or 0.0),
            rps=float(total.total_rps or 0.0),
        )


@dataclass(frozen=True)
class SloResult:
    passed: bool
    summary: str
    """``p95=12ms<=50 p99=... failures=0.00%<=1% rps=210>=50``: each check with
    its measured value, its comparison and its limit; ``!`` marks a miss."""
    misses: tuple[str, ...]


def _check(name: str, ok: bool, text: str, misses: list[str]) -> str:
    if not ok:
        misses.append(name)
    return text if ok else f"{text}!"


def check_slo(observed: Observed, limits: SloThresholds) -> SloResult:
    """Compare one run with the thresholds; a miss of any enabled check fails."""
    misses: list[str] = []
    parts = [
        _check(
            "requests",
            observed.requests >= limits.min_requests,
            f"requests={observed.requests}"
            + (
                ""
                if observed.requests >= limits.min_requests
                else f"<{limits.min_requests}"
            ),
            misses,
        )
    ]
    for name, value, limit in (
        ("p95", observed.p95_ms, limits.p95_ms),
        ("p99", observed.p99_ms, limits.p99_ms),
    ):
        if limit > 0:
            ok = value <= limit
            parts.append(
                _check(
                    name,
                    ok,
                    f"{name}={value:g}ms{'<=' if ok else '>'}{limit:g}",
                    misses,
                )
            )
    ratio_ok = observed.failure_ratio <= limits.max_failure_ratio
    parts.append(
        _check(
            "failures",
            ratio_ok,
            f"failures={observed.failure_ratio:.2%}{'<=' if ratio_ok else '>'}"
            f"{limits.max_failure_ratio:.2%}",
            misses,
        )
    )
    if limits.min_rps > 0:
        ok = observed.rps >= limits.min_rps
        parts.append(
            _check(
                "rps",
                ok,
                f"rps={observed.rps:.1f}{'>=' if ok else '<'}{limits.min_rps:g}",
                misses,
            )
        )
    return SloResult(not misses, " ".join(parts), tuple(misses))
