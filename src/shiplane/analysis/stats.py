"""The statistics behind a verdict, on plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ZTest:
    """Result of a two-proportion z-test."""

    z: float
    p_value: float


def _normal_sf(z: float) -> float:
    """Upper tail of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_proportion_ztest(
    successes_a: float, trials_a: float, successes_b: float, trials_b: float
) -> ZTest:
    """One-sided pooled z-test of H1: proportion A > proportion B.

    Used with A = canary errors, B = stable errors. Counts from ``increase()``
    are real-valued (extrapolated); they are used as they are.

    Returns:
        ``z`` and the one-sided ``p_value``; a degenerate case (no trials, or a
        pooled proportion of exactly 0 or 1) has z = 0, p = 1: no evidence.
    """
    if trials_a <= 0 or trials_b <= 0:
        return ZTest(0.0, 1.0)
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return ZTest(0.0, 1.0)
    z = (p_a - p_b) / math.sqrt(variance)
    return ZTest(z, _normal_sf(z))


def ratio(canary: float, stable: float) -> float:
    """canary / stable, infinite when stable is 0 and canary is not."""
    if stable <= 0:
        return math.inf if canary > 0 else 1.0
    return canary / stable
