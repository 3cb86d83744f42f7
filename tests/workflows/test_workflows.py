"""The GitHub workflows are clean under actionlint and zizmor, follow the
repository's rules (workflow_policy), and their scripts pass shellcheck."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool
from tests.workflows.workflow_policy import check_workflow

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCRIPTS = sorted((REPO / ".github" / "scripts").glob("*.sh")) + sorted(
    (REPO / "scripts").glob("*.sh")
)

pytestmark = pytest.mark.workflows

# A workflow that breaks every rule: the checks below must catch each.
BAD_WORKFLOW = """\
name: bad
on: pull_request_target
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "e2e.yml", "release.yml"}


def test_actionlint_clean() -> None:
    done = _run([require_tool("actionlint"), *map(str, WORKFLOWS)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_clean_at_default_settings() -> None:
    done = _run([require_tool("zizmor"), "--offline", ".github/workflows"])
    assert done.returncode == 0, done.stdout + done.stderr
    for workflow in WORKFLOWS:  # it really audited each file
        assert f"completed .github/workflows/{workflow.name}" in done.stderr


def test_shellcheck_clean() -> None:
    assert SCRIPTS, "expected the e2e script under .github/scripts"
    done = _run([require_tool("shellcheck"), "--severity=style", *map(str, SCRIPTS)])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_repository_rules(workflow: Path) -> None:
    assert check_workflow(workflow) == []


def test_every_rule_and_tool_catches_a_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)

    problems = "\n".join(check_workflow(bad))
    expected_reports = (
        "must be owner/repo@<40-hex SHA>",
        "permissions: {}",
        "concurrency",
        "timeout-minutes",
        "explicit map",
        "persist-credentials",
        "must be one `make",
        "inside run:",
    )
    for expected in expected_reports:
        assert expected in problems, f"{expected!r} not reported:\n{problems}"

    zizmor = subprocess.run(
        [require_tool("zizmor"), "--offline", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert zizmor.returncode != 0
    for audit in ("template-injection", "unpinned-uses", "dangerous-triggers"):
        assert audit in zizmor.stdout, zizmor.stdout


def test_e2e_values_render_with_the_chart() -> None:
    """The kind e2e values satisfy the chart's schema and pin the version (the
    script starts the canary with `kubectl shiplane canary`), so chart changes
    that would break the e2e run fail here first."""
    done = _run(
        [
            require_tool("helm"),
            "template",
            "shiplane",
            "charts/shiplane",
            "--namespace",
            "shiplane-e2e",
            "-f",
            ".github/scripts/e2e-kind-values.yaml",
        ]
    )
    assert done.returncode == 0, done.stderr
    assert "kind: InferenceService" in done.stdout
    assert 'value: "models:/breast-cancer/1"' in done.stdout
    assert "kind: Job" in done.stdout  # the training Job
