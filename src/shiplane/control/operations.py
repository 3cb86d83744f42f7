"""Read, plan, validate, patch: one canary operation against the cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shiplane.control import kube
from shiplane.control.errors import ConflictError
from shiplane.control.plans import Plan
from shiplane.control.validation import validate_name

JsonDict = dict[str, Any]
Planner = Callable[[JsonDict], Plan]


@dataclass(frozen=True)
class Outcome:
    """What happened: the plan, and the object the API server returned when it
    was applied (None for a no-op or a dry run)."""

    plan: Plan
    applied: JsonDict | None

    @property
    def changed(self) -> bool:
        return self.applied is not None


def execute(
    target: kube.KubeTarget,
    name: str,
    namespace: str,
    planner: Planner,
    *,
    dry_run: bool = False,
    conflict_retries: int = 0,
) -> Outcome:
    """Read the InferenceService, plan with ``planner`` and apply the patch
    (the API server checks it against KServe's CRD schema and webhooks).

    Args:
        target: API client.
        name: InferenceService name.
        namespace: its namespace.
        planner: pure function from the object to a :class:`Plan`.
        dry_run: plan only.
        conflict_retries: re-read and re-plan this many times on a 409 from
            a change of the spec or annotations (the rollout loop); a person
            at the CLI gets such a conflict reported instead. A conflict from
            a status write alone is always retried (:data:`STATUS_ONLY_RETRIES`).

    Raises:
        ControlError: any refusal; nothing was applied.
    """
    validate_name(name)
    obj = kube.get_isvc(target, name, namespace)
    conflicts = status_only = 0
    while True:
        plan = planner(obj)
        if plan.noop or dry_run or plan.patch is None:
            return Outcome(plan, None)
        try:
            return Outcome(plan, kube.patch_isvc(target, name, namespace, plan.patch))
        except ConflictError:
            fresh = kube.get_isvc(target, name, namespace)
            if _intent(fresh) == _intent(obj) and status_only < STATUS_ONLY_RETRIES:
                # Only KServe's status moved on: the plan stands; apply it anew.
                status_only += 1
            elif conflicts < conflict_retries:
                conflicts += 1
            else:
                raise
            obj = fresh


STATUS_ONLY_RETRIES = 5
"""Conflicts caused by status writes alone (KServe reports readiness, traffic)
are retried this many times, for every caller: the object a person planned
from is unchanged, so applying the same plan to it is what they asked for."""


def _intent(obj: JsonDict) -> tuple[Any, ...]:
    """What a plan is made from: the spec and the metadata people write."""
    meta = obj.get("metadata") or {}
    return obj.get("spec"), meta.get("annotations"), meta.get("labels")
