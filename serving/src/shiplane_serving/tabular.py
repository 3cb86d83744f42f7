"""Rows of a file, validated as a request's rows are: what batch scoring and
profiling feed the model.

A request is refused whole at its first bad value; a file is not. Each batch is
validated with the serving parsers (:func:`~shiplane_serving.protocol.common.to_matrix`)
and, only when that refuses it, row by row, so every bad row becomes a reject
with the same message a client would have heard, and the others go on.
Numeric-only models take a vectorised path (Arrow casts, one float64 matrix)
that applies the same rules: numbers only, no infinity, NaN only where the
model takes missing values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shiplane_contracts.tables import TableError
from shiplane_serving.errors import ServingError
from shiplane_serving.protocol.common import to_matrix
from shiplane_serving.types import Column, InputSchema

if TYPE_CHECKING:
    import pyarrow as pa

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


@dataclass
class Validated:
    """One batch after validation."""

    x: npt.NDArray[Any]
    """The good rows, as the model takes them (float64, or an object matrix)."""
    keep: npt.NDArray[np.bool_]
    """Which rows of the batch are in ``x``."""
    rejects: list[tuple[int, str]] = field(default_factory=list)
    """``(row in batch, reason)`` of every refused row."""


def check_columns(schema: pa.Schema, model: InputSchema, uri: str) -> None:
    """Refuse a file that lacks a column the model takes (before any row).

    Raises:
        TableError: naming the missing columns and the ones the file has.
    """
    missing = [n for n in model.feature_names if n not in schema.names]
    if missing:
        raise TableError(
            f"{uri} has no column {', '.join(map(repr, missing))}; the model takes "
            f"{list(model.feature_names)}, the file has {schema.names}"
        )


def validate(batch: pa.RecordBatch, model: InputSchema) -> Validated:
    """Validate one batch of a file against the model's input schema."""
    if model.typed:
        return _validate_table(batch, model)
    return _validate_numeric(batch, model)


def _validate_numeric(batch: pa.RecordBatch, model: InputSchema) -> Validated:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    x = np.empty((n, model.n_features), dtype=np.float64)
    reasons: dict[int, str] = {}
    for j, name in enumerate(model.feature_names):
        column = batch.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            try:
                column = pc.cast(column, pa.float64())
            except pa.ArrowInvalid:
                x[:, j] = _floats_one_by_one(column.to_pylist(), name, reasons)
                continue
        elif not (
            pa.types.is_integer(column.type)
            or pa.types.is_floating(column.type)
            or pa.types.is_null(column.type)
        ):
            for i in range(n):
                reasons.setdefault(
                    i, f"column {name!r} must be a number, its type is {column.type}"
                )
            continue
        x[:, j] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    bad = np.isinf(x) if model.allow_nan else ~np.isfinite(x)
    for i, j in np.argwhere(bad):
        value = x[i, j]
        reasons.setdefault(
            int(i),
            f"column {model.feature_names[j]!r} is {value}: "
            + (
                "NaN (missing) is allowed, infinity is not"
                if model.allow_nan
                else "this model takes neither NaN (missing) nor infinity"
            ),
        )
    keep = np.ones(n, dtype=bool)
    keep[list(reasons)] = False
    return Validated(x[keep], keep, sorted(reasons.items()))


def _floats_one_by_one(
    values: list[Any], name: str, reasons: dict[int, str]
) -> npt.NDArray[np.float64]:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            out[i] = float(value)
        except ValueError:
            reasons.setdefault(i, f"column {name!r} must be a number, got {value!r}")
    return out


def _validate_table(batch: pa.RecordBatch, model: InputSchema) -> Validated:
    names = list(model.feature_names)
    pending: dict[int, str] = {}
    columns = [
        _typed_values(batch.column(c.name).to_pylist(), c, pending)
        for c in model.columns
    ]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    keep = np.ones(len(rows), dtype=bool)
    keep[list(pending)] = False
    good = [r for r, k in zip(rows, keep, strict=True) if k]
    schema = _unbounded(model)
    try:
        x = to_matrix(good, schema, "rows") if good else _empty(names)
        return Validated(x, keep, sorted(pending.items()))
    except ServingError:
        pass  # some row is bad: find which, one by one
    reasons = dict(pending)
    cells = []
    for i, row in enumerate(rows):
        if i in reasons:
            continue
        try:
            cells.append(to_matrix([row], schema, "row")[0])
        except ServingError as exc:
            reasons[i] = exc.message.removeprefix("row[0] ")
    keep = np.ones(len(rows), dtype=bool)
    keep[list(reasons)] = False
    x = np.asarray(cells, dtype=object).reshape(len(cells), len(names))
    return Validated(x, keep, sorted(reasons.items()))


def _typed_values(
    values: list[Any], column: Column, reasons: dict[int, str]
) -> list[Any]:
    """A file's cells as JSON would carry them: CSV text of a number or boolean
    column becomes a number or boolean (an empty cell is missing)."""
    if column.kind == "string":
        return values
    out: list[Any] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            out.append(value)
            continue
        text = value.strip()
        if column.kind == "boolean":
            lowered = text.lower()
            parsed: Any = (
                True if lowered in _TRUE else False if lowered in _FALSE else value
            )
        else:
            try:
                number = float(text)
                parsed = (
                    int(number)
                    if column.kind == "integer" and number.is_integer()
                    else number
                )
            except ValueError:
                parsed = value
            if isinstance(parsed, float) and math.isnan(parsed):
                parsed = None
        if isinstance(parsed, str):
            reasons.setdefault(
                i, f"column {column.name!r} must be a {column.kind}, got {value!r}"
            )
        out.append(parsed)
    return out


def _unbounded(model: InputSchema) -> InputSchema:
    """The schema without the per-request row limit: a batch is not a request."""
    return InputSchema(
        feature_names=model.feature_names,
        allow_nan=model.allow_nan,
        max_rows=2**62,
        has_proba=model.has_proba,
        columns=model.columns,
    )


def _empty(names: list[str]) -> npt.NDArray[Any]:
    return np.empty((0, len(names)), dtype=object)
