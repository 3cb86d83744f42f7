"""Open Inference Protocol (V2) single-row inference:
``POST /v2/models/NAME/infer`` with one FP64 tensor of shape [1, features].

    locust -f loadtests/v2.py --config loadtests/locust.conf -H http://127.0.0.1:8080
"""

from __future__ import annotations

from common.users import ShiplaneUser
from locust import task


class V2SingleRowUser(ShiplaneUser):
    """One row per request over the V2 protocol."""

    @task
    def infer_one(self) -> None:
        rows, _ = self.payloads.sample(self.rng, 1)
        with self.client.post(
            f"/v2/models/{self.model}/infer",
            json=self.payloads.v2_body(rows),
            name="v2 infer [1 row]",
            catch_response=True,
        ) as response:
            self.validate(response, rows=1, protocol="v2")
