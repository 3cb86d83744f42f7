"""The base every Shiplane scenario builds on: pacing from the options, a
per-user random stream, and one place that decides whether a response is a
success.

A response succeeds only when its status is 2xx, its JSON has the predictions
(V1) or outputs (V2) for every row sent, and it names the model version that
answered (``x-shiplane-model-version``): a prediction nobody can attribute to a
version is a failure for a platform that promises exactly that.
"""

from __future__ import annotations

import random
from typing import Any

from locust import HttpUser
from locust.clients import ResponseContextManager

# Importing these registers the options, the init hook and the verdict.
from common import options as _options  # noqa: F401
from common import verdict as _verdict  # noqa: F401
from common.payloads import Payloads
from common.runtime import RUNTIME

VERSION_HEADER = "x-shiplane-model-version"


class ShiplaneUser(HttpUser):
    """Abstract base: subclasses add ``@task`` methods."""

    abstract = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rng = random.Random()
        self.opts = self.environment.parsed_options

    def wait_time(self) -> float:
        """Pause between requests, uniform in [--wait-min-s, --wait-max-s]."""
        low, high = float(self.opts.wait_min_s), float(self.opts.wait_max_s)
        return self.rng.uniform(low, max(low, high))

    @property
    def payloads(self) -> Payloads:
        return RUNTIME.require_payloads()

    @property
    def model(self) -> str:
        return str(self.opts.model_name)

    def _split_unit(self, user_id: str | None) -> str | None:
        """The independent draw a response belongs to: the end-user id when one
        was sent; this whole session when it holds cookies (a router may stick it
        by cookie); else none, and the request is its own draw."""
        if user_id:
            return user_id
        return f"session-{id(self)}" if self.client.cookies else None

    def validate(
        self,
        response: ResponseContextManager,
        rows: int,
        protocol: str,
        user_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Mark ``response`` failed unless it is a complete, attributed answer;
        count it for the split check; return its JSON body on success."""
        if response.status_code // 100 != 2:
            response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            return None
        try:
            body = response.json()
        except ValueError:
            response.failure(f"response is not JSON: {response.text[:200]}")
            return None
        answered = (
            len(body.get("predictions", []))
            if protocol == "v1"
            else max(
                (len(out.get("data", [])) for out in body.get("outputs", [])), default=0
            )
        )
        if answered < rows:
            response.failure(f"{protocol}: {answered} predictions for {rows} rows")
            return None
        if not response.headers.get(VERSION_HEADER):
            response.failure(f"response has no {VERSION_HEADER} header")
            return None
        if RUNTIME.expected_split:
            RUNTIME.tracker.record(
                response.headers.get(self.opts.split_header), self._split_unit(user_id)
            )
        response.success()
        return dict(body)
