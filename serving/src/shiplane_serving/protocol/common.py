"""What both protocols share: decoding a body and turning decoded rows into
one validated float64 matrix (validated once, so scikit-learn's own checks can
be skipped) or, for a model that takes a table, typed cells per column."""

from __future__ import annotations

import json
import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from shiplane_serving.errors import (
    BadJSON,
    BatchTooLarge,
    FeatureCountError,
    FeatureTypeError,
    NonFiniteError,
)
from shiplane_serving.types import Column, FloatMatrix, InputSchema


def decode_json(body: bytes) -> Any:
    """Decode a request body.

    Raises:
        BadJSON: the body is not JSON; the message quotes the decoder.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        error = exc
    # orjson rejects NaN, Infinity and overflowing numbers (1e999); Python's
    # decoder reads them, so the client hears "NaN is not allowed here" instead
    # of "bad JSON" (slow path, errors only).
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadJSON(f"request body is not valid JSON: {error}") from error


def _first_non_number(rows: Any) -> str:
    """Describe the first value that is not a number (slow path, errors only)."""
    stack: list[tuple[str, Any]] = [("", rows)]
    while stack:
        where, value = stack.pop(0)
        if isinstance(value, list):
            stack[:0] = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, bool) or not isinstance(value, int | float):
            return f"{where} = {orjson.dumps(value).decode()[:60]}"
    return "a value"


def to_matrix(rows: Any, schema: InputSchema, what: str) -> FloatMatrix:
    """Turn decoded rows (lists of numbers) into a validated float64 matrix.

    Args:
        rows: a list of rows, each a list of ``n_features`` numbers.
        schema: the model's input schema.
        what: how the client named these rows, for messages (``instances``).

    Raises:
        FeatureCountError, FeatureTypeError, NonFiniteError, BatchTooLarge: with a
            message that says what was wrong and what was expected.
    """
    n = schema.n_features
    if not isinstance(rows, list) or not rows:
        raise FeatureTypeError(
            f"{what} must be a non-empty list of rows of {n} "
            f"{'values' if schema.typed else 'numbers'}"
        )
    if len(rows) > schema.max_rows:
        raise BatchTooLarge(
            f"{what} has {len(rows)} rows; this server takes at most "
            f"{schema.max_rows} per request"
        )
    if schema.typed:
        return to_table(rows, schema, what)
    try:
        arr = np.asarray(rows)
    except (ValueError, TypeError, OverflowError):
        arr = None
    if arr is None or arr.dtype == object and arr.ndim != 2:
        # Ragged: find the first row with the wrong length to say which.
        for i, row in enumerate(rows):
            if not isinstance(row, list):
                raise FeatureTypeError(
                    f"{what}[{i}] must be a list of {n} numbers, got "
                    f"{type(row).__name__}"
                )
            if len(row) != n:
                raise FeatureCountError(
                    f"{what}[{i}] has {len(row)} features; the model expects {n}"
                )
        raise FeatureTypeError(
            f"{what}: values must be numbers ({_first_non_number(rows)})"
        )
    if arr.ndim != 2:
        if arr.ndim == 1:
            raise FeatureTypeError(
                f"{what} must be a list of rows, each a list of {n} numbers "
                f"(got a flat list of {arr.shape[0]} values)"
            )
        raise FeatureTypeError(f"{what} must be a list of rows of {n} numbers")
    if arr.shape[1] != n:
        raise FeatureCountError(
            f"{what} rows have {arr.shape[1]} features; the model expects {n} "
            f"({', '.join(schema.feature_names[:5])}{', ...' if n > 5 else ''})"
        )
    kind = arr.dtype.kind
    if kind == "f":
        x = arr if arr.dtype == np.float64 else arr.astype(np.float64)
    elif kind in "iu":
        x = arr.astype(np.float64)
    elif (
        kind == "O"
        and schema.allow_nan
        and all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool))
            for v in arr.ravel()
        )
    ):
        x = arr.astype(np.float64)  # None -> NaN, a missing value the model takes
    else:
        raise FeatureTypeError(
            f"{what}: every feature must be a number ({_first_non_number(rows)})"
        )
    check_finite(x, schema, what)
    return x


def check_finite(x: FloatMatrix, schema: InputSchema, what: str) -> None:
    """Reject infinities always, NaN unless the model handles missing values.

    Raises:
        NonFiniteError: naming the first offending row and feature.
    """
    finite = np.isfinite(x)
    if finite.all():
        return
    bad = ~finite if not schema.allow_nan else np.isinf(x)
    if not bad.any():
        return
    row, col = (int(v) for v in np.argwhere(bad)[0])
    allowed = (
        "NaN (missing) is allowed, infinity is not"
        if schema.allow_nan
        else ("this model takes neither NaN (missing) nor infinity")
    )
    raise NonFiniteError(
        f"{what}[{row}] feature {schema.feature_names[col]!r} is {x[row, col]}: "
        f"{allowed}"
    )


_KIND_WORDS: Final[dict[str, str]] = {
    "number": "number",
    "integer": "whole number",
    "boolean": "boolean (true or false)",
    "string": "string",
}


def to_table(rows: list[Any], schema: InputSchema, what: str) -> npt.NDArray[Any]:
    """Turn decoded rows (lists in column order) into an object matrix whose
    every cell has its column's type: the typed path, for models that take a
    table.

    Raises:
        FeatureCountError, FeatureTypeError, NonFiniteError: naming the row and
            the column.
    """
    columns = schema.columns
    n = len(columns)
    out = np.empty((len(rows), n), dtype=object)
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise FeatureTypeError(
                f"{what}[{i}] must be a list of {n} values in column order "
                f"({', '.join(c.name for c in columns[:5])}{', ...' if n > 5 else ''})"
                " or an object keyed by column name"
            )
        if len(row) != n:
            raise FeatureCountError(
                f"{what}[{i}] has {len(row)} values; the model takes {n} columns"
            )
        for j, column in enumerate(columns):
            out[i, j] = _cell(row[j], column, schema.allow_nan, f"{what}[{i}]")
    return out


def _cell(value: Any, column: Column, allow_nan: bool, where: str) -> Any:
    kind = column.kind
    if value is None:
        if allow_nan:
            return None
        raise FeatureTypeError(
            f"{where} column {column.name!r} is null; this model takes no missing "
            "values"
        )
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        ok = False
    elif kind == "integer":
        ok = isinstance(value, int) or float(value).is_integer()
        value = int(value) if ok else value
    else:
        if value != value and not allow_nan or value in (math.inf, -math.inf):
            raise NonFiniteError(
                f"{where} column {column.name!r} is {value}: "
                + (
                    "NaN (missing) is allowed, infinity is not"
                    if allow_nan
                    else "this model takes neither NaN (missing) nor infinity"
                )
            )
        ok, value = True, float(value)
    if not ok:
        raise FeatureTypeError(
            f"{where} column {column.name!r} must be a {_KIND_WORDS[kind]}, got "
            f"{orjson.dumps(value, default=str).decode()[:60]}"
        )
    return value


def to_frame(x: npt.NDArray[Any], columns: tuple[Column, ...]) -> Any:
    """The pandas DataFrame a table model is called with: one column per
    input, typed as at fit time (float64, int64, bool or strings; a column
    with missing values keeps them as NaN or None)."""
    import pandas as pd

    data: dict[str, Any] = {}
    for j, column in enumerate(columns):
        values = x[:, j]
        missing = any(v is None for v in values)
        if column.kind == "number" or (column.kind == "integer" and missing):
            data[column.name] = values.astype(np.float64)
        elif column.kind == "integer":
            data[column.name] = values.astype(np.int64)
        elif column.kind == "boolean" and not missing:
            data[column.name] = values.astype(bool)
        else:
            data[column.name] = values
    return pd.DataFrame(data, columns=[c.name for c in columns])
