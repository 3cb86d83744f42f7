"""Read the estimator of an MLflow ``sklearn`` flavor model, with the operator's
trust rules.

MLflow's sklearn flavor names its data file and format in ``MLmodel``
(``flavors.sklearn.pickled_model``, ``serialization_format``, ``sklearn_version``).
skops files (MLflow 3's default) are loaded against Shiplane's own trust list
plus what the operator adds, never the list the model file carries. pickle and
cloudpickle files run their author's code when loaded, so they load only when
the operator opted in (``--allow-pickle``).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane_contracts.modelformat import TRUSTED_TYPES, model_data_path
from shiplane_serving.errors import ModelLoadError

log = logging.getLogger(__name__)

SKOPS = "skops"
PICKLE_FORMATS = ("pickle", "cloudpickle")

TRUST_HINT = (
    "--extra-trusted-types (SHIPLANE_SERVING_EXTRA_TRUSTED_TYPES, chart value "
    "servingRuntime.extraTrustedTypes)"
)
PICKLE_HINT = (
    "--allow-pickle (SHIPLANE_SERVING_ALLOW_PICKLE=true, chart value "
    "servingRuntime.allowPickle=true)"
)


@dataclass(frozen=True)
class SklearnFile:
    """The estimator file of a model directory and how it was written."""

    path: Path
    serialization_format: str
    sklearn_version: str  # empty when the model does not say


def sklearn_file(model_dir: Path, mlmodel: dict[str, Any]) -> SklearnFile:
    """Where the estimator is, from ``MLmodel``'s sklearn flavor (a directory
    without ``MLmodel`` is read as a bare ``model.skops``).

    Raises:
        ModelLoadError: no sklearn flavor, or its file is missing.
    """
    if not mlmodel:
        return SklearnFile(model_data_path(model_dir), SKOPS, "")
    flavors = mlmodel.get("flavors") or {}
    flavor = flavors.get("sklearn")
    if not isinstance(flavor, dict):
        raise ModelLoadError(
            f"{model_dir}/MLmodel has no sklearn flavor (it has "
            f"{sorted(flavors) or 'none'}): Shiplane serves models logged with "
            "mlflow.sklearn.log_model"
        )
    fmt = str(flavor.get("serialization_format") or "pickle")
    path = model_dir / str(flavor.get("pickled_model") or "model.pkl")
    if not path.is_file():
        raise ModelLoadError(f"{path} not found (named by {model_dir}/MLmodel)")
    return SklearnFile(path, fmt, str(flavor.get("sklearn_version") or ""))


def load_estimator(
    file: SklearnFile, extra_trusted_types: list[str], allow_pickle: bool
) -> Any:
    """The fitted estimator in ``file``.

    Raises:
        ModelLoadError: untrusted types (named, with the flag that trusts
            them), a pickle without the opt-in, or a file that does not load
            (naming both scikit-learn versions when they differ).
    """
    import sklearn

    mismatch = ""
    if file.sklearn_version and file.sklearn_version != sklearn.__version__:
        mismatch = (
            f" (logged with scikit-learn {file.sklearn_version}, this server runs "
            f"{sklearn.__version__})"
        )
        log.warning(
            "%s was logged with scikit-learn %s and is loaded by %s: predictions "
            "may differ; re-log it under %s to be sure",
            file.path,
            file.sklearn_version,
            sklearn.__version__,
            sklearn.__version__,
        )
    if file.serialization_format == SKOPS:
        return _load_skops(file.path, extra_trusted_types, mismatch)
    if file.serialization_format not in PICKLE_FORMATS:
        raise ModelLoadError(
            f"{file.path}: unknown serialization_format "
            f"{file.serialization_format!r} (expected skops, pickle or cloudpickle)"
        )
    if not allow_pickle:
        raise ModelLoadError(
            f"{file.path} is a {file.serialization_format} model: loading it runs "
            "code its author chose, so Shiplane does not by default. Re-log it "
            "with mlflow.sklearn.log_model(..., serialization_format='skops'), or, "
            f"if you trust everyone who can write to this registry, set "
            f"{PICKLE_HINT}"
        )
    log.warning(
        "loading %s model %s: this runs its author's code (allowed by --allow-pickle)",
        file.serialization_format,
        file.path,
    )
    try:
        with file.path.open("rb") as f:
            if file.serialization_format == "cloudpickle":
                import cloudpickle

                return cloudpickle.load(f)
            return pickle.load(f)  # the operator opted in (--allow-pickle)
    except Exception as exc:
        raise ModelLoadError(f"cannot unpickle {file.path}{mismatch}: {exc}") from exc


def _load_skops(path: Path, extra_trusted_types: list[str], mismatch: str) -> Any:
    import skops.io

    trusted = [*TRUSTED_TYPES, *extra_trusted_types]
    try:
        untrusted = [
            t for t in skops.io.get_untrusted_types(file=path) if t not in trusted
        ]
    except Exception as exc:
        raise ModelLoadError(f"cannot read {path} with skops{mismatch}: {exc}") from exc
    if untrusted:
        flags = " ".join(f"--extra-trusted-types {t}" for t in untrusted)
        raise ModelLoadError(
            f"{path} needs types outside Shiplane's trust list: {untrusted}. "
            f"If you trust this model's author, allow them with {TRUST_HINT}, "
            f"e.g. {flags}"
        )
    try:
        return skops.io.load(path, trusted=trusted)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {path} with skops{mismatch}: {exc}") from exc
