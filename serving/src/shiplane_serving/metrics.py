"""Every Prometheus collector of the serving runtime, built from the shared specs
in :mod:`shiplane_contracts.metrics` (the contract docs/metrics.md documents).

With one worker the collectors live in an ordinary registry. With several, the
entry point sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, every
worker writes its values to its own files there, and whichever worker answers
``/metrics`` aggregates all of them with ``MultiProcessCollector`` (kserve#2979 is
what happens without it). Drift is not a per-process value at all: it is
computed at scrape time from the bin-count windows every worker shares (see
:mod:`shiplane_serving.drift.window`), so each scrape shows all traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import (
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shiplane_contracts import collectors
from shiplane_contracts import metrics as spec
from shiplane_contracts.collectors import Children
from shiplane_serving.drift.monitor import DriftReport
from shiplane_serving.types import Prediction

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# How a gauge's per-worker values combine in multiprocess mode.
_GAUGE_MODES: dict[str, Any] = {
    spec.MODEL_INFO.name: "livemax",
    spec.MODEL_REGISTRY_VERSION.name: "livemax",
    spec.MODEL_READY.name: "livemin",
    spec.BATCH_QUEUE_DEPTH.name: "livesum",
}


def build(metric: spec.MetricSpec, registry: CollectorRegistry) -> Any:
    """The collector of ``metric``, with the serving gauges' multiprocess mode."""
    return collectors.build(metric, registry, _GAUGE_MODES.get(metric.name, "livemax"))


class DriftCollector(Collector):
    """Drift gauges, computed when Prometheus scrapes."""

    def __init__(
        self, source: Callable[[], tuple[str, str, DriftReport] | None]
    ) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self._source()
        if found is None:
            return
        model, version, report = found
        labels = [spec.MODEL, spec.MODEL_VERSION, spec.FEATURE]
        psi = GaugeMetricFamily(spec.DRIFT_PSI.name, spec.DRIFT_PSI.help, labels=labels)
        ks = GaugeMetricFamily(spec.DRIFT_KS.name, spec.DRIFT_KS.help, labels=labels)
        chi = GaugeMetricFamily(
            spec.DRIFT_CHI_SQUARE_P.name, spec.DRIFT_CHI_SQUARE_P.help, labels=labels
        )
        for f in report.features:
            psi.add_metric([model, version, f.name], f.psi)
            if f.chi_square_p is not None:  # categorical: no CDF, so no KS
                chi.add_metric([model, version, f.name], f.chi_square_p)
            else:
                ks.add_metric([model, version, f.name], f.ks or 0.0)
        psi.add_metric([model, version, report.prediction.name], report.prediction.psi)
        mlabels = list(spec.MODEL_LABELS)
        share = GaugeMetricFamily(
            spec.DRIFT_SHARE.name, spec.DRIFT_SHARE.help, labels=mlabels
        )
        share.add_metric([model, version], report.drifted_share)
        rows = GaugeMetricFamily(
            spec.DRIFT_WINDOW_ROWS.name, spec.DRIFT_WINDOW_ROWS.help, labels=mlabels
        )
        rows.add_metric([model, version], report.window_rows)
        yield from (psi, ks, chi, share, rows)


class ServingMetrics:
    """The collectors of one serving process.

    Args:
        registry: where single-process collectors register (tests pass their
            own); in multiprocess mode values go to files regardless.
        multiproc_dir: the ``PROMETHEUS_MULTIPROC_DIR`` of a multi-worker server,
            or None.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        multiproc_dir: Path | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.multiproc_dir = multiproc_dir
        r = self.registry
        self.requests = build(spec.REQUESTS, r)
        self.request_duration = build(spec.REQUEST_DURATION, r)
        self.request_rows = build(spec.REQUEST_ROWS, r)
        self.invalid_requests = build(spec.INVALID_REQUESTS, r)
        self.predictions = build(spec.PREDICTIONS, r)
        self.prediction_value = build(spec.PREDICTION_VALUE, r)
        self.model_info = build(spec.MODEL_INFO, r)
        self.model_registry_version = build(spec.MODEL_REGISTRY_VERSION, r)
        self.model_ready = build(spec.MODEL_READY, r)
        self.drift_baseline_missing = build(spec.DRIFT_BASELINE_MISSING, r)
        self.feedback = build(spec.FEEDBACK, r)
        self.feedback_absolute_error = build(spec.FEEDBACK_ABSOLUTE_ERROR, r)
        self.feedback_unknown = build(spec.FEEDBACK_UNKNOWN, r)
        self.batch_rows = build(spec.BATCH_ROWS, r)
        self.batch_queue_depth = build(spec.BATCH_QUEUE_DEPTH, r)
        self._drift: DriftCollector | None = None
        self.child = Children()
        """``child(metric, *labels)``: the labelled child, cached."""

    def add_drift(self, collector: DriftCollector) -> None:
        """Export drift gauges through ``collector`` on every scrape."""
        self._drift = collector
        if self.multiproc_dir is None:
            self.registry.register(collector)

    def observe_request(
        self,
        model: str,
        version: str,
        protocol: str,
        code: int,
        duration_s: float,
        rows: int,
    ) -> None:
        """Count one answered inference request."""
        self.child(self.requests, model, version, protocol, str(code)).inc()
        self.child(self.request_duration, model, version, protocol).observe(duration_s)
        if rows:
            self.child(self.request_rows, model, version).inc(rows)

    def observe_predictions(
        self, model: str, version: str, pred: Prediction, classes: list[str]
    ) -> None:
        """Count one model call's predictions (each row once)."""
        if pred.class_index is not None:
            if pred.class_index.size == 1:
                label = classes[int(pred.class_index[0])]
                self.child(self.predictions, model, version, label).inc()
                return
            counts = np.bincount(pred.class_index, minlength=len(classes))
            for label, count in zip(classes, counts.tolist(), strict=True):
                if count:
                    self.child(self.predictions, model, version, label).inc(count)
        else:
            hist = self.child(self.prediction_value, model, version)
            for value in pred.labels.tolist():
                hist.observe(value)

    def render(self) -> tuple[bytes, str]:
        """The exposition for ``/metrics`` (every worker's values aggregated)."""
        if self.multiproc_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(self.multiproc_dir)
        )
        if self._drift is not None:
            registry.register(self._drift)
        return generate_latest(registry), CONTENT_TYPE


def mark_process_dead(multiproc_dir: Path | None, pid: int) -> None:
    """Drop a stopped worker's live gauges (multiprocess mode only)."""
    if multiproc_dir is not None:
        multiprocess.mark_process_dead(pid, str(multiproc_dir))  # type: ignore[no-untyped-call]
