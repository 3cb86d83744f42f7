"""Real Shiplane model directories for serving tests, saved exactly as the
contract in modelformat says (MLflow sklearn flavor, skops, our trusted
types, the reference profile as an extra file, metadata.shiplane)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.model_selection import train_test_split

from shiplane_contracts.mlflowclient import registry_client
from shiplane_contracts.modelformat import METADATA_KEY, PROFILE_FILENAME, TRUSTED_TYPES
from shiplane_contracts.profile import build_profile, fingerprint


def breast_cancer_split() -> tuple[Any, Any, Any, Any, list[str]]:
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=0, stratify=data.target
    )
    return x_train, x_test, y_train, y_test, [str(n) for n in data.feature_names]


def save_shiplane_model(
    target: Path, task: str = "classification", version: str = ""
) -> Path:
    """Fit a small GradientBoosting model and save it as a Shiplane model dir."""
    import mlflow.sklearn

    if task == "classification":
        x_train, _, y_train, _, names = breast_cancer_split()
        est: Any = GradientBoostingClassifier(n_estimators=50, random_state=0)
    else:
        data = load_diabetes()
        x_train, y_train, names = data.data, data.target, list(data.feature_names)
        est = GradientBoostingRegressor(n_estimators=50, random_state=0)
    est.fit(x_train, y_train)
    preds = est.predict(x_train)
    profile = build_profile(
        x_train,
        names,
        preds,
        task,
        fingerprint(x_train, y_train),  # type: ignore[arg-type]
    )
    staging = target.parent / f"{target.name}-staging"
    staging.mkdir(parents=True, exist_ok=True)
    profile_file = profile.save(staging / PROFILE_FILENAME)
    meta: dict[str, Any] = {
        "task": task,
        "feature_names": names,
        "profile_schema_version": 1,
    }
    if task == "classification":
        meta["classes"] = np.asarray(est.classes_).tolist()
    if version:
        meta["model_version"] = version
    mlflow.sklearn.save_model(
        est,
        str(target),
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        extra_files=[str(profile_file)],
        metadata={METADATA_KEY: meta},
        pip_requirements=["scikit-learn==1.9.1", "skops"],  # skips slow inference
    )
    return target


def register_model(tracking_uri: str, model_dir: Path, name: str, alias: str) -> str:
    """Log ``model_dir`` as a run artifact, register it and set ``alias``; returns
    the run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"serving-tests-{name}")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    client = registry_client(tracking_uri)
    try:
        client.create_registered_model(name)
    except Exception:  # already there from an earlier test in the session
        pass
    mv = client.create_model_version(
        name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias(name, alias, mv.version)
    return str(run.info.run_id)
