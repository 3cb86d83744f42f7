"""How a Shiplane model looks on disk: the contract between training and serving.

Training logs an MLflow ``sklearn`` flavor model saved with skops, plus the
reference profile as an MLflow extra file. Serving finds the same layout
whether the directory came from the MLflow registry (``models:/NAME@ALIAS``),
a ``runs:/`` URI or KServe's storage initializer (``/mnt/models``)::

    MLmodel                                   MLflow metadata (+ ``metadata`` below)
    model.skops                               the fitted scikit-learn estimator
    extra_files/shiplane_reference_profile.json   the drift baseline

Why skops and an allowlist of our own: MLflow's loader takes the skops trusted
types from the model's own MLmodel file, so a crafted model can trust anything,
which is why MLflow also gates it behind MLFLOW_ALLOW_PICKLE_DESERIALIZATION.
Shiplane loads ``model.skops`` with :data:`TRUSTED_TYPES`, fixed in code (and
extendable by the operator, never by the model), and training refuses at save
time a model that needs anything else, so it cannot register one serving would
reject.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

MODEL_DATA_FILE: Final = "model.skops"
PROFILE_FILENAME: Final = "shiplane_reference_profile.json"
PROFILE_PATH: Final = f"extra_files/{PROFILE_FILENAME}"

PROFILE_TAG: Final = "shiplane.reference_profile"
"""Model version tag naming a reference profile built after the model was
logged (``shiplane profile``), as an artifact URI (``runs:/RUN/FILE``). Serving
reads it when the model's own files hold no profile."""

# Keys Shiplane adds under ``metadata`` in the MLmodel file.
METADATA_KEY: Final = "shiplane"
"""``metadata.shiplane`` holds: task, feature_names, classes (classification),
profile_schema_version."""

# Types skops does not trust by default that the supported estimators need
# (found with skops.io.get_untrusted_types over the estimators training offers).
TRUSTED_TYPES: Final[tuple[str, ...]] = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def model_data_path(model_dir: Path) -> Path:
    return model_dir / MODEL_DATA_FILE


def profile_path(model_dir: Path) -> Path:
    return model_dir / PROFILE_PATH
