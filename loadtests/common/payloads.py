"""Request bodies built from the model's own reference rows.

The rows come from the JSON fixture the tests use (``tests/fixtures/``), so the
load never sends data that no test has validated. Several shapes are accepted
because a fixture is written for people first::

    {"rows": [[30 floats], ...], "labels": [0, 1, ...]}  (or "data"/"X", "target"/"y")
    {"instances": [[...]], "labels": [...]}
    [{"features": [...], "label": 0}, ...]
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROW_KEYS = ("rows", "instances", "data", "X", "features")
_LABEL_KEYS = ("labels", "targets", "target", "truth", "y")


class PayloadError(ValueError):
    """The payload file is missing or does not hold usable rows."""


@dataclass(frozen=True)
class Payloads:
    """Feature rows with their ground truth, and the request bodies built from them."""

    rows: tuple[tuple[float, ...], ...]
    labels: tuple[Any, ...]
    source: Path

    @property
    def n_features(self) -> int:
        return len(self.rows[0])

    def sample(
        self, rng: random.Random, size: int
    ) -> tuple[list[list[float]], list[Any]]:
        """``size`` rows drawn with replacement, with their labels (may be empty)."""
        picks = [rng.randrange(len(self.rows)) for _ in range(size)]
        rows = [list(self.rows[i]) for i in picks]
        labels = [self.labels[i] for i in picks] if self.labels else []
        return rows, labels

    @staticmethod
    def v1_body(rows: list[list[float]]) -> dict[str, Any]:
        """KServe V1 ``:predict`` body."""
        return {"instances": rows}

    @staticmethod
    def v2_body(
        rows: list[list[float]], request_id: str | None = None
    ) -> dict[str, Any]:
        """Open Inference Protocol (V2) ``/infer`` body: one FP64 [rows, features]."""
        body: dict[str, Any] = {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [len(rows), len(rows[0])],
                    "datatype": "FP64",
                    "data": [value for row in rows for value in row],
                }
            ]
        }
        if request_id is not None:
            body["id"] = request_id
        return body


def _pick(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in document:
            return document[key]
    return None


def _parse(document: Any) -> tuple[list[Any], list[Any]]:
    if isinstance(document, list) and document and isinstance(document[0], dict):
        rows = [_pick(item, _ROW_KEYS) for item in document]
        labels = [_pick(item, ("label", *_LABEL_KEYS)) for item in document]
        return rows, [] if all(label is None for label in labels) else labels
    if isinstance(document, dict):
        rows = _pick(document, _ROW_KEYS)
        labels = _pick(document, _LABEL_KEYS) or []
        return rows if isinstance(rows, list) else [], labels
    if isinstance(document, list):
        return document, []
    return [], []


def load_payloads(path: str | Path) -> Payloads:
    """Read and check the rows once, before any user starts.

    Raises:
        PayloadError: the file is missing, not JSON, empty, ragged, not numeric,
            or its labels do not line up with its rows.
    """
    source = Path(path)
    try:
        document = json.loads(source.read_text())
    except FileNotFoundError as exc:
        raise PayloadError(
            f"payload file {source} does not exist: pass --payload-file "
            "(the default is the test fixture tests/fixtures/breast_cancer_rows.json)"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise PayloadError(
            f"payload file {source} is not readable JSON: {exc}"
        ) from exc
    raw_rows, raw_labels = _parse(document)
    if not raw_rows:
        raise PayloadError(
            f"payload file {source} holds no rows: expected a 'rows' or 'instances' "
            "list of feature lists"
        )
    rows: list[tuple[float, ...]] = []
    for index, row in enumerate(raw_rows):
        if not isinstance(row, list) or not row:
            raise PayloadError(f"{source}: row {index} is not a non-empty list")
        try:
            values = tuple(float(value) for value in row)
        except (TypeError, ValueError) as exc:
            raise PayloadError(f"{source}: row {index} is not numeric: {exc}") from exc
        if not all(math.isfinite(value) for value in values):
            raise PayloadError(f"{source}: row {index} has NaN or infinity")
        rows.append(values)
    width = len(rows[0])
    ragged = [i for i, row in enumerate(rows) if len(row) != width]
    if ragged:
        raise PayloadError(
            f"{source}: rows {ragged[:5]} do not have {width} features like row 0"
        )
    if raw_labels and len(raw_labels) != len(rows):
        raise PayloadError(f"{source}: {len(raw_labels)} labels for {len(rows)} rows")
    return Payloads(tuple(rows), tuple(raw_labels), source)
