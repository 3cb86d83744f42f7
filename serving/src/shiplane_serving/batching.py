"""Opportunistic batching: one model call at a time per worker, and every request
that arrived while it ran goes into the next call together.

scikit-learn spends most of a small ``predict_proba`` call on per-call overhead
(input validation, dispatch), so 64 rows cost about what one row costs. Calling
the model once per request caps a worker at roughly one request per call time;
gathering whatever queued during the previous call lifts that cap under load.

There is no timer: a request that finds the model idle is called at once, so
latency at low load does not change (MLServer's adaptive batching waits for a
batch to fill and raised p99 to 113 ms at concurrency 16). The runner starts
with ``call_soon`` semantics (a new task), so every request already parsed in
the same event-loop turn joins the first call too.

Where the call runs (``executor``):

- inline (``None``, the default): on the event loop. Requests that arrive during
  a call wait in the socket buffers and are all parsed and queued in the next
  loop turn, so they still form one batch. This avoids two thread switches per
  call, which measured 2-3 ms at p50 on a busy 2-core machine.
- a thread pool of one thread: the loop keeps parsing while the model runs,
  which pays off when the model call releases the GIL for long (large batches,
  big forests).

Results are split back by row offsets. If a combined call fails, every request
in it is retried alone, so a bad request fails only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from shiplane_serving.errors import ModelNotReady
from shiplane_serving.types import FloatMatrix, Prediction

log = logging.getLogger(__name__)

PredictFn = Callable[[FloatMatrix], Prediction]
AfterFn = Callable[[FloatMatrix, Prediction], None]
"""Bookkeeping per successful model call (metrics, drift), run after its answers
are on their way."""
BatchHook = Callable[[int, int], None]
"""Called per model call with (rows in the call, requests that were waiting)."""


@dataclass
class _Pending:
    x: FloatMatrix
    future: asyncio.Future[Prediction]
    alone: bool = False
    """Retried by itself after a combined call that held it failed."""


def split_prediction(pred: Prediction, start: int, stop: int) -> Prediction:
    """The rows ``start:stop`` of a combined prediction."""
    proba = pred.proba[start:stop] if pred.proba is not None else None
    index = pred.class_index[start:stop] if pred.class_index is not None else None
    return Prediction(labels=pred.labels[start:stop], proba=proba, class_index=index)


class OpportunisticBatcher:
    """Serialises model calls and merges the requests queued behind each one.

    Args:
        predict: the model call for a float64 matrix; thread-safe enough to run
            in ``executor`` (only one call runs at a time).
        max_rows: most rows in one combined call; a larger request runs alone.
        executor: where model calls run; ``None`` runs them inline on the event
            loop (see the module doc).
        on_batch: optional hook per model call, for metrics.
        after: optional bookkeeping per successful call; it runs once the
            call's requests have been resumed (their responses written), so it
            adds nothing to their latency.
        enabled: when false every request is its own call (the baseline).
    """

    def __init__(
        self,
        predict: PredictFn,
        max_rows: int,
        executor: Executor | None = None,
        on_batch: BatchHook | None = None,
        enabled: bool = True,
        after: AfterFn | None = None,
    ) -> None:
        self._after = after
        self._predict = predict
        self._max_rows = max_rows
        self._executor = executor
        self._on_batch = on_batch
        self._enabled = enabled
        self._queue: deque[_Pending] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._scheduled = False
        self._closed = False

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the model right now."""
        return len(self._queue)

    async def submit(self, x: FloatMatrix) -> Prediction:
        """Predict ``x`` (one request's rows), possibly together with others.

        Raises:
            ModelNotReady: the batcher is shut down.
            Exception: whatever the model raised for these rows alone.
        """
        if self._closed:
            raise ModelNotReady("the server is shutting down")
        loop = asyncio.get_running_loop()
        if not self._enabled:
            if self._on_batch is not None:
                self._on_batch(int(x.shape[0]), 1)
            pred = await self._call(x)
            self._bookkeeping(x, pred)
            return pred
        future: asyncio.Future[Prediction] = loop.create_future()
        self._queue.append(_Pending(x, future))
        if not self._scheduled:
            self._scheduled = True
            if self._executor is None:
                # A plain callback, not a task: it runs after every request
                # already parsed in this loop turn has queued, and costs less.
                loop.call_soon(self._run_inline, loop)
            else:
                self._runner = loop.create_task(self._run())
        return await future

    def _take(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        if batch[0].alone:
            return batch
        rows = int(batch[0].x.shape[0])
        while self._queue and not self._queue[0].alone:
            nxt = int(self._queue[0].x.shape[0])
            if rows + nxt > self._max_rows:
                break
            batch.append(self._queue.popleft())
            rows += nxt
        return batch

    def _next_call(self) -> tuple[list[_Pending], FloatMatrix] | None:
        """The requests of the next model call (those whose client is still
        there) and their rows combined; None when the queue is empty."""
        while self._queue:
            waiting = len(self._queue)
            batch = [p for p in self._take() if not p.future.done()]
            if not batch:
                continue
            x = batch[0].x if len(batch) == 1 else np.concatenate([p.x for p in batch])
            if self._on_batch is not None:
                self._on_batch(int(x.shape[0]), waiting)
            return batch, x
        return None

    def _failed(self, batch: list[_Pending], exc: Exception) -> None:
        """A model call raised: a lone request gets the error; the requests of
        a combined call go back to the front of the queue, each to be called
        by itself, so a bad request fails only itself."""
        if len(batch) == 1:
            _resolve(batch[0], exc=exc)
            return
        for pending in reversed(batch):
            pending.alone = True
            self._queue.appendleft(pending)

    async def _call(self, x: FloatMatrix) -> Prediction:
        if self._executor is None:
            return self._predict(x)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._predict, x)

    # The two drain loops differ only in where the model runs: inline on the
    # loop's thread, or awaited in the executor.

    def _run_inline(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drain the queue with model calls on the loop's own thread."""
        try:
            while (call := self._next_call()) is not None:
                batch, x = call
                try:
                    pred = self._predict(x)
                except Exception as exc:
                    self._failed(batch, exc)
                    continue
                self._deliver(batch, pred)
                if self._after is not None:
                    # Queued behind the resumed requests: they answer first.
                    loop.call_soon(self._bookkeeping, x, pred)
        finally:
            self._scheduled = False

    async def _run(self) -> None:
        """Drain the queue with model calls in the executor."""
        try:
            while (call := self._next_call()) is not None:
                batch, x = call
                try:
                    pred = await self._call(x)
                except Exception as exc:
                    self._failed(batch, exc)
                    continue
                self._deliver(batch, pred)
                if self._after is not None:
                    # Let the resumed requests write their responses first.
                    await asyncio.sleep(0)
                    self._bookkeeping(x, pred)
        finally:
            self._runner = None
            self._scheduled = False

    @staticmethod
    def _deliver(batch: list[_Pending], pred: Prediction) -> None:
        start = 0
        for pending in batch:
            stop = start + int(pending.x.shape[0])
            _resolve(pending, split_prediction(pred, start, stop))
            start = stop

    def _bookkeeping(self, x: FloatMatrix, pred: Prediction) -> None:
        if self._after is None:
            return
        try:
            self._after(x, pred)
        except Exception:  # metrics must never fail a request or stop the runner
            log.exception("bookkeeping after a model call failed")

    async def close(self) -> None:
        """Stop taking requests and wait until every queued one is answered."""
        self._closed = True
        while self._scheduled or self._queue:
            if self._runner is not None:
                await asyncio.shield(self._runner)
            else:
                await asyncio.sleep(0)
        await asyncio.sleep(0)  # let the last bookkeeping callbacks run


def _resolve(
    pending: _Pending, pred: Prediction | None = None, exc: BaseException | None = None
) -> None:
    if pending.future.done():  # the client went away
        return
    if exc is not None:
        pending.future.set_exception(exc)
    else:
        assert pred is not None
        pending.future.set_result(pred)
