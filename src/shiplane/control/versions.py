"""Which model version is stable and which is canary, for ``analyze``.

In order: explicit flags; Shiplane's annotations on the InferenceService
(``serving.shiplane.io/stable-version`` / ``canary-version``); a
``models:/NAME/VERSION`` storageUri; a ``models:/NAME@ALIAS`` storageUri
resolved through MLflow; finally the MLflow aliases ``@champion`` (stable) and
``@challenger`` (canary). The first source that answers wins, per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.control.errors import InvalidRequestError
from shiplane.control.view import CanaryView, ModelRef
from shiplane_contracts.identity import CHALLENGER_ALIAS as CANARY_ALIAS
from shiplane_contracts.identity import CHAMPION_ALIAS as STABLE_ALIAS


@dataclass(frozen=True)
class ResolvedVersions:
    """The pair ``analyze`` compares, and where each came from."""

    model: str
    stable: str
    canary: str
    stable_source: str
    canary_source: str


def _alias_version(client: Any | None, model: str, alias: str) -> str | None:
    if client is None:
        return None
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model, alias).version)
    except MlflowException:
        return None


def _from_view(
    view: CanaryView | None,
    ref: ModelRef | None,
    annotated: str | None,
    client: Any | None,
    model: str,
) -> tuple[str | None, str]:
    if annotated:
        return annotated, "InferenceService"
    if ref is not None and ref.alias:
        version = _alias_version(client, model, ref.alias)
        if version:
            return version, f"storageUri @{ref.alias} via MLflow"
    return None, ""


def resolve(
    model: str | None,
    stable: str | None,
    canary: str | None,
    view: CanaryView | None,
    mlflow_client: Any | None,
) -> ResolvedVersions:
    """Resolve the model name and both versions.

    Raises:
        InvalidRequestError: something stays unknown, or both are the same.
    """
    model = model or (view.model_name if view else None)
    if not model:
        raise InvalidRequestError(
            "model name unknown: pass --model, or annotate the InferenceService "
            "with serving.shiplane.io/model-name, or use a models:/ storageUri"
        )
    stable_source = canary_source = "flag"
    if stable is None and view is not None:
        stable, stable_source = _from_view(
            view, view.stable, view.stable_version, mlflow_client, model
        )
    if canary is None and view is not None:
        canary, canary_source = _from_view(
            view, view.canary, view.canary_version, mlflow_client, model
        )
    if stable is None:
        stable, stable_source = (
            _alias_version(mlflow_client, model, STABLE_ALIAS),
            f"MLflow @{STABLE_ALIAS}",
        )
    if canary is None:
        canary, canary_source = (
            _alias_version(mlflow_client, model, CANARY_ALIAS),
            f"MLflow @{CANARY_ALIAS}",
        )
    missing = [n for n, v in (("stable", stable), ("canary", canary)) if v is None]
    if missing:
        raise InvalidRequestError(
            f"{' and '.join(missing)} version of {model!r} unknown: pass "
            "--stable-version/--canary-version, or set the serving.shiplane.io "
            "annotations, or give --mlflow-uri to resolve @champion/@challenger"
        )
    assert stable is not None and canary is not None
    if stable == canary:
        raise InvalidRequestError(
            f"stable and canary are both version {stable} of {model!r}: nothing to "
            "compare"
        )
    return ResolvedVersions(model, stable, canary, stable_source, canary_source)
