"""The floor: the least a Python HTTP server can do per request. A raw ASGI
callable (no framework, no validation, no metrics) that parses the V1 body with
orjson and calls ``predict_proba``, on uvicorn with 1 worker and no access log.
Anything a real server adds is measured against this.

Usage: python floor.py MODEL_JOBLIB MODEL_NAME HTTP_PORT
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import orjson
import uvicorn

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]


def make_app(estimator: Any, name: str) -> Callable[[Scope, Receive, Send], Any]:
    predict_path = f"/v1/models/{name}:predict"

    async def respond(send: Send, status: int, body: bytes) -> None:
        await send(
            {"type": "http.response.start", "status": status, "headers": JSON_HEADERS}
        )
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            return
        if scope["method"] == "GET":
            await respond(send, 200, b'{"ready": true}')
            return
        if scope["path"] != predict_path:
            await respond(send, 404, b'{"error": "not found"}')
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            instances = np.asarray(
                orjson.loads(b"".join(chunks))["instances"], dtype=np.float64
            )
            proba = estimator.predict_proba(instances)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            await respond(send, 400, orjson.dumps({"error": str(exc)}))
            return
        await respond(
            send,
            200,
            orjson.dumps({"predictions": proba}, option=orjson.OPT_SERIALIZE_NUMPY),
        )

    return app


def main(argv: list[str]) -> None:
    path, name, http_port = argv
    app = make_app(joblib.load(path), name)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(http_port),
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
