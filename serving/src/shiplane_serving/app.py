"""Shiplane's REST server: a lean ASGI app for KServe V1 and V2 (Open Inference
Protocol), feedback, health and ``/metrics``.

Why not KServe's FastAPI app: it binds 0.0.0.0, always adds a timing middleware
that logs every request, and validates V2 bodies with pydantic before our own
validation; together they cost more than the model call itself. This module
only routes and speaks HTTP: parsing goes to :mod:`~shiplane_serving.protocol`,
everything else (the model call, drift, feedback, every metric) to the
:class:`~shiplane_serving.dataplane.Dataplane`, which KServe's ModelServer also
runs (``--server kserve``).

Routes (``NAME`` is the served model):

- ``GET /``, ``/v2/health/live``; ``GET /v2/health/ready``; ``GET /v2``
- ``GET /v1/models``, ``/v1/models/NAME``; ``POST /v1/models/NAME:predict``,
  ``:predict_proba``
- ``GET /v2/models/NAME[/versions/V]``, ``.../ready``; ``POST .../infer``
- ``POST /v1/models/NAME/feedback``, ``/v2/models/NAME/feedback``
- ``GET /metrics``
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any

import orjson

from shiplane_contracts import asgi
from shiplane_contracts.asgi import Receive, Scope, Send
from shiplane_serving import __version__
from shiplane_serving.dataplane import REQUEST_ID_HEADER, VERSION_HEADER, Dataplane
from shiplane_serving.errors import (
    BatchTooLarge,
    MethodNotAllowed,
    NotFound,
    ServingError,
    UnknownModel,
)
from shiplane_serving.metrics import ServingMetrics, mark_process_dead
from shiplane_serving.protocol import build_v1, build_v2, parse_v1, parse_v2
from shiplane_serving.settings import ServingSettings
from shiplane_serving.tracing import Tracing

log = logging.getLogger(__name__)


_JSON = (b"content-type", b"application/json")
_V1_PREDICT = re.compile(r"^/v1/models/(?P<name>[^/:]+):(?P<verb>[a-z_]+)$")
_V1_MODEL = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?P<rest>/feedback)?$")
_V2_MODEL = re.compile(
    r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"
    r"(?P<rest>/infer|/ready|/feedback)?$"
)


class ServingApp:
    """The ASGI application around one :class:`Dataplane`."""

    def __init__(self, dataplane: Dataplane, settings: ServingSettings) -> None:
        self.dataplane = dataplane
        self.settings = settings
        self.metrics: ServingMetrics = dataplane.metrics
        self._load_task: asyncio.Future[bool] | None = None
        self._grpc: Any = None

    # ---- ASGI -------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Load the model in the background and start gRPC if configured."""
        loop = asyncio.get_running_loop()
        self._load_task = loop.run_in_executor(None, self.dataplane.load)
        if self.settings.grpc_port:
            from shiplane_serving.grpc_server import start_grpc

            self._grpc = await start_grpc(self.dataplane, self.settings)

    async def shutdown(self) -> None:
        """Drain queued requests, stop gRPC, drop this worker's live gauges."""
        if self._grpc is not None:
            await self._grpc.stop(grace=5)
        await self.dataplane.close()
        mark_process_dead(self.metrics.multiproc_dir, os.getpid())

    # ---- routing ----------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if method == "POST":
                m = _V1_PREDICT.match(path)
                if m:
                    await self._infer(m["name"], None, "v1", m["verb"], receive, send)
                    return
                m = _V2_MODEL.match(path)
                if m and m["rest"] == "/infer":
                    await self._infer(m["name"], m["version"], "v2", "", receive, send)
                    return
                if (
                    m
                    and m["rest"] == "/feedback"
                    or ((m := _V1_MODEL.match(path)) and m["rest"] == "/feedback")
                ):
                    await self._feedback(m["name"], receive, send)
                    return
            elif method in ("GET", "HEAD"):
                await self._get(path, send)
                return
            if (
                _V1_PREDICT.match(path)
                or _V2_MODEL.match(path)
                or _V1_MODEL.match(path)
            ):
                raise MethodNotAllowed(f"{method} is not allowed on {path}")
            raise NotFound(f"no endpoint {method} {path}")
        except ServingError as exc:
            await self._error(send, exc)

    async def _get(self, path: str, send: Send) -> None:
        model = self.dataplane
        if path in ("/", "/v2/health/live"):
            await _respond(send, 200, {"status": "alive"})
        elif path == "/metrics":
            body, content_type = self.metrics.render()
            await asgi.respond(
                send, 200, body, [(b"content-type", content_type.encode())]
            )
        elif path == "/v2/health/ready":
            await _respond(send, 200 if model.ready else 503, {"ready": model.ready})
        elif path == "/v2":
            await _respond(
                send,
                200,
                {"name": "shiplane-serving", "version": __version__, "extensions": []},
            )
        elif path == "/v1/models":
            await _respond(send, 200, {"models": [model.name]})
        elif (m := _V1_MODEL.match(path)) and not m["rest"]:
            self._check_name(m["name"], None)
            await _respond(send, 200, {"name": model.name, "ready": model.ready})
        elif (m := _V2_MODEL.match(path)) and m["rest"] in (None, "/ready"):
            self._check_name(m["name"], m["version"])
            if m["rest"] == "/ready":
                state: dict[str, Any] = {"name": model.name, "ready": model.ready}
                if model.load_error:  # it never will be: say why
                    state["error"] = f"failed to load: {model.load_error}"
                await _respond(send, 200 if model.ready else 503, state)
            else:
                await _respond(send, 200, self._metadata())
        else:
            raise NotFound(f"no endpoint GET {path}")

    def _check_name(self, name: str, version: str | None) -> None:
        if name != self.dataplane.name:
            raise UnknownModel(
                f"model {name!r} is not served here; this server serves "
                f"{self.dataplane.name!r}"
            )
        if (
            version is not None
            and self.dataplane.ready
            and version != self.dataplane.version
        ):
            raise UnknownModel(
                f"model {name!r} version {version!r} is not served here; this server "
                f"serves version {self.dataplane.version!r}"
            )

    def _metadata(self) -> dict[str, Any]:
        model = self.dataplane
        loaded = model.loaded
        if loaded is None:
            return {"name": model.name, "versions": [], "platform": "sklearn"}
        outputs: list[dict[str, Any]] = [
            {
                "name": "predict",
                "datatype": "INT64" if loaded.task == "classification" else "FP64",
                "shape": [-1],
            }
        ]
        if loaded.has_proba and loaded.classes is not None:
            outputs.append(
                {
                    "name": "predict_proba",
                    "datatype": "FP64",
                    "shape": [-1, len(loaded.classes)],
                }
            )
        src = loaded.source
        return {
            "name": model.name,
            "versions": [src.version],
            "platform": "sklearn",
            "inputs": [
                {
                    "name": "input-0",
                    "datatype": "FP64",
                    "shape": [-1, loaded.n_features],
                }
            ],
            "outputs": outputs,
            "parameters": {
                "task": loaded.task,
                "feature_names": loaded.feature_names,
                "classes": loaded.classes,
                "alias": src.alias,
                "run_id": src.run_id,
                "uri": src.uri,
            },
        }

    # ---- inference --------------------------------------------------------------
    async def _infer(
        self,
        name: str,
        version: str | None,
        protocol: str,
        verb: str,
        receive: Receive,
        send: Send,
    ) -> None:
        model = self.dataplane
        try:
            with model.track(protocol) as tracked:
                body = await _read_body(receive, self.settings.max_body_bytes)
                self._check_name(name, version)
                schema = model.require_ready()
                if protocol == "v1":
                    if verb == "predict":
                        output = self.settings.v1_default_output
                    elif verb == "predict_proba":
                        output = "predict_proba"
                    else:
                        raise NotFound(
                            f"unknown verb :{verb}; use :predict or :predict_proba"
                        )
                    parsed = parse_v1(body, schema, output)
                else:
                    parsed = parse_v2(body, schema)
                pred, request_id = await model.infer(parsed)
                tracked.rows = parsed.rows
                build = build_v1 if protocol == "v1" else build_v2
                payload = build(parsed, pred, model.name, model.version, request_id)
                headers = [
                    _JSON,
                    (VERSION_HEADER.encode(), model.version.encode()),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
                await asgi.respond(send, 200, payload, headers)
        except ServingError as exc:
            await self._error(send, exc)
        except Exception:
            log.exception("inference failed")
            await _respond(send, 500, {"error": "internal error; see the server log"})

    async def _feedback(self, name: str, receive: Receive, send: Send) -> None:
        try:
            body = await _read_body(receive, self.settings.max_body_bytes)
            self._check_name(name, None)
        except ServingError as exc:
            self.dataplane.count_refusal(exc)
            await self._error(send, exc)
            return
        try:
            result = self.dataplane.feedback(body)
        except ServingError as exc:
            await self._error(send, exc)
            return
        await _respond(send, 200, result.as_json())

    async def _error(self, send: Send, exc: ServingError) -> None:
        await _respond(send, exc.status, {"error": exc.message, "reason": exc.reason})


async def _read_body(receive: Receive, limit: int) -> bytes:
    try:
        return await asgi.read_body(receive, limit)
    except asgi.BodyTooLarge:
        raise BatchTooLarge(
            f"request body is over {limit} bytes, the limit of this server"
        ) from None
    except asgi.ClientGone:
        return b""  # nobody will read the answer; it fails to parse like any


async def _respond(send: Send, status: int, doc: Any) -> None:
    await asgi.respond(send, status, orjson.dumps(doc), [_JSON])


def build_app(settings: ServingSettings) -> ServingApp:
    """The app for ``settings`` (metrics in multiprocess mode when workers > 1)."""
    multiproc_dir = settings.metrics_dir if settings.workers > 1 else None
    metrics = ServingMetrics(multiproc_dir=multiproc_dir)
    dataplane = Dataplane(settings, metrics, Tracing(settings.otlp_endpoint))
    return ServingApp(dataplane, settings)


def create_app() -> ServingApp:
    """uvicorn factory for worker processes: settings come from the
    ``SHIPLANE_SERVING_*`` environment the entry point exported."""
    return build_app(ServingSettings())
