"""Ground truth after the fact: predict one row, then post its true label to
the feedback endpoint under the request id the prediction returned, so online
accuracy per version has data.

    locust -f loadtests/feedback.py --config loadtests/locust.conf -H http://127.0.0.1:8080
"""

from __future__ import annotations

from common.users import ShiplaneUser
from locust import task


class FeedbackUser(ShiplaneUser):
    """Predict, then score: two requests per task."""

    @task
    def predict_then_score(self) -> None:
        rows, labels = self.payloads.sample(self.rng, 1)
        if not labels:
            raise RuntimeError(
                f"{self.payloads.source} has no labels: the feedback scenario needs "
                "ground truth next to each row"
            )
        with self.client.post(
            f"/v1/models/{self.model}:predict",
            json=self.payloads.v1_body(rows),
            name="v1 predict [for feedback]",
            catch_response=True,
        ) as response:
            body = self.validate(response, rows=1, protocol="v1")
            request_id = response.headers.get(self.opts.request_id_header) or (
                body or {}
            ).get("id")
            if body is not None and not request_id:
                response.failure(
                    f"no request id in header {self.opts.request_id_header} "
                    "or body 'id': feedback cannot refer to this prediction"
                )
                return
        if not request_id:
            return
        # Behind the A/B router, pin the feedback to the variant that answered,
        # or it may land on a server that never saw this request id.
        variant = response.headers.get("x-shiplane-variant")
        with self.client.post(
            str(self.opts.feedback_path).format(model=self.model),
            json={"request_id": request_id, "truth": labels[0]},
            headers={"x-shiplane-variant": variant} if variant else None,
            name="feedback [1 row]",
            catch_response=True,
        ) as response:
            if response.status_code // 100 != 2:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
