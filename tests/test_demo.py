"""`make demo` in its bounded form: the whole flow with real processes, then the
outcome it reports (and that it cleans up after itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shiplane_tools.localstack import http_ok
from tests.conftest import REPO, require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.mlflow, pytest.mark.prometheus]


def test_bounded_demo_pins_analyzes_promotes_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    require_tool("prometheus")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "shiplane_tools.demo",
            "--state",
            str(tmp_path),
            "--load-seconds",
            "12",
            "--users",
            "6",
            "--stop-after",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=540,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "Traceback" not in output

    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    # Aliases were resolved once: each server runs on a pinned version.
    assert summary["pinned"] == {
        "stable": "models:/breast-cancer/1",
        "canary": "models:/breast-cancer/2",
    }
    assert summary["analysis"] == "PASS", output[-4000:]
    # The analyzed challenger was promoted behind the router by `shiplane rollout`.
    rollout = summary["rollout"]
    assert rollout["result"] == "promoted", output[-4000:]
    assert rollout["weights_before"] == {"stable": 90, "canary": 10}
    assert rollout["weights_after"] == {"stable": 0, "canary": 100}
    assert rollout["aliases_after"] == {
        "champion": "2",
        "previous": "1",
        "challenger": "2",
    }
    # A third training run moved @challenger; restarted servers did not follow it.
    assert summary["aliases"]["challenger"] == "3"
    assert summary["restart"] == {
        "stable": {"uri": "models:/breast-cancer/1", "serves": "1"},
        "canary": {"uri": "models:/breast-cancer/2", "serves": "2"},
    }
    # The load's SLO and the 90/10 split check both held, and the summary says so.
    assert "SLO PASS" in output
    assert "split=stable:" in output and "canary:" in output
    assert "Shiplane demo summary" in output

    # --stop-after leaves nothing running.
    assert not list((tmp_path / "demo").rglob("*.pid"))
    for url in summary["urls"].values():
        assert not http_ok(url + "/metrics", timeout_s=0.5), f"{url} still answers"


def test_demo_failure_is_one_clear_message(tmp_path: Path) -> None:
    """A stack that cannot start (here: no training configs where the demo looks)
    ends with a non-zero exit and a one-line reason, not a traceback."""
    bogus_repo = tmp_path / "repo"
    bogus_repo.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, shiplane_tools.demo as d; from pathlib import Path;"
            f"d.CHAMPION_CONFIG = Path({str(bogus_repo / 'missing.yaml')!r});"
            f"d.CHALLENGER_CONFIG = d.CHAMPION_CONFIG;"
            f"sys.exit(d.main(['--state', {str(tmp_path)!r}, '--stop-after']))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "demo failed:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "demo").rglob("*.pid"))
