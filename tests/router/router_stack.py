"""Helpers of the router tests: start the stand-in upstream (``upstream.py``)
and routers as real processes on 127.0.0.1 with free ports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shiplane_tools import localstack

UPSTREAM = Path(__file__).with_name("upstream.py")
TOKEN = "s3cret-admin-token"
BASE_WEIGHTS = {"stable": 90, "canary": 10}


def start_upstream(name: str, workdir: Path) -> localstack.ManagedProcess:
    """A stand-in serving runtime answering as ``name``."""
    port = localstack.free_port()
    proc = localstack.ManagedProcess(
        f"upstream-{name}",
        [sys.executable, str(UPSTREAM), "--name", name, "--port", str(port)],
        workdir,
        url=f"http://{localstack.LOOPBACK}:{port}",
    )
    return proc.start().wait_ready(
        lambda: localstack.http_ok(f"{proc.url}/stats"), timeout_s=30
    )


def start_router(
    name: str, config: dict[str, Any], workdir: Path, env: dict[str, str]
) -> localstack.ManagedProcess:
    """``python -m shiplane.router`` with ``config``, ready."""
    proc = localstack.router_server(
        workdir, config, name=name, env=env, extra=["--log-level", "warning"]
    )
    return proc.start().wait_ready(lambda: localstack.router_ready(proc), timeout_s=30)


@dataclass
class Stack:
    """The shared upstreams and the main router (token from a file)."""

    stable: localstack.ManagedProcess
    canary: localstack.ManagedProcess
    router: localstack.ManagedProcess
    workdir: Path

    token: str = TOKEN

    @property
    def url(self) -> str:
        return self.router.url

    def admin(self, token: str = TOKEN) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {token}"}
        )

    def config(self, weights: dict[str, int], **extra: Any) -> dict[str, Any]:
        """A router config for the two shared upstreams."""
        return variant_config(self.stable.url, self.canary.url, weights, **extra)


def variant_config(
    stable: str, canary: str, weights: dict[str, int], **extra: Any
) -> dict[str, Any]:
    """A router config for the two upstream URLs."""
    return {
        "variants": {
            "stable": {"url": stable, "weight": weights["stable"]},
            "canary": {"url": canary, "weight": weights["canary"]},
        },
        **extra,
    }


Spawn = Callable[..., localstack.ManagedProcess]
