"""Read, plan, validate, patch: one canary operation against the cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shiplane.control import kube, schema
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
    """Read the InferenceService, plan with ``planner``, check the result
    against the KServe schema and apply the patch.

    Args:
        target: API client.
        name: InferenceService name.
        namespace: its namespace.
        planner: pure function from the object to a :class:`Plan`.
        dry_run: plan and validate only.
        conflict_retries: re-read and re-plan this many times on 409 (the
            rollout loop races KServe's own status writes; a person at the CLI
            gets the conflict reported instead).

    Raises:
        ControlError: any refusal; nothing was applied.
    """
    validate_name(name)
    for attempt in range(conflict_retries + 1):
        obj = kube.get_isvc(target, name, namespace)
        plan = planner(obj)
        if schema.available():
            schema.ensure_valid(plan.after)
        if plan.noop or dry_run or plan.patch is None:
            return Outcome(plan, None)
        try:
            return Outcome(plan, kube.patch_isvc(target, name, namespace, plan.patch))
        except ConflictError:
            if attempt == conflict_retries:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
