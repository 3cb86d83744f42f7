"""How many rows each model call took: Shiplane's ``shiplane_batch_rows``
histogram, read from /metrics before and after a load and subtracted."""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shiplane_contracts.metrics import BATCH_ROWS

Buckets = dict[float, float]
"""Upper bound (``le``) -> cumulative count, all label sets summed."""


@dataclass(frozen=True)
class BatchHistogram:
    buckets: Buckets
    count: float
    total_rows: float


def scrape_batch_rows(base_url: str, timeout_s: float = 5.0) -> BatchHistogram | None:
    """The histogram as the server exports it now; None if it exports none."""
    try:
        text = httpx.get(f"{base_url}/metrics", timeout=timeout_s).text
    except httpx.HTTPError:
        return None
    buckets: Buckets = {}
    count = total = 0.0
    found = False
    for family in text_string_to_metric_families(text):
        if family.name != BATCH_ROWS.name:
            continue
        found = True
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
    return BatchHistogram(buckets, count, total) if found else None


def summarize(before: BatchHistogram | None, after: BatchHistogram | None) -> str:
    """One line: model calls, mean rows per call and the share of calls per
    bucket, for what happened between the two scrapes."""
    if after is None:
        return ""
    prior = before or BatchHistogram({}, 0.0, 0.0)
    calls = after.count - prior.count
    if calls <= 0:
        return "no model calls recorded"
    rows = after.total_rows - prior.total_rows
    shares, previous = [], 0.0
    for le in sorted(after.buckets):
        cumulative = after.buckets[le] - prior.buckets.get(le, 0.0)
        in_bucket = cumulative - previous
        previous = cumulative
        if in_bucket > 0:
            bound = "inf" if math.isinf(le) else f"{le:g}"
            shares.append(f"<={bound}: {100 * in_bucket / calls:.0f}%")
    return f"{calls:.0f} calls, {rows / calls:.1f} rows/call ({', '.join(shares)})"
