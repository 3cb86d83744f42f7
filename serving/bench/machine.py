"""What the numbers were measured on: CPU, memory, load and software."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PROJECT_DISTRIBUTIONS = [
    "kserve",
    "mlflow",
    "scikit-learn",
    "numpy",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "orjson",
    "prometheus-client",
    "pydantic",
]
MLSERVER_DISTRIBUTIONS = [
    "mlserver",
    "mlserver-sklearn",
    "scikit-learn",
    "numpy",
    "uvloop",
    "fastapi",
    "uvicorn",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: above the core count means the
    numbers were taken on a busy machine."""
    return [round(v, 2) for v in os.getloadavg()]


def _versions(distributions: list[str]) -> dict[str, str]:
    out = {}
    for name in distributions:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _wrk_version(wrk: str) -> str:
    try:
        done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return "not found"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0].split("Copyright")[0].strip() if text else "unknown"


def describe(wrk: str) -> dict[str, Any]:
    """The machine and the project's software versions."""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "mem_total_gib": round(_mem_total_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _wrk_version(wrk),
        "versions": _versions(PROJECT_DISTRIBUTIONS),
    }
