"""Print a verdict as a table or as JSON."""

from __future__ import annotations

import json

from shiplane.analysis.verdict import CheckResult, Verdict


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric.startswith("latency"):
        return f"{value * 1000:.2f} ms"
    if metric in ("error rate", "accuracy", "drift share"):
        return f"{value:.2%}"
    return f"{value:.0f}"


def _row(check: CheckResult) -> list[str]:
    return [
        check.metric,
        _fmt(check.stable, check.metric),
        _fmt(check.canary, check.metric),
        check.threshold,
        str(check.outcome).upper(),
        check.reason,
    ]


def table(verdict: Verdict) -> str:
    """A fixed-width table: metric, stable, canary, threshold, result, reason."""
    header = [
        "METRIC",
        f"STABLE v{verdict.stable_version}",
        f"CANARY v{verdict.canary_version}",
        "THRESHOLD",
        "RESULT",
        "REASON",
    ]
    rows = [header] + [_row(c) for c in verdict.checks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True))
        + "  "
        + r[-1]
        for r in rows
    ]
    lines.append("")
    lines.append(
        f"verdict: {str(verdict.outcome).upper()} ({verdict.model}, window "
        f"{verdict.window})"
    )
    lines.extend(f"  - {reason}" for reason in verdict.reasons)
    return "\n".join(lines)


def as_json(verdict: Verdict) -> str:
    """The verdict as indented JSON."""
    return json.dumps(verdict.to_dict(), indent=2)
