"""Models people already have: logged with plain ``mlflow.sklearn.log_model``,
registered in a real MLflow server, served by a real ``python -m
shiplane_serving`` process, answering what the model's own ``predict_proba``
answers. Trust stays with the operator: untrusted skops types and pickles are
refused with the flag that allows them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.promtext import samples
from tests.serving import byokit
from tests.serving.conftest import Server, start_server, wait_ready

pytestmark = pytest.mark.mlflow


def _untrusted(model: Any) -> list[str]:
    """What skops would refuse in ``model`` beyond Shiplane's trust list."""
    import skops.io

    from shiplane_contracts.modelformat import TRUSTED_TYPES

    found = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return [t for t in found if t not in TRUSTED_TYPES]


@pytest.fixture(scope="module")
def numeric_model(mlflow_uri: str) -> tuple[Any, str]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, y = byokit.frame(300, 1)
    numeric = frame[["size", "weight"]]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(numeric, y)
    return model, byokit.log_model(model, "byo-numeric", numeric, mlflow_uri)


@pytest.fixture(scope="module")
def table_model(mlflow_uri: str) -> tuple[Any, str]:
    """A ColumnTransformer that one-hot encodes a string column by name."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, y = byokit.frame(400, 2)
    model = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["size", "weight"]),
                        ("cat", OneHotEncoder(handle_unknown="error"), ["color"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(frame, y)
    return model, byokit.log_model(model, "byo-table", frame, mlflow_uri)


def _serve(
    tmp: Path, name: str, version: str, uri: str, *extra: str, ready: bool = True
) -> Server:
    server = start_server(
        tmp,
        f"serving-{name}",
        f"models:/{name}/{version}",
        name,
        uri,
        grpc=True,
        extra=list(extra),
    )
    return wait_ready(server) if ready else server


def _served(
    logged: tuple[Any, str], name: str, uri: str, factory: Any
) -> Iterator[Server]:
    """A module's server for a logged model, trusting what it needs."""
    model, version = logged
    flags = [f"--extra-trusted-types={t}" for t in _untrusted(model)]
    server = _serve(factory.mktemp(name), name, version, uri, *flags)
    yield server
    server.process.stop()


@pytest.fixture(scope="module")
def numeric_server(
    numeric_model: tuple[Any, str], mlflow_uri: str, tmp_path_factory: Any
) -> Iterator[Server]:
    yield from _served(numeric_model, "byo-numeric", mlflow_uri, tmp_path_factory)


@pytest.fixture(scope="module")
def table_server(
    table_model: tuple[Any, str], mlflow_uri: str, tmp_path_factory: Any
) -> Iterator[Server]:
    yield from _served(table_model, "byo-table", mlflow_uri, tmp_path_factory)


def _post(server: Server, path: str, doc: Any) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=doc, timeout=30)


def _proba(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["predictions"], dtype=float)


def test_a_numeric_pipeline_logged_by_plain_mlflow_serves_its_own_answers(
    numeric_model: tuple[Any, str], numeric_server: Server
) -> None:
    model, version = numeric_model
    frame, _ = byokit.frame(20, 3)
    rows = frame[["size", "weight"]]
    expected = model.predict_proba(rows)
    path = "/v1/models/byo-numeric:predict_proba"
    as_lists = _proba(_post(numeric_server, path, {"instances": rows.values.tolist()}))
    as_objects = _proba(
        _post(numeric_server, path, {"instances": rows.to_dict("records")})
    )
    split = _post(
        numeric_server,
        path,
        {"dataframe_split": rows[["weight", "size"]].to_dict("split") | {"index": []}},
    )
    np.testing.assert_allclose(as_lists, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(as_objects, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_proba(split), expected, rtol=0, atol=1e-12)
    labels = _post(
        numeric_server,
        "/v1/models/byo-numeric:predict",
        {"instances": rows.values.tolist()},
    )
    assert labels.json()["predictions"] == model.predict(rows).tolist()
    assert labels.json()["model_version"] == version


def test_a_model_without_a_profile_is_ready_and_says_its_drift_is_off(
    numeric_model: tuple[Any, str], numeric_server: Server
) -> None:
    _, version = numeric_model
    metrics = numeric_server.metrics()
    labels = f'model="byo-numeric",model_version="{version}"'
    line = f"shiplane_drift_baseline_missing{{{labels}}} 1.0"
    assert line in metrics
    assert "shiplane_drift_share{" not in metrics


def test_a_string_column_serves_through_every_protocol(
    table_model: tuple[Any, str], table_server: Server
) -> None:
    model, _ = table_model
    frame, _ = byokit.frame(25, 4)
    expected = model.predict_proba(frame)
    path = "/v1/models/byo-table:predict_proba"
    objects = _post(table_server, path, {"instances": frame.to_dict("records")})
    lists = _post(table_server, path, {"instances": frame.values.tolist()})
    split = _post(
        table_server,
        path,
        {"dataframe_split": {"columns": list(frame), "data": frame.values.tolist()}},
    )
    for response in (objects, lists, split):
        np.testing.assert_allclose(_proba(response), expected, rtol=0, atol=1e-12)
    v2 = _post(
        table_server,
        "/v2/models/byo-table/infer",
        {
            "inputs": [
                {
                    "name": "size",
                    "shape": [25],
                    "datatype": "FP64",
                    "data": frame["size"].tolist(),
                },
                {
                    "name": "weight",
                    "shape": [25],
                    "datatype": "FP64",
                    "data": frame["weight"].tolist(),
                },
                {
                    "name": "color",
                    "shape": [25],
                    "datatype": "BYTES",
                    "data": frame["color"].tolist(),
                },
            ],
            "outputs": [{"name": "predict_proba"}],
        },
    )
    assert v2.status_code == 200, v2.text
    [out] = v2.json()["outputs"]
    np.testing.assert_allclose(
        np.asarray(out["data"]).reshape(out["shape"]), expected, rtol=0, atol=1e-12
    )


def test_the_typed_path_names_the_column_that_is_wrong(table_server: Server) -> None:
    path = "/v1/models/byo-table:predict"
    good = {"size": 9.5, "weight": 51.0, "color": "red"}
    cases = {
        "missing": ({"size": 9.5, "weight": 51.0}, 422, "missing column ['color']"),
        "extra": (good | {"shape": "round"}, 422, "unknown column ['shape']"),
        "type": (good | {"color": 3}, 422, "column 'color' must be a string"),
        "number": (good | {"size": "big"}, 422, "column 'size' must be a number"),
        "unknown category": (good | {"color": "purple"}, 422, "purple"),
    }
    for case, (row, status, says) in cases.items():
        response = _post(table_server, path, {"instances": [row]})
        assert response.status_code == status, (case, response.text)
        assert says in response.json()["error"], (case, response.text)
    v2 = _post(
        table_server,
        "/v2/models/byo-table/infer",
        {
            "inputs": [
                {"name": "size", "shape": [1], "datatype": "FP64", "data": [1.0]},
                {"name": "weight", "shape": [1], "datatype": "FP64", "data": [1.0]},
                {"name": "color", "shape": [1], "datatype": "FP64", "data": [1.0]},
            ]
        },
    )
    assert v2.status_code == 422 and "'color'" in v2.json()["error"], v2.text
    # The server still answers a good row after all of that.
    assert _post(table_server, path, {"instances": [good]}).status_code == 200


def test_untrusted_types_and_pickles_are_refused_with_the_flag_that_allows_them(
    table_model: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    frame, y = byokit.frame(200, 5)
    numeric = frame[["size", "weight"]]
    knn = KNeighborsClassifier().fit(numeric, y)
    needed = _untrusted(knn)
    assert needed, "a KNN should need types beyond the trust list"
    knn_version = byokit.log_model(
        knn, "byo-knn", numeric, mlflow_uri, skops_trusted_types=needed
    )
    table, _ = table_model
    pickled_version = byokit.log_model(
        table, "byo-pickle", frame, mlflow_uri, serialization_format="cloudpickle"
    )
    refused = _serve(tmp_path / "a", "byo-knn", knn_version, mlflow_uri, ready=False)
    pickled = _serve(
        tmp_path / "b", "byo-pickle", pickled_version, mlflow_uri, ready=False
    )
    try:
        for server, says in (
            (refused, ["--extra-trusted-types", *needed]),
            (pickled, ["cloudpickle", "--allow-pickle", "'skops'"]),
        ):
            reason = _not_ready_reason(server)
            for word in says:
                assert word in reason, reason
    finally:
        refused.process.stop()
        pickled.process.stop()
    trusted = _serve(
        tmp_path / "c",
        "byo-knn",
        knn_version,
        mlflow_uri,
        *(f"--extra-trusted-types={t}" for t in needed),
    )
    allowed = _serve(
        tmp_path / "d", "byo-pickle", pickled_version, mlflow_uri, "--allow-pickle"
    )
    try:
        rows, _ = byokit.frame(5, 6)
        for server, model, inputs in (
            (trusted, knn, rows[["size", "weight"]]),
            (allowed, table, rows),
        ):
            got = _proba(
                _post(
                    server,
                    f"/v1/models/{server.model}:predict_proba",
                    {"instances": inputs.to_dict("records")},
                )
            )
            np.testing.assert_allclose(
                got, model.predict_proba(inputs), rtol=0, atol=1e-12
            )
    finally:
        trusted.process.stop()
        allowed.process.stop()


def _not_ready_reason(server: Server, timeout_s: float = 120) -> str:
    """The load error a server that will never be ready reports."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            reply = httpx.get(f"{server.url}/v2/models/{server.model}/ready", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        if "failed to load" in reply.text:
            return reply.text
        time.sleep(0.5)
    log = server.process.log_path.read_text()
    raise AssertionError(f"no load failure reported; log:\n{log[-2000:]}")


def test_a_string_column_serves_over_grpc_one_tensor_per_column(
    table_model: tuple[Any, str], table_server: Server
) -> None:
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    model, _ = table_model
    frame, _ = byokit.frame(12, 7)
    tensor = pb.ModelInferRequest.InferInputTensor
    contents = pb.InferTensorContents
    request = pb.ModelInferRequest(
        model_name="byo-table",
        inputs=[
            tensor(
                name=name,
                datatype="FP64",
                shape=[12],
                contents=contents(fp64_contents=frame[name].tolist()),
            )
            for name in ("size", "weight")
        ]
        + [
            tensor(
                name="color",
                datatype="BYTES",
                shape=[12],
                contents=contents(bytes_contents=[c.encode() for c in frame["color"]]),
            )
        ],
        outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="predict_proba")],
    )
    with grpc.insecure_channel(f"127.0.0.1:{table_server.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        response = stub.ModelInfer(request, timeout=30)
        [out] = response.outputs
        got = np.asarray(out.contents.fp64_contents).reshape(list(out.shape))
        np.testing.assert_allclose(got, model.predict_proba(frame), atol=1e-12)
        bad = pb.ModelInferRequest(
            model_name="byo-table", inputs=list(request.inputs)[:2]
        )
        with pytest.raises(grpc.RpcError) as refused:
            stub.ModelInfer(bad, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "color" in (refused.value.details() or "")


# ---- a drift baseline for a model logged without one: shiplane profile ---------


def _shiplane(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``shiplane`` CLI: ``profile`` reaches the serving runtime
    through its entry point."""
    cli = Path(sys.executable).with_name("shiplane")
    return subprocess.run(
        [str(cli), *args], capture_output=True, text=True, timeout=300
    )


def _drift(server: Server, version: str, feature: str) -> tuple[float, float]:
    text = server.metrics()
    labels = {"model": "byo-profiled", "model_version": version, "feature": feature}
    psi = samples(text, "shiplane_drift_psi", **labels)
    chi = samples(text, "shiplane_drift_chi_square_p_value", **labels)
    return psi[0], (chi or [float("nan")])[0]


def _send(server: Server, rows: pd.DataFrame) -> None:
    for start in range(0, len(rows), 100):
        chunk = rows.iloc[start : start + 100].to_dict("records")
        reply = _post(server, "/v1/models/byo-profiled:predict", {"instances": chunk})
        assert reply.status_code == 200, reply.text


def test_shiplane_profile_makes_drift_work_on_the_next_start(
    mlflow_uri: str, tmp_path: Path
) -> None:
    frame, y = byokit.frame(3000, 21)
    model = byokit.table_pipeline(frame, y, unknown="ignore")
    version = byokit.log_model(model, "byo-profiled", frame, mlflow_uri)
    uri = f"models:/byo-profiled/{version}"
    before = _serve(tmp_path / "before", "byo-profiled", version, mlflow_uri)
    try:
        assert "shiplane_drift_baseline_missing" in before.metrics()
        log = before.process.log_path.read_text()
        assert f"shiplane profile {uri} --data" in log  # the warning says the fix
    finally:
        before.process.stop()

    data = tmp_path / "training.csv"
    frame.to_csv(data, index=False)
    done = _shiplane("profile", uri, "--data", str(data), "--mlflow-uri", mlflow_uri)
    assert done.returncode == 0, done.stderr
    assert "3,000 rows (0 refused)" in done.stdout
    assert "color: categorical, 3 categories" in done.stdout
    assert "size: numeric, 20 bins" in done.stdout

    from mlflow import MlflowClient

    tag = MlflowClient(mlflow_uri).get_model_version("byo-profiled", version).tags
    assert tag["shiplane.reference_profile"].startswith("runs:/")

    after = _serve(
        tmp_path / "after", "byo-profiled", version, mlflow_uri, "--drift-min-rows=100"
    )
    try:
        text = after.metrics()
        labels = {"model": "byo-profiled", "model_version": version}
        assert samples(text, "shiplane_drift_baseline_missing", **labels) == [0.0]
        like_training, _ = byokit.frame(400, 22)
        _send(after, like_training)
        psi, chi_p = _drift(after, version, "color")
        assert psi < 0.1 and chi_p > 0.001, (psi, chi_p)
        assert samples(after.metrics(), "shiplane_drift_share", **labels) == [0.0]

        shifted, _ = byokit.frame(1600, 23)
        rng = np.random.default_rng(24)
        shifted["color"] = rng.choice(["blue", "purple"], len(shifted), p=[0.6, 0.4])
        _send(after, shifted)
        psi, chi_p = _drift(after, version, "color")
        assert psi > 0.5 and chi_p < 1e-6, (psi, chi_p)
        size_psi, _ = _drift(after, version, "size")
        assert size_psi < 0.1
        share = samples(after.metrics(), "shiplane_drift_share", **labels)
        assert share == [pytest.approx(1 / 3)]
    finally:
        after.process.stop()


def test_profile_refuses_a_dataset_without_the_model_columns(
    table_model: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    _, version = table_model
    frame, _ = byokit.frame(50, 25)
    frame.drop(columns=["weight"]).to_parquet(tmp_path / "data.parquet")
    done = _shiplane(
        "profile",
        f"models:/byo-table/{version}",
        "--data",
        str(tmp_path / "data.parquet"),
        "--mlflow-uri",
        mlflow_uri,
    )
    assert done.returncode == 1
    assert "has no column 'weight'" in done.stderr
    from mlflow import MlflowClient

    tags = MlflowClient(mlflow_uri).get_model_version("byo-table", version).tags
    assert "shiplane.reference_profile" not in tags


def test_a_classifier_without_probabilities_serves_its_labels(
    mlflow_uri: str, tmp_path: Path
) -> None:
    from sklearn.svm import LinearSVC

    frame, y = byokit.frame(300, 31)
    numeric = frame[["size", "weight"]]
    labels = np.where(y == 1, "fraud", "ok")
    model = LinearSVC().fit(numeric, labels)
    version = byokit.log_model(model, "byo-svc", numeric, mlflow_uri)
    server = _serve(tmp_path, "byo-svc", version, mlflow_uri)
    try:
        rows = byokit.frame(30, 32)[0][["size", "weight"]]
        reply = _post(
            server, "/v1/models/byo-svc:predict", {"instances": rows.values.tolist()}
        )
        assert reply.json()["predictions"] == model.predict(rows).tolist()
        refused = _post(
            server,
            "/v1/models/byo-svc:predict_proba",
            {"instances": rows.values.tolist()},
        )
        assert refused.status_code == 422
        assert "predict_proba" in refused.json()["error"]
        counted = samples(
            server.metrics(), "shiplane_predictions_total", model="byo-svc"
        )
        assert sum(counted) == 30
    finally:
        server.process.stop()
