"""The gate's decision rule, for metrics where higher or lower is better."""

from __future__ import annotations

import pytest

from shiplane_training import gate


@pytest.mark.parametrize(
    ("metric", "new", "champion", "tolerance", "outcome"),
    [
        ("roc_auc", 0.99, 0.98, 0.0, "passed"),
        ("roc_auc", 0.98, 0.98, 0.0, "passed"),  # equal is not worse
        ("roc_auc", 0.97, 0.98, 0.0, "failed"),
        ("roc_auc", 0.975, 0.98, 0.01, "passed"),  # within the tolerance
        ("rmse", 50.0, 55.0, 0.0, "passed"),  # lower is better
        ("rmse", 56.0, 55.0, 0.0, "failed"),
        ("rmse", 56.0, 55.0, 2.0, "passed"),
        ("r2", 0.40, 0.45, 0.0, "failed"),
    ],
)
def test_compare(
    metric: str, new: float, champion: float, tolerance: float, outcome: str
) -> None:
    decision = gate.compare(metric, new, champion, "3", tolerance)
    assert decision.outcome == outcome
    assert decision.champion_version == "3"
    assert metric in decision.reason and "v3" in decision.reason
    assert decision.alias == ("challenger" if outcome == "passed" else None)


def test_first_version_becomes_champion() -> None:
    decision = gate.first_version("rmse", 42.0)
    assert decision.outcome == "champion"
    assert decision.alias == "champion"
    assert decision.passed
