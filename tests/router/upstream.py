"""A tiny stand-in for a serving runtime, run as a real process by the router
tests and the overhead check: ``python upstream.py --name canary --port P``.

It answers every ``/v1/...`` and ``/v2/...`` request with JSON naming itself,
echoes the request (method, path, query, body length, a few headers) and sets
``x-shiplane-model-version`` and ``x-request-id`` like the real runtime. Model
names drive special answers:

* ``status-NNN``: answer with HTTP status NNN;
* ``fail-NAME``: answer 500 when this server is ``NAME``, else 200;
* ``slow-NAME``: answer after 2 s when this server is ``NAME``, else at once;
* ``chunked-N``: answer N bytes in three chunks, no Content-Length (chunked);
* ``big-N``: answer N bytes at once.

``GET /stats`` returns how many requests (and shadow copies) it has seen.
``--busy-ms`` spins the CPU that long per request, to stand in for a model
when measuring the router's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]
_MODEL = re.compile(r"^/v[12]/models/([^/:]+)")


def build(name: str, busy_s: float = 0.0) -> Callable[..., Awaitable[None]]:
    stats = {"requests": 0, "shadow": 0}

    async def app(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        path: str = scope["path"]
        if path == "/stats":
            payload = json.dumps(stats).encode()
            await _answer(send, 200, payload, [])
            return
        if busy_s:
            until = time.perf_counter() + busy_s
            while time.perf_counter() < until:
                pass
        shadow = headers.get("x-shiplane-shadow") == "1"
        stats["shadow" if shadow else "requests"] += 1
        status = 200
        match = _MODEL.match(path)
        model = match.group(1) if match else ""
        if model.startswith("status-"):
            status = int(model.removeprefix("status-"))
        elif model == f"fail-{name}":
            status = 500
        elif model == f"slow-{name}":
            await asyncio.sleep(2.0)
        elif model.startswith(("chunked-", "big-")):
            await _bytes(send, name, model)
            return
        payload = json.dumps(
            {
                "variant": name,
                "method": scope["method"],
                "path": path,
                "query": scope["query_string"].decode(),
                "body_len": len(body),
                "body": body.decode(errors="replace"),
                "user": headers.get("x-user-id"),
                "cookie": headers.get("cookie"),
                "shadow": shadow,
            }
        ).encode()
        extra = [
            (b"x-shiplane-model-version", f"{name}-7".encode()),
            (b"x-request-id", headers.get("x-request-id", "generated-id").encode()),
            (b"x-custom", b"kept"),
        ]
        await _answer(send, status, payload, extra)

    return app


async def _bytes(
    send: Callable[[Message], Awaitable[None]], name: str, model: str
) -> None:
    kind, _, size = model.partition("-")
    payload = bytes(i % 251 for i in range(int(size)))
    headers = [
        (b"content-type", b"application/octet-stream"),
        (b"x-shiplane-model-version", f"{name}-7".encode()),
    ]
    if kind == "big":
        headers.append((b"content-length", size.encode()))
        parts = [payload]
    else:
        third = len(payload) // 3
        parts = [payload[:third], payload[third : 2 * third], payload[2 * third :]]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for part in parts:
        await send({"type": "http.response.body", "body": part, "more_body": True})
        await asyncio.sleep(0.01)
    await send({"type": "http.response.body", "body": b""})


async def _answer(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    payload: bytes,
    extra: list[tuple[bytes, bytes]],
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--busy-ms", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(
        build(args.name, args.busy_ms / 1000),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
