"""The import rule of docs/architecture.md: every module belongs to one layer,
and a layer imports only from the layers below it. Imports are read from the
source (every ``import``, at any depth, lazy ones included), so a backward
arrow cannot hide inside a function or a ``try``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

#: One source folder per package; the folder says the layer.
SOURCES = (
    REPO / "contracts" / "src",
    REPO / "src",
    REPO / "serving" / "src",
    REPO / "training" / "src",
    REPO / "tools" / "src",
)

#: Layer of each of our modules, by longest matching prefix. Lower is deeper.
LAYERS: dict[str, tuple[int, str]] = {
    # The contracts: what serving, training and the CLI agree on.
    "shiplane_contracts": (0, "contracts"),
    # The runtimes: each image runs one of these.
    "shiplane_serving": (2, "serving runtime"),
    "shiplane_training": (2, "training runtime"),
    "shiplane": (2, "control CLI"),  # the package itself (__init__: __version__)
    "shiplane.router": (2, "router runtime"),
    "shiplane.control": (2, "control CLI"),
    "shiplane.analysis": (2, "control CLI"),
    "shiplane.rollout": (2, "control CLI"),
    "shiplane.cli": (2, "control CLI"),
    # Developer tooling: never shipped in an image.
    "shiplane_tools": (4, "tooling"),
}

#: Runtimes of the same level that may not import each other: each ships alone.
SEPARATE = {"serving runtime", "training runtime", "router runtime", "control CLI"}
#: The control CLI drives the router (admin client, actuator): a documented edge.
ALLOWED_ACROSS = {("control CLI", "router runtime")}


def layer_of(module: str) -> tuple[int, str] | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return best[1] if best else None


def module_name(path: Path) -> str:
    root = next(src for src in SOURCES if path.is_relative_to(src))
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import; ``from a import b`` counts
    as ``a.b``, which is the module ``b`` when there is one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def violations(path: Path, source: str | None = None) -> list[str]:
    """What ``path`` (or ``source`` in its place) imports against the rule,
    one line per import."""
    here = module_name(path)
    mine = layer_of(here)
    assert mine is not None, f"{here} is in no layer: add it to LAYERS"
    wrong = []
    for line, target in imports_of(path.read_text() if source is None else source):
        theirs = layer_of(target)
        if theirs is None or theirs[1] == mine[1]:
            continue  # third party, or the same layer
        backward = theirs[0] > mine[0]
        across = (
            theirs[0] == mine[0]
            and {mine[1], theirs[1]} <= SEPARATE
            and (mine[1], theirs[1]) not in ALLOWED_ACROSS
        )
        if backward or across:
            wrong.append(
                f"{path.relative_to(REPO)}:{line}: {here} ({mine[1]}) imports "
                f"{target} ({theirs[1]})"
            )
    return wrong


def our_modules() -> list[Path]:
    return sorted(p for src in SOURCES for p in src.rglob("*.py"))


def test_every_module_respects_the_layers() -> None:
    wrong = [v for path in our_modules() for v in violations(path)]
    assert wrong == [], "\n".join(wrong)


#: The domain packages under the CLI: typed settings in, no flags parsed.
DOMAIN = ("shiplane.control", "shiplane.analysis", "shiplane.rollout")
#: What only the CLI wing (``shiplane.cli``) imports.
CLI_ONLY = ("argparse", "shiplane.cli")


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def cli_imports(path: Path, source: str | None = None) -> list[str]:
    """Imports of argparse or of the CLI in a domain module, one line each."""
    return [
        f"{path.relative_to(REPO)}:{line}: {module_name(path)} imports {target}"
        for line, target in imports_of(path.read_text() if source is None else source)
        if within(target, CLI_ONLY)
    ]


def test_the_domain_packages_hold_no_argparse() -> None:
    """Flags are parsed in ``shiplane.cli`` only; control, analysis and rollout
    take settings and dataclasses, and never import the CLI back."""
    domain = [p for p in our_modules() if within(module_name(p), DOMAIN)]
    assert domain
    wrong = [v for path in domain for v in cli_imports(path)]
    assert wrong == [], "\n".join(wrong)
    probe = REPO / "src/shiplane/rollout/loop.py"
    assert len(cli_imports(probe, probe.read_text() + "\nimport argparse\n")) == 1


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("contracts/src/shiplane_contracts/metrics.py", "import shiplane.control"),
        ("contracts/src/shiplane_contracts/profile.py", "import shiplane_serving"),
        ("src/shiplane/cli/__init__.py", "from shiplane_training.__main__ import main"),
        ("serving/src/shiplane_serving/app.py", "import shiplane.rollout"),
        ("src/shiplane/control/plans.py", "from shiplane_tools import localstack"),
        ("training/src/shiplane_training/train.py", "import shiplane_serving.loader"),
    ],
)
def test_a_backward_import_is_caught(where: str, line: str) -> None:
    """The rule fires: the same file with one forbidden import added fails."""
    path = REPO / where
    probe = f"{path.read_text()}\n\ndef _probe() -> None:\n    {line}\n"
    assert violations(path) == []
    assert len(violations(path, probe)) == 1
