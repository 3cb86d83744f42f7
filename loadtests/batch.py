"""Batch requests over both protocols: ``--batch-size`` rows per request.

Batches exercise the input validation and the per-row work of the runtime
rather than its per-request overhead; their latency SLO is usually looser, so
run them on their own when the thresholds differ:

    locust -f loadtests/batch.py --config loadtests/locust.conf --batch-size 64 ...
"""

from __future__ import annotations

from common.users import ShiplaneUser
from locust import task


class BatchUser(ShiplaneUser):
    """Alternates V1 and V2 batch requests."""

    @task
    def v1_batch(self) -> None:
        size = int(self.opts.batch_size)
        rows, _ = self.payloads.sample(self.rng, size)
        with self.client.post(
            f"/v1/models/{self.model}:predict",
            json=self.payloads.v1_body(rows),
            name=f"v1 predict [{size} rows]",
            catch_response=True,
        ) as response:
            self.validate(response, rows=size, protocol="v1")

    @task
    def v2_batch(self) -> None:
        size = int(self.opts.batch_size)
        rows, _ = self.payloads.sample(self.rng, size)
        with self.client.post(
            f"/v2/models/{self.model}/infer",
            json=self.payloads.v2_body(rows),
            name=f"v2 infer [{size} rows]",
            catch_response=True,
        ) as response:
            self.validate(response, rows=size, protocol="v2")
