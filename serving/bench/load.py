"""Load from a separate process: ``wrk`` POSTing a fixed JSON body over
loopback, with one wrk thread so the load generator takes at most one core."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "post.lua"
_MARKER = "WRK_JSON "


class LoadError(RuntimeError):
    """wrk failed or printed no result."""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    requests: int
    """Responses received, whatever their status."""
    duration_s: float
    non_2xx: int
    """Responses with a status outside 2xx/3xx: the server answered an error."""
    socket_errors: int
    """Connect, read and write errors plus timeouts."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Requests answered per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": self.rps}


def parse_wrk_output(stdout: str) -> LoadResult:
    """The result line the Lua script prints in ``done()``.

    Raises:
        LoadError: no result line (wrk could not run the script or connect).
    """
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            raw = json.loads(line[len(_MARKER) :])
            return LoadResult(
                requests=int(raw["requests"]),
                duration_s=raw["duration_us"] / 1e6,
                non_2xx=int(raw["non_2xx"]),
                socket_errors=sum(
                    int(raw[k])
                    for k in ("connect_errors", "read_errors", "write_errors")
                )
                + int(raw["timeouts"]),
                p50_ms=raw["p50_us"] / 1e3,
                p90_ms=raw["p90_us"] / 1e3,
                p99_ms=raw["p99_us"] / 1e3,
                max_ms=raw["max_us"] / 1e3,
            )
    raise LoadError(f"wrk printed no result line:\n{stdout[-2000:]}")


def run_wrk(
    wrk: str,
    url: str,
    body_file: Path,
    concurrency: int,
    duration_s: int,
    timeout_s: float,
) -> LoadResult:
    """POST ``body_file`` to ``url`` from ``concurrency`` connections for
    ``duration_s`` seconds."""
    argv = [
        wrk,
        "-t1",
        f"-c{concurrency}",
        f"-d{max(duration_s, 1)}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(body_file),
    ]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=duration_s + timeout_s + 30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LoadError(f"wrk did not run: {exc}") from exc
    if done.returncode != 0:
        raise LoadError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return parse_wrk_output(done.stdout)
