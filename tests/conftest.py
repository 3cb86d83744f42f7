"""Fixtures shared by every test package: real servers on 127.0.0.1, started once
per session, and the external tools `make tools` installs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane_tools import localstack

REPO = Path(__file__).resolve().parents[1]

# The real control plane: control_plane, kube, install_chart.
pytest_plugins = ["tests.kubefixtures"]


def require_tool(name: str) -> str:
    """Path of an external tool; fails (never skips) when it is missing, because
    CI installs every tool it needs."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: run `make tools` (scripts/tools.sh)")
    return path


@pytest.fixture(autouse=True)
def _no_stray_mlflow_store() -> Iterator[None]:
    """MLflow called without a tracking URI quietly creates ./mlflow.db (or
    ./mlruns): a component that forgot its URI. Name the test that did it."""
    stray = [REPO / "mlflow.db", REPO / "mlruns"]
    before = {p for p in stray if p.exists()}
    yield
    created = [str(p) for p in stray if p.exists() and p not in before]
    if created:
        pytest.fail(f"this test made MLflow write a default store: {created}")


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a real MLflow tracking server (SQLite + local artifacts) shared by the
    whole session. Tests isolate themselves by model and experiment names."""
    workdir = tmp_path_factory.mktemp("mlflow")
    server = localstack.mlflow_server(workdir)
    started = time.monotonic()
    server.start().wait_ready(
        lambda: localstack.http_ok(f"{server.url}/health"), timeout_s=300
    )
    print(f"MLflow server ready at {server.url} in {time.monotonic() - started:.1f}s")
    yield server.url
    server.stop()


# --- Trained models in the shared MLflow (owned by training) -----------------
# Appended section: imports live here so the section stays self-contained.
from dataclasses import dataclass  # noqa: E402

TRAINING_CONFIGS = REPO / "training" / "configs"
FIXTURES = REPO / "tests" / "fixtures"


@dataclass(frozen=True)
class RegisteredModel:
    """A model version the training job registered in the session's MLflow."""

    name: str
    version: str
    run_id: str
    tracking_uri: str
    model_uri: str
    """``models:/NAME@champion``: what serving resolves."""
    feature_names: tuple[str, ...]
    task: str
    classes: tuple[object, ...] | None


def train_into(config: Path, tracking_uri: str, model_name: str) -> RegisteredModel:
    """Run the real training job in-process (faster than a subprocess) and return
    the version it registered. The model name must be new to the server, so the
    version becomes ``@champion``."""
    from shiplane_training.config import load_config
    from shiplane_training.progress import Progress
    from shiplane_training.train import run_training

    result = run_training(
        load_config(config, model_name), tracking_uri, progress=Progress(enabled=False)
    )
    assert result.decision.outcome == "champion", result.decision.reason
    return RegisteredModel(
        name=result.model_name,
        version=result.version,
        run_id=result.run_id,
        tracking_uri=tracking_uri,
        model_uri=f"models:/{result.model_name}@champion",
        feature_names=result.feature_names,
        task=result.task,
        classes=tuple(result.classes) if result.classes is not None else None,
    )


@pytest.fixture(scope="session")
def registered_model(mlflow_uri: str) -> RegisteredModel:
    """GradientBoosting on breast_cancer (30 features, classes 0/1) registered as
    ``breast-cancer`` v1 ``@champion`` (training/configs/breast_cancer.yaml)."""
    return train_into(
        TRAINING_CONFIGS / "breast_cancer.yaml", mlflow_uri, "breast-cancer"
    )


@pytest.fixture(scope="session")
def registered_regressor(mlflow_uri: str) -> RegisteredModel:
    """GradientBoosting regressor on diabetes (10 features) registered as
    ``diabetes`` v1 ``@champion`` (training/configs/diabetes.yaml)."""
    return train_into(TRAINING_CONFIGS / "diabetes.yaml", mlflow_uri, "diabetes")


@pytest.fixture(scope="session")
def breast_cancer_rows() -> dict[str, object]:
    """tests/fixtures/breast_cancer_rows.json: 8 real rows (4 per class) with
    ``feature_names``, ``instances`` (lists of 30 floats) and ``labels``."""
    import json

    return dict(json.loads((FIXTURES / "breast_cancer_rows.json").read_text()))
