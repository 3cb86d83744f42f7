"""What the registry really holds after a lineage of training runs under one
model name: versions, aliases, gate tags, artifacts, the reference profile."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pytest
import skops.io as sio
import yaml
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

from shiplane_contracts.modelformat import (
    METADATA_KEY,
    PROFILE_FILENAME,
    TRUSTED_TYPES,
    model_data_path,
    profile_path,
)
from shiplane_contracts.profile import ReferenceProfile
from shiplane_training.__main__ import main
from shiplane_training.config import load_config
from shiplane_training.progress import Progress
from shiplane_training.train import TrainingResult, run_training
from tests.training.trainkit import base_config

pytestmark = pytest.mark.mlflow

GOOD = {"name": "logistic_regression", "params": {"C": 1.0, "max_iter": 500}}
WORSE = {"name": "gradient_boosting", "params": {"n_estimators": 1, "max_depth": 1}}


@dataclass(frozen=True)
class Lineage:
    name: str
    first: TrainingResult
    same_again: TrainingResult
    worse_exit_code: int
    """The worse model is trained through the CLI with --fail-on-gate-reject."""
    other_schema: TrainingResult


def _write(config: dict[str, Any], workdir: Path) -> Path:
    path = workdir / f"{uuid.uuid4().hex}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _train(config: dict[str, Any], workdir: Path, uri: str) -> TrainingResult:
    path = _write(config, workdir)
    return run_training(load_config(path), uri, progress=Progress(enabled=False))


@pytest.fixture(scope="module")
def lineage(mlflow_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Lineage:
    """Four runs under one new name: first, identical, worse, other features."""
    workdir = tmp_path_factory.mktemp("lineage")
    name = f"lineage-{uuid.uuid4().hex[:6]}"
    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["mean radius"])
    frame.to_csv(workdir / "29_features.csv", index=False)
    return Lineage(
        name=name,
        first=_train(base_config(name, estimator=GOOD), workdir, mlflow_uri),
        same_again=_train(base_config(name, estimator=GOOD), workdir, mlflow_uri),
        worse_exit_code=main(
            [
                "--config",
                str(_write(base_config(name, estimator=WORSE), workdir)),
                "--tracking-uri",
                mlflow_uri,
                "--fail-on-gate-reject",
                "--quiet",
            ]
        ),
        other_schema=_train(
            base_config(
                name,
                estimator=GOOD,
                dataset={"path": "29_features.csv", "target": "target"},
            ),
            workdir,
            mlflow_uri,
        ),
    )


def test_first_version_is_champion_and_equal_one_is_challenger(
    lineage: Lineage, client: MlflowClient
) -> None:
    assert (lineage.first.version, lineage.first.decision.outcome) == ("1", "champion")
    assert lineage.same_again.version == "2"
    assert lineage.same_again.decision.outcome == "passed"
    model = client.get_registered_model(lineage.name)
    # The later, failing versions moved no alias.
    assert model.aliases == {"champion": "1", "challenger": "2"}
    tags = client.get_model_version(lineage.name, "2").tags
    assert tags["shiplane.gate"] == "passed"
    assert tags["shiplane.gate_champion_version"] == "1"
    assert float(tags["shiplane.gate_new_value"]) == pytest.approx(
        float(tags["shiplane.gate_champion_value"])
    )


def test_same_config_gives_same_metrics(lineage: Lineage, client: MlflowClient) -> None:
    assert lineage.same_again.metrics == lineage.first.metrics
    logged = [
        client.get_run(r.run_id).data.metrics
        for r in (lineage.first, lineage.same_again)
    ]
    assert logged[0]["roc_auc"] == logged[1]["roc_auc"]
    fingerprints = [
        client.get_run(r.run_id).data.params["data_fingerprint"]
        for r in (lineage.first, lineage.same_again)
    ]
    assert fingerprints[0] == fingerprints[1]


def test_worse_version_is_registered_without_alias(
    lineage: Lineage, client: MlflowClient
) -> None:
    assert lineage.worse_exit_code == 6  # registered, but the caller asked to fail
    version = client.get_model_version(lineage.name, "3")
    assert version.aliases == []
    assert version.tags["shiplane.gate"] == "failed"
    assert "worse by" in version.tags["shiplane.gate_reason"]
    run = client.get_run(version.run_id)
    assert run.data.tags["shiplane.gate"] == "failed"
    assert run.data.tags["shiplane.model_version"] == "3"
    assert run.data.metrics["champion_roc_auc"] > run.data.metrics["roc_auc"]


def test_other_feature_schema_fails_the_gate(
    lineage: Lineage, client: MlflowClient
) -> None:
    decision = lineage.other_schema.decision
    assert decision.outcome == "failed"
    assert "feature schema differs from champion v1" in decision.reason
    assert client.get_model_version(lineage.name, "4").aliases == []


def test_run_artifacts_and_model_follow_the_contract(
    lineage: Lineage, client: MlflowClient, tmp_path: Path
) -> None:
    run_id = lineage.first.run_id
    listed = {a.path for a in client.list_artifacts(run_id)}
    assert {
        "confusion_matrix.png",
        "data_fingerprint.json",
        PROFILE_FILENAME,
        "training_config.yaml",
    } <= listed
    local = Path(
        mlflow.artifacts.download_artifacts(
            f"models:/{lineage.name}@champion", dst_path=str(tmp_path / "model")
        )
    )
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    meta = mlmodel["metadata"][METADATA_KEY]
    feature_names = list(load_breast_cancer().feature_names)
    assert meta == {
        "task": "classification",
        "feature_names": feature_names,
        "categorical_features": [],
        "classes": [0, 1],
        "profile_schema_version": 1,
    }
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert mlmodel["signature"]["inputs"]  # tensor spec: float64, (-1, 30)
    assert '"shape": [-1, 30]' in mlmodel["signature"]["inputs"]
    model = sio.load(model_data_path(local), trusted=list(TRUSTED_TYPES))
    profile = ReferenceProfile.load(profile_path(local))
    assert profile.feature_names == feature_names
    assert profile.task == "classification"
    assert profile.prediction.kind == "categorical"
    assert profile.n_rows == 426  # the training rows (569 - 25% held out)
    assert set(model.predict(load_breast_cancer().data)) == {0, 1}
    fingerprint = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path="data_fingerprint.json",
                dst_path=str(tmp_path / "fp"),
            )
        ).read_text()
    )
    assert fingerprint["rows"] == 569
    assert fingerprint["train_rows"] == profile.n_rows
    assert fingerprint["train_sha256"] == profile.dataset_fingerprint
    assert len(fingerprint["schema"]) == 31
