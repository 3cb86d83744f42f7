"""Training on a table with string and boolean columns: what lands in the
registry (a column signature, a profile with category frequencies), how the
gate compares such models, and that the serving runtime loads the registered
model, measures its drift and answers typed V1 requests, categories it never
saw included, exactly as the pipeline itself does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from shiplane_contracts.modelformat import METADATA_KEY, profile_path
from shiplane_contracts.profile import CategoricalProfile, ReferenceProfile
from shiplane_training.config import DatasetConfig, load_config
from shiplane_training.data import load_dataset
from shiplane_training.progress import Progress
from shiplane_training.train import TrainingResult, run_training
from tests.training.trainkit import base_config, serve_v1, shop_frame

pytestmark = pytest.mark.mlflow

ENCODINGS = {
    # A linear model on one-hot columns; a tree ensemble on ordinal codes.
    "one_hot": {"name": "logistic_regression", "params": {"max_iter": 500}},
    "ordinal": {"name": "hist_gradient_boosting", "params": {"max_iter": 20}},
}
ROWS: list[dict[str, Any]] = [
    {"price": 24.5, "rooms": 3, "city": "oslo", "member": True},
    {"price": 12.0, "rooms": 1, "city": "paris", "member": False},
    {"price": 19.9, "rooms": 5, "city": "rome", "member": True},
    # A city no training row has: must be answered, not refused.
    {"price": 30.0, "rooms": 2, "city": "lima", "member": False},
]


@dataclass(frozen=True)
class Trained:
    name: str
    result: TrainingResult
    workdir: Path


def _train(workdir: Path, uri: str, name: str, **overrides: Any) -> TrainingResult:
    path = workdir / f"{uuid.uuid4().hex}.yaml"
    path.write_text(yaml.safe_dump(base_config(name, **overrides)), encoding="utf-8")
    return run_training(load_config(path), uri, progress=Progress(enabled=False))


@pytest.fixture(scope="module")
def trained(
    mlflow_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Trained]:
    """One registered model per encoding, trained from a local CSV."""
    workdir = tmp_path_factory.mktemp("categorical")
    shop_frame().to_csv(workdir / "shop.csv", index=False)
    out = {}
    for encoding, estimator in ENCODINGS.items():
        name = f"shop-{encoding.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        result = _train(
            workdir,
            mlflow_uri,
            name,
            dataset={"path": "shop.csv", "target": "label"},
            preprocessing={"categorical": {"encoding": encoding}},
            estimator=estimator,
        )
        out[encoding] = Trained(name, result, workdir)
    return out


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_the_served_model_answers_typed_rows_as_the_pipeline_does(
    encoding: str,
    trained: dict[str, Trained],
    mlflow_uri: str,
    client: MlflowClient,
    tmp_path: Path,
) -> None:
    model = trained[encoding]
    assert model.result.decision.outcome == "champion"
    served = serve_v1(
        f"models:/{model.name}/{model.result.version}", mlflow_uri, tmp_path, ROWS
    )
    assert served.drift  # the profile's categorical entries are a baseline
    assert [c.kind for c in served.loaded.columns] == [
        "number",
        "integer",
        "string",
        "boolean",
    ]
    frame = pd.DataFrame(ROWS)
    expected = served.estimator.predict_proba(frame)
    assert served.proba is not None
    np.testing.assert_allclose(served.proba, expected, rtol=0, atol=1e-12)
    assert served.labels == list(served.estimator.predict(frame))


def test_the_registry_holds_a_column_signature_and_a_table_profile(
    trained: dict[str, Trained], client: MlflowClient, tmp_path: Path
) -> None:
    model = trained["one_hot"]
    local = Path(
        mlflow.artifacts.download_artifacts(
            f"models:/{model.name}/1", dst_path=str(tmp_path / "model")
        )
    )
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [(c["name"], c["type"], c["required"]) for c in inputs] == [
        ("price", "double", True),
        ("rooms", "long", True),
        ("city", "string", False),  # it has missing values
        ("member", "boolean", True),
    ]
    meta = mlmodel["metadata"][METADATA_KEY]
    assert meta["feature_names"] == ["price", "rooms", "city", "member"]
    assert meta["categorical_features"] == ["city", "member"]
    assert meta["profile_schema_version"] == 2
    profile = ReferenceProfile.load(profile_path(local))
    assert profile.schema_version == 2
    assert profile.feature_names == meta["feature_names"]
    assert [f.kind for f in profile.features] == [
        "numeric",
        "numeric",
        "categorical",
        "categorical",
    ]
    city, member = profile.features[2], profile.features[3]
    assert isinstance(city, CategoricalProfile)
    assert isinstance(member, CategoricalProfile)
    assert city.categories == ["oslo", "paris", "rome"]
    assert city.missing > 0 and city.count + city.missing == profile.n_rows
    assert member.categories == ["False", "True"]
    assert profile.n_rows == 180  # the training rows: 240 - 25% held out
    example = json.loads((local / "input_example.json").read_text())
    assert example["columns"] == ["price", "rooms", "city", "member"]
    run = client.get_run(model.result.run_id)
    assert run.data.params["categorical_features"] == "city,member"
    assert run.data.params["encoding"] == "one_hot"
    data = load_dataset(
        DatasetConfig(path=model.workdir / "shop.csv", target="label"),
        "classification",
    )
    assert run.data.params["data_fingerprint"] == data.fingerprint


def test_the_gate_compares_categorical_models_and_their_schemas(
    trained: dict[str, Trained], mlflow_uri: str, client: MlflowClient
) -> None:
    model = trained["one_hot"]
    dataset = {"path": "shop.csv", "target": "label"}
    same = _train(
        model.workdir,
        mlflow_uri,
        model.name,
        dataset=dataset,
        estimator=ENCODINGS["one_hot"],
    )
    assert same.decision.outcome == "passed", same.decision.reason
    assert same.metrics == model.result.metrics  # same data, seed and config
    # Same column names, but 'rooms' is now a category: another input contract.
    other = _train(
        model.workdir,
        mlflow_uri,
        model.name,
        dataset={**dataset, "categorical": ["rooms", "city", "member"]},
        estimator=ENCODINGS["one_hot"],
    )
    assert other.decision.outcome == "failed"
    assert "feature schema differs from champion v1" in other.decision.reason
    assert client.get_registered_model(model.name).aliases == {
        "champion": "1",
        "challenger": same.version,
    }
