"""Where a server spends its CPU under load: py-spy samples (from its own venv,
never the project's) summarized by the package of the innermost frame, plus
the inclusive share of a few functions that matter for a model server."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Substrings of a collapsed stack -> what they mean; a sample counts for every
# marker its stack contains.
MARKERS: dict[str, str] = {
    "predict_proba (": "predict_proba, all of it",
    "validation.py": "scikit-learn input validation",
    "narwhals/": "narwhals (scikit-learn's dataframe checks)",
    "logging/": "logging",
    "prometheus_client/": "prometheus_client",
    "shiplane_serving/protocol": "Shiplane request parsing and answers",
    "shiplane_serving/batching": "Shiplane batching",
    "shiplane_serving/drift": "Shiplane drift",
    "shiplane_serving/metrics": "Shiplane metrics",
    "shiplane_serving/feedback": "Shiplane feedback ids",
    "shiplane_serving/tracing": "Shiplane tracing",
    "shiplane/router/": "Shiplane router",
    "httpx/": "httpx (router to upstream)",
    "httpcore/": "httpcore",
    "orjson": "orjson",
    "json/": "json (stdlib)",
    "pydantic": "pydantic",
}


@dataclass
class Hotspots:
    """Summary of one recording."""

    samples: int = 0
    by_package: list[tuple[str, float]] = field(default_factory=list)
    """(package of the innermost frame, percent of samples), largest first."""
    markers: list[tuple[str, float]] = field(default_factory=list)
    """(marker meaning, percent of samples whose stack contains it)."""
    error: str = ""


def _package(frame: str) -> str:
    """``func (sklearn/utils/validation.py:123)`` -> ``sklearn``."""
    if frame.startswith(("process ", "thread ")):
        return "(no Python frame)"
    start, end = frame.rfind("("), frame.rfind(":")
    if start < 0 or end < start:
        return frame.strip() or "?"
    path = frame[start + 1 : end]
    if path.startswith("<"):  # <frozen importlib._bootstrap>
        return path.strip("<>")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    head = path.lstrip("/<").split("/", 1)[0]
    return head.removesuffix(".py") or "?"


def summarize_collapsed(text: str, top: int = 10) -> Hotspots:
    """Summarize py-spy's ``--format raw`` output (collapsed stacks)."""
    leaf_counts: Counter[str] = Counter()
    marker_counts: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf_counts[_package(stack.split(";")[-1])] += count
        for needle, meaning in MARKERS.items():
            if needle in stack:
                marker_counts[meaning] += count
    if total == 0:
        return Hotspots(error="py-spy recorded no samples")
    return Hotspots(
        samples=total,
        by_package=[(p, 100 * c / total) for p, c in leaf_counts.most_common(top)],
        markers=[(m, 100 * c / total) for m, c in marker_counts.most_common()],
    )


def start_recording(
    py_spy: Path, pid: int, duration_s: int, output: Path
) -> subprocess.Popen[bytes]:
    """Sample ``pid`` and its children for ``duration_s`` seconds in the
    background; collapsed stacks go to ``output``."""
    argv = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--format",
        "raw",
        "--output",
        str(output),
        "--duration",
        str(duration_s),
        "--rate",
        "200",
        "--nonblocking",
    ]
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def finish_recording(
    recording: subprocess.Popen[bytes], output: Path, timeout_s: float
) -> Hotspots:
    """Wait for a recording and summarize it."""
    try:
        _, stderr = recording.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        recording.kill()
        recording.communicate()
        return Hotspots(error="py-spy did not finish in time")
    if not output.exists():
        detail = stderr.decode(errors="replace").strip()[-300:]
        return Hotspots(error=f"py-spy wrote nothing: {detail}")
    return summarize_collapsed(output.read_text(errors="replace"))
