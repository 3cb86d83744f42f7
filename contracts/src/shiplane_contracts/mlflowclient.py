"""One way to get an MLflow client that talks to the server you named.

MLflow resolves a client's *registry* from the process-wide registry URI
(``mlflow.set_registry_uri``, or an inherited ``MLFLOW_REGISTRY_URI``) before
the ``tracking_uri`` the client was given. One ``set_registry_uri`` anywhere in
the process (a library, a notebook cell, a test) is enough for
``MlflowClient(tracking_uri=X)`` to read and move aliases on another server.
Every Shiplane component builds its clients here, with both URIs pinned.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient


def registry_client(tracking_uri: str | None) -> MlflowClient:
    """An ``MlflowClient`` whose tracking and registry are both ``tracking_uri``.

    ``None`` keeps MLflow's own resolution (``MLFLOW_TRACKING_URI``).
    """
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def download_model_version(
    tracking_uri: str | None, name: str, version: str, dst: Path
) -> Path:
    """Download registered model ``name`` version ``version`` into ``dst``.

    ``download_artifacts("models:/...")`` finds the registry through the same
    process-wide setting (and with none set, quietly opens ``./mlflow.db``);
    asking the pinned client for the version's storage location first keeps the
    download on the named server.
    """
    from mlflow.artifacts import download_artifacts

    location = registry_client(tracking_uri).get_model_version_download_uri(
        name, version
    )
    dst.mkdir(parents=True, exist_ok=True)
    return Path(
        download_artifacts(
            artifact_uri=location, dst_path=str(dst), tracking_uri=tracking_uri
        )
    )
