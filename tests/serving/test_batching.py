"""Opportunistic batching: results never cross between requests, a bad request
fails alone, a lone request is never delayed, shutdown drains the queue; and the
same against the live server with concurrent V1/V2, predict/predict_proba."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiplane_serving.batching import OpportunisticBatcher
from shiplane_serving.types import FloatMatrix, Prediction
from tests.promtext import total
from tests.serving.conftest import Server

POISON = -999.0


class RecordingModel:
    """A model whose answer is a function of each row alone (so a crossed row
    shows), that fails on a poisoned row, and records its calls."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[int] = []
        self.delay_s = delay_s

    def __call__(self, x: FloatMatrix) -> Prediction:
        self.calls.append(int(x.shape[0]))
        if (x == POISON).any():
            raise ValueError("poisoned row")
        if self.delay_s:
            import time

            time.sleep(self.delay_s)
        return Prediction(labels=x[:, 0] * 2 + x[:, 1], proba=x[:, :2] / 10)


async def _burst(
    batcher: OpportunisticBatcher, requests: list[FloatMatrix]
) -> list[Prediction | BaseException]:
    async def one(x: FloatMatrix) -> Prediction:
        await asyncio.sleep(random.random() * 0.002)
        return await batcher.submit(x)

    return await asyncio.gather(*(one(x) for x in requests), return_exceptions=True)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=40),
    poisoned=st.sets(st.integers(0, 39), max_size=3),
    max_rows=st.integers(1, 16),
    threaded=st.booleans(),
)
def test_results_never_cross_and_bad_requests_fail_alone(
    sizes: list[int], poisoned: set[int], max_rows: int, threaded: bool
) -> None:
    model = RecordingModel()
    requests = []
    for i, n in enumerate(sizes):
        x = np.column_stack([np.full(n, float(i)), np.arange(n, dtype=float)])
        if i in poisoned:
            x[-1, 1] = POISON
        requests.append(x)

    async def run() -> list[Prediction | BaseException]:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1) if threaded else None
        batcher = OpportunisticBatcher(model, max_rows, pool)
        try:
            return await _burst(batcher, requests)
        finally:
            await batcher.close()
            if pool:
                pool.shutdown()

    results = asyncio.run(run())
    for i, (x, result) in enumerate(zip(requests, results, strict=True)):
        if i in poisoned:
            assert isinstance(result, ValueError)
            continue
        assert isinstance(result, Prediction), result
        np.testing.assert_array_equal(result.labels, x[:, 0] * 2 + x[:, 1])
        assert result.proba is not None
        np.testing.assert_array_equal(result.proba, x[:, :2] / 10)
    # every good row was predicted in some call, never more rows than allowed
    # (a single larger request runs alone)
    assert all(c <= max(max_rows, max(sizes)) for c in model.calls)


def test_a_lone_request_goes_straight_through() -> None:
    model = RecordingModel()

    async def run() -> None:
        batcher = OpportunisticBatcher(model, 64)
        for i in range(5):
            await batcher.submit(np.array([[float(i), 1.0]]))
        await batcher.close()

    asyncio.run(run())
    assert model.calls == [1, 1, 1, 1, 1]


def test_requests_queued_behind_a_busy_model_share_one_call() -> None:
    model = RecordingModel(delay_s=0.05)
    seen: list[tuple[int, int]] = []

    async def run() -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            batcher = OpportunisticBatcher(
                model, 64, pool, on_batch=lambda r, w: seen.append((r, w))
            )
            first = asyncio.ensure_future(batcher.submit(np.array([[0.0, 0.0]])))
            await asyncio.sleep(0.01)  # the first call is running now
            rest = [batcher.submit(np.array([[float(i), 0.0]])) for i in range(1, 11)]
            results = await asyncio.gather(first, *rest)
            await batcher.close()
        assert [float(r.labels[0]) for r in results] == [2.0 * i for i in range(11)]

    asyncio.run(run())
    assert model.calls == [1, 10]
    assert seen == [(1, 1), (10, 10)]


def test_close_drains_the_queue_and_then_refuses() -> None:
    model = RecordingModel(delay_s=0.02)

    async def run() -> None:
        from concurrent.futures import ThreadPoolExecutor

        from shiplane_serving.errors import ModelNotReady

        with ThreadPoolExecutor(1) as pool:
            batcher = OpportunisticBatcher(model, 4, pool)
            pending = [
                asyncio.ensure_future(batcher.submit(np.array([[float(i), 0.0]])))
                for i in range(9)
            ]
            await asyncio.sleep(0)
            await batcher.close()
            assert all(p.done() and not p.exception() for p in pending)
            with pytest.raises(ModelNotReady):
                await batcher.submit(np.array([[1.0, 0.0]]))

    asyncio.run(run())
    assert sum(model.calls) == 9


# ---- against the live server ------------------------------------------------------


@pytest.mark.mlflow
def test_concurrent_mixed_clients_get_exactly_their_own_answers(
    server: Server, breast_cancer_rows: dict[str, Any]
) -> None:
    """32 concurrent clients, distinct rows, V1 and V2, labels and probabilities,
    one of them with a bad row: each gets its own answer; metrics count every
    request and row once."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data
    rng = np.random.default_rng(7)
    picks = [
        rng.choice(len(data), size=int(rng.integers(1, 4)), replace=False)
        for _ in range(96)
    ]
    url = server.url
    model = server.model

    def body(i: int, rows: list[list[float]]) -> tuple[str, dict[str, Any]]:
        if i % 3 == 0:
            return f"{url}/v1/models/{model}:predict_proba", {"instances": rows}
        if i % 3 == 1:
            return f"{url}/v1/models/{model}:predict", {"instances": rows}
        flat = [v for r in rows for v in r]
        return f"{url}/v2/models/{model}/infer", {
            "inputs": [
                {
                    "name": "x",
                    "shape": [len(rows), 30],
                    "datatype": "FP64",
                    "data": flat,
                }
            ],
            "outputs": [{"name": "predict_proba"}, {"name": "predict"}],
        }

    # The truth, one request at a time (no batching possible).
    expected_proba = {}
    with httpx.Client(timeout=10) as client:
        all_rows = sorted({int(i) for p in picks for i in p})
        resp = client.post(
            f"{url}/v1/models/{model}:predict_proba",
            json={"instances": data[all_rows].tolist()},
        )
        for i, p in zip(all_rows, resp.json()["predictions"], strict=True):
            expected_proba[i] = p
    before = server.metrics()

    async def burst() -> list[tuple[int, httpx.Response]]:
        sem = asyncio.Semaphore(32)
        async with httpx.AsyncClient(
            timeout=20, limits=httpx.Limits(max_connections=32)
        ) as c:

            async def one(i: int) -> tuple[int, httpx.Response]:
                rows = data[picks[i]].tolist()
                if i == 50:
                    rows[0][3] = "not a number"
                target, doc = body(i, rows)
                async with sem:
                    return i, await c.post(target, json=doc)

            return await asyncio.gather(*(one(i) for i in range(len(picks))))

    results = asyncio.run(burst())
    good_rows = 0
    for i, resp in results:
        if i == 50:
            assert resp.status_code == 422 and "not a number" in resp.text
            continue
        assert resp.status_code == 200, resp.text
        want = [expected_proba[int(k)] for k in picks[i]]
        labels = [int(np.argmax(w)) for w in want]
        doc = resp.json()
        if i % 3 == 0:
            np.testing.assert_allclose(doc["predictions"], want, rtol=1e-12)
        elif i % 3 == 1:
            assert doc["predictions"] == labels
        else:
            out = {o["name"]: o for o in doc["outputs"]}
            np.testing.assert_allclose(
                np.reshape(out["predict_proba"]["data"], (-1, 2)), want, rtol=1e-12
            )
            assert out["predict"]["data"] == labels
        good_rows += len(picks[i])
    after = server.metrics()

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("shiplane_requests_total", code="200") == len(picks) - 1
    assert delta("shiplane_requests_total", code="422") == 1
    assert delta("shiplane_request_rows_total") == good_rows
    assert delta("shiplane_predictions_total") == good_rows
    assert delta("shiplane_batch_rows_sum") == good_rows
    assert delta("shiplane_drift_window_rows") == good_rows
    calls = delta("shiplane_batch_rows_count")
    assert calls <= len(picks) - 1
    print(f"{len(picks) - 1} requests answered in {calls:.0f} model calls")


def test_threads_are_not_used_by_default() -> None:
    # the inline mode runs model calls on the event loop's own thread
    model_threads: set[int] = set()

    def predict(x: FloatMatrix) -> Prediction:
        model_threads.add(threading.get_ident())
        return Prediction(labels=x[:, 0], proba=None)

    async def run() -> None:
        batcher = OpportunisticBatcher(predict, 8)
        await asyncio.gather(*(batcher.submit(np.ones((1, 2))) for _ in range(5)))

    asyncio.run(run())
    assert model_threads == {threading.get_ident()}
