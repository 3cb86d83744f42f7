"""The admin API: read and set weights, authenticated by a bearer token.

The token comes from a file (a mounted Kubernetes Secret, re-read on every call
so that a rotated Secret applies without a restart) or from the environment.
With no token configured the admin API is disabled and answers 403; a missing
or wrong token gets 401 (RFC 6750). Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import SecretStr, ValidationError

from shiplane.router.config import ConfigError, WeightsUpdate, format_validation_error
from shiplane.router.routing import Routing

log = logging.getLogger(__name__)


class AdminTokenError(RuntimeError):
    """The configured token file cannot be read or is empty."""


class AdminAuth:
    """Checks ``Authorization: Bearer <token>`` headers."""

    def __init__(self, token_file: Path | None, token: SecretStr | None) -> None:
        """Use ``token_file`` when given, else ``token``; neither disables admin."""
        self._file = token_file
        self._token = token.get_secret_value().encode() if token else None

    @property
    def enabled(self) -> bool:
        """Whether any token is configured."""
        return self._file is not None or bool(self._token)

    def expected(self) -> bytes | None:
        """The current token, or ``None`` when the admin API is disabled.

        Raises:
            AdminTokenError: the token file is unreadable or empty.
        """
        if self._file is None:
            return self._token or None
        try:
            token = self._file.read_bytes().strip()
        except OSError as exc:
            raise AdminTokenError(
                f"cannot read admin token file {self._file}: {exc}"
            ) from None
        if not token:
            raise AdminTokenError(f"admin token file {self._file} is empty")
        return token

    def check(self, authorization: str | None) -> Response | None:
        """``None`` when authorized, else the error response to send."""
        try:
            expected = self.expected()
        except AdminTokenError as exc:
            log.error("%s", exc)
            return _error(503, str(exc))
        if expected is None:
            return _error(
                403,
                "admin API disabled: no token configured (set "
                "SHIPLANE_ROUTER_ADMIN_TOKEN_FILE or SHIPLANE_ROUTER_ADMIN_TOKEN)",
            )
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _error(
                401,
                "missing bearer token: send 'Authorization: Bearer <token>'",
                {"www-authenticate": 'Bearer realm="shiplane-router"'},
            )
        if not hmac.compare_digest(given.strip().encode(), expected):
            return _error(
                401,
                "invalid bearer token",
                {
                    "www-authenticate": 'Bearer realm="shiplane-router", '
                    'error="invalid_token"'
                },
            )
        return None


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload), status, headers, media_type="application/json"
    )


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"detail": detail}, headers)


def admin_routes(routing: Routing, auth: AdminAuth) -> APIRouter:
    """``GET`` and ``PUT /admin/weights``."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/weights")
    async def get_weights(request: Request) -> Response:
        denied = auth.check(request.headers.get("authorization"))
        if denied is not None:
            return denied
        return _json(200, routing.table.state())

    @router.put("/weights")
    async def put_weights(request: Request) -> Response:
        denied = auth.check(request.headers.get("authorization"))
        if denied is not None:
            return denied
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            return _error(422, f"body is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return _error(422, 'body must be an object: {"weights": {...}}')
        try:
            update = WeightsUpdate.model_validate(data)
            table = routing.update(update, shadow_given="shadow" in data)
        except ValidationError as exc:
            return _error(422, format_validation_error(exc))
        except ConfigError as exc:
            return _error(422, str(exc))
        state = table.state()
        log.info("weights set to %s, shadow %s", state["weights"], state["shadow"])
        return _json(200, state)

    return router
