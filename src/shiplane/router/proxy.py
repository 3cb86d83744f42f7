"""The hot path: a raw ASGI handler that proxies KServe V1/V2 requests to the
chosen variant.

It deliberately avoids FastAPI routing, middleware and JSON parsing: routing
needs only the headers, and the body goes through as bytes. One shared
keep-alive pool (:mod:`shiplane.router.upstream`) talks to the variants.

Which variant answers, in order:

1. ``x-shiplane-variant: NAME`` on the request pins it to that variant (any
   weight, even 0). Clients send back the header they got with an answer when
   they post feedback, so the ground truth reaches the model version that made
   the prediction. A pinned request never falls back.
2. Otherwise the sticky key (the configured header, else the cookie) picks a
   variant on the ring (:mod:`shiplane.router.assignment`). A request with no
   key gets a fresh random one, returned in ``Set-Cookie`` when a cookie is
   configured, else a random ring position.

When the chosen variant fails (connection error, timeout, or a 5xx), the
fallback variant gets the same request once; a 4xx is the variant's answer
and is returned as is. Every answer carries ``x-shiplane-variant`` naming the
variant that produced it.
"""

from __future__ import annotations

import logging
import time
import uuid

import orjson

from shiplane.router.assignment import key_point, random_point
from shiplane.router.metrics import RouterMetrics
from shiplane.router.routing import Routing
from shiplane.router.settings import RouterSettings
from shiplane.router.shadow import ShadowMirror, should_mirror
from shiplane.router.upstream import (
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    describe,
)
from shiplane_contracts.asgi import (
    BodyTooLarge,
    ClientGone,
    Receive,
    Scope,
    Send,
    read_body,
    respond,
)

VARIANT_HEADER = b"x-shiplane-variant"
FALLBACK_FROM_HEADER = b"x-shiplane-fallback-from"

# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Host and Content-Length are recomputed for the upstream hop; Expect is
# dropped because the body has already been read in full.
_DROP_REQUEST = _HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"expect",
    VARIANT_HEADER,
    b"x-shiplane-shadow",
}
_DROP_RESPONSE = _HOP_BY_HOP

log = logging.getLogger(__name__)


def cookie_value(header: bytes, name: bytes) -> bytes | None:
    """The value of cookie ``name`` in a ``Cookie`` header, if present."""
    for part in header.split(b";"):
        key, sep, value = part.strip().partition(b"=")
        if sep and key == name:
            return value.strip(b'"') or None
    return None


def _json_error(status: int, detail: str) -> tuple[int, bytes]:
    return status, orjson.dumps({"error": detail})


class Proxy:
    """ASGI callable for every ``/v1/...`` and ``/v2/...`` request."""

    def __init__(
        self,
        routing: Routing,
        metrics: RouterMetrics,
        settings: RouterSettings,
    ) -> None:
        """Route with ``routing``'s live table, bounded by ``settings``."""
        self._routing = routing
        self.pool = UpstreamPool(
            max_connections=settings.max_connections,
            max_idle_per_endpoint=settings.max_keepalive_connections,
            idle_expiry_s=settings.keepalive_expiry_s,
            connect_timeout_s=settings.connect_timeout_s,
            pool_timeout_s=settings.pool_timeout_s,
            timeout_s=settings.timeout_s,
        )
        self._metrics = metrics
        self._max_body = settings.max_body_bytes
        self._cookie_attrs = (
            f"; Path=/; Max-Age={settings.cookie_max_age_s}; HttpOnly; SameSite=Lax"
            + ("; Secure" if settings.cookie_secure else "")
        ).encode()
        self.shadow = ShadowMirror(
            metrics, settings.shadow_max_in_flight, settings.shadow_timeout_s
        )

    async def aclose(self) -> None:
        """Let pending shadow copies finish briefly, then close the pool."""
        await self.shadow.aclose()
        await self.pool.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        table = self._routing.table
        config = table.config
        sticky = config.sticky
        sticky_header = sticky.header.encode() if sticky.header else None

        forward: list[tuple[bytes, bytes]] = []
        key: bytes | None = None
        cookie_header: bytes | None = None
        pinned: bytes | None = None
        for name, value in scope["headers"]:
            if name in _DROP_REQUEST:
                if name == VARIANT_HEADER:
                    pinned = value
                continue
            if name == sticky_header:
                key = value
            elif name == b"cookie":
                cookie_header = value
            forward.append((name, value))

        extra: list[tuple[bytes, bytes]] = []
        if pinned is not None:
            variant = pinned.decode("latin-1").strip()
            if variant not in config.variants:
                known = ", ".join(config.variants)
                await _respond(
                    send,
                    *_json_error(
                        400,
                        f"x-shiplane-variant names unknown variant "
                        f"{variant!r} (known: {known})",
                    ),
                )
                return
        else:
            if key is None and sticky.cookie:
                cookie_name = sticky.cookie.encode()
                if cookie_header is not None:
                    key = cookie_value(cookie_header, cookie_name)
                if key is None:
                    key = uuid.uuid4().hex.encode()
                    extra.append(
                        (b"set-cookie", cookie_name + b"=" + key + self._cookie_attrs)
                    )
            point = key_point(key) if key else random_point()
            variant = table.assignment.variant_at(point)

        try:
            body = await read_body(receive, self._max_body)
        except BodyTooLarge:
            await _respond(
                send, *_json_error(413, f"body larger than {self._max_body} bytes")
            )
            return
        except ClientGone:
            return

        method: str = scope["method"]
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]

        shadow = config.shadow
        if (
            shadow is not None
            and shadow.variant != variant
            and should_mirror(shadow.percent)
        ):
            self.shadow.mirror(
                self.pool,
                shadow.variant,
                config.variants[shadow.variant].base_url,
                target,
                method,
                forward,
                body,
            )

        answered = variant
        response, failure = await self._try(
            config.variants[variant].base_url, method, target, forward, body
        )
        fallback = config.fallback
        if (
            failure is not None
            and pinned is None
            and fallback is not None
            and fallback != variant
        ):
            log.warning(
                "variant %s failed (%s); falling back to %s", variant, failure, fallback
            )
            if response is not None:
                response.release()
            answered = fallback
            extra.append((FALLBACK_FROM_HEADER, variant.encode()))
            response, second = await self._try(
                config.variants[fallback].base_url, method, target, forward, body
            )
            if second is not None:
                if response is not None:
                    response.release()
                status, payload = _json_error(
                    502,
                    f"variant {variant!r} failed ({failure}) and fallback "
                    f"{fallback!r} failed ({second})",
                )
                await _respond(send, status, payload, extra)
                self._metrics.observe(variant, status, time.perf_counter() - started)
                return
            # Counted only when the fallback answered, so that every request
            # first routed to a variant is counted exactly once: in requests
            # (its own answer, or a 502) or here.
            self._metrics.fallbacks.labels(variant).inc()

        if response is None:
            status, payload = _json_error(
                502, f"variant {variant!r} failed ({failure})"
            )
            await _respond(send, status, payload, extra)
            self._metrics.observe(variant, status, time.perf_counter() - started)
            return

        await self._relay(response, answered, extra, send)
        self._metrics.observe(answered, response.status, time.perf_counter() - started)

    async def _try(
        self,
        base_url: str,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[UpstreamResponse | None, str | None]:
        """Send to one variant: the response (body not read yet) and why it
        counts as a failure, if it does."""
        try:
            response = await self.pool.request(base_url, method, target, headers, body)
        except UpstreamError as exc:
            return None, describe(exc)
        if response.status >= 500:
            return response, f"answered {response.status}"
        return response, None

    async def _relay(
        self,
        response: UpstreamResponse,
        variant: str,
        extra: list[tuple[bytes, bytes]],
        send: Send,
    ) -> None:
        """Stream the upstream answer back unchanged (raw bytes, no decoding)."""
        headers = [
            (name, value)
            for name, value in response.headers
            if name not in _DROP_RESPONSE
        ]
        headers.append((VARIANT_HEADER, variant.encode()))
        headers.extend(extra)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": headers,
                }
            )
            # Hold one chunk back so the common one-chunk answer is one send.
            pending: bytes | None = None
            async for chunk in response.iter_chunks(self.pool.timeout_s):
                if pending is not None:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": pending,
                            "more_body": True,
                        }
                    )
                pending = chunk
            await send({"type": "http.response.body", "body": pending or b""})
        finally:
            response.release()


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await respond(
        send, status, body, [(b"content-type", b"application/json"), *(extra or ())]
    )
