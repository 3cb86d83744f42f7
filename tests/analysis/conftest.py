"""A real Prometheus scraping a real exporter of contract-named series with
chosen values: one per session, shared by the analysis tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shiplane.analysis.prometheus import PrometheusClient
from shiplane_tools import localstack
from tests.analysis.contract_exporter import WINDOW_S, VersionTraffic, serve
from tests.conftest import require_tool

SCENARIOS = [
    # model, stable, canary: each model is one scenario
    VersionTraffic("good", "1", 20.0),
    VersionTraffic("good", "2", 20.0, latency_s=0.0045),
    VersionTraffic("slow", "1", 20.0, latency_s=0.004),
    VersionTraffic("slow", "2", 20.0, latency_s=0.06),
    VersionTraffic("erroring", "1", 20.0, error_share=0.0),
    VersionTraffic("erroring", "2", 20.0, error_share=0.2),
    VersionTraffic("quiet", "1", 20.0),
    VersionTraffic("idle", "1", 20.0),
    VersionTraffic("idle", "2", 0.0),
    VersionTraffic("few", "1", 20.0),
    VersionTraffic("few", "2", 0.5),
    VersionTraffic("few-drifting", "1", 20.0),
    VersionTraffic("few-drifting", "2", 0.5, drift_share=0.9),
    VersionTraffic("drifting", "1", 20.0, drift_share=0.1),
    VersionTraffic("drifting", "2", 20.0, drift_share=0.6),
    VersionTraffic("worse", "1", 20.0, feedback_per_s=10.0, accuracy=0.95),
    VersionTraffic("worse", "2", 20.0, feedback_per_s=10.0, accuracy=0.6),
    VersionTraffic("no-drift-gauge", "1", 20.0, drift_share=None),
    VersionTraffic("no-drift-gauge", "2", 20.0, drift_share=None),
    VersionTraffic("no-baseline", "1", 20.0),
    VersionTraffic("no-baseline", "2", 20.0, baseline_missing=True),
    VersionTraffic("unprofiled", "1", 20.0, baseline_missing=True),
    VersionTraffic("unprofiled", "2", 20.0, baseline_missing=True),
]


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Prometheus that has scraped the scenarios for a window."""
    require_tool("prometheus")
    port = localstack.free_port()
    exporter = serve(SCENARIOS, port)
    prom = localstack.prometheus_server(
        tmp_path_factory.mktemp("prometheus"), {"contract": [f"127.0.0.1:{port}"]}
    )
    try:
        prom.start().wait_ready(lambda: localstack.http_ok(f"{prom.url}/-/ready"), 60)
        with PrometheusClient(prom.url) as client:
            started = time.monotonic()
            while not client.query("shiplane_requests_total"):
                assert time.monotonic() - started < 30, "Prometheus never scraped"
                time.sleep(0.5)
        time.sleep(WINDOW_S + 2)  # a full window of samples, plus a scrape
        yield prom.url
    finally:
        prom.stop()
        exporter.shutdown()
