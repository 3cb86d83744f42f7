"""The session fixtures other test packages build on really hold what they say."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pytest
import skops.io as sio
from mlflow.artifacts import download_artifacts

from shiplane_contracts.mlflowclient import registry_client
from shiplane_contracts.modelformat import TRUSTED_TYPES, model_data_path, profile_path
from shiplane_contracts.profile import ReferenceProfile

if TYPE_CHECKING:
    from tests.conftest import RegisteredModel

pytestmark = pytest.mark.mlflow


def test_registered_model_is_champion_and_loads_by_contract(
    registered_model: RegisteredModel,
    breast_cancer_rows: dict[str, object],
    tmp_path: Path,
) -> None:
    # models:/ URIs resolve through the registry URI, which follows the global
    # tracking URI (download_artifacts' tracking_uri= alone does not set it).
    mlflow.set_tracking_uri(registered_model.tracking_uri)
    client = registry_client(registered_model.tracking_uri)
    version = client.get_model_version_by_alias(registered_model.name, "champion")
    assert str(version.version) == registered_model.version
    local = Path(
        download_artifacts(
            registered_model.model_uri,
            dst_path=str(tmp_path),
            tracking_uri=registered_model.tracking_uri,
        )
    )
    model = sio.load(model_data_path(local), trusted=list(TRUSTED_TYPES))
    profile = ReferenceProfile.load(profile_path(local))
    assert tuple(profile.feature_names) == registered_model.feature_names
    assert len(registered_model.feature_names) == 30
    assert breast_cancer_rows["feature_names"] == list(registered_model.feature_names)
    predictions = model.predict(breast_cancer_rows["instances"])
    assert list(predictions) == breast_cancer_rows["labels"]


def test_registered_regressor(registered_regressor: RegisteredModel) -> None:
    client = registry_client(registered_regressor.tracking_uri)
    version = client.get_model_version_by_alias(registered_regressor.name, "champion")
    assert str(version.version) == registered_regressor.version
    assert registered_regressor.task == "regression"
    assert len(registered_regressor.feature_names) == 10
    listed = {a.path for a in client.list_artifacts(registered_regressor.run_id)}
    assert "residuals.png" in listed
    metrics = client.get_run(registered_regressor.run_id).data.metrics
    assert {"rmse", "mae", "r2"} <= set(metrics)
