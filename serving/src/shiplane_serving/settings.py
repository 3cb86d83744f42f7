"""Settings of one serving process: the only place configuration is read.

Every field can be set as an environment variable with the ``SHIPLANE_SERVING_``
prefix (``SHIPLANE_SERVING_MAX_BATCH_ROWS=256``) or as a command-line flag of
``python -m shiplane_serving`` (``--max-batch-rows 256``). The entry point builds
one :class:`ServingSettings` and passes it down; no other module reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shiplane_serving.drift.monitor import DriftConfig

ENV_PREFIX = "SHIPLANE_SERVING_"


class ServingSettings(BaseSettings):
    """Configuration of the Shiplane serving runtime."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # ---- model -------------------------------------------------------------------
    model_uri: str = "/mnt/models"
    """Where the model comes from: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``
    (MLflow registry), ``runs:/RUN_ID/PATH``, or a local directory such as the
    ``/mnt/models`` KServe's storage initializer fills."""

    model_name: str = "model"
    """Name the model is served under (``/v2/models/NAME``); the InferenceService
    name in KServe."""

    model_version: str = ""
    """Version to report for a local directory or ``runs:/`` URI (registry URIs
    report the registry version); empty: ``metadata.shiplane.model_version`` in
    MLmodel, else ``run-<run id prefix>``, else ``local``."""

    tracking_uri: str = ""
    """MLflow tracking server for ``models:/`` and ``runs:/`` URIs; empty means
    MLflow's own default (``MLFLOW_TRACKING_URI``)."""

    download_dir: Path = Path("/tmp/shiplane-models")
    """Writable directory MLflow artifacts are downloaded into (keeps the root
    filesystem read-only)."""

    extra_trusted_types: list[str] = Field(default_factory=list)
    """Types skops may load beyond the contract's ``TRUSTED_TYPES``; set by the
    operator, never by the model file."""

    allow_pickle: bool = False
    """Load sklearn models saved with pickle or cloudpickle. Loading one runs
    code its author chose: only for registries whose every writer you trust."""

    load_retries: int = Field(default=8, ge=0)
    """Attempts to reach MLflow after the first one fails (exponential backoff)."""

    load_backoff_s: float = Field(default=1.0, gt=0)
    """First backoff delay in seconds; doubles per attempt, capped at 30 s."""

    # ---- network -------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address REST and gRPC bind to; ``0.0.0.0`` in a container."""

    http_port: int = Field(default=8080, ge=0, le=65535)
    """REST port (KServe's default 8080)."""

    grpc_port: int = Field(default=8081, ge=0, le=65535)
    """gRPC port (KServe's default 8081); 0 disables gRPC."""

    workers: int = Field(default=1, ge=1)
    """Worker processes (uvicorn). With more than one, metrics use
    prometheus_client multiprocess mode under ``metrics_dir``."""

    metrics_dir: Path = Path("/tmp/shiplane-metrics")
    """Writable directory for per-worker metric and drift files when ``workers`` >
    1 (exported to workers as ``PROMETHEUS_MULTIPROC_DIR``); emptied at start."""

    # ---- requests ------------------------------------------------------------------
    max_batch_rows: int = Field(default=1024, ge=1)
    """Most rows one request may carry; more is a 413."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest request body accepted, in bytes; more is a 413."""

    v1_default_output: Literal["predict", "predict_proba"] = "predict"
    """What ``/v1/models/NAME:predict`` returns (``:predict_proba`` always returns
    probabilities)."""

    direct_call: bool = True
    """Call the estimators Shiplane trains (imputer/scaler/GradientBoosting
    pipelines) directly, without scikit-learn's per-call validation, when that
    reproduces the estimator's own output exactly on probe rows at load time
    (see shiplane_serving.fastpath); other estimators always use their own
    methods."""

    # ---- batching ------------------------------------------------------------------
    batching: bool = True
    """Opportunistic batching: requests that arrive while the model is busy go into
    the next model call together. No timer: a lone request never waits."""

    model_thread: bool = False
    """Run model calls in a dedicated thread instead of on the event loop. Off by
    default: on small models the two thread switches per call cost more than
    parsing in parallel gains (see docs/serving.md)."""

    batch_max_rows: int = Field(default=256, ge=1)
    """Most rows one model call takes when batching; a single larger request still
    runs alone."""

    # ---- drift ---------------------------------------------------------------------
    drift: bool = True
    """Count live inputs and predictions against the reference profile."""

    drift_window_s: float = Field(default=600.0, gt=0)
    """Length of the sliding drift window in seconds (all workers together)."""

    drift_subwindows: int = Field(default=10, ge=2, le=1000)
    """Sub-windows the window is made of; it slides one sub-window at a time."""

    drift_min_rows: int = Field(default=200, ge=1)
    """Rows the window needs before features can be flagged as drifted."""

    drift_psi_threshold: float = Field(default=0.2, gt=0)
    """PSI above which a feature counts as drifted (0.1 moderate, 0.2 significant:
    Siddiqi, Credit Risk Scorecards, 2006)."""

    drift_ks_alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level of the drift tests: the two-sample KS test (numeric
    features, by its asymptotic critical value) and the chi-square test
    (categorical features, by its p-value)."""

    # ---- feedback ------------------------------------------------------------------
    feedback_secret: str = ""
    """HMAC key that signs request ids so any worker or replica can score feedback;
    empty means a random key per server start (set one shared key for several
    replicas)."""

    feedback_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    """How long a request id stays valid for feedback, in seconds."""

    # ---- observability ---------------------------------------------------------------
    otlp_endpoint: str = ""
    """OTLP/HTTP traces endpoint (``http://collector:4318/v1/traces``); empty turns
    tracing off at no cost."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level; per-request access logs stay off whatever this says."""

    def drift_config(self) -> DriftConfig:
        """The drift monitor's window and thresholds from these settings."""
        return DriftConfig(
            window_s=self.drift_window_s,
            subwindows=self.drift_subwindows,
            min_rows=self.drift_min_rows,
            psi_threshold=self.drift_psi_threshold,
            ks_alpha=self.drift_ks_alpha,
        )
