"""KServe V1 protocol: ``POST /v1/models/NAME:predict`` with
``{"instances": [[...], ...]}`` (or ``"inputs"``), answered with
``{"predictions": [...]}``.

Rows are lists of numbers in the model's feature order, or objects keyed by
feature name. ``:predict`` answers with labels (or the configured default
output); ``:predict_proba``, a Shiplane extension, with class probabilities.
"""

from __future__ import annotations

from typing import Any

import orjson

from shiplane_serving.errors import BadRequestShape, FeatureCountError, UnknownOutput
from shiplane_serving.protocol.common import (
    InputSchema,
    OutputKind,
    ParsedRequest,
    Prediction,
    decode_json,
    to_matrix,
)


def _rows_from_objects(rows: list[Any], schema: InputSchema, what: str) -> list[Any]:
    names = schema.feature_names
    out: list[Any] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            out.append(row)
            continue
        missing = [n for n in names if n not in row]
        extra = [k for k in row if k not in set(names)]
        if missing or extra:
            raise FeatureCountError(
                f"{what}[{i}] must have exactly the model's {len(names)} features; "
                f"missing {missing[:5]}, unknown {extra[:5]}"
            )
        out.append([row[n] for n in names])
    return out


def parse_v1(body: bytes, schema: InputSchema, output: OutputKind) -> ParsedRequest:
    """Validate a V1 request body.

    Raises:
        ServingError: a subclass saying what is wrong and what was expected.
    """
    if output == "predict_proba" and not schema.has_proba:
        raise UnknownOutput("this model has no predict_proba (it is a regressor)")
    doc = decode_json(body)
    if not isinstance(doc, dict):
        raise BadRequestShape(
            'a V1 request is a JSON object like {"instances": [[...], ...]}'
        )
    key = "instances" if "instances" in doc else "inputs" if "inputs" in doc else None
    if key is None:
        raise BadRequestShape(
            'a V1 request needs "instances" (a list of rows); got keys '
            f"{sorted(doc)[:5]}"
        )
    rows = doc[key]
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        rows = _rows_from_objects(rows, schema, key)
    return ParsedRequest(x=to_matrix(rows, schema, key), outputs=(output,))


def build_v1(
    parsed: ParsedRequest,
    prediction: Prediction,
    model_name: str,
    version: str,
    request_id: str,
) -> bytes:
    """The V1 response body, naming the version that answered."""
    if parsed.outputs[0] == "predict_proba" and prediction.proba is not None:
        predictions: Any = prediction.proba
    else:
        predictions = prediction.labels
    return orjson.dumps(
        {
            "predictions": predictions,
            "model_name": model_name,
            "model_version": version,
            "request_id": request_id,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
