"""Streaming drift against the training-time reference profile: bounded windows of
bin counts (``window``), PSI and KS (``stats``), the monitor tying them to a
model (``monitor``)."""

from shiplane_serving.drift.monitor import DriftConfig, DriftMonitor, DriftReport

__all__ = ["DriftConfig", "DriftMonitor", "DriftReport"]
