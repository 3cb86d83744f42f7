"""MLflow clients stay on the server they were given, whatever process-wide
MLflow settings say (the training job sets them; tests share one process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from shiplane_contracts.mlflowclient import download_model_version, registry_client
from shiplane_contracts.modelformat import model_data_path, profile_path
from shiplane_tools.localstack import free_port
from tests.conftest import RegisteredModel

pytestmark = pytest.mark.mlflow


@pytest.fixture
def registry_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the process-wide registry at a closed port with a stale
    ``mlflow.set_registry_uri`` (the in-process setting, which wins over the
    MLFLOW_REGISTRY_URI it also exports; another test in this worker may have
    left it set); cleared after the test."""
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", dead)
    mlflow.set_registry_uri(dead)
    yield dead
    mlflow.set_registry_uri("")


def test_plain_client_follows_the_process_setting(
    mlflow_uri: str, registry_elsewhere: str
) -> None:
    # The MLflow behaviour this module exists for: if this stops raising, MLflow
    # changed and registry_client may be simplified.
    with pytest.raises(MlflowException):
        MlflowClient(tracking_uri=mlflow_uri).search_registered_models(max_results=1)


def test_pinned_client_and_download_stay_on_the_named_server(
    registered_model: RegisteredModel, registry_elsewhere: str, tmp_path: Path
) -> None:
    client = registry_client(registered_model.tracking_uri)
    champion = client.get_model_version_by_alias(registered_model.name, "champion")
    assert str(champion.version) == registered_model.version
    local = download_model_version(
        registered_model.tracking_uri,
        registered_model.name,
        registered_model.version,
        tmp_path,
    )
    assert model_data_path(local).is_file()
    assert profile_path(local).is_file()
