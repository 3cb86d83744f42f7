"""The benchmark harness itself (not the numbers): one tiny real run against the
floor server, wrk's error counting against a server that answers 503, and the
answer checks that keep a wrong server from being timed as if it were fast."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier

from serving.bench.load import run_wrk
from serving.bench.model import BenchModel
from serving.bench.protocols import MLFLOW_SPLIT, V1, V2
from serving.bench.report import RESULT_COLUMNS, parse_table
from tests.conftest import REPO, require_tool


def test_smoke_run_measures_the_floor_and_reports_a_parsable_table(
    tmp_path: Path,
) -> None:
    require_tool("wrk")
    docs = tmp_path / "benchmarks.md"
    argv = [
        sys.executable,
        "-m",
        "serving.bench.run",
        "--only",
        "floor",
        "--duration-s",
        "1",
        "--warmup-s",
        "0",
        "--server-warmup-s",
        "0",
        "--concurrencies",
        "1,2",
        "--batch-rows",
        "8",
        "--batch-concurrencies",
        "2",
        "--no-profile",
        "--state-dir",
        str(tmp_path / "state"),
        "--docs",
        str(docs),
    ]
    done = subprocess.run(
        argv, cwd=REPO, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((tmp_path / "state" / "results.json").read_text())
    (floor,) = results["servers"]
    assert floor["status"] == "ok", floor["error"]
    assert floor["idle_rss_mb"] > 10
    shapes = [(c["rows"], c["concurrency"]) for c in floor["cells"]]
    assert shapes == [(1, 1), (1, 2), (8, 2)]
    for cell in floor["cells"]:
        assert cell["requests"] > 0 and cell["rps"] > 0, cell
        assert cell["non_2xx"] == 0 and cell["socket_errors"] == 0, cell
        assert 0 < cell["p50_ms"] <= cell["p99_ms"], cell
        assert cell["rows_per_s"] == pytest.approx(cell["rps"] * cell["rows"])

    table = parse_table(done.stdout)
    assert list(table[0]) == list(RESULT_COLUMNS)
    assert [(int(r["rows/req"]), int(r["conc"])) for r in table] == shapes
    assert [float(r["req/s"]) for r in table] == [
        pytest.approx(c["rps"], abs=0.5) for c in floor["cells"]
    ]
    # Targets whose servers did not run are N/A, never a PASS.
    assert {c["result"] for c in results["checks"]} == {"N/A"}
    assert parse_table(docs.read_text()) == table


class _Unavailable(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"error": "overloaded"}'
        self.send_response(503)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_wrk_counts_every_error_answer(failing_server: str, tmp_path: Path) -> None:
    wrk = require_tool("wrk")
    body = tmp_path / "body.json"
    body.write_text('{"instances": [[1.0]]}')
    result = run_wrk(wrk, failing_server + "/", body, 2, 1, 5.0)
    assert result.requests > 0
    assert result.non_2xx == result.requests


@pytest.fixture(scope="module")
def bench_model() -> BenchModel:
    data = load_breast_cancer()
    estimator = GradientBoostingClassifier(random_state=0, n_estimators=5)
    estimator.fit(data.data, data.target)
    unused = Path("/nonexistent")
    names = [str(n) for n in data.feature_names]
    return BenchModel(estimator, data.data, names, unused, unused, unused)


def test_answer_checks_accept_the_right_numbers_only(bench_model: BenchModel) -> None:
    proba = bench_model.expected_proba(3)
    assert V1.check(bench_model, 3, {"predictions": proba.tolist()}) is None
    assert MLFLOW_SPLIT.check(bench_model, 3, {"predictions": proba.tolist()}) is None
    v2 = {"outputs": [{"shape": [3, 2], "data": proba.ravel().tolist()}]}
    assert V2.check(bench_model, 3, v2) is None

    wrong = proba[:, ::-1].tolist()
    assert "differs" in str(V1.check(bench_model, 3, {"predictions": wrong}))
    labels = {"predictions": [0, 1, 0]}  # `predict` instead of `predict_proba`
    assert "shape" in str(V1.check(bench_model, 3, labels))
    assert "unexpected answer" in str(V1.check(bench_model, 3, {"error": "boom"}))
    v2_labels = {"outputs": [{"shape": [3, 1], "data": [0, 1, 0]}]}
    assert "shape" in str(V2.check(bench_model, 3, v2_labels))


def test_bodies_follow_each_protocol(bench_model: BenchModel) -> None:
    v2 = V2.make_body(bench_model, 4)["inputs"][0]
    assert v2["shape"] == [4, 30] and len(v2["data"]) == 120
    assert v2["datatype"] == "FP64"
    split = MLFLOW_SPLIT.make_body(bench_model, 2)["dataframe_split"]
    assert len(split["columns"]) == 30 and len(split["data"]) == 2
    assert np.asarray(V1.make_body(bench_model, 2)["instances"]).shape == (2, 30)
