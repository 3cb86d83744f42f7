"""The metrics contract itself: names, units and labels follow Prometheus
conventions, and every family can be built by prometheus_client as declared."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from shiplane_contracts import metrics
from shiplane_contracts.metrics import ALL, MetricSpec, exported_series

NAME = re.compile(r"^shiplane_[a-z][a-z0-9_]*$")
UNIT_SUFFIXES = (
    "_seconds",
    "_rows",
    "_psi",
    "_ks",
    "_share",
    "_info",
    "_ready",
    "_missing",  # 0/1 state gauges, like _ready
    "_depth",
    "_weight",
    "_value",
    "_error",
    "_number",
)


def test_contract_is_not_empty_and_unique() -> None:
    assert len(ALL) >= 20
    assert len({m.name for m in ALL}) == len(ALL)


@pytest.mark.parametrize("spec", ALL, ids=lambda m: m.name)
def test_names_follow_prometheus_conventions(spec: MetricSpec) -> None:
    assert NAME.match(spec.name), spec.name
    assert not spec.name.endswith("_total"), "prometheus_client adds _total to counters"
    if spec.kind != "counter":
        assert spec.name.endswith(UNIT_SUFFIXES), f"{spec.name} names no unit"
    assert spec.help.endswith("."), "help text is a sentence"
    assert len(set(spec.labels)) == len(spec.labels)
    assert (spec.buckets is not None) == (spec.kind == "histogram")


@pytest.mark.parametrize("spec", ALL, ids=lambda m: m.name)
def test_every_family_exports_the_series_the_contract_names(spec: MetricSpec) -> None:
    registry = CollectorRegistry()
    kinds = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
    kwargs = {"buckets": spec.buckets} if spec.buckets else {}
    family = kinds[spec.kind](
        spec.name, spec.help, spec.labels, registry=registry, **kwargs
    )
    child = family.labels(*["x"] * len(spec.labels))
    if spec.kind == "histogram":
        child.observe(0.1)
    elif spec.kind == "counter":
        child.inc()
    else:
        child.set(1)
    exposition = generate_latest(registry).decode()
    for series in exported_series(spec):
        assert re.search(rf"^{series}\{{", exposition, re.M), series


def test_label_constants_are_used_consistently() -> None:
    request_specs = [metrics.REQUESTS, metrics.REQUEST_DURATION]
    for spec in request_specs:
        assert spec.labels[:2] == metrics.MODEL_LABELS
