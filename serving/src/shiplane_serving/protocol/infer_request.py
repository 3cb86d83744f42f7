"""KServe's ``InferRequest``/``InferResponse`` (V2 over KServe's ModelServer and
gRPC) to and from Shiplane's types, with the same validation as REST V2."""

from __future__ import annotations

from typing import Any

import numpy as np
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from shiplane_serving.errors import BadRequestShape, FeatureTypeError
from shiplane_serving.protocol.common import to_matrix
from shiplane_serving.protocol.v2 import columns_to_rows, labels_datatype, parse_outputs
from shiplane_serving.types import InputSchema, ParsedRequest, Prediction


def parse_infer_request(request: InferRequest, schema: InputSchema) -> ParsedRequest:
    """One ``[rows, features]`` tensor, or one tensor per column.

    Raises:
        ServingError: the request does not fit ``schema`` (a 4xx).
    """
    outputs = parse_outputs(
        {"outputs": [{"name": o.name} for o in request.request_outputs]}
        if request.request_outputs
        else {},
        schema,
    )
    if not request.inputs:
        raise BadRequestShape(
            f"send one [rows, {schema.n_features}] input tensor, or one per column"
        )
    if len(request.inputs) > 1:  # one tensor per column
        tensors = [
            {"name": i.name, "datatype": i.datatype, "data": _column_values(i)}
            for i in request.inputs
        ]
        return ParsedRequest(
            x=to_matrix(columns_to_rows(tensors, schema), schema, "inputs"),
            outputs=outputs,
            client_id=request.id,
        )
    try:
        arr = request.inputs[0].as_numpy()
    except Exception as exc:
        raise FeatureTypeError(f"input tensor is not numeric: {exc}") from exc
    rows = arr.tolist() if arr.ndim == 2 else arr
    return ParsedRequest(
        x=to_matrix(rows, schema, "inputs[0]"),
        outputs=outputs,
        client_id=request.id,
    )


def build_infer_response(
    request: InferRequest,
    parsed: ParsedRequest,
    pred: Prediction,
    name: str,
    version: str,
    request_id: str,
) -> InferResponse:
    """The answer to ``request``: the outputs it asked for."""
    outputs = []
    for kind in parsed.outputs:
        if kind == "predict_proba" and pred.proba is not None:
            out = InferOutput("predict_proba", list(pred.proba.shape), "FP64")
            out.set_data_from_numpy(pred.proba, binary_data=False)
        else:
            labels = pred.labels
            datatype = labels_datatype(labels)
            data = labels.astype(np.int64) if datatype == "INT64" else labels
            if datatype == "BYTES":
                data = labels.astype(object)
            out = InferOutput("predict", [parsed.rows], datatype)
            out.set_data_from_numpy(data, binary_data=False)
        outputs.append(out)
    return InferResponse(
        response_id=request.id or request_id,
        model_name=name,
        model_version=version,
        infer_outputs=outputs,
        parameters={"request_id": request_id},
        from_grpc=request.from_grpc,
    )


def _column_values(tensor: Any) -> list[Any]:
    """A per-column input tensor's values as JSON would carry them (BYTES
    arrive as bytes over gRPC: decoded to strings)."""
    try:
        values = tensor.as_numpy().ravel().tolist()
    except Exception as exc:
        raise FeatureTypeError(f"input {tensor.name!r} is unreadable: {exc}") from exc
    if tensor.datatype == "BYTES":
        try:
            return [v.decode() if isinstance(v, bytes) else v for v in values]
        except UnicodeDecodeError as exc:
            raise FeatureTypeError(f"input {tensor.name!r} is not UTF-8") from exc
    return list(values)
