"""Plain KServe peer: the minimal custom ``kserve.Model`` a user writes for a
scikit-learn model, on kserve's ``ModelServer`` with its defaults (per-request
latency logging on, gRPC on), except that both listeners bind 127.0.0.1 on the
ports given, because ModelServer hard-codes 0.0.0.0 (REST) and [::] (gRPC).

Usage: python kserve_plain.py MODEL_JOBLIB MODEL_NAME HTTP_PORT GRPC_PORT
"""

from __future__ import annotations

import sys
from typing import Any

import joblib  # type: ignore[import-untyped]
import kserve
import numpy as np
from kserve import model_server as kserve_model_server
from kserve.protocol.grpc import server as kserve_grpc_server

LOOPBACK = "127.0.0.1"


class LoopbackRESTServer(kserve_model_server.RESTServer):  # type: ignore[misc]
    """KServe's REST server, listening on 127.0.0.1 only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.host = LOOPBACK


class _LoopbackGrpc:
    """Wraps grpc.aio.server so KServe's ``[::]:PORT`` becomes 127.0.0.1:PORT."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def server(self, *args: Any, **kwargs: Any) -> Any:
        grpc_server = self._real.server(*args, **kwargs)
        add_port = grpc_server.add_insecure_port

        def add_loopback_port(address: str) -> int:
            return int(add_port(address.replace("[::]", LOOPBACK)))

        grpc_server.add_insecure_port = add_loopback_port
        return grpc_server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class SklearnModel(kserve.Model):  # type: ignore[misc]
    """V1 ``{"instances": [[...]]}`` in, ``{"predictions": predict_proba}`` out."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.estimator: Any = None

    def load(self) -> bool:
        self.estimator = joblib.load(self.path)
        self.ready = True
        return True

    def predict(
        self, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        instances = np.asarray(payload["instances"], dtype=np.float64)
        return {"predictions": self.estimator.predict_proba(instances).tolist()}


def main(argv: list[str]) -> None:
    path, name, http_port, grpc_port = argv
    kserve_model_server.RESTServer = LoopbackRESTServer
    kserve_grpc_server.aio = _LoopbackGrpc(kserve_grpc_server.aio)
    model = SklearnModel(name, path)
    model.load()
    kserve.ModelServer(http_port=int(http_port), grpc_port=int(grpc_port)).start(
        [model]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
