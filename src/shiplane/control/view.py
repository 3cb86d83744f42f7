"""What an InferenceService says about its canary: the read view of the
object, for ``status``, ``analyze`` and the plans.

Two canary styles exist in KServe:

* **Knative** (serverless) mode: ``spec.predictor.canaryTrafficPercent``. The
  predictor spec *is* the canary (the latest revision); the previously rolled
  out revision is stable.
* **Standard** mode (KServe >= 0.20): ``spec.canary[]`` entries, each a
  ``predictor`` with a ``trafficPercent``. ``spec.predictor`` is stable.

What a predictor serves is its pinned model URI (``shiplane_contracts.identity``); the
versions come from Shiplane's annotations first, then from those URIs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from shiplane.control.audit import Action, parse_history
from shiplane.control.errors import UnsupportedShapeError
from shiplane_contracts.identity import (
    CANARY_VERSION_ANNOTATION,
    MODEL_NAME_ANNOTATION,
    MODEL_URI_ENV,
    STABLE_VERSION_ANNOTATION,
    ModelUriError,
    parse_models_uri,
)

JsonDict = dict[str, Any]

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
_STANDARD_MODES = {"standard", "rawdeployment"}


class Style(StrEnum):
    """Which KServe canary mechanism an InferenceService uses."""

    KNATIVE = "knative"
    STANDARD = "standard"


@dataclass(frozen=True)
class ModelRef:
    """What a ``storageUri`` says about the model it points at."""

    uri: str
    model_name: str | None = None
    version: str | None = None
    alias: str | None = None


def parse_model_uri(uri: str | None) -> ModelRef | None:
    """Split ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``; other URIs
    (s3://, pvc://, ...) keep only the URI."""
    if not uri:
        return None
    try:
        parsed = parse_models_uri(uri)
    except ModelUriError:
        parsed = None
    if parsed is None:
        return ModelRef(uri=uri)
    return ModelRef(
        uri=uri, model_name=parsed.name, version=parsed.version, alias=parsed.alias
    )


@dataclass(frozen=True)
class TrafficTarget:
    """One line of the traffic split KServe reports in the status."""

    target: str
    percent: int
    role: str  # "stable" | "canary" | "latest" | ""


@dataclass(frozen=True)
class CanaryView:
    """Everything ``status`` shows, read from the spec, status and annotations."""

    name: str
    namespace: str
    resource_version: str
    style: Style
    model_name: str | None
    stable: ModelRef | None
    canary: ModelRef | None
    stable_version: str | None
    canary_version: str | None
    canary_percent: int | None
    """Configured canary traffic; None when no canary is configured."""
    ready: bool | None
    ready_message: str
    traffic: tuple[TrafficTarget, ...]
    history: tuple[JsonDict, ...]

    @property
    def has_canary(self) -> bool:
        return self.canary_percent is not None

    @property
    def last_promotion(self) -> JsonDict | None:
        for entry in reversed(self.history):
            if entry.get("action") == Action.PROMOTE:
                return entry
        return None

    def to_dict(self) -> JsonDict:
        """JSON-friendly form for ``--output json``."""
        data = asdict(self)
        data["style"] = str(self.style)
        data["has_canary"] = self.has_canary
        data["last_promotion"] = self.last_promotion
        return data


def _mapping(value: Any, where: str) -> JsonDict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnsupportedShapeError(
            f"{where} must be an object, got {type(value).__name__}"
        )
    return value


def _spec(isvc: JsonDict) -> JsonDict:
    if isvc.get("kind") not in (None, "InferenceService"):
        raise UnsupportedShapeError(
            f"expected an InferenceService, got {isvc.get('kind')}"
        )
    spec = _mapping(isvc.get("spec"), "spec")
    if not isinstance(spec.get("predictor"), dict):
        raise UnsupportedShapeError(
            "spec.predictor is missing: not a usable InferenceService"
        )
    return spec


def _annotations(isvc: JsonDict) -> dict[str, str]:
    meta = _mapping(isvc.get("metadata"), "metadata")
    return dict(_mapping(meta.get("annotations"), "metadata.annotations"))


def _canaries(spec: JsonDict) -> list[JsonDict]:
    canaries = spec.get("canary")
    if canaries is None:
        return []
    if not isinstance(canaries, list) or not all(isinstance(c, dict) for c in canaries):
        raise UnsupportedShapeError("spec.canary must be a list of canary specs")
    if len(canaries) > 1:
        raise UnsupportedShapeError(
            f"spec.canary has {len(canaries)} entries; Shiplane manages exactly one "
            "canary per InferenceService"
        )
    return canaries


def detect_style(isvc: JsonDict) -> Style:
    """Tell which canary style an InferenceService uses.

    A canary in the spec decides; without one, the deployment mode (annotation,
    then status) does; KServe's default is Knative.

    Raises:
        UnsupportedShapeError: both styles are configured at once.
    """
    spec = _spec(isvc)
    standard = bool(_canaries(spec))
    knative = spec["predictor"].get("canaryTrafficPercent") is not None
    if standard and knative:
        raise UnsupportedShapeError(
            "both canary styles are set (spec.canary and "
            "spec.predictor.canaryTrafficPercent); remove one before using shiplane"
        )
    if standard:
        return Style.STANDARD
    if knative:
        return Style.KNATIVE
    status = _mapping(isvc.get("status"), "status")
    mode = _annotations(isvc).get(DEPLOYMENT_MODE_ANNOTATION) or status.get(
        "deploymentMode", ""
    )
    return Style.STANDARD if str(mode).lower() in _STANDARD_MODES else Style.KNATIVE


def model_env(predictor: JsonDict) -> JsonDict | None:
    """The ``{name, value}`` entry of the model container's env that names what
    the Shiplane runtime serves, or None."""
    model = predictor.get("model")
    env = model.get("env") if isinstance(model, dict) else None
    for entry in env if isinstance(env, list) else []:
        if isinstance(entry, dict) and entry.get("name") == MODEL_URI_ENV:
            return entry
    return None


def model_uri(predictor: JsonDict) -> str | None:
    """What a predictor serves: the Shiplane runtime's model URI (the chart and
    ``canary`` write it to the container env) or, failing that, the
    ``storageUri`` KServe downloads."""
    entry = model_env(predictor)
    if entry is not None and isinstance(entry.get("value"), str):
        value = str(entry["value"])
        if value.startswith("models:/"):
            return value
    model = predictor.get("model")
    if isinstance(model, dict) and isinstance(model.get("storageUri"), str):
        return str(model["storageUri"])
    return None


def _readiness(status: JsonDict) -> tuple[bool | None, str]:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            ok = str(cond.get("status")) == "True"
            return ok, str(cond.get("message") or cond.get("reason") or "")
    return None, "no Ready condition reported yet"


def _knative_traffic(
    status: JsonDict, canary_active: bool
) -> tuple[TrafficTarget, ...]:
    components = _mapping(status.get("components"), "status.components")
    predictor = _mapping(components.get("predictor"), "status.components.predictor")
    targets = []
    for entry in predictor.get("traffic") or []:
        if not isinstance(entry, dict):
            continue
        revision = str(entry.get("revisionName") or entry.get("tag") or "?")
        # During a canary the latest revision is the canary and the previously
        # rolled-out one is stable; otherwise the latest is stable.
        role = "canary" if canary_active and entry.get("latestRevision") else "stable"
        targets.append(TrafficTarget(revision, int(entry.get("percent") or 0), role))
    return tuple(targets)


def _standard_traffic(spec: JsonDict, status: JsonDict) -> tuple[TrafficTarget, ...]:
    reported = [s for s in status.get("canaryStatuses") or [] if isinstance(s, dict)]
    if reported:
        canary_total = sum(int(s.get("trafficPercent") or 0) for s in reported)
        return (TrafficTarget("predictor", 100 - canary_total, "stable"),) + tuple(
            TrafficTarget(
                str(s.get("name") or "canary"),
                int(s.get("trafficPercent") or 0),
                "canary",
            )
            for s in reported
        )
    canaries = _canaries(spec)
    canary_total = sum(int(c.get("trafficPercent") or 0) for c in canaries)
    return (TrafficTarget("predictor", 100 - canary_total, "stable"),) + tuple(
        TrafficTarget("canary", int(c.get("trafficPercent") or 0), "canary")
        for c in canaries
    )


def inspect(isvc: JsonDict) -> CanaryView:
    """Read stable and canary, their versions, the traffic split and readiness.

    Versions come from Shiplane's annotations first, then from a
    ``models:/NAME/VERSION`` storageUri. In Knative mode the spec only names the
    latest revision, so the stable version is known from the annotation only.
    """
    spec = _spec(isvc)
    style = detect_style(isvc)
    meta = _mapping(isvc.get("metadata"), "metadata")
    status = _mapping(isvc.get("status"), "status")
    annotations = _annotations(isvc)
    predictor = spec["predictor"]

    canary_percent: int | None
    if style is Style.STANDARD:
        canaries = _canaries(spec)
        stable = parse_model_uri(model_uri(predictor))
        canary = (
            parse_model_uri(
                model_uri(
                    _mapping(canaries[0].get("predictor"), "spec.canary[0].predictor")
                )
            )
            if canaries
            else None
        )
        canary_percent = (
            int(canaries[0].get("trafficPercent") or 0) if canaries else None
        )
        traffic = _standard_traffic(spec, status)
    else:
        raw_percent = predictor.get("canaryTrafficPercent")
        canary_percent = None if raw_percent is None else int(raw_percent)
        latest = parse_model_uri(model_uri(predictor))
        stable, canary = (
            (None, latest) if canary_percent is not None else (latest, None)
        )
        traffic = _knative_traffic(status, canary_percent is not None)

    model_name = annotations.get(MODEL_NAME_ANNOTATION) or next(
        (r.model_name for r in (canary, stable) if r is not None and r.model_name), None
    )
    stable_version = annotations.get(STABLE_VERSION_ANNOTATION) or (
        stable.version if stable else None
    )
    canary_version = None
    if canary_percent is not None:
        canary_version = annotations.get(CANARY_VERSION_ANNOTATION) or (
            canary.version if canary else None
        )
    ready, ready_message = _readiness(status)
    return CanaryView(
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        style=style,
        model_name=model_name,
        stable=stable,
        canary=canary,
        stable_version=stable_version,
        canary_version=canary_version,
        canary_percent=canary_percent,
        ready=ready,
        ready_message=ready_message,
        traffic=traffic,
        history=parse_history(annotations),
    )
