"""KServe V1 single-row predictions: ``POST /v1/models/NAME:predict``.

locust -f loadtests/v1.py --config loadtests/locust.conf -H http://127.0.0.1:8080
"""

from __future__ import annotations

from common.users import ShiplaneUser
from locust import task


class V1SingleRowUser(ShiplaneUser):
    """One row per request, the commonest online-inference shape."""

    @task
    def predict_one(self) -> None:
        rows, _ = self.payloads.sample(self.rng, 1)
        with self.client.post(
            f"/v1/models/{self.model}:predict",
            json=self.payloads.v1_body(rows),
            name="v1 predict [1 row]",
            catch_response=True,
        ) as response:
            self.validate(response, rows=1, protocol="v1")
