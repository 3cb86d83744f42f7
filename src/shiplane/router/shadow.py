"""Shadow traffic: fire-and-forget copies of requests to a variant whose
answers are discarded.

Which requests are mirrored is decided per request at random (``percent`` of
them), independently of the sticky key, so that the shadow sees a uniform
sample of all traffic. Copies carry ``x-shiplane-shadow: 1`` so that the variant
can tell them apart. At most ``max_in_flight`` copies are pending; beyond that
new copies are dropped (and counted) rather than queued, so a slow shadow can
never slow down or pile up memory in the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence

from shiplane.router.metrics import RouterMetrics
from shiplane.router.upstream import UpstreamError, UpstreamPool

SHADOW_HEADER = (b"x-shiplane-shadow", b"1")

log = logging.getLogger(__name__)


def should_mirror(percent: float) -> bool:
    """Whether this request is one of the ``percent`` mirrored."""
    return percent > 0 and random.random() * 100.0 < percent


class ShadowMirror:
    """Sends mirrored copies in background tasks with a bound on how many run."""

    def __init__(
        self,
        metrics: RouterMetrics,
        max_in_flight: int,
        timeout_s: float,
    ) -> None:
        """Count outcomes in ``metrics``; give each copy ``timeout_s``."""
        self._metrics = metrics
        self._max_in_flight = max_in_flight
        self._timeout_s = timeout_s
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Mirrored requests still pending."""
        return len(self._tasks)

    def mirror(
        self,
        pool: UpstreamPool,
        variant: str,
        base_url: str,
        target: bytes,
        method: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        """Send a copy through ``pool`` (the router's) in the background, or
        drop it when too many are pending."""
        if len(self._tasks) >= self._max_in_flight:
            self._metrics.shadow.labels(variant, "dropped").inc()
            return
        task = asyncio.get_running_loop().create_task(
            self._send(
                pool, variant, base_url, target, method, [*headers, SHADOW_HEADER], body
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(
        self,
        pool: UpstreamPool,
        variant: str,
        base_url: str,
        target: bytes,
        method: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        outcome = "error"
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await pool.request(
                    base_url, method, target, headers, body, self._timeout_s
                )
                try:
                    await response.read(self._timeout_s)
                finally:
                    response.release()
            outcome = "ok" if response.status < 500 else "error"
        except (UpstreamError, TimeoutError) as exc:
            log.debug("shadow request to %s failed: %r", variant, exc)
        finally:
            self._metrics.shadow.labels(variant, outcome).inc()

    async def aclose(self, grace_s: float = 2.0) -> None:
        """Give pending copies ``grace_s`` to finish, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
