from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from shiplane_tools import localstack


def test_mlflow_server_is_real(mlflow_uri: str) -> None:
    # Looked up by name: a listing is paged, and other tests on the shared
    # server create experiments that push "Default" off the first page.
    reply = httpx.get(
        f"{mlflow_uri}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "Default"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["experiment"]["experiment_id"] == "0"


def test_start_error_quotes_the_log(tmp_path: Path) -> None:
    proc = localstack.ManagedProcess(
        "boom",
        [sys.executable, "-c", "print('no config'); raise SystemExit(3)"],
        tmp_path,
    )
    with pytest.raises(
        localstack.StartError, match=r"(?s)exited with code 3.*no config"
    ):
        proc.start().wait_ready(lambda: False, timeout_s=10)


def test_stop_pidfile_stops_a_process_started_elsewhere(tmp_path: Path) -> None:
    proc = localstack.ManagedProcess(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path
    ).start()
    assert localstack.stop_pidfile(proc.pid_path) is True
    assert proc.proc is not None and proc.proc.wait(5) != 0
    assert localstack.stop_pidfile(proc.pid_path) is False


@pytest.mark.prometheus
def test_prometheus_server_scrapes_a_real_exporter(tmp_path: Path) -> None:
    import time

    from prometheus_client import CollectorRegistry, Counter, start_http_server

    from tests.conftest import require_tool

    require_tool("prometheus")
    registry = CollectorRegistry()
    Counter("shiplane_probe", "Probe.", registry=registry).inc(7)
    port = localstack.free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    prom = localstack.prometheus_server(tmp_path, {"probe": [f"127.0.0.1:{port}"]})
    try:
        prom.start().wait_ready(lambda: localstack.http_ok(f"{prom.url}/-/ready"), 30)
        deadline = time.monotonic() + 20
        value = None
        while time.monotonic() < deadline and value is None:
            reply = httpx.get(
                f"{prom.url}/api/v1/query", params={"query": "shiplane_probe_total"}
            ).json()
            if reply["data"]["result"]:
                value = float(reply["data"]["result"][0]["value"][1])
            time.sleep(0.5)
        assert value == 7.0
    finally:
        prom.stop()
        server.shutdown()
