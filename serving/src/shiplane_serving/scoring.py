"""Batch scoring: a model version over a CSV or Parquet file, in bounded memory.

The model loads exactly as a server loads it (:class:`Dataplane`: the same URI
resolution, trust list and fast path) and rows are validated as requests are
(:mod:`shiplane_serving.tabular`). The input streams in batches, predictions
stream out next to an id column, and rows that fail validation go to a rejects
file with their reason. Outputs appear under their names only when the whole
run succeeded; a run that fails says how far it got and leaves no output that
looks complete.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import orjson

from shiplane_contracts import tables
from shiplane_contracts.tables import TableError, TableWriter
from shiplane_serving.dataplane import Dataplane
from shiplane_serving.errors import ValueRefused
from shiplane_serving.metrics import ServingMetrics
from shiplane_serving.settings import ServingSettings
from shiplane_serving.tabular import Validated, check_columns, validate
from shiplane_serving.types import Prediction

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

ROW_NUMBER = "row"
"""The id column written when the input names none: the row's 0-based position."""


class ScoringError(RuntimeError):
    """A scoring run could not finish; the message says where and why."""


@dataclass
class ScoreSummary:
    """What one run did."""

    model_uri: str
    model_version: str
    rows_read: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0


class Progress:
    """Progress on stderr: one updating line on a terminal, a line every few
    seconds in a log."""

    def __init__(self, total: int | None, out: TextIO = sys.stderr) -> None:
        self.total = total
        self.out = out
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = out.isatty()

    def update(self, done: int, rejected: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and not self._tty and now - self._last < 5.0:
            return
        self._last = now
        rate = done / max(now - self.started, 1e-9)
        of = f" / {self.total:,} ({100 * done / self.total:.0f}%)" if self.total else ""
        line = f"scored {done:,}{of} rows, {rejected:,} rejected, {rate:,.0f} rows/s"
        if self._tty:
            self.out.write("\r" + line + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def score_file(
    settings: ServingSettings,
    input_uri: str,
    output_uri: str,
    rejects_uri: str,
    id_column: str = "",
    batch_rows: int = 10_000,
    progress: Callable[[int, int, bool], None] | None = None,
) -> ScoreSummary:
    """Score every row of ``input_uri`` with ``settings.model_uri``.

    Raises:
        ScoringError: the model does not load, the input cannot be read or
            lacks a column, or an output cannot be written (nothing is left
            under the output names then).
    """
    started = time.monotonic()
    dataplane = Dataplane(
        settings.model_copy(update={"drift": False}), ServingMetrics()
    )
    if not dataplane.load():
        raise ScoringError(
            f"model {settings.model_uri} did not load: {dataplane.load_error}"
        )
    schema = dataplane.require_ready()
    summary = ScoreSummary(settings.model_uri, dataplane.version)
    try:
        source = tables.locate(input_uri)
        out_location = tables.locate(output_uri)
        rejects_location = tables.locate(rejects_uri)
        total = tables.count_rows(source)
    except TableError as exc:
        raise ScoringError(str(exc)) from exc
    report = progress or Progress(total).update
    writers: list[TableWriter] = []
    predictions: TableWriter | None = None
    rejects: TableWriter | None = None
    import pyarrow as pa

    try:
        for batch in tables.read_batches(source, batch_rows, schema.feature_names):
            if summary.rows_read == 0:
                check_columns(batch.schema, schema, input_uri)
                if id_column and id_column not in batch.schema.names:
                    raise TableError(
                        f"{input_uri} has no id column {id_column!r}; it has "
                        f"{batch.schema.names}"
                    )
            ids = _ids(batch, id_column, summary.rows_read)
            checked = validate(batch, schema)
            pred = (
                _predict_refusing_rows(dataplane, checked)
                if checked.x.shape[0]
                else None
            )
            if pred is not None and checked.x.shape[0]:
                out = _predictions_batch(
                    id_column or ROW_NUMBER,
                    ids.filter(pa.array(checked.keep)),
                    pred,
                    dataplane.class_labels,
                )
                if predictions is None:
                    predictions = TableWriter(out_location, out.schema)
                    writers.append(predictions)
                predictions.write(out)
            if checked.rejects:
                bad = _rejects_batch(batch, ids, checked.rejects, schema.feature_names)
                if rejects is None:
                    rejects = TableWriter(rejects_location, bad.schema)
                    writers.append(rejects)
                rejects.write(bad)
            summary.rows_read += batch.num_rows
            summary.rows_scored += int(checked.x.shape[0])
            summary.rows_rejected += len(checked.rejects)
            report(summary.rows_read, summary.rows_rejected, False)
        if summary.rows_read == 0:
            raise TableError(f"{input_uri} has no rows")
        for writer in writers:
            writer.close()
    except (TableError, ValueError, OSError) as exc:
        for writer in writers:
            writer.abort()
        raise ScoringError(
            f"scoring stopped after {summary.rows_read:,} rows; nothing was "
            f"written: {exc}"
        ) from exc
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    finally:
        dataplane.stop()
    report(summary.rows_read, summary.rows_rejected, True)
    summary.seconds = time.monotonic() - started
    return summary


def _predict_refusing_rows(dataplane: Dataplane, checked: Validated) -> Prediction:
    """Predict a batch; when the model refuses it (a category its encoder never
    saw), predict row by row so only the refused rows become rejects."""
    try:
        return dataplane.predict_rows(checked.x)
    except ValueRefused:
        pass
    kept = np.flatnonzero(checked.keep)
    answers: list[Prediction] = []
    good: list[int] = []
    for k, row in enumerate(kept):
        try:
            answers.append(dataplane.predict_rows(checked.x[k : k + 1]))
            good.append(k)
        except ValueRefused as exc:
            checked.rejects.append((int(row), exc.message))
            checked.keep[row] = False
    checked.rejects.sort()
    checked.x = checked.x[good]
    if not answers:
        return Prediction(labels=np.empty(0), proba=None)
    probas = [a.proba for a in answers if a.proba is not None]
    indices = [a.class_index for a in answers if a.class_index is not None]
    return Prediction(
        labels=np.concatenate([a.labels for a in answers]),
        proba=np.concatenate(probas) if probas else None,
        class_index=np.concatenate(indices) if indices else None,
    )


def _ids(batch: pa.RecordBatch, id_column: str, first_row: int) -> pa.Array:
    import pyarrow as pa

    if id_column:
        return batch.column(id_column)
    return pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))


def _predictions_batch(
    id_name: str, ids: pa.Array, pred: Prediction, class_labels: list[str]
) -> pa.RecordBatch:
    """``id, prediction[, proba_CLASS...]`` for the scored rows."""
    import pyarrow as pa

    columns: dict[str, Any] = {
        id_name: ids,
        "prediction": pa.array(pred.labels.tolist()),
    }
    if pred.proba is not None:
        for j, label in enumerate(class_labels):
            columns[f"proba_{label}"] = pa.array(pred.proba[:, j])
    return pa.RecordBatch.from_pydict(columns)


def _rejects_batch(
    batch: pa.RecordBatch,
    ids: pa.Array,
    rejects: list[tuple[int, str]],
    names: tuple[str, ...],
) -> pa.RecordBatch:
    """``id, reason, row`` (the row's model columns as JSON) per refused row."""
    import pyarrow as pa

    rows = [i for i, _ in rejects]
    picked = batch.select(list(names)).take(pa.array(rows)).to_pylist()
    return pa.RecordBatch.from_pydict(
        {
            "id": ids.take(pa.array(rows)),
            "reason": [reason for _, reason in rejects],
            "row": [orjson.dumps(r, default=str).decode() for r in picked],
        }
    )


def default_rejects(output_uri: str) -> str:
    """``out.parquet`` -> ``out.rejects.parquet``: next to the output (a URI
    keeps its scheme and bucket)."""
    stem, dot, suffix = output_uri.rpartition(".")
    return (
        f"{stem}.rejects.{suffix}"
        if dot and "/" not in suffix
        else f"{output_uri}.rejects"
    )
