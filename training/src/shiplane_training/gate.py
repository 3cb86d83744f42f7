"""The quality gate: may the new version become ``@challenger``?

Pure decision logic; :mod:`shiplane_training.registry` loads the champion and
:mod:`shiplane_training.evaluate` scores both models on the same held-out rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shiplane_contracts.identity import CHALLENGER_ALIAS, CHAMPION_ALIAS
from shiplane_training.evaluate import HIGHER_IS_BETTER

Outcome = Literal["champion", "passed", "failed"]
"""``champion``: first version of the model, becomes ``@champion``.
``passed``: becomes ``@challenger``. ``failed``: registered, no alias."""

ALIAS_FOR: dict[Outcome, str | None] = {
    "champion": CHAMPION_ALIAS,
    "passed": CHALLENGER_ALIAS,
    "failed": None,
}


@dataclass(frozen=True)
class GateDecision:
    """Outcome of the gate and why, with the numbers it compared."""

    outcome: Outcome
    reason: str
    metric: str
    new_value: float
    champion_value: float | None = None
    champion_version: str | None = None

    @property
    def alias(self) -> str | None:
        """Alias the new version gets, if any."""
        return ALIAS_FOR[self.outcome]

    @property
    def passed(self) -> bool:
        return self.outcome != "failed"


def first_version(metric: str, new_value: float) -> GateDecision:
    """Decision when the model has no version yet: the new one is the champion."""
    return GateDecision(
        outcome="champion",
        reason="first version of this model: it becomes @champion",
        metric=metric,
        new_value=new_value,
    )


def refuse(
    metric: str, new_value: float, reason: str, champion_version: str | None = None
) -> GateDecision:
    """A failed gate that compared no numbers (schema mismatch, no champion...)."""
    return GateDecision(
        outcome="failed",
        reason=reason,
        metric=metric,
        new_value=new_value,
        champion_version=champion_version,
    )


def compare(
    metric: str,
    new_value: float,
    champion_value: float,
    champion_version: str,
    max_regression: float,
) -> GateDecision:
    """Pass when the new value is no worse than the champion's by more than
    ``max_regression`` (in the metric's own units and direction)."""
    higher_is_better = HIGHER_IS_BETTER[metric]
    # Positive = the new model is worse by that much.
    regression = (
        champion_value - new_value if higher_is_better else new_value - champion_value
    )
    direction = "higher" if higher_is_better else "lower"
    numbers = (
        f"{metric} {new_value:.4f} vs {champion_value:.4f} of champion "
        f"v{champion_version} ({direction} is better)"
    )
    if regression <= max_regression:
        return GateDecision(
            "passed",
            f"{numbers}: not worse by more than {max_regression:g}",
            metric,
            new_value,
            champion_value,
            champion_version,
        )
    return GateDecision(
        "failed",
        f"{numbers}: worse by {regression:.4f}, more than the allowed "
        f"{max_regression:g}",
        metric,
        new_value,
        champion_value,
        champion_version,
    )
