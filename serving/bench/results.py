"""What one benchmark run found, as plain data that goes to ``results.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from serving.bench.hotspots import Hotspots


@dataclass
class Cell:
    """One measured load: a format, a request size and a concurrency."""

    protocol: str
    protocol_label: str
    rows: int
    concurrency: int
    rps: float = 0.0
    rows_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    batches: str = ""
    """Rows per model call during this load, when the server exports them."""
    error: str = ""
    """Why there is no number (wrk failed); empty when measured."""

    @property
    def valid(self) -> bool:
        """Measured, and every answer was a success."""
        return (
            not self.error
            and self.requests > 0
            and self.non_2xx == 0
            and self.socket_errors == 0
        )


@dataclass
class ServerResult:
    """Everything measured on one server."""

    key: str
    label: str
    notes: str
    status: str = "ok"
    """ok | failed to start | bad answer | not run"""
    error: str = ""
    start_s: float = 0.0
    """From launch to ready, in seconds."""
    idle_rss_mb: float = 0.0
    cells: list[Cell] = field(default_factory=list)
    hotspots: Hotspots | None = None

    def cell(self, protocol: str | None, rows: int, concurrency: int) -> Cell | None:
        """The measured cell with this shape (any format when ``protocol`` is
        None: the first one)."""
        for cell in self.cells:
            if (
                (protocol is None or cell.protocol == protocol)
                and cell.rows == rows
                and cell.concurrency == concurrency
            ):
                return cell
        return None


@dataclass
class Check:
    """One target from the issues, next to the numbers it was judged on."""

    target: str
    server: str
    measured: str
    needed: str
    result: str
    """PASS | FAIL | N/A (a number it needs is missing or had errors)."""


@dataclass
class RunResult:
    """The whole run."""

    generated_utc: str
    settings: dict[str, Any]
    machine: dict[str, Any]
    model_call_ms: dict[str, float]
    """In-process ``predict_proba`` median time by rows per call."""
    servers: list[ServerResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    load_average_start: list[float] = field(default_factory=list)
    load_average_end: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things that went wrong outside any one server (venv, py-spy)."""

    def server(self, key: str) -> ServerResult | None:
        for result in self.servers:
            if result.key == key:
                return result
        return None


def load(data: dict[str, Any]) -> RunResult:
    """A :class:`RunResult` back from the ``results.json`` it was written to."""
    servers = []
    for raw in data.get("servers", []):
        hotspots = raw.get("hotspots")
        servers.append(
            ServerResult(
                **{k: v for k, v in raw.items() if k not in {"cells", "hotspots"}},
                cells=[Cell(**cell) for cell in raw.get("cells", [])],
                hotspots=Hotspots(
                    samples=hotspots["samples"],
                    by_package=[tuple(p) for p in hotspots["by_package"]],
                    markers=[tuple(m) for m in hotspots["markers"]],
                    error=hotspots["error"],
                )
                if hotspots
                else None,
            )
        )
    scalars = {k: v for k, v in data.items() if k not in {"servers", "checks"}}
    return RunResult(
        **scalars,
        servers=servers,
        checks=[Check(**check) for check in data.get("checks", [])],
    )
