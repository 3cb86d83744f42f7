"""Process settings of the training job (environment variables).

The run itself is described by the YAML config (:mod:`shiplane_training.config`);
these settings say where it runs: which MLflow, which config file by default, how
long to wait for MLflow. Built once in ``__main__`` and passed down. (Object
storage is configured by its SDKs' own variables, e.g. ``AWS_ENDPOINT_URL``: see
:mod:`shiplane_training.sources`.)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrainingSettings(BaseSettings):
    """Settings read from ``SHIPLANE_TRAINING_*`` (and ``MLFLOW_TRACKING_URI``)."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPLANE_TRAINING_", extra="ignore", frozen=True
    )

    tracking_uri: str = Field(
        default="",
        validation_alias=AliasChoices(
            "SHIPLANE_TRAINING_TRACKING_URI", "MLFLOW_TRACKING_URI"
        ),
    )
    """MLflow tracking (and registry) server. ``MLFLOW_TRACKING_URI`` is the usual
    way to set it; ``--tracking-uri`` overrides both."""

    config: Path | None = None
    """Config file used when ``--config`` is not given (handy in a Kubernetes Job
    whose config comes from a mounted ConfigMap)."""

    model_name: str | None = None
    """Registered model name overriding the config's ``model_name``."""

    probe_timeout_s: float = Field(default=5.0, gt=0)
    """Timeout of the one MLflow request made before training, which fails fast
    (no retries) so an unreachable server is reported at once."""

    fail_on_gate_reject: bool = False
    """Exit non-zero (6) when the new version fails the quality gate. Off by
    default: a rejected version is a normal outcome of a scheduled retrain."""
