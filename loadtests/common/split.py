"""Canary split check: does the share of traffic each variant answered match the
configured split?

The statistical unit matters. A sticky router assigns *end users*, not
requests, so the requests of one user are one draw, not many: counting requests
would overstate the evidence by the number of requests per user and fail good
splits. Each independent draw (unit) is therefore

* one end-user id (the sticky header the scenario sent), counted once, with the
  variant it was assigned; a user id answered by two variants is a stickiness
  violation and fails the check on its own;
* one request that carried no user id (a KServe canary, a non-sticky router).

Under the null hypothesis every unit lands on variant *v* with probability
``p_v`` independently, so the counts are multinomial. With two variants the
exact two-sided binomial test is used; with more, Pearson's chi-square
goodness-of-fit test with ``k - 1`` degrees of freedom. The check fails when the
p-value is below ``alpha``, when fewer than ``min_units`` units were seen (no
traffic never passes), or when a variant outside the expected split answered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_OTHER_VARIANT = "stable"


class SplitSpecError(ValueError):
    """``--expected-split`` cannot be read."""


def parse_expected_split(text: str) -> dict[str, float]:
    """``'stable=90,canary=10'`` -> ``{'stable': 0.9, 'canary': 0.1}``.

    A lone ``'canary=10'`` gives the remaining 90% to ``stable``. Percentages
    must be positive and add up to 100.

    Raises:
        SplitSpecError: malformed entry, non-positive share, or a total not 100.
    """
    shares: dict[str, float] = {}
    for part in filter(None, (item.strip() for item in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SplitSpecError(f"expected-split entry {part!r} is not NAME=PERCENT")
        try:
            percent = float(value)
        except ValueError as exc:
            raise SplitSpecError(
                f"expected-split {part!r}: {value!r} is no number"
            ) from exc
        if not 0 < percent <= 100:
            raise SplitSpecError(
                f"expected-split {part!r}: percent must be in (0, 100]"
            )
        if name in shares:
            raise SplitSpecError(f"expected-split names {name!r} twice")
        shares[name] = percent
    if not shares:
        raise SplitSpecError("expected-split is empty")
    total = sum(shares.values())
    if len(shares) == 1 and total < 100 and _OTHER_VARIANT not in shares:
        shares[_OTHER_VARIANT] = 100 - total
        total = 100.0
    if abs(total - 100) > 1e-6:
        raise SplitSpecError(f"expected-split adds up to {total:g}%, not 100%")
    return {name: percent / 100 for name, percent in shares.items()}


@dataclass
class SplitTracker:
    """Counts who answered, per unit. Cheap enough to call on every response."""

    user_variants: dict[str, set[str]] = field(default_factory=dict)
    anonymous: Counter[str] = field(default_factory=Counter)
    missing_header: int = 0

    def record(self, variant: str | None, user_id: str | None) -> None:
        """One successful response: ``variant`` is the header value (None if absent)."""
        if not variant:
            self.missing_header += 1
        elif user_id:
            self.user_variants.setdefault(user_id, set()).add(variant)
        else:
            self.anonymous[variant] += 1

    def drain(self) -> dict[str, Any]:
        """Hand the counts over (a Locust worker's report) and start afresh."""
        data = {
            "users": {
                user: sorted(variants) for user, variants in self.user_variants.items()
            },
            "anonymous": dict(self.anonymous),
            "missing_header": self.missing_header,
        }
        self.user_variants, self.anonymous, self.missing_header = {}, Counter(), 0
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add a worker's drained counts (on the master)."""
        for user, variants in data.get("users", {}).items():
            self.user_variants.setdefault(user, set()).update(variants)
        self.anonymous.update(data.get("anonymous", {}))
        self.missing_header += int(data.get("missing_header", 0))


@dataclass(frozen=True)
class SplitResult:
    passed: bool
    summary: str
    """Fits in the one-line verdict."""
    observed: dict[str, int]
    expected: dict[str, float]
    p_value: float | None
    units: int
    sticky_violations: int


def _p_value(counts: list[int], probs: list[float]) -> float:
    # Imported here: scipy.stats takes seconds to import and only the verdict
    # needs it, so Locust starts sending load sooner.
    from scipy import stats

    total = sum(counts)
    if len(counts) == 2:
        return float(stats.binomtest(counts[0], total, probs[0]).pvalue)
    expected = [p * total for p in probs]
    return float(stats.chisquare(counts, expected).pvalue)


def check_split(
    tracker: SplitTracker, expected: dict[str, float], alpha: float, min_units: int
) -> SplitResult:
    """Test the observed units against the expected shares (see module doc)."""
    observed: Counter[str] = Counter(tracker.anonymous)
    violations = 0
    for variants in tracker.user_variants.values():
        if len(variants) > 1:
            violations += 1
            continue
        observed[next(iter(variants))] += 1
    units = sum(observed.values())
    shares = ",".join(
        f"{name}:{(observed[name] / units if units else 0):.1%}" for name in expected
    )
    problems: list[str] = []
    unexpected = sorted(set(observed) - set(expected))
    if unexpected:
        problems.append(f"unexpected variants {unexpected}")
    if violations:
        problems.append(f"{violations} user ids saw two variants")
    if tracker.missing_header:
        problems.append(f"{tracker.missing_header} responses without the header")
    if units < min_units:
        problems.append(f"only {units} units < {min_units}")
    p_value: float | None = None
    if units and not unexpected:
        names = list(expected)
        p_value = _p_value([observed[n] for n in names], [expected[n] for n in names])
        if p_value < alpha:
            problems.append(f"p={p_value:.2g}<{alpha:g}")
    passed = not problems
    verdict = f"p={p_value:.2g}>={alpha:g}" if passed else "; ".join(problems) + "!"
    summary = f"split={shares} n={units} {verdict}"
    return SplitResult(
        passed, summary, dict(observed), expected, p_value, units, violations
    )
