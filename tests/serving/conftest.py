"""Real model servers for the serving tests: started once per session, on free
127.0.0.1 ports, serving the model the training job registered in the session's
MLflow server (``registered_model`` in tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shiplane_tools import localstack

HERE = Path(__file__).resolve().parent


@dataclass
class Server:
    """A running ``python -m shiplane_serving`` process."""

    process: localstack.ManagedProcess
    url: str
    grpc_port: int
    model: str

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text

    def v1(self, rows: list[list[float]], verb: str = "predict") -> httpx.Response:
        return httpx.post(
            f"{self.url}/v1/models/{self.model}:{verb}",
            json={"instances": rows},
            timeout=10,
        )


def start_server(
    workdir: Path,
    name: str,
    model_uri: str,
    model_name: str,
    tracking_uri: str,
    workers: int = 1,
    grpc: bool = False,
    extra: list[str] | None = None,
) -> Server:
    """Start a serving process (not waiting for readiness)."""
    grpc_port = localstack.free_port() if grpc else 0
    proc = localstack.serving_server(
        workdir,
        model_uri,
        model_name,
        name=name,
        tracking_uri=tracking_uri,
        workers=workers,
        grpc_port=grpc_port,
        extra=extra or [],
    ).start()
    return Server(proc, proc.url, grpc_port, model_name)


def wait_ready(server: Server, timeout_s: float = 150) -> Server:
    server.process.wait_ready(
        lambda: localstack.http_ok(f"{server.url}/v2/health/ready"), timeout_s
    )
    return server


@pytest.fixture(scope="session")
def rows_fixture(breast_cancer_rows: dict[str, Any]) -> dict[str, Any]:
    return breast_cancer_rows


@pytest.fixture(scope="session")
def servers(
    tmp_path_factory: pytest.TempPathFactory, registered_model: Any
) -> Iterator[dict[str, Server]]:
    """Two servers started side by side: ``one`` (1 worker, ``models:/NAME@champion``
    from the registry, gRPC on) and ``two`` (2 workers, the same model by its
    ``runs:/`` URI)."""
    root = tmp_path_factory.mktemp("serving")
    tracking = registered_model.tracking_uri
    one = start_server(
        root / "one",
        "serving-one",
        registered_model.model_uri,
        "breast-cancer",
        tracking,
        grpc=True,
    )
    two = start_server(
        root / "two",
        "serving-two",
        f"runs:/{registered_model.run_id}/model",
        "breast-cancer",
        tracking,
        workers=2,
        extra=["--model-version", registered_model.version],
    )
    try:
        yield {"one": wait_ready(one), "two": wait_ready(two)}
    finally:
        one.process.stop()
        two.process.stop()


@pytest.fixture(scope="session")
def server(servers: dict[str, Server]) -> Server:
    return servers["one"]


@pytest.fixture(scope="session")
def server2(servers: dict[str, Server]) -> Server:
    return servers["two"]


@pytest.fixture(scope="session")
def local_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classification model directory saved by the test kit (KServe's
    /mnt/models layout), for in-process tests."""
    from tests.serving.modelkit import save_shiplane_model

    return save_shiplane_model(tmp_path_factory.mktemp("local") / "model", version="7")


def rows_of(fixture: dict[str, Any]) -> list[list[float]]:
    return [list(map(float, r)) for r in fixture["instances"]]


def dump(doc: Any) -> bytes:
    return json.dumps(doc).encode()
