"""The committed dashboard JSON: fresh, complete, and reading contract series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shiplane_contracts import metrics
from shiplane_tools.observability import dashboards, promql, rules

CONTRACT = {name for spec in metrics.ALL for name in metrics.exported_series(spec)}


def _boards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text())
        for path in sorted(dashboards.DASHBOARDS_DIR.glob("*.json"))
    }


def test_committed_json_is_up_to_date(tmp_path: Path) -> None:
    assert dashboards.stale() == [], "run `make dashboards` and commit the JSON"
    # And the check itself can fail.
    dashboards.write_all(tmp_path)
    (tmp_path / "shiplane-drift.json").write_text("{}")
    assert dashboards.stale(tmp_path) == ["shiplane-drift.json"]


def test_the_four_dashboards() -> None:
    titles = {board["title"] for board in _boards().values()}
    assert titles == {
        "Shiplane / Serving overview",
        "Shiplane / Canary vs stable",
        "Shiplane / Drift",
        "Shiplane / Feedback accuracy",
    }
    uids = [board["uid"] for board in _boards().values()]
    assert len(set(uids)) == len(uids)


def test_serving_overview_has_percentiles_and_errors_by_version() -> None:
    exprs = " ".join(
        e
        for f, _, e in dashboards.panel_queries()
        if f == "shiplane-serving-overview.json"
    )
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}," in exprs
    assert 'code!~"5.."' in exprs and "model_version" in exprs


@pytest.mark.parametrize(
    ("board", "title", "expr"), dashboards.panel_queries(), ids=lambda v: str(v)[:40]
)
def test_panel_reads_only_contract_or_recorded_series(
    board: str, title: str, expr: str
) -> None:
    names = promql.referenced_series(expr)
    assert names, f"{board} / {title}: no series found in {expr}"
    assert names <= CONTRACT | rules.recorded_series(), f"{board} / {title}"


def test_every_panel_uses_the_datasource_variable() -> None:
    for name, board in _boards().items():
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            assert panel.get("targets"), (name, panel["title"])
