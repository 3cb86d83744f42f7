"""KServe V1 protocol: ``POST /v1/models/NAME:predict`` with
``{"instances": [[...], ...]}`` (or ``"inputs"``), answered with
``{"predictions": [...]}``.

Rows are lists in the model's column order, or objects keyed by column name
(numbers, and for a table model strings and booleans too); ``dataframe_split``
and ``dataframe_records`` (as ``mlflow models serve`` takes them) work as well.
``:predict`` answers with labels (or the configured default output);
``:predict_proba``, a Shiplane extension, with class probabilities.
"""

from __future__ import annotations

from typing import Any

import orjson

from shiplane_serving.errors import BadRequestShape, FeatureCountError, UnknownOutput
from shiplane_serving.protocol.common import decode_json, to_matrix
from shiplane_serving.types import InputSchema, OutputKind, ParsedRequest, Prediction

#: Where a V1 body may carry its rows: KServe's ``instances``/``inputs``, and
#: the pandas-style ``dataframe_split``/``dataframe_records`` of ``mlflow models
#: serve``.
_ROW_KEYS = ("instances", "inputs", "dataframe_split", "dataframe_records")


def _rows_from_split(split: Any, schema: InputSchema) -> list[Any]:
    """``{"columns": [...], "data": [[...], ...]}`` as rows in the model's order."""
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        raise BadRequestShape(
            '"dataframe_split" must be an object like {"columns": [...], '
            '"data": [[...], ...]}'
        )
    columns = split.get("columns", list(schema.feature_names))
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequestShape('"dataframe_split.columns" must be a list of names')
    if len(set(columns)) != len(columns):
        raise BadRequestShape('"dataframe_split.columns" names a column twice')
    records = []
    for i, row in enumerate(split["data"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise FeatureCountError(
                f"dataframe_split.data[{i}] must be a list of {len(columns)} values "
                "(one per name in columns)"
            )
        records.append(dict(zip(columns, row, strict=True)))
    return (
        _rows_from_objects(records, schema, "dataframe_split.data") if records else []
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
            said = [f"missing column {missing[:5]}"] if missing else []
            said += [f"unknown column {extra[:5]}"] if extra else []
            raise FeatureCountError(
                f"{what}[{i}] must have exactly the model's {len(names)} columns: "
                + ", ".join(said)
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
    key = next((k for k in _ROW_KEYS if k in doc), None)
    if key is None:
        raise BadRequestShape(
            'a V1 request needs "instances" (a list of rows); got keys '
            f"{sorted(doc)[:5]}"
        )
    rows = doc[key]
    if key == "dataframe_split":
        rows = _rows_from_split(rows, schema)
    elif isinstance(rows, list) and rows and isinstance(rows[0], dict):
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
        if predictions.dtype.kind in "OUS":  # string classes: orjson takes lists
            predictions = predictions.tolist()
    return orjson.dumps(
        {
            "predictions": predictions,
            "model_name": model_name,
            "model_version": version,
            "request_id": request_id,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
