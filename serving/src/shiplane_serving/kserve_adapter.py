"""The dataplane as a ``kserve.Model``: what KServe's ModelServer
(``--server kserve``) and the gRPC server run. It only converts: KServe's V1
dicts and ``InferRequest`` in, their answers out; loading, validation, the
model call and every metric stay in :class:`~shiplane_serving.dataplane.Dataplane`.
"""

from __future__ import annotations

from typing import Any

import kserve
import orjson
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest, InferResponse

from shiplane_serving.dataplane import REQUEST_ID_HEADER, VERSION_HEADER, Dataplane
from shiplane_serving.errors import ServingError
from shiplane_serving.protocol import build_v1, parse_v1
from shiplane_serving.protocol.infer_request import (
    build_infer_response,
    parse_infer_request,
)

# KServe answers InvalidInput with 400 (gRPC INVALID_ARGUMENT), whatever the
# refusal: the request metric says what the client really got.
_KSERVE_REFUSED = 400


class ShiplaneModel(kserve.Model):  # type: ignore[misc]
    """``dataplane`` under KServe's model interface."""

    def __init__(self, dataplane: Dataplane) -> None:
        self.dataplane = dataplane
        super().__init__(dataplane.name, return_response_headers=True)

    # kserve.Model keeps readiness in an attribute it sets in __init__; the
    # dataplane owns it here, so the setter ignores KServe's writes.
    @property
    def ready(self) -> bool:
        return self.dataplane.ready

    @ready.setter
    def ready(self, _value: bool) -> None:
        pass

    def load(self) -> bool:
        return self.dataplane.load()

    async def predict(
        self,
        payload: dict[str, Any] | bytes | InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """KServe's predict hook: V1 dicts and V2/gRPC ``InferRequest``s."""
        dp = self.dataplane
        protocol = "v1"
        if isinstance(payload, InferRequest):
            protocol = "grpc" if payload.from_grpc else "v2"
        try:
            with dp.track(protocol, refused_status=_KSERVE_REFUSED) as tracked:
                schema = dp.require_ready()
                if isinstance(payload, InferRequest):
                    parsed = parse_infer_request(payload, schema)
                else:
                    # KServe hands V1 bodies over decoded, or raw without a
                    # JSON content type.
                    raw = (
                        payload if isinstance(payload, bytes) else orjson.dumps(payload)
                    )
                    parsed = parse_v1(raw, schema, dp.settings.v1_default_output)
                pred, request_id = await dp.infer(parsed)
                tracked.rows = parsed.rows
                if response_headers is not None:
                    response_headers[VERSION_HEADER] = dp.version
                    response_headers[REQUEST_ID_HEADER] = request_id
                if isinstance(payload, InferRequest):
                    return build_infer_response(
                        payload, parsed, pred, dp.name, dp.version, request_id
                    )
                body = build_v1(parsed, pred, dp.name, dp.version, request_id)
                return dict(orjson.loads(body))
        except ServingError as exc:
            raise InvalidInput(exc.message) from exc
