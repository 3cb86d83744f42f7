from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from shiplane import localstack


def test_mlflow_server_is_real(mlflow_uri: str) -> None:
    reply = httpx.get(f"{mlflow_uri}/api/2.0/mlflow/experiments/search?max_results=5")
    assert reply.status_code == 200
    names = [e["name"] for e in reply.json()["experiments"]]
    assert "Default" in names


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
