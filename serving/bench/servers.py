"""How each server under test is started: command line, environment, files,
health URL and the formats it is loaded with. All bind 127.0.0.1 on free ports
and run one worker."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from serving.bench.model import MODEL_NAME, BenchModel
from serving.bench.protocols import MLFLOW_INPUTS, MLFLOW_SPLIT, V1, V2, Protocol
from shiplane_tools.localstack import LOOPBACK, ManagedProcess, free_port

PEERS_DIR = Path(__file__).resolve().parent / "peers"

SHIPLANE_SERVERS = frozenset({"shiplane", "shiplane-nobatch", "router"})
"""Servers that load Shiplane's model layout."""


@dataclass(frozen=True)
class LaunchContext:
    """What every launcher needs."""

    model: BenchModel
    workdir: Path
    """This server's own folder: logs, PID files, generated configuration."""
    python: str = sys.executable
    """The project's interpreter (``.venv``)."""
    mlserver_bin: Path = Path("mlserver")


@dataclass(frozen=True)
class Step:
    """One process to start and the URL that says it is ready."""

    process: ManagedProcess
    health_url: str


@dataclass(frozen=True)
class Launch:
    """The processes of one server, started in order; the last one is loaded
    and measured (the router sits in front of a Shiplane server)."""

    steps: list[Step]

    @property
    def measured(self) -> ManagedProcess:
        return self.steps[-1].process

    @property
    def url(self) -> str:
        return self.measured.url


@dataclass(frozen=True)
class ServerSpec:
    """A server under test."""

    key: str
    label: str
    protocols: tuple[Protocol, ...]
    launch: Callable[[LaunchContext], Launch]
    notes: str
    batch_metrics: bool = False
    """Exposes ``shiplane_batch_rows`` on /metrics."""
    profile: bool = False
    """Sampled with py-spy for "where the time goes"."""


def _url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def _kserve(ctx: LaunchContext) -> Launch:
    port, grpc_port = free_port(), free_port()
    argv = [
        ctx.python,
        str(PEERS_DIR / "kserve_plain.py"),
        str(ctx.model.joblib_path),
        MODEL_NAME,
        str(port),
        str(grpc_port),
    ]
    proc = ManagedProcess("kserve", argv, ctx.workdir, url=_url(port))
    return Launch([Step(proc, f"{_url(port)}/v1/models/{MODEL_NAME}")])


def _mlflow(ctx: LaunchContext) -> Launch:
    port = free_port()
    argv = [
        ctx.python,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        str(ctx.model.mlflow_dir),
        "--env-manager",
        "local",
        "-h",
        LOOPBACK,
        "-p",
        str(port),
        "-w",
        "1",
    ]
    # mlflow execs `uvicorn` by name: the project's venv must come first.
    bin_dir = str(Path(ctx.python).parent)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = ManagedProcess("mlflow", argv, ctx.workdir, env=env, url=_url(port))
    return Launch([Step(proc, f"{_url(port)}/ping")])


def _mlserver(ctx: LaunchContext) -> Launch:
    port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    repo = ctx.workdir / "repository"
    model_dir = repo / MODEL_NAME
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ctx.model.joblib_path, model_dir / "model.joblib")
    settings = {
        "host": LOOPBACK,
        "http_port": port,
        "grpc_port": grpc_port,
        "metrics_port": metrics_port,
    }
    (repo / "settings.json").write_text(json.dumps(settings, indent=2))
    model_settings = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    (model_dir / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    argv = [str(ctx.mlserver_bin), "start", str(repo)]
    proc = ManagedProcess("mlserver", argv, ctx.workdir, url=_url(port))
    return Launch([Step(proc, f"{_url(port)}/v2/models/{MODEL_NAME}/ready")])


def _floor(ctx: LaunchContext) -> Launch:
    port = free_port()
    argv = [
        ctx.python,
        str(PEERS_DIR / "floor.py"),
        str(ctx.model.joblib_path),
        MODEL_NAME,
        str(port),
    ]
    proc = ManagedProcess("floor", argv, ctx.workdir, url=_url(port))
    return Launch([Step(proc, f"{_url(port)}/")])


def _shiplane_process(ctx: LaunchContext, name: str, extra_env: dict[str, str]) -> Step:
    port, grpc_port = free_port(), free_port()
    argv = [
        ctx.python,
        "-m",
        "shiplane_serving",
        "--model-uri",
        str(ctx.model.shiplane_dir),
        "--model-name",
        MODEL_NAME,
        "--http-port",
        str(port),
        "--grpc-port",
        str(grpc_port),
        "--workers",
        "1",
        "--host",
        LOOPBACK,
    ]
    env = {
        # V1 :predict answers probabilities, the same work every other server does.
        "SHIPLANE_SERVING_V1_DEFAULT_OUTPUT": "predict_proba",
        "SHIPLANE_SERVING_DOWNLOAD_DIR": str(ctx.workdir / "models"),
        "SHIPLANE_SERVING_METRICS_DIR": str(ctx.workdir / "metrics"),
        **extra_env,
    }
    proc = ManagedProcess(name, argv, ctx.workdir, env=env, url=_url(port))
    return Step(proc, f"{_url(port)}/v2/models/{MODEL_NAME}/ready")


def _shiplane(ctx: LaunchContext) -> Launch:
    return Launch([_shiplane_process(ctx, "shiplane", {})])


def _shiplane_nobatch(ctx: LaunchContext) -> Launch:
    step = _shiplane_process(ctx, "shiplane", {"SHIPLANE_SERVING_BATCHING": "false"})
    return Launch([step])


def _router(ctx: LaunchContext) -> Launch:
    upstream = _shiplane_process(ctx, "shiplane", {})
    port = free_port()
    config = ctx.workdir / "router.yaml"
    # JSON is YAML: one variant taking all traffic.
    config.write_text(
        json.dumps(
            {"variants": {"shiplane": {"url": upstream.process.url, "weight": 100}}}
        )
    )
    argv = [
        ctx.python,
        "-m",
        "shiplane.router",
        "--config",
        str(config),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    proc = ManagedProcess("router", argv, ctx.workdir, url=_url(port))
    return Launch([upstream, Step(proc, f"{_url(port)}/healthz")])


SERVERS: dict[str, ServerSpec] = {
    spec.key: spec
    for spec in (
        ServerSpec(
            "kserve",
            "plain KServe",
            (V1,),
            _kserve,
            profile=True,
            notes="minimal custom kserve.Model on ModelServer 0.21, defaults "
            "(per-request latency logging on, gRPC on) bound to 127.0.0.1",
        ),
        ServerSpec(
            "mlflow",
            "mlflow models serve",
            (MLFLOW_SPLIT, MLFLOW_INPUTS),
            _mlflow,
            notes="--env-manager local -w 1, skops model, pyfunc predict_fn="
            "predict_proba, uvicorn access log on as shipped",
        ),
        ServerSpec(
            "mlserver",
            "MLServer",
            (V2,),
            _mlserver,
            notes="mlserver-sklearn, own venv, defaults (parallel_workers=1: one "
            "inference worker process), outputs=[predict_proba] requested",
        ),
        ServerSpec(
            "floor",
            "floor (bare ASGI)",
            (V1,),
            _floor,
            profile=True,
            notes="raw ASGI callable, orjson, predict_proba, uvicorn 1 worker, "
            "no access log",
        ),
        ServerSpec(
            "shiplane-nobatch",
            "Shiplane, batching off",
            (V1,),
            _shiplane_nobatch,
            batch_metrics=True,
            notes="metrics and drift on, SHIPLANE_SERVING_BATCHING=false",
        ),
        ServerSpec(
            "shiplane",
            "Shiplane",
            (V1,),
            _shiplane,
            batch_metrics=True,
            profile=True,
            notes="defaults: metrics, drift and batching on",
        ),
        ServerSpec(
            "router",
            "router -> Shiplane",
            (V1,),
            _router,
            profile=True,
            notes="shiplane.router, one variant at 100%, in front of Shiplane "
            "(defaults); RSS is the router's alone",
        ),
    )
}
