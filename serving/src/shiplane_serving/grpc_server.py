"""Open Inference Protocol over gRPC, as KServe provides it: KServe's own
``InferenceServicer`` and DataPlane in front of Shiplane's dataplane (through
:class:`~shiplane_serving.kserve_adapter.ShiplaneModel`), on a
grpc.aio server bound to the configured host (KServe's own server always binds
``[::]``). It runs on the REST worker's event loop; with several workers each
starts one on the same port (gRPC sets SO_REUSEPORT) and the kernel spreads
connections.
"""

from __future__ import annotations

from typing import Any

from grpc import aio  # type: ignore[import-untyped]
from kserve.model_repository import ModelRepository
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
from kserve.protocol.grpc.servicer import InferenceServicer
from kserve.protocol.model_repository_extension import ModelRepositoryExtension

from shiplane_serving.dataplane import Dataplane
from shiplane_serving.kserve_adapter import ShiplaneModel
from shiplane_serving.settings import ServingSettings


async def start_grpc(dataplane: Dataplane, settings: ServingSettings) -> Any:
    """Serve ``dataplane`` over gRPC; returns the started ``grpc.aio`` server."""
    repository = ModelRepository(models_dir="/nonexistent")
    repository.update(ShiplaneModel(dataplane))
    servicer = InferenceServicer(
        DataPlane(model_registry=repository), ModelRepositoryExtension(repository)
    )
    # KServe's own interceptor maps InvalidInput to INVALID_ARGUMENT (and a
    # missing model to NOT_FOUND); without it every refusal reads UNKNOWN.
    server = aio.server(
        options=[("grpc.so_reuseport", 1)],
        interceptors=(ExceptionToStatusInterceptor(),),
    )
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        servicer, server
    )
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    server.add_insecure_port(f"{host}:{settings.grpc_port}")
    await server.start()
    return server
