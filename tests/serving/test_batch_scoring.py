"""``shiplane score`` as a user runs it: models logged by plain MLflow and
registered in a real MLflow server, files on disk, the real CLI in its own
process. A million-row Parquet file scores in bounded memory with the answers
the model and the online server give; bad rows go to a rejects file with the
reason a client would hear; a file the model cannot read writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.serving import byokit
from tests.serving.conftest import start_server, wait_ready

pytestmark = pytest.mark.mlflow

#: Runs a command and reports its peak RSS (the grandchild's, not ours).
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
    "print(f'peak_rss_mb={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)
#: Fixed bound on a million rows scored 20,000 at a time: the runtime's own
#: imports take ~250-300 MB here; the file's rows must not add to that.
MAX_RSS_MB = 450


@pytest.fixture(scope="module")
def numeric(mlflow_uri: str) -> tuple[Any, str]:
    frame, y = byokit.frame(300, 11)
    model = byokit.numeric_pipeline(frame, y)
    return model, byokit.log_model(
        model, "score-numeric", frame[["size", "weight"]], mlflow_uri
    )


@pytest.fixture(scope="module")
def table(mlflow_uri: str) -> tuple[Any, str]:
    frame, y = byokit.frame(300, 12)
    model = byokit.table_pipeline(frame, y, unknown="ignore")
    return model, byokit.log_model(model, "score-table", frame, mlflow_uri)


def score(
    mlflow_uri: str, *args: str, measure: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "shiplane_serving.cli", "score", *args]
    command += ["--mlflow-uri", mlflow_uri]
    if measure:
        command = [sys.executable, "-c", PEAK_RSS, *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def peak_rss_mb(done: subprocess.CompletedProcess[str]) -> int:
    line = next(x for x in done.stderr.splitlines() if x.startswith("peak_rss_mb="))
    return int(line.split("=")[1])


def test_a_million_rows_score_in_bounded_memory_as_the_model_and_server_answer(
    numeric: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    model, version = numeric
    frame, _ = byokit.frame(1_000_000, 13)
    frame["id"] = np.arange(len(frame), dtype=np.int64) * 3 + 1
    big = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), big)
    pq.write_table(pq.read_table(big).slice(0, 100_000), tmp_path / "tenth.parquet")
    uri = f"models:/score-numeric/{version}"
    runs = {}
    for name in ("tenth", "big"):
        done = score(
            mlflow_uri,
            "--model",
            uri,
            "--input",
            str(tmp_path / f"{name}.parquet"),
            "--output",
            str(tmp_path / f"{name}.out.parquet"),
            "--id-column",
            "id",
            "--batch-rows",
            "20000",
            measure=True,
        )
        assert done.returncode == 0, done.stderr
        runs[name] = peak_rss_mb(done)
    print(f"peak RSS: 100k rows {runs['tenth']} MB, 1M rows {runs['big']} MB")
    assert runs["big"] <= MAX_RSS_MB
    # Ten times the rows, the same memory: batches, not the file, set it.
    assert runs["big"] - runs["tenth"] <= 40
    assert "scored 1,000,000 of 1,000,000 rows" in done.stdout
    assert "1,000,000 / 1,000,000 (100%)" in done.stderr  # the progress line

    out = pq.read_table(tmp_path / "big.out.parquet").to_pandas()
    assert out.columns.tolist() == ["id", "prediction", "proba_0", "proba_1"]
    assert len(out) == 1_000_000
    np.testing.assert_array_equal(out["id"], frame["id"])
    features = frame[["size", "weight"]]
    np.testing.assert_array_equal(out["prediction"], model.predict(features))
    np.testing.assert_allclose(
        out[["proba_0", "proba_1"]], model.predict_proba(features), rtol=0, atol=1e-12
    )
    assert not list(tmp_path.glob("*.partial"))
    assert not (tmp_path / "big.out.rejects.parquet").exists()  # nothing refused

    server = wait_ready(
        start_server(tmp_path, "score-online", uri, "score-numeric", mlflow_uri)
    )
    try:
        online = httpx.post(
            f"{server.url}/v1/models/score-numeric:predict_proba",
            json={"instances": features.head(200).to_dict("records")},
            timeout=10,
        ).json()["predictions"]
    finally:
        server.process.stop()
    np.testing.assert_allclose(
        out[["proba_0", "proba_1"]].head(200), online, rtol=0, atol=1e-12
    )

    from mlflow import MlflowClient

    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("shiplane-scoring")
    assert experiment is not None
    finished = [
        r
        for r in client.search_runs([experiment.experiment_id])
        if r.data.params.get("input") == str(big)
    ]
    assert len(finished) == 1 and finished[0].info.status == "FINISHED"
    assert finished[0].data.metrics["rows_scored"] == 1_000_000
    assert finished[0].data.params["model_version"] == version


def test_bad_rows_go_to_rejects_with_their_reason_and_the_rest_is_scored(
    table: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    model, version = table
    frame, _ = byokit.frame(40, 14)
    frame.insert(0, "customer", [f"c{i:03d}" for i in range(len(frame))])
    frame.loc[11, "color"] = "purple"  # unseen, but the encoder ignores unknowns
    raw = frame.astype(object)
    raw.loc[3, "size"] = "abc"
    raw.loc[7, "color"] = None
    raw.loc[9, "weight"] = "inf"
    csv = tmp_path / "customers.csv"
    raw.to_csv(csv, index=False)
    done = score(
        mlflow_uri,
        "--model",
        f"models:/score-table/{version}",
        "--input",
        str(csv),
        "--output",
        str(tmp_path / "scores.csv"),
        "--id-column",
        "customer",
    )
    assert done.returncode == 0, done.stderr
    assert "3 rejected" in done.stdout

    rejects = pd.read_csv(tmp_path / "scores.rejects.csv")
    assert rejects["id"].tolist() == ["c003", "c007", "c009"]
    reasons = rejects["reason"].tolist()
    assert "column 'size' must be a number, got 'abc'" in reasons[0]
    assert "column 'color' is null" in reasons[1]
    assert "column 'weight' is inf" in reasons[2]

    scores = pd.read_csv(tmp_path / "scores.csv")
    good = frame.drop(index=[3, 7, 9])
    assert scores["customer"].tolist() == good["customer"].tolist()
    expected = model.predict_proba(good[["size", "weight", "color"]])
    np.testing.assert_allclose(
        scores[["proba_0", "proba_1"]], expected, rtol=0, atol=1e-9
    )


def test_a_file_without_a_model_column_writes_nothing_and_says_which(
    table: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    _, version = table
    frame, _ = byokit.frame(10, 15)
    frame.drop(columns=["color"]).to_parquet(tmp_path / "in.parquet")
    done = score(
        mlflow_uri,
        "--model",
        f"models:/score-table/{version}",
        "--input",
        str(tmp_path / "in.parquet"),
        "--output",
        str(tmp_path / "out.parquet"),
    )
    assert done.returncode == 1
    assert "has no column 'color'" in done.stderr
    assert "nothing was written" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]

    from mlflow import MlflowClient

    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("shiplane-scoring")
    assert experiment is not None
    failed = [
        r
        for r in client.search_runs([experiment.experiment_id])
        if r.data.params.get("input") == str(tmp_path / "in.parquet")
    ]
    assert failed and failed[0].info.status == "FAILED"
    assert "has no column 'color'" in failed[0].data.tags["shiplane.error"]


@pytest.mark.helm
def test_the_charts_scoring_job_runs_as_rendered(
    numeric: tuple[Any, str], mlflow_uri: str, tmp_path: Path
) -> None:
    """The chart's Job, rendered by helm and run here as its pod would run it:
    command, args, env and the /tmp emptyDir its files live on."""
    from tests import podwiring
    from tests.chart import chartkit

    model, version = numeric
    rendered = chartkit.template(
        set_values=[
            f"mlflow.trackingUri={mlflow_uri}",
            "scoring.enabled=true",
            f"scoring.model=models:/score-numeric/{version}",
            "scoring.input=/tmp/batch/in.csv",
            "scoring.output=/tmp/batch/out.parquet",
            "scoring.idColumn=id",
        ]
    )
    job = next(
        o
        for o in chartkit.objects(rendered, "Job")
        if "scoring" in o["metadata"]["name"]
    )
    local = podwiring.local_container(podwiring.pod_template(job), tmp_path / "pods")
    [input_sub] = [s for s in local.substitutions if s.pod == "/tmp/batch/in.csv"]
    frame, _ = byokit.frame(500, 16)
    frame["id"] = [f"r{i}" for i in range(len(frame))]
    Path(input_sub.local).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(input_sub.local, index=False)
    code, output = podwiring.run_to_completion(local, tmp_path / "logs", timeout_s=180)
    assert code == 0, output
    assert f"version {version}" in output
    out = pq.read_table(Path(input_sub.local).with_name("out.parquet")).to_pandas()
    assert out["id"].tolist() == frame["id"].tolist()
    np.testing.assert_array_equal(
        out["prediction"], model.predict(frame[["size", "weight"]])
    )


def test_a_category_the_encoder_refuses_rejects_its_row_only(tmp_path: Path) -> None:
    """A model directory, no MLflow: the batch is refused, so its rows are
    predicted one by one and only the refused one is a reject."""
    import mlflow

    frame, y = byokit.frame(300, 17)
    model = byokit.table_pipeline(frame, y, unknown="error")
    model_dir = tmp_path / "model"
    mlflow.sklearn.save_model(
        model, str(model_dir), input_example=frame.head(3), pip_requirements=["skops"]
    )
    rows, _ = byokit.frame(30, 18)
    rows.loc[5, "color"] = "purple"
    rows.to_parquet(tmp_path / "in.parquet")
    done = score(
        "",
        "--model",
        str(model_dir),
        "--input",
        str(tmp_path / "in.parquet"),
        "--output",
        str(tmp_path / "out.parquet"),
        "--no-log-run",
    )
    assert done.returncode == 0, done.stderr
    rejects = pd.read_parquet(tmp_path / "out.rejects.parquet")
    assert rejects["id"].tolist() == [5]
    assert "unknown categories ['purple']" in rejects["reason"][0]
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["row"].tolist() == [i for i in range(30) if i != 5]
    np.testing.assert_allclose(
        out[["proba_0", "proba_1"]],
        model.predict_proba(rows.drop(index=5)),
        rtol=0,
        atol=1e-12,
    )
