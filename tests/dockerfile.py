"""The repository's Dockerfile, read the way ``docker build --target`` reads it:
stages by name, each with the instructions it inherits from its base stages.

No Docker daemon runs here, so the tests read what an image would hold from
the file itself (podwiring: ENTRYPOINT, ENV, WORKDIR; test_images: the venv its
``uv sync`` builds)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ENV, ...
    rest: str
    stage: str  # the stage it is written in

    def exec_form(self) -> tuple[str, ...]:
        return tuple(str(a) for a in json.loads(self.rest))

    def env(self) -> dict[str, str]:
        items = (item.partition("=") for item in shlex.split(self.rest))
        return {name: value for name, _, value in items}


@dataclass(frozen=True)
class Stage:
    name: str
    base: str  # a stage name or an image reference
    instructions: tuple[Instruction, ...]


def _logical_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return lines


@cache
def stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """Every stage by name (an unnamed one by its index), in file order."""
    found: dict[str, Stage] = {}
    name, base, body = "", "", []

    def close() -> None:
        if base:
            found[name] = Stage(name, base, tuple(body))

    for line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            close()
            words = rest.split()
            base = words[0]
            name = (
                words[2]
                if len(words) > 2 and words[1].upper() == "AS"
                else str(len(found))
            )
            body = []
        elif base:
            body.append(Instruction(keyword.upper(), rest.strip(), name))
    close()
    return found


def default_target(path: Path = DOCKERFILE) -> str:
    """What ``docker build`` without ``--target`` builds: the last stage."""
    return list(stages(path))[-1]


def resolved(target: str, path: Path = DOCKERFILE) -> tuple[Instruction, ...]:
    """``target``'s instructions after those of the stages it is built FROM."""
    every = stages(path)
    if target not in every:
        raise KeyError(f"{path.name} has no stage {target!r} (has: {', '.join(every)})")
    stage = every[target]
    inherited = resolved(stage.base, path) if stage.base in every else ()
    return inherited + stage.instructions
