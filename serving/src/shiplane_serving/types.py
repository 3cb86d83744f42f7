"""The types every serving path shares: the loaded model's input schema, a
validated request, and what the model answered. Protocol modules build them,
the dataplane consumes them, batch scoring reuses them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

OutputKind = Literal["predict", "predict_proba"]
OUTPUT_KINDS: Final[tuple[OutputKind, ...]] = ("predict", "predict_proba")
FloatMatrix = npt.NDArray[np.float64]


ColumnKind = Literal["number", "integer", "boolean", "string"]
NUMERIC_KINDS: Final = frozenset({"number", "integer"})


@dataclass(frozen=True)
class Column:
    """One named input column and the JSON values it takes."""

    name: str
    kind: ColumnKind = "number"


@dataclass(frozen=True)
class InputSchema:
    """What a request must look like for the loaded model.

    ``columns`` are set for a model that takes a table (strings, booleans, or
    columns selected by name): rows are then validated per column into an
    object matrix, which the model gets as a DataFrame. Without them every
    feature is a number and rows become one float64 matrix (the fast path).
    """

    feature_names: tuple[str, ...]
    allow_nan: bool
    max_rows: int
    has_proba: bool
    columns: tuple[Column, ...] = ()

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def typed(self) -> bool:
        return bool(self.columns)


@dataclass
class ParsedRequest:
    """A validated request: rows to predict and what to answer with."""

    x: npt.NDArray[Any]
    """float64 rows, or (a typed schema) an object matrix in column order."""
    outputs: tuple[OutputKind, ...]
    client_id: str | None = None

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])


@dataclass
class Prediction:
    """What the model answered for one request's rows."""

    labels: npt.NDArray[Any]
    """Predicted class (classification) or value (regression) per row."""
    proba: FloatMatrix | None
    """Class probabilities per row (classification only)."""
    class_index: npt.NDArray[np.intp] | None = None
    """Index of each row's class in ``classes_`` (classification only)."""
