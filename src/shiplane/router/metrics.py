"""The router's Prometheus collectors, built from the shared contract in
:mod:`shiplane_contracts.metrics` (``ROUTER_*`` specs) on an injectable registry.

Label semantics:

* ``shiplane_router_requests_total{variant, code}``: the variant whose answer
  the client got (the fallback when it answered); when every try failed, the
  variant first chosen with ``code="502"``.
* ``shiplane_router_fallbacks_total{variant}``: the variant that *failed*,
  counted when the fallback answered in its place, so a canary's failures stay
  visible even though its users got a good answer. Every request first routed
  to a variant is counted exactly once, in one of these two families.
* ``shiplane_router_shadow_requests_total{variant, outcome}``: ``ok`` (answer
  below 500), ``error`` (5xx, connection error, timeout) or ``dropped`` (too many
  mirrored requests in flight).

The router is one process (one event loop), so plain collectors are correct.
Running several uvicorn workers would need prometheus_client's multiprocess
mode; the router does not do that (one process reaches the overhead target).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)

from shiplane_contracts import metrics as contract
from shiplane_contracts.collectors import Children, build

__all__ = ["CONTENT_TYPE_LATEST", "RouterMetrics"]


class RouterMetrics:
    """Every collector of one router process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Create the collectors.

        Args:
            registry: where to register; a fresh private registry by default so
                that two routers in one process (tests) never collide.
        """
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = build(contract.ROUTER_REQUESTS, r)
        self.duration = build(contract.ROUTER_REQUEST_DURATION, r)
        self.shadow = build(contract.ROUTER_SHADOW_REQUESTS, r)
        self.fallbacks = build(contract.ROUTER_FALLBACKS, r)
        self.weight = build(contract.ROUTER_VARIANT_WEIGHT, r)
        self.child = Children()
        """``child(metric, *labels)``: the labelled child, cached."""

    def declare_variants(self, variants: Mapping[str, int]) -> None:
        """Create every per-variant series at zero so that rates and absent()
        checks work before the first request, and set the weight gauges."""
        for name, weight in variants.items():
            self.weight.labels(name).set(weight)
            self.fallbacks.labels(name)
            self.duration_for(name)
            for outcome in ("ok", "error", "dropped"):
                self.shadow.labels(name, outcome)

    def set_weights(self, weights: Mapping[str, int]) -> None:
        """Keep ``shiplane_router_variant_weight`` equal to the live weights."""
        for name, weight in weights.items():
            self.weight.labels(name).set(weight)

    def duration_for(self, variant: str) -> Histogram:
        """The latency histogram child of a variant."""
        child: Histogram = self.child(self.duration, variant)
        return child

    def observe(self, variant: str, status: int, seconds: float) -> None:
        """Count one answered request and its end-to-end duration."""
        self.child(self.requests, variant, str(status)).inc()
        self.duration_for(variant).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
