"""Request parsing and response building for KServe V1 and V2 (Open Inference
Protocol) over REST; one module per protocol, shared validation in ``common``."""

from shiplane_serving.protocol.v1 import build_v1, parse_v1
from shiplane_serving.protocol.v2 import build_v2, parse_v2

__all__ = [
    "build_v1",
    "build_v2",
    "parse_v1",
    "parse_v2",
]
