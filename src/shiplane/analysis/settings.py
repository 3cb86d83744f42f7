"""Thresholds and sources of canary analysis (``SHIPLANE_ANALYSIS_*``).

Built once by the CLI (``analyze`` and ``rollout``), overridden by flags, and
passed down; the rollout Job sets them from the chart's values.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalysisSettings(BaseSettings):
    """Where the metrics are and what a canary must meet to pass."""

    model_config = SettingsConfigDict(env_prefix="SHIPLANE_ANALYSIS_", extra="ignore")

    prometheus_url: str = "http://127.0.0.1:9090"
    """Prometheus base URL (the HTTP API is under ``/api/v1``)."""
    query_timeout_s: float = Field(10.0, gt=0)
    """Timeout of each Prometheus query, in seconds."""
    window: str = Field("2m", pattern=r"^\d+[smh]$")
    """PromQL range each comparison looks back over (``30s``, ``2m``, ``1h``)."""
    error_codes: str = "5.."
    """Regex of HTTP status codes that count as errors. 4xx are the caller's
    mistakes and are left out by default."""
    min_requests: int = Field(50, ge=1)
    """Canary (and stable) requests in the window below which the verdict is
    inconclusive."""
    max_error_rate: float = Field(0.05, ge=0, le=1)
    """Canary error rate above which it fails outright."""
    error_alpha: float = Field(0.05, gt=0, lt=1)
    """Significance level of the one-sided two-proportion z-test (canary error
    rate greater than stable's)."""
    error_min_delta: float = Field(0.01, ge=0, le=1)
    """Smallest error-rate increase over stable that may fail the canary, so a
    significant but negligible difference does not."""
    max_p95_ratio: float = Field(1.5, gt=0)
    """Largest allowed canary/stable ratio of p95 latency."""
    max_p99_ratio: float = Field(2.0, gt=0)
    """Largest allowed canary/stable ratio of p99 latency."""
    latency_min_delta_s: float = Field(0.005, ge=0)
    """A latency ratio fails only if the canary is also slower by at least this
    many seconds (sub-millisecond models have noisy ratios)."""
    check_drift: bool = True
    """Compare the canary's drift share (``shiplane_drift_share``)."""
    max_drift_share: float = Field(0.3, ge=0, le=1)
    """Share of drifted features above which the canary fails."""
    min_feedback: int = Field(30, ge=1)
    """Feedback labels per version needed to compare online accuracy."""
    require_feedback: bool = False
    """Inconclusive (instead of skipping the accuracy check) when there is less
    feedback than ``min_feedback``."""
    accuracy_alpha: float = Field(0.05, gt=0, lt=1)
    """Significance level of the one-sided test that canary accuracy is lower."""
    max_accuracy_drop: float = Field(0.02, ge=0, le=1)
    """Smallest accuracy drop vs stable that may fail the canary."""
