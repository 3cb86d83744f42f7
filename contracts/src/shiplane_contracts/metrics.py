"""The Prometheus metrics contract.

Every series Shiplane exports is declared here once: its name, type, labels and
meaning. The serving runtime and the A/B router build their collectors from
these specs; the alert and recording rules, the Grafana dashboards and
``shiplane analyze`` refer to the same names; docs/metrics.md documents them and
a test checks that every series they reference is exported for real.

Names follow ``shiplane_<subject>_<unit>`` (``_seconds``, ``_total``, ``_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

NAMESPACE: Final = "shiplane"

# Label names, one constant each so that no two places spell them differently.
MODEL: Final = "model"
MODEL_VERSION: Final = "model_version"
PROTOCOL: Final = "protocol"  # v1 | v2 | grpc
CODE: Final = "code"  # HTTP status code as a string ("200", "422", ...)
FEATURE: Final = "feature"
CLASS: Final = "class"
ALIAS: Final = "alias"
RUN_ID: Final = "run_id"
OUTCOME: Final = "outcome"
VARIANT: Final = "variant"
REASON: Final = "reason"

MODEL_LABELS: Final = (MODEL, MODEL_VERSION)
REQUEST_LABELS: Final = (MODEL, MODEL_VERSION, PROTOCOL, CODE)

# Latency buckets: sub-millisecond resolution where an sklearn model lives,
# up to 10 s for pathological batches.
LATENCY_BUCKETS_S: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS_ROWS: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family.

    ``name`` is the family name without the ``_total`` suffix prometheus_client
    adds to counters; :attr:`series` is what appears in PromQL.
    """

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] | None = None
    component: Literal["serving", "router"] = "serving"

    @property
    def series(self) -> str:
        return f"{self.name}_total" if self.kind == "counter" else self.name


# ---- serving: requests -----------------------------------------------------
REQUESTS = MetricSpec(
    "shiplane_requests",
    "counter",
    "Inference requests answered, by model version, protocol and HTTP status code.",
    REQUEST_LABELS,
)
REQUEST_DURATION = MetricSpec(
    "shiplane_request_duration_seconds",
    "histogram",
    "Time from request parsed to response ready, in seconds.",
    (MODEL, MODEL_VERSION, PROTOCOL),
    LATENCY_BUCKETS_S,
)
REQUEST_ROWS = MetricSpec(
    "shiplane_request_rows",
    "counter",
    "Rows (instances) predicted, by model version.",
    MODEL_LABELS,
)
INVALID_REQUESTS = MetricSpec(
    "shiplane_invalid_requests",
    "counter",
    "Requests rejected with a 4xx, by reason (bad_json, feature_count, type, "
    "non_finite, batch_too_large, unknown_model, ...).",
    (MODEL, REASON),
)

# ---- serving: predictions and model ------------------------------------------
PREDICTIONS = MetricSpec(
    "shiplane_predictions",
    "counter",
    "Predicted classes (classification), by model version.",
    (MODEL, MODEL_VERSION, CLASS),
)
PREDICTION_VALUE = MetricSpec(
    "shiplane_prediction_value",
    "histogram",
    "Predicted values (regression), by model version.",
    MODEL_LABELS,
    # Non-negative bounds: prometheus_client drops _sum when a bound is negative;
    # negative values still land in le="0". The __prediction__ drift gauge is the
    # exact, per-model comparison.
    (0.0, 1.0, 10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1e3, 1e4),
)
MODEL_INFO = MetricSpec(
    "shiplane_model_info",
    "gauge",
    "Always 1 for each loaded model; labels name the version, alias and run.",
    (MODEL, MODEL_VERSION, ALIAS, RUN_ID),
)
MODEL_REGISTRY_VERSION = MetricSpec(
    "shiplane_model_registry_version_number",
    "gauge",
    "The MLflow registry version a server serves, as a number (only for registry "
    "versions): pinned versions only grow, so the rules call the newest of the "
    "versions serving a model its canary and the oldest its stable.",
    MODEL_LABELS,
)
MODEL_READY = MetricSpec(
    "shiplane_model_ready",
    "gauge",
    "1 when the model is loaded and serving, 0 while loading or after a failure.",
    (MODEL,),
)

# ---- serving: drift ------------------------------------------------------------
DRIFT_PSI = MetricSpec(
    "shiplane_drift_psi",
    "gauge",
    "Population Stability Index of a feature (or of the prediction, "
    'feature="__prediction__") over the current window vs the reference profile.',
    (MODEL, MODEL_VERSION, FEATURE),
)
DRIFT_KS = MetricSpec(
    "shiplane_drift_ks",
    "gauge",
    "KS statistic (max CDF distance, on the profile's bins) of a feature over the "
    "current window vs the reference profile.",
    (MODEL, MODEL_VERSION, FEATURE),
)
DRIFT_CHI_SQUARE_P = MetricSpec(
    "shiplane_drift_chi_square_p_value",
    "gauge",
    "p-value of the chi-square test of a categorical feature's categories over "
    "the current window vs the reference profile (an unseen category counts in "
    "its own bin); low means the categories changed.",
    (MODEL, MODEL_VERSION, FEATURE),
)
DRIFT_SHARE = MetricSpec(
    "shiplane_drift_share",
    "gauge",
    "Share (0..1) of input features whose drift is above threshold.",
    MODEL_LABELS,
)
DRIFT_WINDOW_ROWS = MetricSpec(
    "shiplane_drift_window_rows",
    "gauge",
    "Rows in the current drift window (drift gauges mean little below the "
    "configured minimum).",
    MODEL_LABELS,
)
DRIFT_BASELINE_MISSING = MetricSpec(
    "shiplane_drift_baseline_missing",
    "gauge",
    "1 when the served version has no reference profile, so its drift is not "
    "measured (a model logged without Shiplane's training).",
    MODEL_LABELS,
)
PREDICTION_FEATURE: Final = "__prediction__"

# ---- serving: feedback (ground truth) -------------------------------------------
FEEDBACK = MetricSpec(
    "shiplane_feedback",
    "counter",
    "Ground-truth labels received for earlier requests: outcome correct|incorrect "
    "(classification) or scored (regression).",
    (MODEL, MODEL_VERSION, OUTCOME),
)
FEEDBACK_ABSOLUTE_ERROR = MetricSpec(
    "shiplane_feedback_absolute_error",
    "counter",
    "Sum of |prediction - truth| over scored feedback (regression); divide by "
    'shiplane_feedback_total{outcome="scored"} for the online MAE.',
    MODEL_LABELS,
)
FEEDBACK_UNKNOWN = MetricSpec(
    "shiplane_feedback_unknown",
    "counter",
    "Feedback for request ids this server does not know (expired or never seen).",
    (MODEL,),
)

# ---- serving: batching --------------------------------------------------------------
BATCH_ROWS = MetricSpec(
    "shiplane_batch_rows",
    "histogram",
    "Rows per model call after opportunistic batching.",
    (MODEL, MODEL_VERSION),
    BATCH_BUCKETS_ROWS,
)
BATCH_QUEUE_DEPTH = MetricSpec(
    "shiplane_batch_queue_depth",
    "gauge",
    "Requests waiting for the model when the last batch was taken.",
    MODEL_LABELS,
)

# ---- router -------------------------------------------------------------------------
ROUTER_REQUESTS = MetricSpec(
    "shiplane_router_requests",
    "counter",
    "Requests the A/B router answered, by the variant that answered and status code.",
    (VARIANT, CODE),
    component="router",
)
ROUTER_REQUEST_DURATION = MetricSpec(
    "shiplane_router_request_duration_seconds",
    "histogram",
    "End-to-end time through the router (proxy hop included), by variant.",
    (VARIANT,),
    LATENCY_BUCKETS_S,
    component="router",
)
ROUTER_SHADOW_REQUESTS = MetricSpec(
    "shiplane_router_shadow_requests",
    "counter",
    "Mirrored requests sent to a shadow variant, by outcome (ok|error|dropped).",
    (VARIANT, OUTCOME),
    component="router",
)
ROUTER_FALLBACKS = MetricSpec(
    "shiplane_router_fallbacks",
    "counter",
    "Requests answered by the fallback because the chosen variant failed.",
    (VARIANT,),
    component="router",
)
ROUTER_VARIANT_WEIGHT = MetricSpec(
    "shiplane_router_variant_weight",
    "gauge",
    "Configured traffic weight (0..100) of each variant.",
    (VARIANT,),
    component="router",
)

ALL: Final[tuple[MetricSpec, ...]] = tuple(
    v for v in list(globals().values()) if isinstance(v, MetricSpec)
)


def exported_series(spec: MetricSpec) -> tuple[str, ...]:
    """Every series name a family appears under in an exposition."""
    if spec.kind == "histogram":
        return tuple(f"{spec.name}{s}" for s in ("_bucket", "_sum", "_count"))
    return (spec.series,)
