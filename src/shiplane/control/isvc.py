"""Pure canary transformations of a KServe InferenceService.

Every function here takes an InferenceService as a plain dict (as the
Kubernetes API returns it) and returns data; nothing talks to a cluster. A
:class:`Plan` carries the JSON merge patch (RFC 7386) to send, with
``metadata.resourceVersion`` set so the API server applies it only to the
object that was read (optimistic concurrency: a stale patch gets 409).

Two canary styles exist in KServe:

* **Knative** (serverless) mode: ``spec.predictor.canaryTrafficPercent``. The
  predictor spec *is* the canary (the latest revision); the previously rolled
  out revision is stable. Rollback sets the percent to 0, promotion removes it.
* **Standard** mode (KServe >= 0.20): ``spec.canary[]`` entries, each a full
  ``predictor`` with a ``trafficPercent``. ``spec.predictor`` is stable.
  Rollback sets ``trafficPercent`` to 0 (the canary stays deployed, dark, so
  it can be inspected); promotion makes the canary the predictor and removes
  ``spec.canary``.

Shiplane keeps its own bookkeeping in annotations under ``serving.shiplane.io/``
(model name, stable and canary versions, promotion history), written in the
same patch as the traffic change so both land or neither does.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shiplane.control.errors import (
    InvalidRequestError,
    NoCanaryError,
    UnsupportedShapeError,
)
from shiplane.identity import (
    CANARY_VERSION_ANNOTATION,
    HISTORY_ANNOTATION,
    MODEL_NAME_ANNOTATION,
    MODEL_URI_ENV,
    STABLE_VERSION_ANNOTATION,
    ModelUriError,
    parse_models_uri,
    pinned_uri,
)

JsonDict = dict[str, Any]

HISTORY_LIMIT = 20
"""Entries kept in the history annotation; annotations share a 256 KiB budget
per object, and the MLflow tags keep the full record anyway."""

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
_STANDARD_MODES = {"standard", "rawdeployment"}

# RFC 1123 label: what Kubernetes accepts as an InferenceService name.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Style(StrEnum):
    """Which KServe canary mechanism an InferenceService uses."""

    KNATIVE = "knative"
    STANDARD = "standard"


class Action(StrEnum):
    """What a plan does; also the ``action`` of an audit entry."""

    CANARY = "canary"
    SET_TRAFFIC = "set-traffic"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


def validate_name(name: str) -> str:
    """Check an InferenceService name before any request is made.

    Raises:
        InvalidRequestError: not a valid Kubernetes object name.
    """
    if not _DNS_LABEL.match(name):
        raise InvalidRequestError(
            f"{name!r} is not a valid InferenceService name (lowercase letters, "
            "digits and '-', at most 63 characters)"
        )
    return name


def validate_percent(percent: int) -> int:
    """Check a traffic percent.

    Raises:
        InvalidRequestError: outside 0..100.
    """
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise InvalidRequestError(f"percent must be an integer, got {percent!r}")
    if not 0 <= percent <= 100:
        raise InvalidRequestError(f"percent must be within 0..100, got {percent}")
    return percent


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


@dataclass(frozen=True)
class AuditContext:
    """Who does a promotion or rollback, when and why: becomes a history entry."""

    by: str
    at: datetime
    verdict: str = "manual"
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    """The outcome of planning an operation: a patch to send, or nothing."""

    action: Action
    name: str
    namespace: str
    style: Style
    patch: JsonDict | None
    """JSON merge patch; None when the object is already in the wanted state."""
    message: str
    after: JsonDict
    """The object as it will be once the patch is applied (for validation)."""
    from_version: str | None = None
    to_version: str | None = None
    model_name: str | None = None
    audit_entry: JsonDict | None = field(default=None)

    @property
    def noop(self) -> bool:
        return self.patch is None


# ---- reading --------------------------------------------------------------------


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


def _model_env(predictor: JsonDict) -> JsonDict | None:
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
    entry = _model_env(predictor)
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


def _history(annotations: dict[str, str]) -> tuple[JsonDict, ...]:
    raw = annotations.get(HISTORY_ANNOTATION)
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError:
        # A hand-edited, broken history must not block a rollback: start anew.
        return ()
    return (
        tuple(e for e in entries if isinstance(e, dict))
        if isinstance(entries, list)
        else ()
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
        history=_history(annotations),
    )


# ---- merge patches ----------------------------------------------------------------


def merge_patch_diff(old: JsonDict, new: JsonDict) -> JsonDict:
    """The RFC 7386 merge patch that turns ``old`` into ``new``.

    Keys missing from ``new`` become ``null`` (delete); nested objects recurse;
    lists and scalars are replaced whole, as merge patches require.
    """
    patch: JsonDict = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_patch_diff(before, value)
            if sub:
                patch[key] = sub
        elif key not in old or before != value:
            patch[key] = copy.deepcopy(value)
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch (returns a new object)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _with_concurrency(patch: JsonDict, isvc: JsonDict) -> JsonDict:
    version = _mapping(isvc.get("metadata"), "metadata").get("resourceVersion")
    if not version:
        raise UnsupportedShapeError(
            "metadata.resourceVersion is missing: refusing to patch without "
            "optimistic concurrency"
        )
    patch.setdefault("metadata", {})["resourceVersion"] = str(version)
    return patch


def _plan(
    action: Action, isvc: JsonDict, after: JsonDict, message: str, **extra: Any
) -> Plan:
    view_meta = _mapping(isvc.get("metadata"), "metadata")
    diff = merge_patch_diff(_without_status(isvc), _without_status(after))
    return Plan(
        action=action,
        name=str(view_meta.get("name") or ""),
        namespace=str(view_meta.get("namespace") or ""),
        style=detect_style(isvc),
        patch=_with_concurrency(diff, isvc) if diff else None,
        message=message,
        after=after,
        **extra,
    )


def _without_status(obj: JsonDict) -> JsonDict:
    # The status subresource is KServe's to write; a main-resource patch never
    # touches it, so it is left out of the diff.
    return {k: v for k, v in obj.items() if k != "status"}


def _set_annotations(obj: JsonDict, updates: dict[str, str | None]) -> None:
    annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
    for key, value in updates.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    if not annotations:
        obj["metadata"].pop("annotations")


def _append_history(view: CanaryView, entry: JsonDict) -> str:
    entries = [*view.history, entry][-HISTORY_LIMIT:]
    return json.dumps(entries, separators=(",", ":"), sort_keys=True)


def _audit_entry(
    action: Action, ctx: AuditContext, from_version: str | None, to_version: str | None
) -> JsonDict:
    return {
        "at": ctx.at.isoformat(timespec="seconds"),
        "by": ctx.by,
        "action": str(action),
        "from_version": from_version,
        "to_version": to_version,
        "verdict": ctx.verdict,
        "reason": ctx.reason,
    }


# ---- operations ----------------------------------------------------------------------


# KServe runs a Standard canary with fixed replicas derived from the stable
# predictor and the traffic share; its validator refuses these fields there.
CANARY_FORBIDDEN_FIELDS = (
    "minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "autoScaling"
)  # fmt: skip


def _canary_predictor(stable: JsonDict, uri: str, name: str) -> JsonDict:
    """The stable predictor with ``uri`` as its model: same runtime, resources
    and security, so the comparison is of models only. A Standard canary
    (``name`` set) also drops the autoscaling fields KServe refuses there."""
    predictor = copy.deepcopy(stable)
    predictor.pop("canaryTrafficPercent", None)
    if name:
        for key in CANARY_FORBIDDEN_FIELDS:
            predictor.pop(key, None)
    model = predictor.get("model")
    env = model.get("env") if isinstance(model, dict) else None
    names = {e.get("name") for e in env or [] if isinstance(e, dict)}
    if not isinstance(model, dict) or "MLFLOW_TRACKING_URI" not in names:
        raise UnsupportedShapeError(
            "the stable predictor does not run the Shiplane runtime against MLflow "
            f"(no {MODEL_URI_ENV} and MLFLOW_TRACKING_URI in spec.predictor.model.env"
            "): install it with mlflow.trackingUri and a models:/ model to start "
            "canaries from the registry"
        )
    model.pop("storageUri", None)
    entry = _model_env(predictor)
    if entry is None:
        model["env"].append({"name": MODEL_URI_ENV, "value": uri})
    else:
        entry["value"] = uri
    if name:
        predictor["name"] = name
    return predictor


def plan_canary(
    isvc: JsonDict,
    model_name: str,
    version: str,
    percent: int,
    ctx: AuditContext,
) -> Plan:
    """Start a canary serving ``models:/model_name/version`` at ``percent``.

    Standard: ``spec.canary[0]`` is a copy of the stable predictor with the new
    model, named ``v<version>`` (KServe names its Deployment after it).
    Knative: the predictor gets the new model (a new revision) and
    ``canaryTrafficPercent``; the rolled-out revision keeps the rest.
    A canary rolled back to 0% is replaced; a live one is refused.

    Raises:
        InvalidRequestError: bad percent, the version is already stable, or a
            canary already receives traffic.
        UnsupportedShapeError: the predictor cannot serve from the registry.
    """
    validate_percent(percent)
    view = inspect(isvc)
    if view.model_name and view.model_name != model_name:
        raise InvalidRequestError(
            f"{view.namespace}/{view.name} serves model {view.model_name!r}, not "
            f"{model_name!r}; nothing applied"
        )
    if view.has_canary and view.canary_percent:
        raise InvalidRequestError(
            f"a canary is already running on {view.namespace}/{view.name}: "
            f"{_v(view.canary_version)} at {view.canary_percent}%; promote or roll "
            "it back first; nothing applied"
        )
    if view.stable_version == version:
        raise InvalidRequestError(
            f"{model_name} v{version} is already the stable version of "
            f"{view.namespace}/{view.name}; nothing applied"
        )
    uri = pinned_uri(model_name, version)
    after = copy.deepcopy(isvc)
    spec = after["spec"]
    if view.style is Style.STANDARD:
        spec["canary"] = [{
            "trafficPercent": percent,
            "predictor": _canary_predictor(spec["predictor"], uri, f"v{version}"),
        }]  # fmt: skip
    else:
        predictor = _canary_predictor(spec["predictor"], uri, "")
        predictor["canaryTrafficPercent"] = percent
        spec["predictor"] = predictor
    entry = _audit_entry(Action.CANARY, ctx, view.stable_version, version)
    _set_annotations(after, {
        MODEL_NAME_ANNOTATION: model_name,
        STABLE_VERSION_ANNOTATION: view.stable_version,
        CANARY_VERSION_ANNOTATION: version,
        HISTORY_ANNOTATION: _append_history(view, entry),
    })  # fmt: skip
    return _plan(
        Action.CANARY, isvc, after,
        f"{view.name}: canary {model_name} v{version} ({uri}) gets {percent}%, "
        f"stable {_v(view.stable_version)} the rest ({view.style} mode)",
        from_version=view.stable_version, to_version=version,
        model_name=model_name, audit_entry=entry,
    )  # fmt: skip


def plan_set_traffic(isvc: JsonDict, percent: int) -> Plan:
    """Send ``percent`` of the traffic to the canary.

    Raises:
        InvalidRequestError: percent outside 0..100.
        NoCanaryError: there is no canary to send traffic to.
        UnsupportedShapeError: both styles at once, several canaries.
    """
    validate_percent(percent)
    view = inspect(isvc)
    if not view.has_canary:
        raise NoCanaryError(_no_canary_message(view, "set traffic"))
    if view.canary_percent == percent:
        return _plan(
            Action.SET_TRAFFIC, isvc, copy.deepcopy(isvc),
            f"{view.name}: canary already gets {percent}%, nothing to do",
            to_version=view.canary_version, model_name=view.model_name,
        )  # fmt: skip
    after = copy.deepcopy(isvc)
    if view.style is Style.STANDARD:
        after["spec"]["canary"][0]["trafficPercent"] = percent
    else:
        after["spec"]["predictor"]["canaryTrafficPercent"] = percent
    return _plan(
        Action.SET_TRAFFIC, isvc, after,
        f"{view.name}: canary traffic {view.canary_percent}% -> {percent}% "
        f"({view.style} mode)",
        from_version=view.stable_version, to_version=view.canary_version,
        model_name=view.model_name,
    )  # fmt: skip


def plan_promote(isvc: JsonDict, ctx: AuditContext) -> Plan:
    """Make the canary the stable version and record it.

    Knative: remove ``canaryTrafficPercent`` (the latest revision takes 100%).
    Standard: ``spec.predictor`` takes the canary's model; ``spec.canary`` is
    removed. Without a canary this is a no-op (already promoted).
    """
    view = inspect(isvc)
    if not view.has_canary:
        return _plan(
            Action.PROMOTE, isvc, copy.deepcopy(isvc),
            f"{view.name}: no canary to promote (already promoted?), nothing to do",
            to_version=view.stable_version, model_name=view.model_name,
        )  # fmt: skip
    after = copy.deepcopy(isvc)
    if view.style is Style.STANDARD:
        # The stable predictor takes the canary's model and keeps its own name,
        # autoscaling and Deployment: KServe refuses a predictor rename that
        # does not change storageUri, and the registry URI lives in the model
        # env. KServe rolls the stable pods onto the new version, then removes
        # the canary Deployment.
        canary = after["spec"]["canary"][0]["predictor"]
        after["spec"]["predictor"]["model"] = copy.deepcopy(canary["model"])
        del after["spec"]["canary"]
    else:
        del after["spec"]["predictor"]["canaryTrafficPercent"]
    entry = _audit_entry(Action.PROMOTE, ctx, view.stable_version, view.canary_version)
    _set_annotations(after, {
        STABLE_VERSION_ANNOTATION: view.canary_version,
        CANARY_VERSION_ANNOTATION: None,
        MODEL_NAME_ANNOTATION: view.model_name,
        HISTORY_ANNOTATION: _append_history(view, entry),
    })  # fmt: skip
    return _plan(
        Action.PROMOTE, isvc, after,
        f"{view.name}: promoted canary {_v(view.canary_version)} over stable "
        f"{_v(view.stable_version)} ({view.style} mode)",
        from_version=view.stable_version, to_version=view.canary_version,
        model_name=view.model_name, audit_entry=entry,
    )  # fmt: skip


def plan_rollback(isvc: JsonDict, ctx: AuditContext) -> Plan:
    """Send all traffic back to stable and record it.

    Both styles set the canary's percent to 0: the canary stays deployed, dark,
    so it can be inspected; shipping a new version replaces it. Rolling back a
    canary already at 0% is a no-op.

    Raises:
        NoCanaryError: there is no canary to roll back.
    """
    view = inspect(isvc)
    if not view.has_canary:
        raise NoCanaryError(_no_canary_message(view, "roll back"))
    if view.canary_percent == 0:
        return _plan(
            Action.ROLLBACK, isvc, copy.deepcopy(isvc),
            f"{view.name}: canary {_v(view.canary_version)} already gets 0%, "
            "nothing to do",
            from_version=view.canary_version, to_version=view.stable_version,
            model_name=view.model_name,
        )  # fmt: skip
    after = copy.deepcopy(isvc)
    if view.style is Style.STANDARD:
        after["spec"]["canary"][0]["trafficPercent"] = 0
    else:
        after["spec"]["predictor"]["canaryTrafficPercent"] = 0
    entry = _audit_entry(Action.ROLLBACK, ctx, view.canary_version, view.stable_version)
    _set_annotations(after, {
        MODEL_NAME_ANNOTATION: view.model_name,
        HISTORY_ANNOTATION: _append_history(view, entry),
    })  # fmt: skip
    return _plan(
        Action.ROLLBACK, isvc, after,
        f"{view.name}: rolled back canary {_v(view.canary_version)}; stable "
        f"{_v(view.stable_version)} gets 100% ({view.style} mode)",
        from_version=view.canary_version, to_version=view.stable_version,
        model_name=view.model_name, audit_entry=entry,
    )  # fmt: skip


def _v(version: str | None) -> str:
    return f"v{version}" if version else "(unknown version)"


def _no_canary_message(view: CanaryView, what: str) -> str:
    if view.style is Style.STANDARD:
        how = "add a spec.canary entry with the new model to start one"
    else:
        how = (
            "ship the new model with spec.predictor.canaryTrafficPercent set to "
            "start one"
        )
    return f"cannot {what}: {view.namespace}/{view.name} has no canary ({how})"
