"""prometheus_client collectors built from the metrics contract
(:mod:`shiplane_contracts.metrics`), for the serving runtime and the router alike: one
place decides how a :class:`~shiplane_contracts.metrics.MetricSpec` becomes a collector,
so a family's type, help, labels and buckets cannot differ between the two.
"""

from __future__ import annotations

from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from shiplane_contracts.metrics import MetricSpec

GaugeMode = Literal[
    "all",
    "liveall",
    "min",
    "livemin",
    "max",
    "livemax",
    "sum",
    "livesum",
    "mostrecent",
    "livemostrecent",
]
"""prometheus_client's ``multiprocess_mode`` of a gauge."""


def build(
    spec: MetricSpec, registry: CollectorRegistry, gauge_mode: GaugeMode = "all"
) -> Any:
    """The collector of ``spec``, registered in ``registry``.

    Args:
        spec: the contract's family.
        registry: where to register it.
        gauge_mode: how a gauge's per-process values combine in multiprocess
            mode (prometheus_client's ``multiprocess_mode``); ignored otherwise.
    """
    kwargs: dict[str, Any] = {"registry": registry, "labelnames": spec.labels}
    if spec.kind == "counter":
        return Counter(spec.name, spec.help, **kwargs)
    if spec.kind == "histogram":
        buckets = spec.buckets or Histogram.DEFAULT_BUCKETS
        return Histogram(spec.name, spec.help, buckets=buckets, **kwargs)
    return Gauge(spec.name, spec.help, multiprocess_mode=gauge_mode, **kwargs)


class Children:
    """``metric.labels(*values)``, cached: the label lookup costs more than the
    increment it serves, a measurable share of a sub-millisecond request."""

    def __init__(self) -> None:
        self._found: dict[tuple[Any, ...], Any] = {}

    def __call__(self, metric: MetricWrapperBase, *values: str) -> Any:
        key = (id(metric), *values)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = metric.labels(*values)
        return found
