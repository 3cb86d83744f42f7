"""A small client for the router's admin API, used by ``shiplane rollout`` to
move traffic when the router is the traffic actuator.

Example::

    with RouterAdminClient("http://router:8080", token) as router:
        router.set_weights({"stable": 75, "canary": 25})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

WEIGHTS_PATH = "/admin/weights"


class RouterAdminError(RuntimeError):
    """The router refused or failed an admin call; ``status`` is 0 when it
    could not be reached at all."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"router admin API: {message} (HTTP {status})")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RouterState:
    """What the router routes by right now."""

    weights: dict[str, int]
    """Percent of traffic per variant."""
    shadow: dict[str, Any] | None
    """``{"variant": ..., "percent": ...}`` or ``None``."""


_UNSET: Any = object()


class RouterAdminClient:
    """Reads and sets the weights of one router."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 5.0) -> None:
        """Talk to the router at ``base_url`` with bearer ``token``."""
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"authorization": f"Bearer {token}"},
            timeout=timeout_s,
            trust_env=False,
        )

    def get_weights(self) -> RouterState:
        """The current weights and shadow."""
        return self._call("GET", None)

    def set_weights(
        self,
        weights: Mapping[str, int],
        shadow: Mapping[str, Any] | None = _UNSET,
    ) -> RouterState:
        """Set every variant's weight at once (they must sum to 100).

        Args:
            weights: variant -> percent, naming every configured variant.
            shadow: new shadow settings, ``None`` to switch shadowing off; left
                out, the current shadow is kept.

        Raises:
            RouterAdminError: the router refused the change (the message says
                why; nothing changed) or could not be reached.
        """
        body: dict[str, Any] = {"weights": dict(weights)}
        if shadow is not _UNSET:
            body["shadow"] = dict(shadow) if shadow is not None else None
        return self._call("PUT", body)

    def _call(self, method: str, body: dict[str, Any] | None) -> RouterState:
        try:
            response = self._http.request(method, WEIGHTS_PATH, json=body)
        except httpx.HTTPError as exc:
            raise RouterAdminError(0, f"cannot reach router: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = {"detail": response.text}
        if response.status_code != 200:
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            raise RouterAdminError(response.status_code, str(detail))
        return RouterState(weights=payload["weights"], shadow=payload.get("shadow"))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RouterAdminClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
