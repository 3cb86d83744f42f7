"""``python -m shiplane.router --config router.yaml [--host H] [--port P]``.

Every option can also come from the environment (``SHIPLANE_ROUTER_CONFIG``,
``SHIPLANE_ROUTER_HOST``, ``SHIPLANE_ROUTER_PORT``, ...); command-line options
win. Exits with code 2 and a clear message when the configuration is invalid.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shiplane.router.config import ConfigError, format_validation_error, load_config
from shiplane.router.settings import RouterSettings

log = logging.getLogger("shiplane.router")


def parse_args(argv: Sequence[str] | None) -> dict[str, Any]:
    """Command-line options given, as settings overrides."""
    parser = argparse.ArgumentParser(
        prog="python -m shiplane.router",
        description="Shiplane A/B router: weighted sticky routing of KServe "
        "V1/V2 traffic to model variants.",
    )
    parser.add_argument("--config", type=Path, help="routing configuration (YAML)")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument(
        "--log-level", choices=["critical", "error", "warning", "info", "debug"]
    )
    args = parser.parse_args(argv)
    return {k: v for k, v in vars(args).items() if v is not None}


def main(argv: Sequence[str] | None = None) -> int:
    """Validate settings and configuration, then serve until stopped."""
    try:
        settings = RouterSettings(**parse_args(argv))
    except ValidationError as exc:
        print(
            f"error: invalid router settings: {format_validation_error(exc)}",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(settings.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The server stack is imported only once the configuration is known good,
    # so that a bad file fails in a fraction of a second.
    import uvicorn

    from shiplane.router.admin import AdminTokenError
    from shiplane.router.app import RouterApp

    try:
        app = RouterApp(settings, config)
        app.auth.expected()  # an unreadable token file fails now, not at 3 a.m.
    except AdminTokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not app.auth.enabled:
        log.warning("admin API disabled: no admin token configured")
    layout = ", ".join(
        f"{n}={config.variants[n].weight}% -> {config.variants[n].base_url}"
        for n in config.variants
    )
    log.info(
        "routing %s; fallback %s; shadow %s", layout, config.fallback, config.shadow
    )
    # uvicorn picks these when installed (uvicorn[standard]); say which it got,
    # because the overhead target assumes both.
    fast = {m: importlib.util.find_spec(m) is not None for m in ("uvloop", "httptools")}
    log.info(
        "uvloop %s, httptools %s",
        *("yes" if fast[m] else "MISSING (slower)" for m in fast),
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        # The answer keeps the variant's own Server and Date headers.
        server_header=False,
        date_header=False,
        lifespan="on",
        # Clients' X-Forwarded-* headers are passed on, not trusted or rewritten.
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
