"""The serving runtime as a client sees it: real processes, real MLflow, real HTTP
and gRPC, on 127.0.0.1."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.promtext import samples, total
from tests.serving.conftest import Server, rows_of

pytestmark = pytest.mark.mlflow

MODEL = "breast-cancer"


def test_v1_predict_names_version_and_request_id(
    server: Server, registered_model: Any, breast_cancer_rows: dict[str, Any]
) -> None:
    rows = rows_of(breast_cancer_rows)
    resp = server.v1(rows)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["predictions"] == breast_cancer_rows["labels"]
    assert body["model_version"] == registered_model.version
    assert resp.headers["x-shiplane-model-version"] == registered_model.version
    assert body["request_id"] == resp.headers["x-shiplane-request-id"]


def test_v1_predict_proba(server: Server, breast_cancer_rows: dict[str, Any]) -> None:
    resp = server.v1(rows_of(breast_cancer_rows), verb="predict_proba")
    assert resp.status_code == 200, resp.text
    proba = np.asarray(resp.json()["predictions"])
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(proba.argmax(axis=1)) == breast_cancer_rows["labels"]


def test_v1_rows_as_objects_by_feature_name(
    server: Server, breast_cancer_rows: dict[str, Any]
) -> None:
    names = breast_cancer_rows["feature_names"]
    rows = [dict(zip(names, r, strict=True)) for r in rows_of(breast_cancer_rows)]
    resp = httpx.post(
        f"{server.url}/v1/models/{MODEL}:predict", json={"instances": rows}, timeout=10
    )
    assert resp.json()["predictions"] == breast_cancer_rows["labels"]


def test_v2_infer_both_outputs(
    server: Server, registered_model: Any, breast_cancer_rows: dict[str, Any]
) -> None:
    rows = rows_of(breast_cancer_rows)
    flat = [v for r in rows for v in r]
    resp = httpx.post(
        f"{server.url}/v2/models/{MODEL}/infer",
        json={
            "id": "client-42",
            "inputs": [
                {"name": "x", "shape": [8, 30], "datatype": "FP64", "data": flat}
            ],
            "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"] == "client-42"
    assert body["model_version"] == registered_model.version
    assert body["parameters"]["request_id"] == resp.headers["x-shiplane-request-id"]
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["predict"]["data"] == breast_cancer_rows["labels"]
    assert outputs["predict"]["datatype"] == "INT64"
    assert outputs["predict_proba"]["shape"] == [8, 2]


def test_v2_metadata_and_health(server: Server, registered_model: Any) -> None:
    meta = httpx.get(f"{server.url}/v2/models/{MODEL}", timeout=5).json()
    assert meta["versions"] == [registered_model.version]
    assert meta["inputs"][0]["shape"] == [-1, 30]
    assert meta["parameters"]["alias"] == "champion"
    assert (
        httpx.get(f"{server.url}/v2/models/{MODEL}/ready", timeout=5).status_code == 200
    )
    assert httpx.get(f"{server.url}/v2/health/live", timeout=5).status_code == 200
    v1 = httpx.get(f"{server.url}/v1/models/{MODEL}", timeout=5).json()
    assert v1 == {"name": MODEL, "ready": True}
    versioned = httpx.get(
        f"{server.url}/v2/models/{MODEL}/versions/{registered_model.version}", timeout=5
    )
    assert versioned.status_code == 200
    wrong = httpx.get(f"{server.url}/v2/models/{MODEL}/versions/999", timeout=5)
    assert wrong.status_code == 404 and "999" in wrong.json()["error"]


def test_model_info_metric_names_alias_and_run(
    server: Server, registered_model: Any
) -> None:
    info = samples(
        server.metrics(),
        "shiplane_model_info",
        model=MODEL,
        model_version=registered_model.version,
        alias="champion",
        run_id=registered_model.run_id,
    )
    assert info == [1.0]
    assert samples(server.metrics(), "shiplane_model_ready", model=MODEL) == [1.0]


def test_grpc_infer(server: Server, breast_cancer_rows: dict[str, Any]) -> None:
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    rows = rows_of(breast_cancer_rows)
    request = pb.ModelInferRequest(
        model_name=MODEL,
        id="g-1",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name="x",
                datatype="FP64",
                shape=[8, 30],
                contents=pb.InferTensorContents(
                    fp64_contents=[v for r in rows for v in r]
                ),
            )
        ],
    )
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
        response = stub.ModelInfer(request, timeout=10)
        assert response.model_version
        assert (
            list(response.outputs[0].contents.int64_contents)
            == breast_cancer_rows["labels"]
        )
        with pytest.raises(grpc.RpcError) as bad:
            stub.ModelInfer(
                pb.ModelInferRequest(
                    model_name=MODEL,
                    inputs=[
                        pb.ModelInferRequest.InferInputTensor(
                            name="x",
                            datatype="FP64",
                            shape=[1, 3],
                            contents=pb.InferTensorContents(fp64_contents=[1, 2, 3]),
                        )
                    ],
                ),
                timeout=10,
            )
        assert "30" in (bad.value.details() or "")
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert total(server.metrics(), "shiplane_requests_total", protocol="grpc") >= 2


BAD_V1: list[tuple[str, bytes, int, str, str]] = [
    ("malformed JSON", b'{"instances": [[1,2', 400, "bad_json", "not valid JSON"),
    ("not an object", b"[1, 2]", 400, "bad_request", "instances"),
    ("no instances", b'{"rows": []}', 400, "bad_request", "instances"),
    (
        "feature count",
        b'{"instances": [[1.0, 2.0]]}',
        422,
        "feature_count",
        "expects 30",
    ),
    ("strings", b'{"instances": [["a"' + b", 1.0" * 29 + b"]]}", 422, "type", "number"),
    (
        "ragged",
        b'{"instances": [[1.0], [' + b"1.0," * 29 + b"1.0]]}",
        422,
        "feature_count",
        "expects 30",
    ),
    (
        "infinity",
        b'{"instances": [[1e999' + b", 1.0" * 29 + b"]]}",
        422,
        "non_finite",
        "infinity",
    ),
    ("null", b'{"instances": [[null' + b", 1.0" * 29 + b"]]}", 422, "type", "null"),
    ("empty", b'{"instances": []}', 422, "type", "non-empty"),
]


@pytest.mark.parametrize("case", BAD_V1, ids=[c[0] for c in BAD_V1])
def test_bad_v1_input_gets_a_clear_4xx_and_is_counted(
    server: Server, case: tuple[str, bytes, int, str, str]
) -> None:
    _, body, status, reason, words = case
    before = total(server.metrics(), "shiplane_invalid_requests_total", reason=reason)
    resp = httpx.post(
        f"{server.url}/v1/models/{MODEL}:predict", content=body, timeout=10
    )
    assert resp.status_code == status, resp.text
    assert resp.json()["reason"] == reason
    assert words in resp.json()["error"]
    after = total(server.metrics(), "shiplane_invalid_requests_total", reason=reason)
    assert after == before + 1
    assert server.v1([[1.0] * 30]).status_code == 200  # still up


def test_oversized_batch_and_unknown_model(server: Server) -> None:
    resp = server.v1([[1.0] * 30] * 1025)
    assert resp.status_code == 413 and "at most 1024" in resp.json()["error"]
    resp = httpx.post(
        f"{server.url}/v2/models/{MODEL}/infer",
        json={
            "inputs": [
                {"name": "x", "shape": [5000, 30], "datatype": "FP64", "data": []}
            ]
        },
        timeout=10,
    )
    assert resp.status_code == 413
    resp = httpx.post(
        f"{server.url}/v1/models/nope:predict",
        json={"instances": [[1.0] * 30]},
        timeout=10,
    )
    assert resp.status_code == 404 and MODEL in resp.json()["error"]
    assert (
        total(
            server.metrics(), "shiplane_invalid_requests_total", reason="unknown_model"
        )
        >= 1
    )


def test_bad_v2_inputs(server: Server) -> None:
    url = f"{server.url}/v2/models/{MODEL}/infer"

    def tensor(shape: list[int], datatype: str, data: list[Any]) -> dict[str, Any]:
        return {"name": "x", "shape": shape, "datatype": datatype, "data": data}

    cases = [
        ({"inputs": [tensor([1, 30], "BYTES", ["a"] * 30)]}, 422),
        ({"inputs": [tensor([2, 30], "FP64", [1.0] * 30)]}, 422),
        (
            {
                "inputs": [tensor([1, 30], "FP64", [1.0] * 30)],
                "outputs": [{"name": "explain"}],
            },
            422,
        ),
        ({"inputs": "x"}, 400),
    ]
    for doc, status in cases:
        resp = httpx.post(url, json=doc, timeout=10)
        assert resp.status_code == status, (doc, resp.text)
        assert resp.json()["error"]


def test_feedback_scores_accuracy_per_version(
    server: Server, registered_model: Any, breast_cancer_rows: dict[str, Any]
) -> None:
    rows = rows_of(breast_cancer_rows)
    labels = breast_cancer_rows["labels"]
    ids = [server.v1([r]).json()["request_id"] for r in rows]
    truths = [labels[0], labels[1], *[1 - y for y in labels[2:4]], *labels[4:]]
    feedback = [{"request_id": i, "truth": t} for i, t in zip(ids, truths, strict=True)]
    feedback.append({"request_id": "s1.forged.id", "truth": 1})
    before = server.metrics()
    resp = httpx.post(
        f"{server.url}/v1/models/{MODEL}/feedback", json=feedback, timeout=10
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"accepted": 8, "correct": 6, "unknown": ["s1.forged.id"]}
    after = server.metrics()
    v = registered_model.version
    for outcome, n in (("correct", 6), ("incorrect", 2)):
        name = "shiplane_feedback_total"
        labels_ = {"model": MODEL, "model_version": v, "outcome": outcome}
        assert total(after, name, **labels_) - total(before, name, **labels_) == n
    assert (
        total(after, "shiplane_feedback_unknown_total")
        - total(before, "shiplane_feedback_unknown_total")
        == 1
    )
    # A batch id takes one truth per row; the wrong count is a clear 422.
    batch_id = server.v1(rows[:2]).json()["request_id"]
    bad = httpx.post(
        f"{server.url}/v2/models/{MODEL}/feedback",
        json={"request_id": batch_id, "truth": [1]},
        timeout=10,
    )
    assert bad.status_code == 422 and "2 rows" in bad.json()["error"]
    garbage = httpx.post(
        f"{server.url}/v2/models/{MODEL}/feedback", content=b"{", timeout=10
    )
    assert garbage.status_code == 400


def test_drift_rises_on_shifted_data_and_stays_low_on_reference(
    server: Server, registered_model: Any
) -> None:
    """The session server's window starts with reference-like traffic (the real
    dataset), then gets shifted rows; a second server would cost more than the
    window's min rows."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data
    # Rows the other tests sent are few next to these 569 reference rows.
    for chunk in np.array_split(data, 8):
        assert server.v1(chunk.tolist()).status_code == 200
    text = server.metrics()
    labels = {"model": MODEL, "model_version": registered_model.version}
    assert total(text, "shiplane_drift_window_rows", **labels) >= 569
    share_ref = total(text, "shiplane_drift_share", **labels)
    psi_ref = samples(text, "shiplane_drift_psi", **labels)
    assert share_ref <= 0.2, share_ref
    assert max(psi_ref) < 0.2, psi_ref
    shifted = data * 1.6 + data.std(axis=0)
    for chunk in np.array_split(shifted, 4):
        assert server.v1(np.repeat(chunk, 4, axis=0).tolist()).status_code == 200
    text = server.metrics()
    share_shifted = total(text, "shiplane_drift_share", **labels)
    assert share_shifted >= 0.8, share_shifted
    ks = samples(text, "shiplane_drift_ks", feature="mean radius", **labels)
    assert ks and ks[0] > 0.5
    assert not any(math.isnan(v) for v in samples(text, "shiplane_drift_psi"))


def test_two_workers_count_every_request_once(
    server2: Server, registered_model: Any, breast_cancer_rows: dict[str, Any]
) -> None:
    rows = rows_of(breast_cancer_rows)
    v = registered_model.version
    with httpx.Client(timeout=10) as a, httpx.Client(timeout=10) as b:
        for i in range(40):  # two connections: the kernel spreads them over workers
            client = a if i % 2 else b
            resp = client.post(
                f"{server2.url}/v1/models/{MODEL}:predict", json={"instances": rows[:2]}
            )
            assert resp.status_code == 200
            assert resp.headers["x-shiplane-model-version"] == v
    text = server2.metrics()
    assert total(text, "shiplane_requests_total", code="200", protocol="v1") == 40
    assert total(text, "shiplane_request_rows_total") == 80
    assert total(text, "shiplane_request_duration_seconds_count") == 40
    assert total(text, "shiplane_predictions_total") == 80
    assert total(text, "shiplane_batch_rows_sum") == 80
    assert total(text, "shiplane_drift_window_rows") == 80
    assert samples(text, "shiplane_model_ready", model=MODEL) == [1.0]
    pids = {
        httpx.get(f"{server2.url}/metrics", timeout=5).headers.get("date")
        for _ in range(2)
    }
    assert pids  # the scrape works whichever worker answers


def test_two_workers_score_each_others_feedback(
    server2: Server, breast_cancer_rows: dict[str, Any]
) -> None:
    rows = rows_of(breast_cancer_rows)
    labels = breast_cancer_rows["labels"]
    ids = []
    for r in rows:  # a new connection each time: any worker may answer
        resp = httpx.post(
            f"{server2.url}/v1/models/{MODEL}:predict",
            json={"instances": [r]},
            timeout=10,
        )
        ids.append(resp.json()["request_id"])
    for request_id, truth in zip(ids, labels, strict=True):
        resp = httpx.post(
            f"{server2.url}/v1/models/{MODEL}/feedback",
            json={"request_id": request_id, "truth": truth},
            timeout=10,
        )
        assert resp.json() == {"accepted": 1, "correct": 1, "unknown": []}
    assert total(server2.metrics(), "shiplane_feedback_total", outcome="correct") == 8


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
            lambda c: (
                st.lists(c, max_size=5)
                | st.dictionaries(st.text(max_size=9), c, max_size=3)
            ),
            max_leaves=20,
        ).map(lambda d: json.dumps({"instances": d, "inputs": d}).encode()),
    ),
    path=st.sampled_from(
        [
            f"/v1/models/{MODEL}:predict",
            f"/v2/models/{MODEL}/infer",
            f"/v1/models/{MODEL}/feedback",
            "/v1/models/x:y",
        ]
    ),
)
def test_fuzzed_requests_never_get_a_5xx(
    server: Server, body: bytes, path: str
) -> None:
    resp = httpx.post(f"{server.url}{path}", content=body, timeout=10)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.json()["error"]
