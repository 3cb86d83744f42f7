"""Ground truth for earlier predictions, with no shared state between workers.

A request id carries what scoring needs: the model version that answered, when,
and its predictions (class indices, or values for regression), signed with an
HMAC key. Any worker, or any replica sharing the key, can therefore score
feedback for any id; ids that fail the signature, are malformed or expired are
counted as unknown and reported back, never an error of the server.

Id layout: ``s1.<base64url(JSON [version, issued_s, nonce, predictions])>.<base64url(
HMAC-SHA256[:12])>``; a 64-row batch gives an id of a few hundred characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import orjson

from shiplane_serving.errors import BadFeedback
from shiplane_serving.types import Prediction

PREFIX: Final = "s1"
_SIG_BYTES: Final = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Answered:
    """What a request id says was answered."""

    version: str
    issued_s: int
    predictions: list[Any]


class RequestIds:
    """Makes and reads signed request ids.

    Args:
        secret: HMAC key; share it between replicas that may score each other's
            feedback.
        ttl_s: how long an id stays valid.
        clock: wall-clock seconds (injectable for tests).
    """

    def __init__(
        self, secret: bytes, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return _b64(mac[:_SIG_BYTES])

    def make(self, version: str, predictions: list[Any]) -> str:
        """A new id for a response of ``version`` with ``predictions``."""
        body = orjson.dumps(
            [version, int(self._clock()), _b64(os.urandom(6)), predictions]
        )
        payload = _b64(body)
        return f"{PREFIX}.{payload}.{self._sign(payload)}"

    def read(self, request_id: object) -> Answered | None:
        """What ``request_id`` answered, or None if it is not a valid live id."""
        if not isinstance(request_id, str) or request_id.count(".") != 2:
            return None
        prefix, payload, sig = request_id.split(".")
        if prefix != PREFIX or not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            version, issued, _nonce, preds = orjson.loads(_unb64(payload))
        except (ValueError, TypeError, orjson.JSONDecodeError):
            return None
        if self._clock() - issued > self._ttl_s:
            return None
        return Answered(str(version), int(issued), list(preds))


@dataclass
class FeedbackResult:
    """What one feedback call scored."""

    correct: dict[str, int] = field(default_factory=dict)
    incorrect: dict[str, int] = field(default_factory=dict)
    scored: dict[str, int] = field(default_factory=dict)
    absolute_error: dict[str, float] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": sum(self.correct.values())
            + sum(self.incorrect.values())
            + sum(self.scored.values()),
            "correct": sum(self.correct.values()),
            "unknown": self.unknown,
        }


def _same_label(truth: object, label: object) -> bool:
    if truth == label:
        return True
    if isinstance(truth, float) and truth.is_integer():
        truth = int(truth)
    return str(truth) == str(label)


def parse_feedback(doc: object) -> list[tuple[object, list[Any]]]:
    """``[(request_id, truths)]`` from ``{"request_id", "truth"}`` or a list of them.

    Raises:
        BadFeedback: the body does not have that shape.
    """
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise BadFeedback("feedback needs at least one {request_id, truth} object")
    out: list[tuple[object, list[Any]]] = []
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or "request_id" not in item
            or "truth" not in item
        ):
            raise BadFeedback(
                f'feedback[{i}] must be {{"request_id": "...", "truth": label or '
                "[labels, one per row]}"
            )
        truth = item["truth"]
        truths = truth if isinstance(truth, list) else [truth]
        if not all(isinstance(t, int | float | str) and t is not None for t in truths):
            raise BadFeedback(f"feedback[{i}].truth must be numbers or strings")
        out.append((item["request_id"], truths))
    return out


def score(
    items: list[tuple[object, list[Any]]],
    ids: RequestIds,
    task: Literal["classification", "regression"],
    classes: list[Any] | None,
) -> FeedbackResult:
    """Score truths against the predictions their ids carry.

    Raises:
        BadFeedback: a known id got the wrong number of truths (nothing of that
            call is counted then).
    """
    result = FeedbackResult()
    for request_id, truths in items:
        answered = ids.read(request_id)
        if answered is None:
            result.unknown.append(str(request_id)[:200])
            continue
        if len(truths) != len(answered.predictions):
            raise BadFeedback(
                f"request {str(request_id)[:40]}... had {len(answered.predictions)} "
                f"rows; got {len(truths)} truths"
            )
    for request_id, truths in items:
        answered = ids.read(request_id)
        if answered is None:
            continue
        v = answered.version
        if task == "classification":
            assert classes is not None
            for truth, idx in zip(truths, answered.predictions, strict=True):
                ok = _same_label(truth, classes[int(idx)])
                bucket = result.correct if ok else result.incorrect
                bucket[v] = bucket.get(v, 0) + 1
        else:
            try:
                err = np.abs(
                    np.asarray(truths, dtype=np.float64)
                    - np.asarray(answered.predictions, dtype=np.float64)
                )
            except ValueError as exc:
                raise BadFeedback(f"regression truths must be numbers: {exc}") from exc
            result.scored[v] = result.scored.get(v, 0) + len(truths)
            result.absolute_error[v] = result.absolute_error.get(v, 0.0) + float(
                err.sum()
            )
    return result


def encode_predictions(pred: Prediction) -> list[Any]:
    """Compact predictions for an id: class indices, or values for regression."""
    if pred.class_index is not None:
        return list(pred.class_index.tolist())
    return [float(v) for v in pred.labels.tolist()]
