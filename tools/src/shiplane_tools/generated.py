"""Files generated from a source of truth and committed: write them, or check
that the committed copies are fresh (``make generate`` and CI's ``--check``).

Every generator (manifests/, the Grafana dashboards, the chart README's values
table) renders a mapping of file name to content and hands it here, so "stale",
"missing" and "should not be there" mean the same thing everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path


def stale(
    directory: Path,
    expected: Mapping[str, str],
    present: Callable[[Path], Iterable[Path]] | None = None,
) -> list[str]:
    """Files (relative to ``directory``) that are missing or differ from
    ``expected``, then, sorted, files ``present`` finds that nothing generates."""
    problems = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text() != text
    ]
    if present is not None:
        found = {str(p.relative_to(directory)) for p in present(directory)}
        problems += sorted(found - expected.keys())
    return problems


def write(directory: Path, expected: Mapping[str, str]) -> list[Path]:
    """Write every file of ``expected`` under ``directory``."""
    written = []
    for name, text in expected.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def sync(
    directory: Path,
    render: Callable[[], Mapping[str, str]],
    *,
    check: bool,
    remedy: str,
    present: Callable[[Path], Iterable[Path]] | None = None,
) -> int:
    """The body of a generator's ``main``: with ``check``, print each stale
    file with ``remedy`` (the make target that fixes it) and return 1 if any;
    otherwise write them all and say so. Returns the exit code."""
    expected = render()
    if check:
        problems = stale(directory, expected, present)
        for name in problems:
            print(f"stale: {directory / name} (run {remedy})", file=sys.stderr)
        return 1 if problems else 0
    for path in write(directory, expected):
        print(f"wrote {path}")
    return 0
