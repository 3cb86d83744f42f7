"""Each image installs only what it runs, and runs with what it installs.

No Docker daemon runs here, so each image's venv is built the way its
Dockerfile builds it: the ``<target>-venv`` stage's COPY and ``uv sync`` steps
replayed in a scratch directory holding only the files that stage copies. The
venv is then read (what is installed), searched for every module our sources
import, and asked to start the image's entry point.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from tests import dockerfile
from tests.conftest import REPO, require_tool

TARGETS = ("serving", "training", "router")

#: Never in any image: our tooling and the developer tools.
NEVER = {
    "shiplane-tools",
    "mlflow",
    "locust",
    "grafana-foundation-sdk",
    "pytest",
    "hypothesis",
    "ruff",
    "mypy",
    "kubernetes-validate",
}
#: Not in one image, because another image runs it.
NOT_IN = {
    # pyarrow is in serving now: batch scoring reads and writes CSV/Parquet.
    "serving": {"shiplane", "shiplane-training", "matplotlib"},
    "training": {
        "shiplane",
        "shiplane-serving",
        "kserve",
        "kubernetes",
        "httpx",
        "grpcio",
    },
    "router": {
        "shiplane-serving",
        "shiplane-training",
        "kserve",
        "scikit-learn",
        "skops",
        "scipy",
        "pandas",
        "matplotlib",
    },
}
#: The workspace package each image installs, with the contracts under it.
OWN = {
    "serving": {"shiplane-serving", "shiplane-contracts"},
    "training": {"shiplane-training", "shiplane-contracts"},
    "router": {"shiplane", "shiplane-contracts"},
}
#: What the contracts may pull in: numpy, pydantic and pydantic's own needs.
CONTRACTS_MAY_NEED = {
    "numpy",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-extensions",
    "typing-inspection",
}
#: Declared dependencies no module imports by name, and why they are declared.
RUNTIME_ONLY = {
    "uvicorn": "serving runs its REST app under uvicorn's server (started by KServe)",
    "httptools": "uvicorn's fast HTTP parser, picked at run time",
    "grpcio": "KServe's gRPC server, which serving enables",
    "opentelemetry-exporter-otlp-proto-http": "tracing exporter, chosen by env",
    "pyarrow": "pandas.read_parquet's engine, for Parquet training data",
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class BuiltImage:
    target: str
    venv: Path
    sources: tuple[Path, ...]  # the source trees its venv stage copies

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, code: str) -> str:
        done = subprocess.run(
            [str(self.python), "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd=self.venv,
        )
        return done.stdout

    def installed(self) -> set[str]:
        listing = self.run(
            "import importlib.metadata as m, json;"
            "print(json.dumps(sorted({d.metadata['Name'] for d in m.distributions()})))"
        )
        return {normalize(name) for name in json.loads(listing)}


def venv_stage(target: str) -> str:
    """The stage whose /opt/venv the image copies."""
    for step in dockerfile.resolved(target):
        if step.keyword == "COPY" and step.rest.endswith("/opt/venv /opt/venv"):
            return step.rest.split()[0].removeprefix("--from=")
    raise AssertionError(f"target {target} copies no /opt/venv")


def build_venv(target: str, scratch: Path) -> BuiltImage:
    """Replay the COPY and ``uv`` steps of ``target``'s venv stage."""
    uv = require_tool("uv")
    workdir, venv = scratch / "src", scratch / "venv"
    env = {**os.environ}
    sources = []
    for step in dockerfile.resolved(venv_stage(target)):
        if step.keyword == "WORKDIR":
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "ENV":
            env.update(step.env())
        elif step.keyword == "COPY":
            *sources_, dest = shlex.split(step.rest)
            for source in sources_:
                into = workdir / dest if dest.endswith("/") else workdir / dest
                origin = REPO / source
                if origin.is_dir():
                    shutil.copytree(origin, into, dirs_exist_ok=True)
                    if Path(source).name == "src":
                        sources.append(into)
                else:
                    target_file = into / origin.name if dest.endswith("/") else into
                    target_file.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target_file)
        elif step.keyword == "RUN" and step.rest.startswith("uv "):
            env.update(
                UV_PROJECT_ENVIRONMENT=str(venv),  # /opt/venv in the image
                UV_COMPILE_BYTECODE="0",  # the image compiles; the test needs no .pyc
                UV_LINK_MODE="hardlink",  # the image copies; links are faster here
                UV_PYTHON=sys.executable,  # the image's python:3.11
            )
            argv = [uv, *shlex.split(step.rest)[1:]]
            done = subprocess.run(
                argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, f"{target}: {step.rest}\n{done.stderr[-3000:]}"
    return BuiltImage(target, venv, tuple(sources))


@pytest.fixture(scope="module", params=TARGETS)
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    target = request.param
    return build_venv(target, tmp_path_factory.mktemp(f"image-{target}"))


def test_hadolint_passes() -> None:
    hadolint = require_tool("hadolint")
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(dockerfile.DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_every_image_runs_unprivileged_on_a_slim_base(target: str) -> None:
    steps = dockerfile.resolved(target)
    stages = dockerfile.stages()
    base = stages[target]
    while base.base in stages:
        base = stages[base.base]
    assert base.base == "${PYTHON_IMAGE}"
    users = [s.rest for s in steps if s.keyword == "USER"]
    assert users[-1:] == ["10001:10001"], users
    # The image holds the venv, never the build tools that made it.
    assert not any(
        re.search(r"\buv\b|pip install|apt-get|gcc", s.rest)
        for s in steps
        if s.keyword == "RUN"
    )


def test_the_servers_expose_their_ports() -> None:
    """What the ServingRuntime and the router Service point at."""
    exposed = {
        target: [s.rest for s in dockerfile.resolved(target) if s.keyword == "EXPOSE"]
        for target in TARGETS
    }
    assert exposed == {"serving": ["8080 8081"], "training": [], "router": ["8080"]}


def test_router_is_the_default_target() -> None:
    """``docker build .`` builds what it always built: the router image."""
    assert dockerfile.default_target() == "router"


def test_the_image_uv_is_the_makefile_uv() -> None:
    makefile = (REPO / "Makefile").read_text()
    [pinned] = re.findall(r"^UV_VERSION \?= (\S+)", makefile, re.M)
    args = [
        s.rest for s in dockerfile.stages()["uv"].instructions if s.keyword == "ARG"
    ]
    assert f"UV_VERSION={pinned}" in args


def test_each_image_installs_only_what_it_runs(image: BuiltImage) -> None:
    installed = image.installed()
    print(f"{image.target}: {len(installed)} distributions: {sorted(installed)}")
    assert OWN[image.target] <= installed, OWN[image.target] - installed
    unwanted = (NEVER | NOT_IN[image.target]) & installed
    assert not unwanted, f"the {image.target} image installs {sorted(unwanted)}"


def _needed_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import needed at run time: those
    under ``if TYPE_CHECKING`` or guarded by an ``except ImportError`` are not."""
    optional: set[int] = set()
    for node in ast.walk(tree):
        type_only = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test
        )
        guarded = isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type)
            for h in node.handlers
        )
        if type_only or guarded:
            optional |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def imported_modules(sources: tuple[Path, ...], roots: set[str]) -> dict[str, str]:
    """Third-party top-level modules that the packages ``roots`` need, directly
    or through the first-party modules they import (so a contracts module the
    image never imports, like the collectors in training, is not counted); each
    with one place that imports it."""
    modules = {}
    for src in sources:
        for path in src.rglob("*.py"):
            parts = path.relative_to(src).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    ours = {name.split(".")[0] for name in modules}
    todo = [m for m in modules if m.split(".")[0] in roots]
    seen, found = set(todo), {}
    while todo:
        path = modules[todo.pop()]
        for line, name in _needed_imports(ast.parse(path.read_text())):
            top = name.split(".")[0]
            if top in ours:
                if name in modules and name not in seen:
                    seen.add(name)
                    todo.append(name)
            elif top not in sys.stdlib_module_names:
                found.setdefault(top, f"{path.name}:{line}")
    return found


def test_every_module_our_code_imports_is_in_its_image(image: BuiltImage) -> None:
    needed = imported_modules(image.sources, {OWN_MODULE[image.target]})
    assert needed, "no third-party import found: the scan is broken"
    missing = json.loads(
        image.run(
            "import importlib.util, json, sys;"
            f"print(json.dumps([m for m in {sorted(needed)!r}"
            " if importlib.util.find_spec(m) is None]))"
        )
    )
    assert missing == [], {m: needed[m] for m in missing}


OWN_MODULE = {
    "serving": "shiplane_serving",
    "training": "shiplane_training",
    "router": "shiplane",
}

ENTRY_POINTS = {
    "serving": [
        ["python", "-m", "shiplane_serving", "--help"],
        # What the chart's scoring Job runs.
        ["python", "-m", "shiplane_serving.cli", "score", "--help"],
        ["python", "-m", "shiplane_serving.cli", "profile", "--help"],
    ],
    "training": [["python", "-m", "shiplane_training", "--help"]],
    "router": [
        ["python", "-m", "shiplane.router", "--help"],
        ["shiplane", "rollout", "--help"],
        ["kubectl-shiplane", "--help"],
    ],
}


def test_the_entry_point_starts(image: BuiltImage) -> None:
    entry = next(
        s.exec_form()
        for s in reversed(dockerfile.resolved(image.target))
        if s.keyword == "ENTRYPOINT"
    )
    assert tuple(ENTRY_POINTS[image.target][0][:3]) == entry
    for argv in ENTRY_POINTS[image.target]:
        program = image.venv / "bin" / argv[0]
        done = subprocess.run(
            [str(program), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=image.venv,
            env={
                "PATH": f"{image.venv / 'bin'}:/usr/bin:/bin",
                "HOME": str(image.venv),
            },
        )
        assert done.returncode == 0, f"{argv}: {done.stderr[-2000:]}"
        assert "usage" in done.stdout.lower(), done.stdout[:500]


#: Each workspace package: its pyproject and the source tree its imports come from.
PACKAGES = {
    "shiplane-contracts": REPO / "contracts",
    "shiplane": REPO,
    "shiplane-serving": REPO / "serving",
    "shiplane-training": REPO / "training",
}


def import_names(distribution: str) -> set[str]:
    names = {
        module
        for module, dists in metadata.packages_distributions().items()
        if distribution in {normalize(d) for d in dists}
    }
    return names or {distribution.replace("-", "_")}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_declared_dependency_is_imported(package: str) -> None:
    """A dependency nothing imports is weight in an image (scipy once was)."""
    root = PACKAGES[package]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    [src] = [p for p in (root / "src").iterdir() if p.is_dir()]
    used = set(imported_modules((src.parent,), {src.name})) | {
        "shiplane_contracts"  # first party: excluded from the scan
    }
    unused = []
    for requirement in project["dependencies"]:
        name = normalize(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        if name in RUNTIME_ONLY or name.startswith("shiplane"):
            continue
        if not import_names(name) & used:
            unused.append(name)
    assert unused == [], f"{package} declares but never imports {unused}"


def test_the_contracts_need_only_numpy_and_pydantic() -> None:
    uv = require_tool("uv")
    done = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--no-emit-workspace",
            "--package",
            "shiplane-contracts",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    needs = {
        normalize(re.split(r"[=;\s]", line, maxsplit=1)[0])
        for line in done.stdout.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert "numpy" in needs and "pydantic" in needs, needs
    assert needs <= CONTRACTS_MAY_NEED, needs - CONTRACTS_MAY_NEED
