"""The repository's rules for GitHub workflows, as a checker that returns every
violation (file, job, step, rule) instead of stopping at the first one.

Rules: ``permissions: {}`` at the top and explicit, minimal permissions per job;
``timeout-minutes`` on every job; every ``uses:`` pinned to a full commit SHA
with a ``# vX`` version comment; ``persist-credentials: false`` on checkout;
every ``run:`` calls ``make`` or a script under ``.github/scripts``; a
concurrency group per workflow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

PINNED_USES = re.compile(
    r"^\s*-?\s*uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>[0-9a-f]{40})\s+#\s*v\d[\w.-]*\s*$"
)
RUN_CALLS = re.compile(r"^\s*(make\b|\.github/scripts/|bash \.github/scripts/)")
# Scopes a job may hold, and which workflow files may hold write scopes.
READ_SCOPES = {"contents": "read"}
WRITE_SCOPES_ALLOWED = {"release.yml": {"packages": "write", "id-token": "write"}}


def _violations_in_text(path: Path) -> list[str]:
    problems = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.match(r"^\s*-?\s*uses:", line) and not line.strip().startswith("#"):
            target = line.split("uses:", 1)[1].strip()
            if target.startswith("./"):
                continue  # a local action lives in this repository
            if not PINNED_USES.match(line):
                problems.append(
                    f"{path.name}:{number}: `uses:` must be owner/repo@<40-hex SHA> "
                    f"# vX.Y.Z, got: {line.strip()}"
                )
    return problems


def _check_permissions(name: str, where: str, perms: Any) -> list[str]:
    if not isinstance(perms, dict):
        return [f"{where}: permissions must be an explicit map, got {perms!r}"]
    allowed = {**READ_SCOPES, **WRITE_SCOPES_ALLOWED.get(name, {})}
    return [
        f"{where}: permission {scope}: {level} is not allowed here"
        for scope, level in perms.items()
        if level != "none" and allowed.get(scope) != level
    ]


def check_workflow(path: Path) -> list[str]:
    """Every rule violation in one workflow file (empty: it complies)."""
    problems = _violations_in_text(path)
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        return [*problems, f"{path.name}: not a YAML mapping"]
    if document.get("permissions") != {}:
        problems.append(f"{path.name}: top-level `permissions: {{}}` is required")
    if "concurrency" not in document:
        problems.append(f"{path.name}: a top-level concurrency group is required")
    jobs = document.get("jobs") or {}
    if not jobs:
        problems.append(f"{path.name}: no jobs")
    for job_id, job in jobs.items():
        where = f"{path.name}:{job_id}"
        timeout = job.get("timeout-minutes")
        if not isinstance(timeout, int) or not 0 < timeout <= 120:
            problems.append(f"{where}: timeout-minutes (1-120) is required")
        problems += _check_permissions(path.name, where, job.get("permissions"))
        for index, step in enumerate(job.get("steps") or []):
            title = step.get("name") or step.get("uses") or "run"
            label = f"{where} step {index + 1} ({title})"
            uses = str(step.get("uses", ""))
            if uses.startswith("actions/checkout@"):
                if (step.get("with") or {}).get("persist-credentials") is not False:
                    problems.append(
                        f"{label}: checkout needs persist-credentials: false"
                    )
            if "run" in step:
                command = str(step["run"]).strip()
                if "\n" in command or not RUN_CALLS.match(command):
                    problems.append(
                        f"{label}: `run:` must be one `make ...` or .github/scripts/"
                        f" call, got: {command[:60]!r}"
                    )
                if "${{" in command:
                    problems.append(f"{label}: `${{{{ }}}}` inside run: (use env:)")
    return problems
