from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from shiplane.localstack import free_port
from shiplane.mlflowclient import registry_client

pytestmark = pytest.mark.mlflow


def test_registry_follows_the_named_server_not_process_settings(
    mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process-wide registry setting pointing elsewhere (here: a closed port).
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with pytest.raises(MlflowException):
        MlflowClient(tracking_uri=mlflow_uri).search_registered_models(max_results=1)
    # The pinned client reaches the session's server all the same.
    found = registry_client(mlflow_uri).search_registered_models(max_results=1)
    assert isinstance(found, list)
