"""Pure canary operations on an InferenceService: an object in, a Plan out.

Every function takes an InferenceService as a plain dict (as the Kubernetes API
returns it) and returns data; nothing talks to a cluster. A :class:`Plan`
carries the JSON merge patch to send, with ``metadata.resourceVersion`` set so
the API server applies it only to the object that was read (optimistic
concurrency: a stale patch gets 409). Shiplane's bookkeeping (model name,
stable and canary versions, history) is written in the same patch as the
traffic change, so both land or neither does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from shiplane.control.audit import (
    Action,
    AuditContext,
    append_history,
    audit_entry,
)
from shiplane.control.errors import (
    InvalidRequestError,
    NoCanaryError,
    UnsupportedShapeError,
)
from shiplane.control.mergepatch import merge_patch_diff
from shiplane.control.validation import validate_percent
from shiplane.control.view import CanaryView, Style, detect_style, inspect, model_env
from shiplane_contracts.identity import (
    CANARY_VERSION_ANNOTATION,
    HISTORY_ANNOTATION,
    MODEL_NAME_ANNOTATION,
    MODEL_URI_ENV,
    STABLE_VERSION_ANNOTATION,
    pinned_uri,
)

JsonDict = dict[str, Any]


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


def _with_concurrency(patch: JsonDict, isvc: JsonDict) -> JsonDict:
    version = (isvc.get("metadata") or {}).get("resourceVersion")
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
    view_meta = isvc.get("metadata") or {}
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


def _nothing_to_do(action: Action, isvc: JsonDict, message: str, **extra: Any) -> Plan:
    """A plan that changes nothing (the object is already as asked)."""
    return _plan(action, isvc, copy.deepcopy(isvc), message, **extra)


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


# KServe runs a Standard canary with fixed replicas derived from the stable
# predictor and the traffic share; its validator refuses these fields there.
CANARY_FORBIDDEN_FIELDS = (
    "minReplicas",
    "maxReplicas",
    "scaleMetric",
    "scaleTarget",
    "autoScaling",
)


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
    entry = model_env(predictor)
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
        spec["canary"] = [
            {
                "trafficPercent": percent,
                "predictor": _canary_predictor(spec["predictor"], uri, f"v{version}"),
            }
        ]
    else:
        predictor = _canary_predictor(spec["predictor"], uri, "")
        predictor["canaryTrafficPercent"] = percent
        spec["predictor"] = predictor
    entry = audit_entry(Action.CANARY, ctx, view.stable_version, version)
    _set_annotations(
        after,
        {
            MODEL_NAME_ANNOTATION: model_name,
            STABLE_VERSION_ANNOTATION: view.stable_version,
            CANARY_VERSION_ANNOTATION: version,
            HISTORY_ANNOTATION: append_history(view.history, entry),
        },
    )
    return _plan(
        Action.CANARY,
        isvc,
        after,
        f"{view.name}: canary {model_name} v{version} ({uri}) gets {percent}%, "
        f"stable {_v(view.stable_version)} the rest ({view.style} mode)",
        from_version=view.stable_version,
        to_version=version,
        model_name=model_name,
        audit_entry=entry,
    )


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
        return _nothing_to_do(
            Action.SET_TRAFFIC,
            isvc,
            f"{view.name}: canary already gets {percent}%, nothing to do",
            to_version=view.canary_version,
            model_name=view.model_name,
        )
    after = copy.deepcopy(isvc)
    if view.style is Style.STANDARD:
        after["spec"]["canary"][0]["trafficPercent"] = percent
    else:
        after["spec"]["predictor"]["canaryTrafficPercent"] = percent
    return _plan(
        Action.SET_TRAFFIC,
        isvc,
        after,
        f"{view.name}: canary traffic {view.canary_percent}% -> {percent}% "
        f"({view.style} mode)",
        from_version=view.stable_version,
        to_version=view.canary_version,
        model_name=view.model_name,
    )


def plan_promote(isvc: JsonDict, ctx: AuditContext) -> Plan:
    """Make the canary the stable version and record it.

    Knative: remove ``canaryTrafficPercent`` (the latest revision takes 100%).
    Standard: ``spec.predictor`` takes the canary's model; ``spec.canary`` is
    removed. Without a canary this is a no-op (already promoted).
    """
    view = inspect(isvc)
    if not view.has_canary:
        return _nothing_to_do(
            Action.PROMOTE,
            isvc,
            f"{view.name}: no canary to promote (already promoted?), nothing to do",
            to_version=view.stable_version,
            model_name=view.model_name,
        )
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
    entry = audit_entry(Action.PROMOTE, ctx, view.stable_version, view.canary_version)
    _set_annotations(
        after,
        {
            STABLE_VERSION_ANNOTATION: view.canary_version,
            CANARY_VERSION_ANNOTATION: None,
            MODEL_NAME_ANNOTATION: view.model_name,
            HISTORY_ANNOTATION: append_history(view.history, entry),
        },
    )
    return _plan(
        Action.PROMOTE,
        isvc,
        after,
        f"{view.name}: promoted canary {_v(view.canary_version)} over stable "
        f"{_v(view.stable_version)} ({view.style} mode)",
        from_version=view.stable_version,
        to_version=view.canary_version,
        model_name=view.model_name,
        audit_entry=entry,
    )


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
        return _nothing_to_do(
            Action.ROLLBACK,
            isvc,
            f"{view.name}: canary {_v(view.canary_version)} already gets 0%, "
            "nothing to do",
            from_version=view.canary_version,
            to_version=view.stable_version,
            model_name=view.model_name,
        )
    after = copy.deepcopy(isvc)
    if view.style is Style.STANDARD:
        after["spec"]["canary"][0]["trafficPercent"] = 0
    else:
        after["spec"]["predictor"]["canaryTrafficPercent"] = 0
    entry = audit_entry(Action.ROLLBACK, ctx, view.canary_version, view.stable_version)
    _set_annotations(
        after,
        {
            MODEL_NAME_ANNOTATION: view.model_name,
            HISTORY_ANNOTATION: append_history(view.history, entry),
        },
    )
    return _plan(
        Action.ROLLBACK,
        isvc,
        after,
        f"{view.name}: rolled back canary {_v(view.canary_version)}; stable "
        f"{_v(view.stable_version)} gets 100% ({view.style} mode)",
        from_version=view.canary_version,
        to_version=view.stable_version,
        model_name=view.model_name,
        audit_entry=entry,
    )


def _v(version: str | None) -> str:
    return f"v{version}" if version else "(unknown version)"


def _no_canary_message(view: CanaryView, what: str) -> str:
    model = view.model_name or "NAME"
    return (
        f"cannot {what}: {view.namespace}/{view.name} has no canary (start one "
        f"with: kubectl shiplane canary {view.name} -n {view.namespace} "
        f"--model models:/{model}@challenger)"
    )
