"""The live routing table: the current configuration and its ring layout,
swapped atomically when the admin API changes the weights.

The router is a single asyncio process, so replacing one attribute is atomic:
a request reads :attr:`Routing.table` once and routes with that snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiplane.router.assignment import Assignment
from shiplane.router.config import RouterConfig, WeightsUpdate, apply_update
from shiplane.router.metrics import RouterMetrics


@dataclass(frozen=True)
class RoutingTable:
    """An immutable snapshot: configuration plus its assignment ring."""

    config: RouterConfig
    assignment: Assignment

    @classmethod
    def from_config(cls, config: RouterConfig) -> RoutingTable:
        """Lay out the ring for a validated configuration."""
        return cls(config, Assignment.build(config.weights, baseline=config.fallback))

    def state(self) -> dict[str, object]:
        """The admin API view: ``{"weights": {...}, "shadow": {...} | None}``."""
        shadow = self.config.shadow
        return {
            "weights": self.config.weights,
            "shadow": shadow.model_dump() if shadow is not None else None,
        }


class Routing:
    """Holder of the current :class:`RoutingTable`."""

    def __init__(self, config: RouterConfig, metrics: RouterMetrics) -> None:
        """Start with ``config`` and publish its weights as gauges."""
        self.table = RoutingTable.from_config(config)
        self._metrics = metrics
        metrics.declare_variants(config.weights)

    def update(self, update: WeightsUpdate, shadow_given: bool) -> RoutingTable:
        """Apply new weights (and shadow) all at once, or nothing.

        Raises:
            ConfigError: the update does not fit the configured variants.
        """
        table = RoutingTable.from_config(
            apply_update(self.table.config, update, shadow_given)
        )
        self.table = table
        self._metrics.set_weights(table.config.weights)
        return table
