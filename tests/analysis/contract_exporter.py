"""A real Prometheus exporter (prometheus_client, HTTP on 127.0.0.1) that
exposes contract-named series whose values follow chosen rates, so analysis
can be tested deterministically against a real Prometheus.

Counters grow linearly with time from the exporter's start (``rate * t``), so
``increase(x[w])`` is ``rate * w`` whatever the scrape timing; histograms put
every observation of a version in one chosen latency bucket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from shiplane_contracts import metrics

WINDOW_S = 10
"""Analysis window of the tests; Prometheus must hold that much data."""


@dataclass(frozen=True)
class VersionTraffic:
    """What one model version "serves", per second."""

    model: str
    version: str
    requests_per_s: float
    error_share: float = 0.0
    latency_s: float = 0.004
    drift_share: float | None = 0.0
    baseline_missing: bool = False
    """Served without a reference profile: drift is not measured at all."""
    feedback_per_s: float = 0.0
    accuracy: float = 0.95


class ContractCollector(Collector):
    """Emits the serving contract's series for every :class:`VersionTraffic`."""

    def __init__(self, versions: list[VersionTraffic]) -> None:
        self.versions = versions
        self.started = time.monotonic()

    def collect(self) -> Iterator[Metric]:
        elapsed = time.monotonic() - self.started
        requests = CounterMetricFamily(
            metrics.REQUESTS.name,
            metrics.REQUESTS.help,
            labels=list(metrics.REQUESTS.labels),
        )
        duration = HistogramMetricFamily(
            metrics.REQUEST_DURATION.name,
            metrics.REQUEST_DURATION.help,
            labels=list(metrics.REQUEST_DURATION.labels),
        )
        drift = GaugeMetricFamily(
            metrics.DRIFT_SHARE.name,
            metrics.DRIFT_SHARE.help,
            labels=list(metrics.DRIFT_SHARE.labels),
        )
        missing = GaugeMetricFamily(
            metrics.DRIFT_BASELINE_MISSING.name,
            metrics.DRIFT_BASELINE_MISSING.help,
            labels=list(metrics.DRIFT_BASELINE_MISSING.labels),
        )
        feedback = CounterMetricFamily(
            metrics.FEEDBACK.name,
            metrics.FEEDBACK.help,
            labels=list(metrics.FEEDBACK.labels),
        )
        for v in self.versions:
            total = v.requests_per_s * elapsed
            errors = total * v.error_share
            if v.requests_per_s > 0 or v.error_share == 0:
                requests.add_metric([v.model, v.version, "v2", "200"], total - errors)
            if errors > 0:
                requests.add_metric([v.model, v.version, "v2", "500"], errors)
            answered = total - errors
            buckets = [
                (str(le), answered if v.latency_s <= le else 0.0)
                for le in metrics.LATENCY_BUCKETS_S
            ] + [("+Inf", answered)]
            duration.add_metric(
                [v.model, v.version, "v2"], buckets, answered * v.latency_s
            )
            missing.add_metric([v.model, v.version], float(v.baseline_missing))
            if v.drift_share is not None and not v.baseline_missing:
                drift.add_metric([v.model, v.version], v.drift_share)
            given = v.feedback_per_s * elapsed
            if given > 0:
                feedback.add_metric([v.model, v.version, "correct"], given * v.accuracy)
                feedback.add_metric(
                    [v.model, v.version, "incorrect"], given * (1 - v.accuracy)
                )
        yield from (requests, duration, drift, missing, feedback)


def serve(versions: list[VersionTraffic], port: int) -> Any:
    """Serve the series on 127.0.0.1:``port`` (a daemon thread); returns the
    server, to ``shutdown()``."""
    registry = CollectorRegistry()
    registry.register(ContractCollector(versions))
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return server
