"""Find, download and load a Shiplane model.

KServe cannot resolve MLflow registry URIs (kserve#3555); this module does:
``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` are resolved with
:class:`mlflow.MlflowClient` to a version, its run and its alias, then downloaded
with :func:`mlflow.artifacts.download_artifacts`; ``runs:/`` URIs are downloaded
the same way; anything else is a local directory (KServe's ``/mnt/models``).

The estimator is read by :mod:`.modelfile` under the operator's trust rules,
never with MLflow's loader, which would trust whatever the model file lists.
Any MLflow sklearn model serves: its inputs come from Shiplane's metadata, else
the model's signature, else what the estimator knows (``feature_names_in_``).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from shiplane_contracts.identity import ModelUriError, parse_models_uri
from shiplane_contracts.modelformat import METADATA_KEY, PROFILE_TAG, profile_path
from shiplane_contracts.profile import ProfileError, ReferenceProfile
from shiplane_serving import modelfile
from shiplane_serving.errors import ModelLoadError, RegistryUnavailable
from shiplane_serving.settings import ServingSettings
from shiplane_serving.types import NUMERIC_KINDS, Column, ColumnKind

log = logging.getLogger(__name__)

# MLflow error codes that no retry will fix.
_FATAL_CODES = frozenset(
    {
        "RESOURCE_DOES_NOT_EXIST",
        "INVALID_PARAMETER_VALUE",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
        "BAD_REQUEST",
    }
)
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class ModelSource:
    """Where a model came from: what every response and metric reports."""

    uri: str
    version: str
    alias: str = ""
    run_id: str = ""

    @property
    def version_uri(self) -> str:
        """``models:/NAME/VERSION`` of a registry model (the version, not the
        alias that pointed at it); the URI itself otherwise."""
        registry = parse_registry_uri(self.uri)
        if registry is None or not self.version.isdigit():
            return self.uri
        return f"models:/{registry[0]}/{self.version}"


@dataclass
class LoadedModel:
    """A loaded estimator with everything serving needs to know about it."""

    estimator: Any
    profile: ReferenceProfile | None
    """The drift baseline; None for a model logged without one (drift is off)."""
    source: ModelSource
    task: Literal["classification", "regression"]
    feature_names: list[str]
    classes: list[Any] | None
    allow_nan: bool
    local_dir: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)
    """Typed columns of a model that takes a table; empty: float64 rows."""

    @property
    def has_proba(self) -> bool:
        """A classifier that answers probabilities (``:predict_proba``)."""
        return self.classes is not None and hasattr(self.estimator, "predict_proba")

    @property
    def n_features(self) -> int:
        return len(self.feature_names)


def parse_registry_uri(uri: str) -> tuple[str, str, str] | None:
    """``(name, alias, version)`` of a ``models:/`` URI (one of alias/version is
    empty), or None if ``uri`` is not a registry URI.

    Raises:
        ModelLoadError: ``uri`` starts with ``models:/`` but is malformed.
    """
    try:
        parsed = parse_models_uri(uri)
    except ModelUriError as exc:
        raise ModelLoadError(f"cannot parse model URI: {exc}") from None
    if parsed is None:
        return None
    return parsed.name, parsed.alias or "", parsed.version or ""


def _is_fatal(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return isinstance(exc, ModelLoadError) or code in _FATAL_CODES


def with_retries(
    what: str,
    action: Callable[[], Any],
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run ``action``; on a transient failure wait (exponential backoff, capped)
    and try again, ``retries`` more times, logging every failure clearly.

    Raises:
        RegistryUnavailable: every attempt failed.
        ModelLoadError: a failure no retry can fix (unknown model, bad URI).
    """
    delay = backoff_s
    for attempt in range(retries + 1):
        try:
            return action()
        except Exception as exc:  # MLflow raises many types for one outage
            if _is_fatal(exc):
                raise ModelLoadError(f"{what} failed: {exc}") from exc
            if attempt == retries:
                raise RegistryUnavailable(
                    f"{what} failed after {retries + 1} attempts: {exc}"
                ) from exc
            log.warning(
                "%s failed (attempt %d of %d), MLflow unreachable? retrying in "
                "%.1fs; model not ready: %s",
                what,
                attempt + 1,
                retries + 1,
                delay,
                str(exc).splitlines()[0],
            )
            sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
    raise AssertionError("unreachable")


def resolve_and_download(
    uri: str,
    download_dir: Path,
    tracking_uri: str = "",
    retries: int = 8,
    backoff_s: float = 1.0,
) -> tuple[Path, ModelSource]:
    """Local directory of the model ``uri`` names and where it came from.

    Raises:
        ModelLoadError: the URI is malformed or names nothing.
        RegistryUnavailable: MLflow stayed unreachable through every retry.
    """
    registry = parse_registry_uri(uri)
    if registry is None and not uri.startswith("runs:/"):
        local = Path(uri.removeprefix("file://"))
        if not local.is_dir():
            raise ModelLoadError(f"model directory {local} does not exist")
        return local, ModelSource(uri=uri, version="")

    import mlflow.artifacts

    from shiplane_contracts.mlflowclient import download_model_version, registry_client

    client = registry_client(tracking_uri or None)
    download_dir.mkdir(parents=True, exist_ok=True)
    if registry is not None:
        name, alias, version = registry

        def lookup() -> Any:
            if alias:
                return client.get_model_version_by_alias(name, alias)
            return client.get_model_version(name, version)

        found = with_retries(f"resolving {uri}", lookup, retries, backoff_s)
        tagged = str((getattr(found, "tags", None) or {}).get(PROFILE_TAG) or "")
        source = ModelSource(
            uri=uri, version=str(found.version), alias=alias, run_id=found.run_id or ""
        )
        artifact_uri = f"models:/{name}/{found.version}"

        def download() -> str:
            target = download_dir / _safe_dirname(artifact_uri)
            return str(
                download_model_version(
                    tracking_uri or None, name, str(found.version), target
                )
            )
    else:
        run_id = uri.removeprefix("runs:/").split("/", 1)[0]
        source = ModelSource(uri=uri, version="", run_id=run_id)
        tagged = ""
        artifact_uri = uri

        def download() -> str:
            target = download_dir / _safe_dirname(artifact_uri)
            target.mkdir(parents=True, exist_ok=True)
            return str(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=artifact_uri,
                    dst_path=str(target),
                    tracking_uri=tracking_uri or None,
                )
            )

    local = Path(
        with_retries(f"downloading {artifact_uri}", download, retries, backoff_s)
    )
    if tagged and not profile_path(local).is_file():

        def download_profile() -> str:
            return str(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=tagged,
                    dst_path=str(download_dir / _safe_dirname(tagged)),
                    tracking_uri=tracking_uri or None,
                )
            )

        fetched = with_retries(
            f"downloading the reference profile {tagged}",
            download_profile,
            retries,
            backoff_s,
        )
        profile_path(local).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fetched, profile_path(local))
        log.info("reference profile from the version's tag: %s", tagged)
    return local, source


def _safe_dirname(artifact_uri: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", artifact_uri)


def read_mlmodel(model_dir: Path) -> dict[str, Any]:
    """The MLmodel file of ``model_dir`` as a dict (empty if there is none)."""
    path = model_dir / "MLmodel"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _allows_nan(estimator: Any) -> bool:
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.allow_nan)
    except Exception:  # not a scikit-learn estimator: be strict
        return False


#: MLflow column types (``signature.inputs``) -> the JSON values a column takes.
_SIGNATURE_KINDS: dict[str, ColumnKind] = {
    "double": "number",
    "float": "number",
    "long": "integer",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
}


def signature_columns(mlmodel: dict[str, Any], where: Path) -> list[Column]:
    """The named, typed columns of ``MLmodel``'s input signature (empty when it
    has none, or a tensor signature).

    Raises:
        ModelLoadError: a column type requests cannot carry (binary, datetime).
    """
    raw = (mlmodel.get("signature") or {}).get("inputs")
    if not raw:
        return []
    try:
        specs = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ModelLoadError(f"{where}/MLmodel: unreadable signature: {exc}") from exc
    if not isinstance(specs, list) or not all(
        isinstance(s, dict) and "name" in s for s in specs
    ):
        return []  # a tensor signature: no column names
    columns = []
    for spec in specs:
        kind = _SIGNATURE_KINDS.get(str(spec.get("type")))
        if kind is None:
            raise ModelLoadError(
                f"{where}/MLmodel: input column {spec['name']!r} has type "
                f"{spec.get('type')!r}; Shiplane serves columns of type "
                f"{sorted(_SIGNATURE_KINDS)}"
            )
        columns.append(Column(str(spec["name"]), kind))
    return columns


def _selects_columns_by_name(estimator: Any) -> bool:
    """Whether the estimator (or a step of it) picks columns by name, so it
    must be called with a DataFrame."""
    from sklearn.compose import ColumnTransformer

    if isinstance(estimator, ColumnTransformer):
        return True
    try:
        params = estimator.get_params(deep=True).values()
    except Exception:  # not a scikit-learn estimator
        return False
    return any(isinstance(v, ColumnTransformer) for v in params)


def load_model_dir(
    model_dir: Path, source: ModelSource, s: ServingSettings
) -> LoadedModel:
    """Load estimator, schema, profile and metadata from an MLflow sklearn model
    directory: one Shiplane trained (``metadata.shiplane``, a reference profile)
    or any other (its signature, or what the estimator knows of its inputs).

    Raises:
        ModelLoadError: anything missing, untrusted or inconsistent; the message
            says what and where.
    """
    mlmodel = read_mlmodel(model_dir)
    estimator = modelfile.load_estimator(
        modelfile.sklearn_file(model_dir, mlmodel),
        s.extra_trusted_types or [],
        s.allow_pickle,
    )
    profile: ReferenceProfile | None = None
    if profile_path(model_dir).is_file():
        try:
            profile = ReferenceProfile.load(profile_path(model_dir))
        except ProfileError as exc:
            raise ModelLoadError(str(exc)) from exc

    meta = (mlmodel.get("metadata") or {}).get(METADATA_KEY) or {}
    columns = signature_columns(mlmodel, model_dir)
    n_in = getattr(estimator, "n_features_in_", None)
    feature_names = [
        str(n)
        for n in (
            meta.get("feature_names")
            or [c.name for c in columns]
            or list(getattr(estimator, "feature_names_in_", []))
            or (profile.feature_names if profile else [])
            or [f"x{i}" for i in range(n_in or 0)]
        )
    ]
    if not feature_names:
        raise ModelLoadError(
            f"{model_dir}: cannot tell the model's inputs (no signature, no "
            "feature_names_in_, no n_features_in_): log it with an input_example"
        )
    if n_in is not None and n_in != len(feature_names):
        raise ModelLoadError(
            f"{model_dir}: the estimator takes {n_in} features, the metadata names "
            f"{len(feature_names)}"
        )
    if profile is not None and len(profile.features) != len(feature_names):
        raise ModelLoadError(
            f"{model_dir}: the model takes {len(feature_names)} features, its "
            f"reference profile describes {len(profile.features)}"
        )
    if profile is not None and profile.feature_names != feature_names:
        raise ModelLoadError(
            f"{model_dir}: the model's columns are {feature_names}, its reference "
            f"profile describes {profile.feature_names}: rebuild it with "
            "shiplane profile"
        )
    if len(columns) != len(feature_names) or [c.name for c in columns] != feature_names:
        columns = [Column(name) for name in feature_names]
    typed = any(c.kind not in NUMERIC_KINDS for c in columns) or (
        _selects_columns_by_name(estimator)
    )

    from sklearn.base import is_classifier

    task = meta.get("task") or (profile.task if profile else None)
    task = task or ("classification" if is_classifier(estimator) else "regression")
    classes: list[Any] | None = None
    if task == "classification":
        if not hasattr(estimator, "classes_"):
            raise ModelLoadError(
                f"{model_dir}: a classification model needs classes_ (is it fitted?)"
            )
        classes = np.asarray(estimator.classes_).tolist()
    version = source.version or str(meta.get("model_version") or "")
    run_id = source.run_id or str(mlmodel.get("run_id") or "")
    if not version:
        version = f"run-{run_id[:8]}" if run_id else "local"
    return LoadedModel(
        estimator=estimator,
        profile=profile,
        source=ModelSource(source.uri, version, source.alias, run_id),
        task=task,
        feature_names=feature_names,
        classes=classes,
        allow_nan=_allows_nan(estimator),
        local_dir=model_dir,
        metadata=dict(meta),
        columns=columns if typed else [],
    )


def load(settings: ServingSettings) -> LoadedModel:
    """Resolve, download and load the model ``settings.model_uri`` names (see
    module doc), with the server's MLflow, trust list and retry settings."""
    s = settings
    local, source = resolve_and_download(
        s.model_uri, s.download_dir, s.tracking_uri, s.load_retries, s.load_backoff_s
    )
    if s.model_version:
        source = ModelSource(source.uri, s.model_version, source.alias, source.run_id)
    return load_model_dir(local, source, s)
