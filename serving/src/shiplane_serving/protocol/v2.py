"""Open Inference Protocol (KServe V2) over REST:
``POST /v2/models/NAME[/versions/V]/infer``.

One input tensor of shape ``[rows, features]`` (data flat or nested), or one
``[rows]`` tensor per column named after it: numeric datatypes, ``BOOL``, and
``BYTES`` (JSON strings) for a table model's string columns. Outputs ``predict``
(default) and ``predict_proba`` may be requested by name, as in MLServer's
scikit-learn runtime.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import orjson

from shiplane_serving.errors import (
    BadRequestShape,
    BatchTooLarge,
    FeatureCountError,
    FeatureTypeError,
    UnknownOutput,
)
from shiplane_serving.protocol.common import decode_json, to_matrix
from shiplane_serving.types import (
    OUTPUT_KINDS,
    InputSchema,
    OutputKind,
    ParsedRequest,
    Prediction,
)

NUMERIC_DATATYPES: Final = frozenset(
    {
        "FP16",
        "FP32",
        "FP64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
    }
)


#: V2 datatypes each column kind accepts (BYTES as JSON strings).
_COLUMN_DATATYPES: Final[dict[str, frozenset[str]]] = {
    "number": NUMERIC_DATATYPES,
    "integer": NUMERIC_DATATYPES,
    "boolean": frozenset({"BOOL"}),
    "string": frozenset({"BYTES"}),
}


def _shape(tensor: dict[str, Any], where: str) -> list[int]:
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(d) is int and 0 <= d < 2**31 for d in shape)
    ):
        raise BadRequestShape(
            f"{where}.shape must be a list of non-negative integers, got "
            f"{orjson.dumps(shape).decode()[:60]}"
        )
    return shape


def _tensor_rows(tensor: Any, schema: InputSchema, where: str) -> Any:
    """Rows (a nested list) of one ``[rows, features]`` input tensor."""
    if not isinstance(tensor, dict):
        raise BadRequestShape(
            f"{where} must be an object with name, shape, datatype, data"
        )
    datatype = tensor.get("datatype")
    if datatype not in NUMERIC_DATATYPES:
        raise FeatureTypeError(
            f"{where}.datatype is {datatype!r}; expected a numeric type such as FP64, "
            "FP32 or INT64"
        )
    shape = _shape(tensor, where)
    data = tensor.get("data")
    if not isinstance(data, list):
        raise BadRequestShape(f"{where}.data must be a list of numbers")
    n = schema.n_features
    if len(shape) != 2:
        raise FeatureCountError(
            f"{where}.shape is {shape}; expected [rows, {n}] for this model"
        )
    if shape[1] != n:
        raise FeatureCountError(
            f"{where}.shape {shape} has {shape[1]} features; the model expects {n}"
        )
    if shape[0] > schema.max_rows:
        # Checked before touching data so a huge request costs nothing more.
        raise BatchTooLarge(
            f"{where} has {shape[0]} rows; this server takes at most "
            f"{schema.max_rows} per request"
        )
    if data and isinstance(data[0], list):
        return data  # nested [[...], ...]: to_matrix checks each row
    if len(data) != math.prod(shape):
        raise FeatureCountError(
            f"{where}.data has {len(data)} values; shape {shape} needs "
            f"{math.prod(shape)}"
        )
    return [data[i * n : (i + 1) * n] for i in range(shape[0])]


def columns_to_rows(inputs: list[Any], schema: InputSchema) -> Any:
    """One ``[rows]`` tensor per feature, named after the features."""
    by_name: dict[str, Any] = {}
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequestShape(f"inputs[{i}] must be an object with a name")
        by_name[tensor["name"]] = tensor
    missing = [n for n in schema.feature_names if n not in by_name]
    if missing:
        raise FeatureCountError(
            f"got {len(inputs)} input tensors; send one [rows, "
            f"{schema.n_features}] tensor, or one tensor per feature (missing "
            f"column {missing[:5]})"
        )
    extra = [n for n in by_name if n not in set(schema.feature_names)]
    if extra:
        raise FeatureCountError(
            f"unknown column {extra[:5]}: the model takes "
            f"{list(schema.feature_names[:5])}{' ...' if schema.n_features > 5 else ''}"
        )
    kinds = {c.name: c.kind for c in schema.columns}
    columns = []
    for name in schema.feature_names:
        tensor = by_name[name]
        wanted = _COLUMN_DATATYPES[kinds.get(name, "number")]
        if tensor.get("datatype") not in wanted:
            raise FeatureTypeError(
                f"input {name!r} has datatype {tensor.get('datatype')!r}; this "
                f"column takes {' or '.join(sorted(wanted)[:3])}"
                f"{' (or another numeric type)' if len(wanted) > 3 else ''}"
            )
        data = tensor.get("data")
        if not isinstance(data, list):
            raise BadRequestShape(f"input {name!r}.data must be a list")
        columns.append(data)
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise FeatureCountError(
            "per-feature input tensors must all have the same length"
        )
    return [list(row) for row in zip(*columns, strict=True)]


def parse_outputs(doc: dict[str, Any], schema: InputSchema) -> tuple[OutputKind, ...]:
    """The outputs a V2 request asks for (``predict`` when it names none)."""
    requested = doc.get("outputs")
    if requested is None:
        return ("predict",)
    if not isinstance(requested, list):
        raise BadRequestShape('"outputs" must be a list of {"name": ...} objects')
    kinds: list[OutputKind] = []
    for i, item in enumerate(requested):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in OUTPUT_KINDS:
            raise UnknownOutput(
                f"outputs[{i}] names {name!r}; this model offers "
                f"{['predict', 'predict_proba'] if schema.has_proba else ['predict']}"
            )
        if name == "predict_proba" and not schema.has_proba:
            raise UnknownOutput("this model has no predict_proba (it is a regressor)")
        if name not in kinds:
            kinds.append(name)
    return tuple(kinds) or ("predict",)


def parse_v2(body: bytes, schema: InputSchema) -> ParsedRequest:
    """Validate a V2 inference request body.

    Raises:
        ServingError: a subclass saying what is wrong and what was expected.
    """
    doc = decode_json(body)
    if not isinstance(doc, dict):
        raise BadRequestShape(
            'a V2 request is a JSON object like {"inputs": [{"name": ..., "shape": '
            '[rows, features], "datatype": "FP64", "data": [...]}]}'
        )
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequestShape(
            'a V2 request needs "inputs": a non-empty list of tensors'
        )
    client_id = doc.get("id")
    if client_id is not None and not isinstance(client_id, str):
        raise BadRequestShape('"id" must be a string')
    outputs = parse_outputs(doc, schema)
    if len(inputs) == 1:
        rows = _tensor_rows(inputs[0], schema, "inputs[0]")
    else:
        rows = columns_to_rows(inputs, schema)
    return ParsedRequest(
        x=to_matrix(rows, schema, "inputs"), outputs=outputs, client_id=client_id
    )


def labels_datatype(labels: np.ndarray[Any, Any]) -> str:
    """V2 datatype name of a label array."""
    kind = labels.dtype.kind
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    if kind == "b":
        return "BOOL"
    return "BYTES"


def build_v2(
    parsed: ParsedRequest,
    prediction: Prediction,
    model_name: str,
    version: str,
    request_id: str,
) -> bytes:
    """The V2 response body; ``id`` echoes the client's id (else ours) and
    ``parameters.request_id`` is the id feedback refers to."""
    rows = parsed.rows
    outputs: list[dict[str, Any]] = []
    for kind in parsed.outputs:
        if kind == "predict_proba" and prediction.proba is not None:
            proba = prediction.proba
            outputs.append(
                {
                    "name": "predict_proba",
                    "shape": [rows, int(proba.shape[1])],
                    "datatype": "FP64",
                    "data": proba.ravel(),
                }
            )
        else:
            labels = prediction.labels
            data: Any = (
                labels if labels.dtype.kind in "iufb" else labels.astype(str).tolist()
            )
            outputs.append(
                {
                    "name": "predict",
                    "shape": [rows],
                    "datatype": labels_datatype(labels),
                    "data": data,
                }
            )
    return orjson.dumps(
        {
            "model_name": model_name,
            "model_version": version,
            "id": parsed.client_id or request_id,
            "parameters": {"request_id": request_id},
            "outputs": outputs,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
