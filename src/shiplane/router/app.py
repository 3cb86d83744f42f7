"""Assembly of the router's ASGI application.

:class:`RouterApp` sends ``/v1/...`` and ``/v2/...`` straight to the raw
:class:`~shiplane.router.proxy.Proxy` (the hot path, no framework in between)
and everything else to a small FastAPI app: ``/admin/weights``, ``/metrics``,
``/healthz``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CollectorRegistry

from shiplane.router.admin import AdminAuth, admin_routes
from shiplane.router.config import RouterConfig
from shiplane.router.metrics import CONTENT_TYPE_LATEST, RouterMetrics
from shiplane.router.proxy import Proxy
from shiplane.router.routing import Routing
from shiplane.router.settings import RouterSettings
from shiplane_contracts.asgi import Receive, Scope, Send

PROXIED_PREFIXES = ("/v1/", "/v2/")


class RouterApp:
    """The router as one ASGI application."""

    def __init__(
        self,
        settings: RouterSettings,
        config: RouterConfig,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """Build every part from validated settings and configuration.

        Args:
            settings: process settings.
            config: the routing configuration.
            registry: Prometheus registry (a private one by default).
        """
        self.metrics = RouterMetrics(registry)
        self.routing = Routing(config, self.metrics)
        self.proxy = Proxy(self.routing, self.metrics, settings)
        self.auth = AdminAuth(settings.admin_token_file, settings.admin_token)
        self.api = self._build_api()

    def _build_api(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await self.proxy.aclose()

        api = FastAPI(
            title="Shiplane A/B router",
            lifespan=lifespan,
            docs_url=None,
            redoc_url=None,
        )
        api.include_router(admin_routes(self.routing, self.auth))

        @api.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(self.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

        @api.get("/healthz", include_in_schema=False)
        async def healthz() -> Response:
            return Response(b'{"status":"ok"}', media_type="application/json")

        return api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(PROXIED_PREFIXES) or path == "/v2":
                await self.proxy(scope, receive, send)
                return
        await self.api(scope, receive, send)
