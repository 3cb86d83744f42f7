"""Process settings of the router (environment prefix ``SHIPLANE_ROUTER_``).

Built once in ``__main__`` and passed down; nothing else reads the environment.
Routing itself (variants, weights, shadow, sticky keys) lives in the YAML file
named by :attr:`RouterSettings.config`, see :mod:`shiplane.router.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RouterSettings(BaseSettings):
    """Settings of one router process."""

    model_config = SettingsConfigDict(env_prefix="SHIPLANE_ROUTER_", extra="forbid")

    config: Path = Path("/etc/shiplane/router.yaml")
    """Routing configuration file (YAML)."""
    host: str = "127.0.0.1"
    """Address to bind; use 0.0.0.0 in a container."""
    port: int = Field(8080, ge=1, le=65535)
    """TCP port to listen on."""

    admin_token_file: Path | None = None
    """File holding the admin bearer token (a mounted Kubernetes Secret). Read on
    every admin call, so a rotated Secret takes effect without a restart."""
    admin_token: SecretStr | None = None
    """Admin bearer token given directly; ignored when ``admin_token_file`` is
    set. With neither, the admin API answers 403."""

    connect_timeout_s: float = Field(1.0, gt=0)
    """Time to open a connection to a variant before it counts as down."""
    timeout_s: float = Field(30.0, gt=0)
    """Time a variant has for the whole exchange (connection, request, answer)
    before it counts as down."""
    pool_timeout_s: float = Field(5.0, gt=0)
    """Time a request may wait for an upstream connection (a free one from the
    pool, or a new one) before the variant counts as down."""
    max_connections: int = Field(256, ge=1)
    """Upstream connections open at once, over all variants."""
    max_keepalive_connections: int = Field(128, ge=0)
    """Idle connections kept open for reuse, per variant."""
    keepalive_expiry_s: float = Field(30.0, gt=0)
    """How long an idle upstream connection is kept."""
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1)
    """Largest request body accepted (413 beyond); bodies are buffered so that
    the fallback and the shadow can replay them."""

    shadow_max_in_flight: int = Field(64, ge=1)
    """Mirrored requests pending at once; beyond it copies are dropped and
    counted with ``outcome="dropped"``."""
    shadow_timeout_s: float = Field(10.0, gt=0)
    """Time a mirrored request may take before it counts as an error."""

    cookie_max_age_s: int = Field(30 * 24 * 3600, ge=1)
    """Lifetime of the sticky cookie the router sets for keyless users."""
    cookie_secure: bool = False
    """Mark the sticky cookie ``Secure`` (set it behind TLS)."""

    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    """Log level of the router and uvicorn."""
    access_log: bool = False
    """uvicorn access log; off by default because it costs throughput."""
