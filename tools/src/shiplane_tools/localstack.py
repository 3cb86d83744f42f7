"""Real processes on 127.0.0.1 for the local stack: MLflow, model servers, the
router, Prometheus, an S3-compatible object store. Used by ``make demo``, the
benchmarks and the test fixtures, so all three start things the same way.

Each process writes its PID to a file and its output to a log, so a later
command (``make demo-stop``) can stop what an earlier one started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

LOOPBACK = "127.0.0.1"


class StartError(RuntimeError):
    """A process exited or never became ready; the message quotes its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ManagedProcess:
    """A child process with a log file and a PID file."""

    name: str
    argv: Sequence[str]
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    """Base URL it serves on, when it is a server."""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    def start(self) -> ManagedProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=self.workdir,
            start_new_session=True,  # its own process group: stop() takes workers too
        )
        log.close()
        self.pid_path.write_text(str(self.proc.pid))
        return self

    def wait_ready(
        self, ready: Callable[[], bool], timeout_s: float = 60.0, poll_s: float = 0.1
    ) -> ManagedProcess:
        """Poll ``ready`` until it is true; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StartError(
                    f"{self.name} exited with code {self.proc.returncode}:\n"
                    f"{self.log_tail()}"
                )
            if ready():
                return self
            time.sleep(poll_s)
        self.stop()
        raise StartError(
            f"{self.name} not ready after {timeout_s:.0f}s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None:
            stop_pidfile(self.pid_path, timeout_s)
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.pid_path.unlink(missing_ok=True)


def stop_pidfile(pid_path: Path, timeout_s: float = 10.0) -> bool:
    """Stop the process group whose leader's PID is in ``pid_path``; True if one
    was running."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return False
    pid_path.unlink(missing_ok=True)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def mlflow_server(workdir: Path, port: int | None = None) -> ManagedProcess:
    """A real MLflow tracking server: SQLite backend, local artifact store, both
    under ``workdir``, artifacts proxied through the server (``mlflow-artifacts:``)
    so clients need no access to the folder."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        (workdir / "artifacts").as_uri(),
        "--serve-artifacts",
    ]
    return ManagedProcess(
        "mlflow",
        argv,
        workdir,
        # No job executor: its six huey worker processes serve MLflow's GenAI
        # jobs, which Shiplane does not use, and double the start-up time.
        env={"MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        url=f"http://{LOOPBACK}:{port}",
    )


def serving_server(
    workdir: Path,
    model_uri: str,
    model_name: str,
    *,
    name: str = "serving",
    tracking_uri: str | None = None,
    workers: int = 1,
    grpc_port: int = 0,
    extra: Sequence[str] = (),
) -> ManagedProcess:
    """``python -m shiplane_serving`` for one model on a free loopback port,
    with its downloads and metric files under ``workdir/name``; gRPC only on a
    ``grpc_port`` given. ``extra`` flags go last and win. Ready when
    :func:`serving_ready` says so."""
    port = free_port()
    home = workdir / name
    argv = [
        sys.executable,
        "-m",
        "shiplane_serving",
        "--model-uri",
        model_uri,
        "--model-name",
        model_name,
        "--host",
        LOOPBACK,
        "--http-port",
        str(port),
        "--grpc-port",
        str(grpc_port),
        "--workers",
        str(workers),
        "--download-dir",
        str(home / "models"),
        "--metrics-dir",
        str(home / "metrics"),
    ]
    env = {}
    if tracking_uri is not None:
        argv += ["--tracking-uri", tracking_uri]
        # MLflow's artifact download also reads its own variable: without it a
        # models:/ download can look in ./mlflow.db (seen with mlflow 3.17).
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    return ManagedProcess(
        name, [*argv, *extra], workdir, env, url=f"http://{LOOPBACK}:{port}"
    )


def serving_ready(server: ManagedProcess) -> bool:
    return http_ok(f"{server.url}/v2/health/ready")


def router_server(
    workdir: Path,
    config: Mapping[str, Any],
    *,
    name: str = "router",
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> ManagedProcess:
    """``python -m shiplane.router`` on a free loopback port, its ``config``
    written to ``workdir/NAME.yaml``. Ready when :func:`router_ready` says so."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "shiplane.router",
        "--config",
        str(config_path),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        *extra,
    ]
    return ManagedProcess(
        name, argv, workdir, dict(env or {}), url=f"http://{LOOPBACK}:{port}"
    )


def router_ready(router: ManagedProcess) -> bool:
    return http_ok(f"{router.url}/healthz")


def prometheus_server(
    workdir: Path,
    targets: Mapping[str, Sequence[str]],
    rule_files: Sequence[Path] = (),
    scrape_interval_s: float = 1.0,
    port: int | None = None,
) -> ManagedProcess:
    """A real Prometheus scraping ``targets`` (job name -> ``host:port`` list) on
    127.0.0.1, with a throwaway TSDB under ``workdir``.

    The short default scrape interval lets tests and the demo see data within
    seconds; a cluster uses the chart's PodMonitor instead.
    """
    import yaml

    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {
            "scrape_interval": f"{scrape_interval_s:g}s",
            "evaluation_interval": f"{scrape_interval_s:g}s",
        },
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    argv = [
        "prometheus",
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--storage.tsdb.retention.time=1d",
    ]
    return ManagedProcess("prometheus", argv, workdir, url=f"http://{LOOPBACK}:{port}")


@dataclass(frozen=True)
class S3Credentials:
    """The one identity an :func:`s3_server` knows."""

    access_key: str
    secret_key: str


def s3_server(
    workdir: Path, credentials: S3Credentials, port: int | None = None
) -> ManagedProcess:
    """SeaweedFS's all-in-one ``weed mini`` as an S3-compatible server on
    127.0.0.1 (``make tools`` builds ``weed``: scripts/s3server-build.sh).

    Its data lives under ``workdir/data``; requests must be signed with
    ``credentials`` (anonymous ones are refused). Every port it opens (master,
    volume, filer, S3, admin, each with its gRPC twin) is a free loopback port,
    so parallel test workers never collide; WebDAV, Iceberg and Lance are off,
    and so is its telemetry, which would call out to the internet. Ready when
    :func:`s3_ready` says so; the S3 endpoint is ``url``.
    """
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    identities = workdir / "s3-identities.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "shiplane",
                        "credentials": [
                            {
                                "accessKey": credentials.access_key,
                                "secretKey": credentials.secret_key,
                            }
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        component: free_port()
        for component in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        )
    }
    argv = [
        "weed",
        "mini",
        f"-dir={workdir / 'data'}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        f"-s3.port={port}",
        *(f"-{flag}={value}" for flag, value in ports.items()),
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.port.legacy=0",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
    ]
    return ManagedProcess("s3", argv, workdir, url=f"http://{LOOPBACK}:{port}")


def s3_ready(server: ManagedProcess) -> bool:
    """The S3 API answers (an unsigned request: refused, but answered)."""
    try:
        return httpx.get(server.url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """``make mlflow`` / ``make mlflow-stop``: a long-lived local MLflow server."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m shiplane_tools.localstack")
    parser.add_argument("action", choices=["mlflow-start", "mlflow-stop"])
    parser.add_argument("--state", type=Path, default=Path(".shiplane"))
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    workdir = args.state / "mlflow"
    if args.action == "mlflow-stop":
        stopped = stop_pidfile(workdir / "mlflow.pid")
        print("MLflow server stopped" if stopped else "no MLflow server was running")
        return 0
    server = mlflow_server(workdir, args.port)
    if http_ok(f"{server.url}/health"):
        print(f"MLflow already serves {server.url}")
        return 0
    print(f"starting MLflow on {server.url} (SQLite + artifacts in {workdir}) ...")
    try:
        server.start().wait_ready(lambda: http_ok(f"{server.url}/health"), 90)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"MLflow ready: export MLFLOW_TRACKING_URI={server.url}")
    print(f"log: {server.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
