"""``python -m shiplane_serving``: serve one model over REST (and gRPC).

Flags mirror the settings (``--model-uri`` is ``SHIPLANE_SERVING_MODEL_URI``);
a flag wins over the environment. ``--server kserve`` runs the same model under
KServe's own ModelServer instead of Shiplane's lean app.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from shiplane_serving.settings import ENV_PREFIX, ServingSettings

log = logging.getLogger("shiplane_serving")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shiplane_serving",
        description="Serve a scikit-learn model from MLflow with KServe V1/V2.",
    )
    for name, field in ServingSettings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if field.annotation is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None
            )
        elif name == "extra_trusted_types":
            parser.add_argument(flag, action="append", default=None)
        else:
            parser.add_argument(flag, default=None, help=(field.description or "")[:80])
    parser.add_argument(
        "--server",
        choices=["shiplane", "kserve"],
        default="shiplane",
        help="shiplane: the lean REST app (default); kserve: KServe's ModelServer",
    )
    return parser


def settings_from_args(argv: Sequence[str] | None) -> tuple[ServingSettings, str]:
    """Settings from the environment overridden by flags, and the server kind."""
    args = vars(_parser().parse_args(argv))
    server = args.pop("server")
    overrides: dict[str, Any] = {k: v for k, v in args.items() if v is not None}
    return ServingSettings(**overrides), server


def _export(settings: ServingSettings) -> None:
    """Hand the settings to worker processes, which rebuild them from the env."""
    for name, value in settings.model_dump(mode="json").items():
        key = ENV_PREFIX + name.upper()
        if isinstance(value, list):
            import json

            os.environ[key] = json.dumps(value)
        else:
            os.environ[key] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT."""
    settings, server = settings_from_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    )
    # We retry with our own backoff and log line; MLflow's client retries would
    # otherwise hide an outage for minutes per attempt.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    if settings.tracking_uri:
        # MLflow's artifact download resolves models:/ URIs against the
        # process-wide registry, whatever tracking_uri it is given.
        os.environ["MLFLOW_TRACKING_URI"] = settings.tracking_uri
        os.environ["MLFLOW_REGISTRY_URI"] = settings.tracking_uri
    if not settings.feedback_secret:
        # One key for every worker of this server, so any worker scores any id.
        settings = settings.model_copy(update={"feedback_secret": os.urandom(24).hex()})
    if settings.workers > 1:
        shutil.rmtree(settings.metrics_dir, ignore_errors=True)
        settings.metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_dir)
    if server == "kserve":
        return _run_kserve(settings)
    _export(settings)
    import uvicorn

    log.info(
        "serving %s from %s on http://%s:%d (gRPC %s), %d worker(s)",
        settings.model_name,
        settings.model_uri,
        settings.host,
        settings.http_port,
        settings.grpc_port or "off",
        settings.workers,
    )
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.http_port,
        "access_log": False,
        "log_config": None,
        "lifespan": "on",
        "timeout_graceful_shutdown": 20,
    }
    if settings.workers > 1:
        uvicorn.run(
            "shiplane_serving.app:create_app",
            factory=True,
            workers=settings.workers,
            **common,
        )
    else:
        from shiplane_serving.app import build_app

        uvicorn.run(build_app(settings), **common)
    return 0


def _run_kserve(settings: ServingSettings) -> int:
    """The same model under KServe's ModelServer (one worker, its own metrics)."""
    import kserve
    from prometheus_client import REGISTRY

    from shiplane_serving.dataplane import Dataplane
    from shiplane_serving.kserve_adapter import ShiplaneModel
    from shiplane_serving.metrics import ServingMetrics
    from shiplane_serving.tracing import Tracing

    # KServe's /metrics serves the default registry.
    metrics = ServingMetrics(registry=REGISTRY)
    dataplane = Dataplane(settings, metrics, Tracing(settings.otlp_endpoint))
    if not dataplane.load():
        log.error("model failed to load: %s", dataplane.load_error)
        return 1
    model = ShiplaneModel(dataplane)
    kserve.ModelServer(
        http_port=settings.http_port,
        grpc_port=settings.grpc_port or 8081,
        enable_grpc=bool(settings.grpc_port),
    ).start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
