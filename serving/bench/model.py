"""The one model every server loads: GradientBoosting on scikit-learn's
breast_cancer (30 features), trained here and saved once per format a server
reads, so all of them predict with the same fitted trees."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import joblib  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier

from shiplane_contracts import modelformat
from shiplane_contracts.profile import build_profile, fingerprint

MODEL_NAME = "gb"
"""Name every server registers the model under."""

JOBLIB_FILE = "model.joblib"

# Given, so MLflow does not spend seconds inferring them (`uv export`); the
# servers here run in existing environments (`--env-manager local`).
_REQUIREMENTS = ["scikit-learn==1.9.1"]


@dataclass(frozen=True)
class BenchModel:
    """The fitted model, its data and where each on-disk form was written."""

    estimator: GradientBoostingClassifier
    x: npt.NDArray[np.float64]
    feature_names: list[str]
    joblib_path: Path
    """Plain joblib dump: plain KServe, the floor and MLServer load this."""
    mlflow_dir: Path
    """MLflow sklearn flavor answering ``predict_proba``: ``mlflow models serve``."""
    shiplane_dir: Path
    """Shiplane's model layout (:mod:`shiplane_contracts.modelformat`): our runtime."""

    def rows(self, n: int) -> list[list[float]]:
        """The first ``n`` rows of the dataset as request data."""
        return [[float(v) for v in row] for row in self.x[:n]]

    def expected_proba(self, n: int) -> npt.NDArray[np.float64]:
        """``predict_proba`` of the first ``n`` rows, to check answers against."""
        return np.asarray(self.estimator.predict_proba(self.x[:n]), dtype=np.float64)


def train_and_save(
    workdir: Path, mlflow_model: bool = True, shiplane_model: bool = True
) -> BenchModel:
    """Fit ``GradientBoostingClassifier(random_state=0)`` on breast_cancer and
    write it under ``workdir`` as joblib and, when asked, in the forms
    ``mlflow models serve`` and Shiplane read (MLflow takes seconds to import)."""
    data = load_breast_cancer()
    x = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target)
    feature_names = [str(n) for n in data.feature_names]
    estimator = GradientBoostingClassifier(random_state=0).fit(x, y)

    workdir.mkdir(parents=True, exist_ok=True)
    joblib_path = workdir / JOBLIB_FILE
    joblib.dump(estimator, joblib_path)

    mlflow_dir = workdir / "mlflow-model"
    shiplane_dir = workdir / "shiplane-model"
    shutil.rmtree(mlflow_dir, ignore_errors=True)
    shutil.rmtree(shiplane_dir, ignore_errors=True)
    model = BenchModel(
        estimator, x, feature_names, joblib_path, mlflow_dir, shiplane_dir
    )
    if mlflow_model:
        _save_for_mlflow(model)
    if shiplane_model:
        _save_for_shiplane(model, y, workdir)
    return model


def _save_for_mlflow(model: BenchModel) -> None:
    import mlflow.sklearn  # slow import: only when a server needs this form

    # skops, not pickle, so `mlflow models serve` needs no
    # MLFLOW_ALLOW_PICKLE_DESERIALIZATION; predict_proba so it computes what the
    # other servers compute.
    mlflow.sklearn.save_model(
        model.estimator,
        str(model.mlflow_dir),
        serialization_format="skops",
        skops_trusted_types=list(modelformat.TRUSTED_TYPES),
        pyfunc_predict_fn="predict_proba",
        pip_requirements=_REQUIREMENTS,
    )


def _save_for_shiplane(
    model: BenchModel, y: npt.NDArray[np.generic], workdir: Path
) -> None:
    import mlflow.sklearn

    profile = build_profile(
        model.x,
        model.feature_names,
        model.estimator.predict(model.x),
        task="classification",
        dataset_fingerprint=fingerprint(model.x, y),
    )
    profile_file = profile.save(workdir / modelformat.PROFILE_FILENAME)
    mlflow.sklearn.save_model(
        model.estimator,
        str(model.shiplane_dir),
        serialization_format="skops",
        skops_trusted_types=list(modelformat.TRUSTED_TYPES),
        extra_files=[str(profile_file)],
        pip_requirements=_REQUIREMENTS,
        metadata={
            modelformat.METADATA_KEY: {
                "task": "classification",
                "feature_names": model.feature_names,
                "classes": [int(c) for c in model.estimator.classes_],
                "profile_schema_version": profile.schema_version,
            }
        },
    )
