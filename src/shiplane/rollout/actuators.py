"""Where traffic is moved: an :class:`Actuator` per mechanism.

Both record promotions and rollbacks in MLflow (tags and alias moves); the
InferenceService one also writes the history annotation in the same patch as
the traffic change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from shiplane.control import kube, plans, registry, validation
from shiplane.control.audit import Action, AuditContext, audit_entry
from shiplane.control.errors import ApiError
from shiplane.control.operations import execute


class Actuator(Protocol):
    """Moves traffic between stable and canary."""

    @property
    def description(self) -> str:
        """What is actuated, for progress lines."""
        ...

    def set_canary_percent(self, percent: int) -> str:
        """Send ``percent`` of traffic to the canary; returns a message."""
        ...

    def promote(self, verdict: str, reason: str) -> list[str]:
        """Make the canary stable and record it; returns messages."""
        ...

    def rollback(self, verdict: str, reason: str) -> list[str]:
        """Send everything back to stable and record it; returns messages."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


class InferenceServiceActuator:
    """Moves traffic by patching a KServe InferenceService (either style)."""

    def __init__(
        self,
        target: kube.KubeTarget,
        name: str,
        namespace: str,
        mlflow_uri: str | None,
        by: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Actuate ``namespace/name``; record to MLflow at ``mlflow_uri``
        (None: skip MLflow, said in the returned messages)."""
        self.target, self.name, self.namespace = target, name, namespace
        self.mlflow_uri, self.by, self.clock = mlflow_uri, by, clock

    @property
    def description(self) -> str:
        return f"InferenceService {self.namespace}/{self.name}"

    def set_canary_percent(self, percent: int) -> str:
        outcome = execute(
            self.target,
            self.name,
            self.namespace,
            lambda obj: plans.plan_set_traffic(obj, percent),
            conflict_retries=3,
        )
        return outcome.plan.message

    def _finish(self, action: Action, verdict: str, reason: str) -> list[str]:
        ctx = AuditContext(by=self.by, at=self.clock(), verdict=verdict, reason=reason)
        planner = (
            plans.plan_promote if action is Action.PROMOTE else plans.plan_rollback
        )
        outcome = execute(
            self.target,
            self.name,
            self.namespace,
            lambda obj: planner(obj, ctx),
            conflict_retries=3,
        )
        lines = [outcome.plan.message]
        if self.mlflow_uri is None:
            lines.append("mlflow: not configured, registry NOT updated")
        else:
            lines += registry.record_plan(outcome.plan, self.mlflow_uri)
        return lines

    def promote(self, verdict: str, reason: str) -> list[str]:
        return self._finish(Action.PROMOTE, verdict, reason)

    def rollback(self, verdict: str, reason: str) -> list[str]:
        return self._finish(Action.ROLLBACK, verdict, reason)


class RouterActuator:
    """Moves traffic by setting the A/B router's weights (local and cluster)."""

    def __init__(
        self,
        client: Any,
        stable_variant: str,
        canary_variant: str,
        model_name: str | None,
        stable_version: str | None,
        canary_version: str | None,
        mlflow_uri: str | None,
        by: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Drive ``client`` (a :class:`shiplane.router.client.RouterAdminClient`);
        the model name and versions are what MLflow records name."""
        self.client = client
        self.stable_variant, self.canary_variant = stable_variant, canary_variant
        self.model_name = model_name
        self.stable_version, self.canary_version = stable_version, canary_version
        self.mlflow_uri, self.by, self.clock = mlflow_uri, by, clock

    @property
    def description(self) -> str:
        return f"router variants {self.stable_variant}/{self.canary_variant}"

    def set_canary_percent(self, percent: int) -> str:
        from shiplane.router.client import RouterAdminError

        validation.validate_percent(percent)
        weights = {self.stable_variant: 100 - percent, self.canary_variant: percent}
        try:
            state = self.client.set_weights(weights)
        except RouterAdminError as exc:
            raise ApiError(f"router refused weights {weights}: {exc}") from exc
        return f"router weights now {state.weights}"

    def _record(self, action: Action, verdict: str, reason: str) -> list[str]:
        if self.mlflow_uri is None:
            return ["mlflow: not configured, registry NOT updated"]
        from_v, to_v = (
            (self.stable_version, self.canary_version)
            if action is Action.PROMOTE
            else (self.canary_version, self.stable_version)
        )
        ctx = AuditContext(by=self.by, at=self.clock(), verdict=verdict, reason=reason)
        entry = audit_entry(action, ctx, from_v, to_v)
        return registry.record(
            action,
            self.model_name,
            from_v,
            to_v,
            entry,
            f"the router ({self.description})",
            self.mlflow_uri,
        )

    def promote(self, verdict: str, reason: str) -> list[str]:
        message = self.set_canary_percent(100)
        return [f"promoted: {message}", *self._record(Action.PROMOTE, verdict, reason)]

    def rollback(self, verdict: str, reason: str) -> list[str]:
        message = self.set_canary_percent(0)
        return [
            f"rolled back: {message}",
            *self._record(Action.ROLLBACK, verdict, reason),
        ]
