"""Real processes for the router tests: two tiny upstream servers (stable and
canary, see ``upstream.py``) and routers in front of them, all on 127.0.0.1
with free ports, shared per session and stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shiplane_tools import localstack
from tests.router.router_stack import (
    BASE_WEIGHTS,
    TOKEN,
    Spawn,
    Stack,
    start_router,
    start_upstream,
    variant_config,
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("router")
    started: list[localstack.ManagedProcess] = []
    try:
        stable = start_upstream("stable", workdir)
        started.append(stable)
        canary = start_upstream("canary", workdir)
        started.append(canary)
        token_file = workdir / "admin-token"
        token_file.write_text(TOKEN + "\n")  # as a mounted Secret may end
        config = variant_config(
            stable.url,
            canary.url,
            BASE_WEIGHTS,
            fallback="stable",
            shadow={"variant": "canary", "percent": 0},
            sticky={"header": "x-user-id", "cookie": "shiplane-user"},
        )
        router = start_router(
            "router",
            config,
            workdir,
            {"SHIPLANE_ROUTER_ADMIN_TOKEN_FILE": str(token_file)},
        )
        started.append(router)
        yield Stack(stable, canary, router, workdir)
    finally:
        for proc in reversed(started):
            proc.stop()


@pytest.fixture
def base_weights(stack: Stack) -> Iterator[Callable[[], None]]:
    """Put the main router back to 90/10 without shadow after a test."""

    def reset() -> None:
        with stack.admin() as admin:
            response = admin.put(
                "/admin/weights",
                json={
                    "weights": BASE_WEIGHTS,
                    "shadow": {"variant": "canary", "percent": 0},
                },
            )
            response.raise_for_status()

    reset()
    yield reset
    reset()


@pytest.fixture
def spawn(stack: Stack) -> Iterator[tuple[Spawn, Spawn]]:
    """Factories for extra upstreams and routers that a test owns; every process
    they start is stopped when the test ends."""
    started: list[localstack.ManagedProcess] = []
    counter = iter(range(1000))

    def upstream(name: str) -> localstack.ManagedProcess:
        proc = start_upstream(name, stack.workdir / f"extra-{next(counter)}")
        started.append(proc)
        return proc

    def router(
        config: dict[str, Any], env: dict[str, str] | None = None
    ) -> localstack.ManagedProcess:
        n = next(counter)
        proc = start_router(
            f"router-{n}", config, stack.workdir / f"extra-{n}", env or {}
        )
        started.append(proc)
        return proc

    yield upstream, router
    for proc in reversed(started):
        proc.stop()
