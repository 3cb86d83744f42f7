"""Sticky A/B traffic through the Shiplane router.

Each simulated user plays a series of end users: it sends
``--requests-per-user-id`` V1 requests carrying one id in ``--user-header``
(``x-user-id``), then takes a fresh id. Every response must come from the same
variant as the first one for that id (the router's stickiness contract), and
with ``--expected-split`` each id counts once in the canary split check:

    locust -f loadtests/sticky_router.py --config loadtests/locust.conf \\
        -H http://127.0.0.1:8000 --expected-split stable=90,canary=10
"""

from __future__ import annotations

import uuid

from common.users import ShiplaneUser
from locust import task


class StickyRouterUser(ShiplaneUser):
    """V1 single-row requests with a per-end-user sticky header."""

    def on_start(self) -> None:
        self._new_end_user()

    def _new_end_user(self) -> None:
        self.user_id = f"load-{uuid.UUID(int=self.rng.getrandbits(128))}"
        self.sent = 0
        self.variant: str | None = None

    @task
    def predict_as_end_user(self) -> None:
        if self.sent >= int(self.opts.requests_per_user_id):
            self._new_end_user()
        self.sent += 1
        rows, _ = self.payloads.sample(self.rng, 1)
        with self.client.post(
            f"/v1/models/{self.model}:predict",
            json=self.payloads.v1_body(rows),
            headers={self.opts.user_header: self.user_id},
            name="router v1 predict [sticky]",
            catch_response=True,
        ) as response:
            variant = response.headers.get(self.opts.split_header)
            if self.variant is not None and variant and variant != self.variant:
                response.failure(
                    f"not sticky: {self.user_id} moved from {self.variant} to {variant}"
                )
                return
            if self.validate(response, rows=1, protocol="v1", user_id=self.user_id):
                self.variant = self.variant or variant
