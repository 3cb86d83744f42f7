"""A minimal Prometheus HTTP API client: instant queries, nothing else."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused a query."""


class QueryError(PrometheusError):
    """Prometheus rejected a query (``bad_data``: a PromQL parse error, ...)."""


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector."""

    labels: dict[str, str]
    value: float


class PrometheusClient:
    """Runs instant queries against ``/api/v1/query``."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        """Talk to the Prometheus at ``base_url``."""
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, trust_env=False
        )
        self.base_url = base_url

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, promql: str) -> list[Sample]:
        """Evaluate ``promql`` now.

        Returns:
            The instant vector (a scalar result becomes one unlabelled sample).

        Raises:
            QueryError: Prometheus rejected the query.
            PrometheusError: unreachable, or an answer that is not the API's.
        """
        try:
            response = self._http.get("/api/v1/query", params={"query": promql})
        except httpx.HTTPError as exc:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.base_url}: {exc}"
            ) from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise PrometheusError(
                f"Prometheus at {self.base_url} answered HTTP {response.status_code} "
                "without JSON"
            ) from exc
        if body.get("status") != "success":
            message = f"{body.get('errorType', 'error')}: {body.get('error', '?')}"
            if response.status_code in (400, 422):
                raise QueryError(f"Prometheus rejected {promql!r}: {message}")
            raise PrometheusError(f"Prometheus failed {promql!r}: {message}")
        data = body.get("data") or {}
        if data.get("resultType") == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [
            Sample(dict(item.get("metric") or {}), float(item["value"][1]))
            for item in data.get("result") or []
        ]

    def value(self, promql: str) -> float | None:
        """The single value of a query that aggregates to one series.

        Returns:
            None when the query returns nothing or NaN (no data), the value
            otherwise.

        Raises:
            QueryError: Prometheus rejected the query, or it returned several
                series where one was expected.
        """
        samples = self.query(promql)
        if not samples:
            return None
        if len(samples) > 1:
            raise QueryError(f"{promql!r} returned {len(samples)} series, expected one")
        value = samples[0].value
        return None if math.isnan(value) else value
