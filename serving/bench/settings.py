"""Settings of one ``make bench`` run: the only place configuration is read.

Every field can be set as an environment variable with the ``SHIPLANE_BENCH_``
prefix (``SHIPLANE_BENCH_DURATION_S=2``); the command line of
``python -m serving.bench.run`` overrides a few of them (``--duration-s 2``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SHIPLANE_BENCH_"

ALL_SERVERS = (
    "kserve",
    "mlflow",
    "mlserver",
    "floor",
    "shiplane-nobatch",
    "shiplane",
    "router",
)
"""Every server the benchmark knows, in the order they run."""


class BenchSettings(BaseSettings):
    """Configuration of the side-by-side serving benchmark."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    duration_s: int = Field(default=10, ge=1)
    """Length of each measured load, in whole seconds (wrk takes no fractions)."""

    warmup_s: int = Field(default=1, ge=0)
    """Unmeasured load before each measurement, same shape, in seconds."""

    server_warmup_s: int = Field(default=3, ge=0)
    """Load right after a server is ready and before its idle RSS is read, so
    lazy imports and caches are in place, in seconds."""

    settle_s: float = Field(default=1.0, ge=0)
    """Pause between the warm-up and reading idle RSS, in seconds."""

    concurrencies: list[int] = Field(default_factory=lambda: [1, 16])
    """Open connections for the single-row loads."""

    batch_rows: int = Field(default=64, ge=1)
    """Rows per request for the batch loads."""

    batch_concurrencies: list[int] = Field(default_factory=lambda: [1, 16])
    """Open connections for the batch loads."""

    servers: list[str] = Field(default_factory=lambda: list(ALL_SERVERS))
    """Servers to run, among :data:`ALL_SERVERS`."""

    state_dir: Path = Path(".shiplane/bench")
    """Model files, request bodies, server logs, venvs and ``results.json``."""

    docs_path: Path | None = Path("docs/benchmarks.md")
    """Markdown report to rewrite; ``None`` writes none."""

    report_from: Path | None = None
    """Measure nothing: re-judge the targets and rewrite the report from this
    earlier ``results.json``."""

    wrk: str = "wrk"
    """The wrk binary (``make tools`` puts it in ``.tools/bin``)."""

    wrk_timeout_s: float = Field(default=5.0, gt=0)
    """wrk's per-request timeout; slower answers count as timeouts."""

    start_timeout_s: float = Field(default=120.0, gt=0)
    """Longest a server may take to become ready (``mlflow models serve`` needs
    11-12 s on a quiet machine, MLServer about as long)."""

    mlserver_requirements: list[str] = Field(
        default_factory=lambda: [
            "mlserver==1.7.1",
            "mlserver-sklearn==1.7.1",
            # MLServer 1.7.1 crashes under uvloop 0.23.
            "uvloop==0.21.*",
            "scikit-learn==1.9.1",
        ]
    )
    """What goes into MLServer's own venv (never the project's ``.venv``)."""

    profile: bool = True
    """Sample the floor, plain KServe and Shiplane with py-spy under load for the
    "where the time goes" section (py-spy lives in its own venv)."""

    profile_s: int = Field(default=5, ge=1)
    """Length of each py-spy recording, in seconds (not part of the table)."""

    profile_concurrency: int = Field(default=16, ge=1)
    """Open connections while py-spy records."""
