"""Offline checks of the AWS Terraform in terraform/.

Every root (each module and each example) is initialised, validated and
unit-tested with ``terraform test`` (mocked AWS provider), and the whole tree is
scanned by checkov. Nothing touches AWS and nothing is written into the
repository: the roots are copied into a temporary directory first, so
``.terraform/`` and lock files land there and vanish with it.

The hashicorp/aws provider comes from the offline mirror at /opt/tf-plugins when
it exists (the CI image), otherwise from the registry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import REPO as REPO_ROOT

TERRAFORM_DIR = REPO_ROOT / "terraform"
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
PROVIDER_MIRROR = Path("/opt/tf-plugins")
STEP_TIMEOUT_S = 300

# Every directory holding a versions.tf is a root Terraform can init on its own.
ROOTS = sorted(
    path.parent.relative_to(TERRAFORM_DIR).as_posix()
    for path in TERRAFORM_DIR.glob("*/*/versions.tf")
)
MODULES = [root for root in ROOTS if root.startswith("modules/")]


def _tool(name: str) -> str:
    """Return the path of a required tool, failing (never skipping) without it."""
    search_path = os.pathsep.join([str(TOOLS_BIN), os.environ.get("PATH", "")])
    path = shutil.which(name, path=search_path)
    if path is None:
        pytest.fail(f"{name} not found: run `make tools`", pytrace=False)
    return path


@dataclass
class Step:
    """Outcome of one terraform command."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def report(self) -> str:
        return f"$ {' '.join(self.command)}\n(exit {self.returncode})\n{self.output}"


@dataclass
class RootResult:
    """Outcome of init, validate and test for one root, in that order."""

    root: str
    steps: dict[str, Step] = field(default_factory=dict)

    def require(self, name: str) -> Step:
        """Return a step's outcome, failing clearly if an earlier step failed."""
        if name not in self.steps:
            failed = next(s for s in self.steps.values() if s.returncode != 0)
            pytest.fail(
                f"{self.root}: `{name}` did not run because an earlier step "
                f"failed:\n{failed.report()}",
                pytrace=False,
            )
        return self.steps[name]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> Step:
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return Step(command, -1, "", f"timed out after {STEP_TIMEOUT_S}s: {exc}")
    return Step(command, proc.returncode, proc.stdout, proc.stderr)


def _seed_plugin_cache(cache: Path) -> None:
    """Point the plugin cache at the mirror's providers with symlinks.

    Terraform then links .terraform/providers to the cache entries instead of
    copying the 700 MB aws provider binary into every root.
    """
    for platform_dir in PROVIDER_MIRROR.glob("*/*/*/*/*"):
        if platform_dir.is_dir():
            link = cache / platform_dir.relative_to(PROVIDER_MIRROR)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(platform_dir, target_is_directory=True)


def _check_root(
    terraform: str, workdir: Path, root: str, env: dict[str, str]
) -> RootResult:
    result = RootResult(root)
    init = [terraform, "init", "-backend=false", "-input=false", "-no-color"]
    if PROVIDER_MIRROR.is_dir():
        init.append(f"-plugin-dir={PROVIDER_MIRROR}")
    for name, command in (
        ("init", init),
        ("validate", [terraform, "validate", "-no-color"]),
        ("test", [terraform, "test", "-no-color"]),
    ):
        step = _run(command, workdir / root, env)
        result.steps[name] = step
        if step.returncode != 0:
            break
    return result


class RootRunner:
    """Runs init, validate and test per root, at most once each.

    Without pytest-xdist every root is queued at once and runs two or more at a
    time; under xdist the workers already share the roots out, so each root
    runs only when a worker asks for it.
    """

    def __init__(
        self, terraform: str, workdir: Path, env: dict[str, str], prefetch: bool
    ):
        self._terraform, self._workdir, self._env = terraform, workdir, env
        # Each `terraform test` is mostly one provider process loading the aws
        # schema: two at a time keep 2 cores busy without thrashing.
        self._pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
        self._futures: dict[str, Future[RootResult]] = {}
        if prefetch:
            for root in ROOTS:
                self._submit(root)

    def _submit(self, root: str) -> Future[RootResult]:
        if root not in self._futures:
            self._futures[root] = self._pool.submit(
                _check_root, self._terraform, self._workdir, root, self._env
            )
        return self._futures[root]

    def result(self, root: str) -> RootResult:
        return self._submit(root).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def terraform_runner() -> Iterator[RootRunner]:
    """A scratch copy of terraform/ with a private CLI config and plugin cache."""
    terraform = _tool("terraform")
    with tempfile.TemporaryDirectory(prefix="shiplane-terraform-") as scratch:
        workdir = Path(scratch) / "terraform"
        shutil.copytree(
            TERRAFORM_DIR,
            workdir,
            ignore=shutil.ignore_patterns(
                ".terraform", ".terraform.lock.hcl", "*.tfstate*"
            ),
        )
        cache = Path(scratch) / "plugin-cache"
        cache.mkdir()
        if PROVIDER_MIRROR.is_dir():
            _seed_plugin_cache(cache)
        # Our own CLI config: a developer's ~/.terraformrc (credentials, mirrors)
        # must not change what the tests see.
        cli_config = Path(scratch) / "terraformrc"
        cli_config.write_text(f'plugin_cache_dir = "{cache}"\n')
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",  # no version check call home
        }
        env.pop("TF_DATA_DIR", None)
        runner = RootRunner(
            terraform, workdir, env, prefetch="PYTEST_XDIST_WORKER" not in os.environ
        )
        try:
            yield runner
        finally:
            runner.close()


@pytest.mark.terraform
def test_roots_discovered() -> None:
    assert MODULES, f"no module with a versions.tf under {TERRAFORM_DIR}/modules"
    assert any(root.startswith("examples/") for root in ROOTS), "no example found"


@pytest.mark.terraform
def test_fmt() -> None:
    step = _run(
        [
            _tool("terraform"),
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            "-no-color",
            "terraform/",
        ],
        REPO_ROOT,
        {**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert step.returncode == 0, (
        "terraform files are not formatted; run `terraform fmt -recursive terraform/`\n"
        + step.report()
    )


@pytest.mark.terraform
@pytest.mark.parametrize("root", ROOTS)
def test_init_validate_and_test(terraform_runner: RootRunner, root: str) -> None:
    """`terraform init`, `validate` and `test` (mocked AWS) all pass for the root."""
    assert list((TERRAFORM_DIR / root / "tests").glob("*.tftest.hcl")), (
        f"{root} has no tests/*.tftest.hcl"
    )
    result = terraform_runner.result(root)
    for name in ("init", "validate", "test"):
        step = result.require(name)
        assert step.returncode == 0, f"{root}: terraform {name} failed\n{step.report()}"
    # A file whose runs silently stop being collected must not pass unnoticed.
    assert re.search(
        r"Success! [1-9][0-9]* passed, 0 failed", result.steps["test"].output
    ), result.steps["test"].report()


@pytest.mark.terraform
def test_checkov() -> None:
    command = [
        _tool("checkov"),
        "--directory", "terraform/",
        "--framework", "terraform",
        "--skip-download",
        "--compact",
        "--output", "json",
    ]
    step = _run(command, REPO_ROOT, {**os.environ, "LOG_LEVEL": "ERROR"})
    try:
        report, _ = json.JSONDecoder().raw_decode(step.stdout[step.stdout.index("{") :])
    except ValueError:
        pytest.fail(f"checkov produced no JSON report:\n{step.report()}", pytrace=False)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']}"
        f" {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0, (
        f"checkov could not parse: {report['results'].get('parsing_errors')}"
    )
    assert summary["passed"] > 0, f"checkov checked nothing:\n{step.report()}"
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in report["results"]["skipped_checks"]
        if not (c.get("check_result", {}).get("suppress_comment") or "").strip()
    ]
    assert not unexplained, "every #checkov:skip needs a reason: " + ", ".join(
        unexplained
    )


# --- house conventions (terraform-aws-modules layout) -------------------------

BLOCK_RE = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)


def _blocks(text: str) -> Iterator[tuple[str, str, str]]:
    """Yield (kind, name, body) of the top-level variable/output blocks."""
    for match in BLOCK_RE.finditer(text):
        depth, pos = 0, match.end() - 1
        for pos in range(match.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[pos], 0)
            if depth == 0:
                break
        yield match.group(1), match.group(2), text[match.end() : pos]


@pytest.mark.terraform
@pytest.mark.parametrize("root", ROOTS)
def test_layout_and_documentation(root: str) -> None:
    directory = TERRAFORM_DIR / root
    missing = [
        name
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
        if not (directory / name).is_file()
    ]
    assert not missing, f"{root} lacks {missing}"
    if root in MODULES:
        assert re.search(
            r'^resource\s+"[a-z0-9_]+"\s+"this"',
            (directory / "main.tf").read_text(),
            re.M,
        ), f"{root}: the module's main resource must be named `this`"
    problems = []
    for tf_file in sorted(directory.glob("*.tf")):
        for kind, name, body in _blocks(tf_file.read_text()):
            needed = ("description",) if kind == "output" else ("description", "type")
            problems += [
                f"{tf_file.name}: {kind} {name} has no {attribute}"
                for attribute in needed
                if not re.search(rf"^\s*{attribute}\s*=", body, re.M)
            ]
    assert not problems, "\n".join(problems)
