"""Request bodies and answer checks, one per wire format a server speaks.

Every server gets its own correct body, and its first answer is checked
against the model's own ``predict_proba`` before any load: a server that
answers errors or wrong numbers is never timed as if it were fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.bench.model import MODEL_NAME, BenchModel

Body = dict[str, Any]


@dataclass(frozen=True)
class Protocol:
    """One request/answer format on one URL path."""

    key: str
    label: str
    """How the table names it."""
    path: str
    make_body: Callable[[BenchModel, int], Body]
    read_proba: Callable[[Any], Any]
    """Class probabilities out of a decoded answer (raises on a bad shape)."""

    def check(self, model: BenchModel, rows: int, answer: Any) -> str | None:
        """None when ``answer`` holds the right probabilities for the first
        ``rows`` rows, else what is wrong."""
        try:
            got = np.asarray(self.read_proba(answer), dtype=np.float64)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return f"unexpected answer ({type(exc).__name__}: {exc}): {answer!r:.300}"
        want = model.expected_proba(rows)
        if got.shape != want.shape:
            return f"answer has shape {got.shape}, expected {want.shape}"
        if not np.allclose(got, want, rtol=0, atol=1e-9):
            return "answer differs from the model's own predict_proba"
        return None


def _v1_body(model: BenchModel, rows: int) -> Body:
    return {"instances": model.rows(rows)}


def _v2_body(model: BenchModel, rows: int) -> Body:
    data = model.rows(rows)
    return {
        "inputs": [
            {
                "name": "input-0",
                "shape": [rows, len(data[0])],
                "datatype": "FP64",
                "data": [v for row in data for v in row],
            }
        ],
        # MLServer's sklearn runtime answers `predict` unless asked; every other
        # server computes probabilities, so ask for the same work.
        "outputs": [{"name": "predict_proba"}],
    }


def _v2_proba(answer: Any) -> Any:
    output = answer["outputs"][0]
    return np.asarray(output["data"], dtype=np.float64).reshape(output["shape"])


def _split_body(model: BenchModel, rows: int) -> Body:
    return {
        "dataframe_split": {"columns": model.feature_names, "data": model.rows(rows)}
    }


def _inputs_body(model: BenchModel, rows: int) -> Body:
    return {"inputs": model.rows(rows)}


def _predictions(answer: Any) -> Any:
    return answer["predictions"]


V1 = Protocol("v1", "V1", f"/v1/models/{MODEL_NAME}:predict", _v1_body, _predictions)
V2 = Protocol("v2", "V2", f"/v2/models/{MODEL_NAME}/infer", _v2_body, _v2_proba)
MLFLOW_SPLIT = Protocol(
    "mlflow-split", "dataframe_split", "/invocations", _split_body, _predictions
)
MLFLOW_INPUTS = Protocol(
    "mlflow-inputs", "inputs (tensor)", "/invocations", _inputs_body, _predictions
)
