"""The router's upstream HTTP client against real misbehaving TCP servers on
127.0.0.1: stale keep-alive connections, answers cut short, garbage."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from shiplane.router.upstream import UpstreamError, UpstreamPool

Handler = Callable[
    [int, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]
]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s"


def _pool(**overrides: float) -> UpstreamPool:
    settings: dict[str, float] = {
        "max_connections": 8,
        "max_idle_per_endpoint": 8,
        "idle_expiry_s": 30.0,
        "connect_timeout_s": 1.0,
        "pool_timeout_s": 1.0,
        "timeout_s": 2.0,
    }
    settings.update(overrides)
    return UpstreamPool(**settings)  # type: ignore[arg-type]


async def _serve(handler: Handler) -> tuple[asyncio.Server, str, list[str]]:
    """A raw HTTP/1.1 server; ``handler(conn, nth, reader, writer)`` answers the
    nth request of a connection and returns False to stop serving it."""
    seen: list[str] = []
    connections = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal connections
        connections += 1
        conn, nth = connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                nth += 1
                seen.append(f"{conn}.{nth}")
                if not await handler(conn, nth, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen


async def _get(pool: UpstreamPool, url: str) -> tuple[int, bytes]:
    response = await pool.request(url, "POST", b"/v2/models/m/infer", [], b"{}")
    try:
        return response.status, await response.read(2.0)
    finally:
        response.release()


def test_a_stale_keep_alive_connection_is_retried_once() -> None:
    async def handler(conn: int, nth: int, _: object, writer: asyncio.StreamWriter):
        if nth > 1:  # the variant dropped the idle connection as the request came
            return False
        body = f"conn {conn}".encode()
        writer.write(OK % (len(body), body))
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, seen = await _serve(handler)
        pool = _pool()
        async with server:
            assert await _get(pool, url) == (200, b"conn 1")
            assert await _get(pool, url) == (200, b"conn 2")  # retried, answered
            assert seen == ["1.1", "1.2", "2.1"]
            await pool.aclose()

    asyncio.run(scenario())


def test_a_fresh_connection_closed_without_answer_is_an_error() -> None:
    async def handler(*_: object) -> bool:
        return False

    async def scenario() -> None:
        server, url, seen = await _serve(handler)
        pool = _pool()
        async with server:
            with pytest.raises(UpstreamError, match="connection closed by the variant"):
                await _get(pool, url)
            assert seen == ["1.1"]  # no retry: the variant may have acted on it
            await pool.aclose()

    asyncio.run(scenario())


def test_an_answer_cut_short_is_an_error_and_the_slot_comes_back() -> None:
    async def handler(_: int, __: int, ___: object, writer: asyncio.StreamWriter):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()
        return False

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        pool = _pool(max_connections=1, pool_timeout_s=0.5)
        async with server:
            for _ in range(3):  # with one slot, a leak would block the 2nd call
                with pytest.raises(UpstreamError):
                    await _get(pool, url)
            await pool.aclose()

    asyncio.run(scenario())


def test_garbage_is_an_error() -> None:
    async def handler(_: int, __: int, ___: object, writer: asyncio.StreamWriter):
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        return True

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        pool = _pool()
        async with server:
            with pytest.raises(UpstreamError, match="malformed answer"):
                await _get(pool, url)
            await pool.aclose()

    asyncio.run(scenario())


def test_no_answer_in_time_is_a_timeout() -> None:
    async def handler(*_: object) -> bool:
        await asyncio.sleep(1)
        return False

    async def scenario() -> None:
        server, url, _ = await _serve(handler)
        pool = _pool(timeout_s=0.2)
        async with server:
            with pytest.raises(UpstreamError, match="timeout after 0.2s"):
                await _get(pool, url)
            await pool.aclose()
            server.close()

    asyncio.run(scenario())
