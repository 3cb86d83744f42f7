"""The real command line: `shiplane train` in a subprocess, as the Job runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from tests.conftest import TRAINING_CONFIGS as CONFIGS

pytestmark = pytest.mark.mlflow


def test_shiplane_train_with_search_registers_a_champion(
    mlflow_uri: str, model_name: str, client: MlflowClient
) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "shiplane.cli",
            "train",
            "--config",
            str(CONFIGS / "breast_cancer_search.yaml"),
            "--model-name",
            model_name,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # Progress on the long steps, then the summary.
    assert "-> searching 4 candidates x 3 folds (12 fits) ..." in out
    assert "   done in " in out
    assert f"model:    {model_name} v1" in out
    assert "gate:     CHAMPION - first version" in out
    assert "aliases:  @champion" in out
    version = client.get_model_version_by_alias(model_name, "champion")
    run = client.get_run(version.run_id)
    assert run.data.params["search.method"] == "grid"
    assert run.data.params["best.C"] in {"0.01", "0.1", "1.0", "10.0"}
    assert 0.5 < run.data.metrics["cv_best_score"] <= 1.0
