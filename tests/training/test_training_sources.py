"""Datasets where they live: a real S3 server on 127.0.0.1 (the session's
``s3`` fixture) and MLflow artifacts. A CSV with string columns in a bucket
trains and registers a model through the CLI, which then serves typed
requests; a missing object or missing credentials fail with one line and
register nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from shiplane_training.__main__ import main
from tests.training.trainkit import (
    S3Store,
    WriteConfig,
    base_config,
    serve_v1,
    shop_frame,
    versions_of,
)

pytestmark = pytest.mark.mlflow

SHOP = {"target": "label"}
ESTIMATOR = {"name": "logistic_regression", "params": {"max_iter": 500}}


def _config(model_name: str, uri: str) -> dict[str, object]:
    return base_config(model_name, dataset={**SHOP, "uri": uri}, estimator=ESTIMATOR)


@pytest.fixture
def s3_env(s3: S3Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Store:
    """The bucket's AWS variables in this process, and no AWS profile files."""
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))
    return s3


def test_a_csv_with_string_columns_in_s3_trains_through_the_cli_and_serves(
    s3: S3Store,
    model_name: str,
    write_config: WriteConfig,
    mlflow_uri: str,
    client: MlflowClient,
    tmp_path: Path,
) -> None:
    uri = s3.put(f"{model_name}/shop.csv", shop_frame().to_csv(index=False).encode())
    config = write_config(_config(model_name, uri))
    done = subprocess.run(
        [sys.executable, "-m", "shiplane_training", "--config", str(config)],
        env={**os.environ, **s3.env, "MLFLOW_TRACKING_URI": mlflow_uri},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{uri}, 240 rows x 4 features (2 categorical)" in done.stdout
    assert f"model:    {model_name} v1" in done.stdout
    run_id = client.get_model_version(model_name, "1").run_id
    assert run_id is not None
    assert client.get_run(run_id).data.params["dataset"] == uri
    rows = [
        {"price": 21.0, "rooms": 2, "city": "rome", "member": True},
        {"price": 9.5, "rooms": 4, "city": "atlantis", "member": False},
    ]
    served = serve_v1(f"models:/{model_name}/1", mlflow_uri, tmp_path, rows)
    assert served.proba is not None
    np.testing.assert_allclose(
        served.proba,
        served.estimator.predict_proba(pd.DataFrame(rows)),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("credentials", ["valid", "none"])
def test_an_unreadable_object_fails_with_one_line_and_registers_nothing(
    credentials: str,
    s3_env: S3Store,
    model_name: str,
    write_config: WriteConfig,
    mlflow_uri: str,
    client: MlflowClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if credentials == "valid":
        uri = f"s3://{s3_env.bucket}/{model_name}/missing.csv"
        expected = f"error: cannot read dataset: {uri}: no such object"
    else:
        uri = s3_env.put(f"{model_name}/shop.csv", b"price,label\n1,0\n")
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        expected = f"error: cannot read dataset: {uri}: access denied: no credentials"
    config = write_config(_config(model_name, uri))
    code = main(["--config", str(config), "--tracking-uri", mlflow_uri, "--quiet"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith(expected), err
    assert len(err.strip().splitlines()) == 1
    assert versions_of(client, model_name) == []
    assert client.get_experiment_by_name(model_name) is None


def test_a_dataset_logged_as_an_mlflow_artifact_trains(
    model_name: str,
    write_config: WriteConfig,
    mlflow_uri: str,
    client: MlflowClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shop_frame().to_parquet(tmp_path / "shop.parquet")
    experiment = client.create_experiment(f"{model_name}-data")
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifact(str(tmp_path / "shop.parquet"), artifact_path="data")
    uri = f"runs:/{run.info.run_id}/data/shop.parquet"
    config = write_config(_config(model_name, uri))
    assert main(["--config", str(config), "--tracking-uri", mlflow_uri]) == 0
    assert f"{uri}, 240 rows x 4 features (2 categorical)" in capsys.readouterr().out
    assert [v.version for v in versions_of(client, model_name)] == ["1"]
    missing = write_config(
        _config(model_name, f"runs:/{run.info.run_id}/data/nope.csv"), "missing.yaml"
    )
    code = main(["--config", str(missing), "--tracking-uri", mlflow_uri, "--quiet"])
    assert code == 3
    assert "error: cannot read dataset: runs:/" in capsys.readouterr().err
