"""Everything that talks to MLflow: the reachability probe, loading the current
champion by the Shiplane model contract, logging the run and registering the
version with its gate tags and alias.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy.typing as npt
import skops.io as sio
import yaml

from shiplane_contracts.identity import CHAMPION_ALIAS
from shiplane_contracts.mlflowclient import download_model_version, registry_client
from shiplane_contracts.modelformat import (
    METADATA_KEY,
    PROFILE_FILENAME,
    TRUSTED_TYPES,
    model_data_path,
)
from shiplane_contracts.profile import PROFILE_SCHEMA_VERSION, ReferenceProfile
from shiplane_training.data import Features
from shiplane_training.errors import ModelFormatError, TrackingUnavailableError

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

CHAMPION: Final = CHAMPION_ALIAS
MODEL_ARTIFACT: Final = "model"
TAG_PREFIX: Final = "shiplane."


@dataclass(frozen=True)
class ChampionModel:
    """The current ``@champion`` as serving would load it."""

    version: str
    model: Any
    task: str | None
    feature_names: list[str] | None
    categorical: list[str]
    """Its categorical inputs (``metadata.shiplane.categorical_features``)."""


def assert_servable(model: Any) -> None:
    """Refuse a model that serving's skops allowlist would not load.

    Raises:
        ModelFormatError: naming the types outside ``TRUSTED_TYPES``.
    """
    untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    extra = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if extra:
        raise ModelFormatError(
            "the fitted model needs skops types serving does not trust: "
            f"{', '.join(extra)} (see shiplane_contracts.modelformat.TRUSTED_TYPES)"
        )


@contextlib.contextmanager
def _mlflow_env(**values: str) -> Iterator[None]:
    """Set MLflow environment switches for a block, then restore them. MLflow
    reads these at call time, so this scopes them to one operation."""
    from mlflow import environment_variables as env

    variables = [getattr(env, name) for name in values]
    saved = [(var, var.get_raw()) for var in variables]
    for var, value in zip(variables, values.values(), strict=True):
        var.set(value)
    try:
        yield
    finally:
        for var, old in saved:
            if old is None:
                var.unset()
            else:
                var.set(old)


def _fail_fast(timeout_s: float) -> contextlib.AbstractContextManager[None]:
    """MLflow's HTTP client retries for minutes by default; the probe wants one
    short attempt."""
    return _mlflow_env(
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT=str(max(1, round(timeout_s))),
    )


# The job's working directory may be a uv project (a checkout): MLflow would then
# run `uv export` and copy uv.lock into the model. The requirements are given
# explicitly instead, so the model artifact does not depend on the cwd.
_NO_UV_DETECTION: Final = {
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
}


class Registry:
    """MLflow tracking + model registry for one model name."""

    def __init__(self, tracking_uri: str, model_name: str) -> None:
        import mlflow

        self.tracking_uri = tracking_uri
        self.model_name = model_name
        # The fluent API (start_run, log_model) logs to the global tracking URI;
        # everything registry-side goes through the pinned client.
        mlflow.set_tracking_uri(tracking_uri)
        self.client = registry_client(tracking_uri)

    def probe(self, timeout_s: float) -> None:
        """One cheap request, no retries: is the server there and answering?

        Raises:
            TrackingUnavailableError: with the URI and the cause.
        """
        try:
            with _fail_fast(timeout_s):
                self.client.search_registered_models(max_results=1)
        except Exception as exc:  # any transport or server error means "unusable"
            raise TrackingUnavailableError(
                f"cannot reach MLflow at {self.tracking_uri}: "
                f"{_transport_problem(exc, timeout_s)} (is the server up? check "
                "MLFLOW_TRACKING_URI)"
            ) from exc

    def version_count(self) -> int:
        """Versions the registered model has (0 if it does not exist)."""
        return len(
            self.client.search_model_versions(
                f"name = '{self.model_name}'", max_results=1
            )
        )

    def champion(self) -> str | None:
        """Version number holding ``@champion``, or None."""
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(self.model_name, CHAMPION)
        except MlflowException as exc:
            if exc.error_code in (
                "RESOURCE_DOES_NOT_EXIST",
                "NOT_FOUND",
                "INVALID_PARAMETER_VALUE",
            ):
                return None
            raise
        return str(version.version)

    def load_champion(self, version: str, work_dir: Path) -> ChampionModel:
        """Download ``@champion`` and load ``model.skops`` with Shiplane's own
        allowlist (not MLflow's loader, which trusts the model's own list)."""
        local = download_model_version(
            self.tracking_uri, self.model_name, version, work_dir
        )
        mlmodel = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8"))
        meta = (mlmodel.get("metadata") or {}).get(METADATA_KEY) or {}
        model = sio.load(model_data_path(local), trusted=list(TRUSTED_TYPES))
        names = meta.get("feature_names")
        return ChampionModel(
            version=version,
            model=model,
            task=meta.get("task"),
            feature_names=list(names) if names is not None else None,
            categorical=list(meta.get("categorical_features") or []),
        )

    def log_run(
        self,
        *,
        experiment: str,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        artifacts: list[Path],
        model: Any,
        profile: ReferenceProfile,
        metadata: Mapping[str, Any],
        signature: ModelSignature,
        input_example: Features,
        pip_requirements: list[str],
    ) -> tuple[str, str, str]:
        """Log one run with its model; return (run id, model URI, model id).

        Raises:
            TrackingUnavailableError: MLflow failed; nothing was registered.
        """
        import mlflow
        import mlflow.sklearn
        from mlflow.entities import Metric, Param, RunTag

        try:
            mlflow.set_experiment(experiment)
            with (
                mlflow.start_run(run_name=run_name) as run,
                tempfile.TemporaryDirectory(prefix="shiplane-profile-") as tmp,
            ):
                # One request for all params, metrics and tags instead of dozens.
                now_ms = int(time.time() * 1000)
                self.client.log_batch(
                    run.info.run_id,
                    metrics=[
                        Metric(k, float(v), now_ms, 0) for k, v in metrics.items()
                    ],
                    params=[Param(k, str(v)) for k, v in params.items()],
                    tags=[RunTag(k, v) for k, v in tags.items()],
                )
                for path in artifacts:
                    mlflow.log_artifact(str(path))
                profile_file = profile.save(Path(tmp) / PROFILE_FILENAME)
                mlflow.log_artifact(str(profile_file))  # for humans browsing the run
                with _mlflow_env(**_NO_UV_DETECTION):
                    info = mlflow.sklearn.log_model(
                        model,
                        name=MODEL_ARTIFACT,
                        serialization_format="skops",
                        skops_trusted_types=list(TRUSTED_TYPES),
                        extra_files=[str(profile_file)],
                        signature=signature,
                        input_example=input_example,
                        metadata={METADATA_KEY: dict(metadata)},
                        pip_requirements=pip_requirements,
                    )
            return run.info.run_id, info.model_uri, info.model_id
        except Exception as exc:
            raise TrackingUnavailableError(
                f"MLflow at {self.tracking_uri} failed while logging the run "
                f"(nothing was registered): {_first_line(exc)}"
            ) from exc

    def register(
        self,
        model_uri: str,
        model_id: str,
        run_id: str,
        tags: Mapping[str, str],
        description: str,
    ) -> str:
        """Create the model version (and the registered model if it is new);
        return its version number. Raises MlflowException on failure."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(self.model_name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = self.client.create_model_version(
            self.model_name,
            source=model_uri,
            run_id=run_id,
            model_id=model_id,
            tags=dict(tags),
            description=description or None,
        )
        return str(version.version)

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.model_name, alias, version)

    def tag_run(self, run_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)


def model_signature(x: Features, predictions: npt.NDArray[Any]) -> ModelSignature:
    """The MLflow signature, inferred from the training rows: for a table its
    named, typed columns (string, boolean, long, double; a column with missing
    values is optional), which serving parses requests by; for a float64 matrix
    a tensor ``float64 (-1, n_features)``."""
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow's hint that an integer column cannot carry a missing value:
        # serving reads a missing whole number as float NaN, which the
        # pipeline's imputer takes, so the hint does not apply.
        warnings.filterwarnings("ignore", message=".*integer column.*")
        return infer_signature(x, predictions)


def profile_schema_metadata(
    task: str,
    feature_names: list[str],
    classes: list[Any] | None,
    categorical: list[str] | None = None,
    profile_schema_version: int = PROFILE_SCHEMA_VERSION,
) -> dict[str, Any]:
    """``metadata.shiplane`` of the MLmodel file (see modelformat), plus
    ``categorical_features``: the inputs the pipeline encodes as categories,
    which the gate compares with the champion's. ``profile_schema_version`` is
    that of the profile logged with the model (1 for numeric inputs only)."""
    return {
        "task": task,
        "feature_names": feature_names,
        "categorical_features": list(categorical or []),
        "classes": classes,
        "profile_schema_version": profile_schema_version,
    }


def _transport_problem(exc: BaseException, timeout_s: float) -> str:
    """The useful part of an MLflow client error (they embed whole URLs and
    urllib3 reprs)."""
    text = str(exc)
    known = {
        "Connection refused": "connection refused",
        "timed out": f"no answer within {timeout_s:g}s",
        "Name or service not known": "unknown host",
        "Temporary failure in name resolution": "unknown host",
        "error code 401": "unauthorized (check MLFLOW_TRACKING_TOKEN or credentials)",
        "error code 403": "forbidden (check MLFLOW_TRACKING_TOKEN or credentials)",
    }
    for needle, meaning in known.items():
        if needle in text:
            return meaning
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
