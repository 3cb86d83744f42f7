"""PromQL for canary analysis, built only from the metrics contract.

Canary and stable are told apart by the ``model_version`` label each serving
pod sets to the version it resolved, so the same templates work behind a KServe
InferenceService (either canary style) and behind the A/B router.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiplane_contracts import metrics

_DURATION_BUCKET = f"{metrics.REQUEST_DURATION.name}_bucket"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(model: str, version: str | None = None, **extra: str) -> str:
    """A label matcher ``{model="m",model_version="v",...}``; ``extra`` values
    starting with ``~`` become regex matchers."""
    parts = [f'{metrics.MODEL}="{_escape(model)}"']
    if version is not None:
        parts.append(f'{metrics.MODEL_VERSION}="{_escape(version)}"')
    for label, value in extra.items():
        if value.startswith("~"):
            parts.append(f'{label}=~"{_escape(value[1:])}"')
        else:
            parts.append(f'{label}="{_escape(value)}"')
    return "{" + ",".join(parts) + "}"


@dataclass(frozen=True)
class VersionQueries:
    """Every query analysis runs for one model version."""

    requests: str
    errors: str
    p95: str
    p99: str
    drift_share: str
    drift_baseline_missing: str
    feedback_correct: str
    feedback_incorrect: str

    def named(self) -> dict[str, str]:
        """Query name -> PromQL, for validation and ``--show-queries``."""
        return dict(vars(self))


def for_version(
    model: str, version: str, window: str, error_codes: str
) -> VersionQueries:
    """Build the queries of one version over ``window`` (a PromQL duration)."""
    sel = selector(model, version)
    requests = metrics.REQUESTS.series
    feedback = metrics.FEEDBACK.series

    def quantile(q: float) -> str:
        return (
            f"histogram_quantile({q}, sum by (le) "
            f"(rate({_DURATION_BUCKET}{sel}[{window}])))"
        )

    return VersionQueries(
        requests=f"sum(increase({requests}{sel}[{window}]))",
        errors=(
            f"sum(increase({requests}"
            f"{selector(model, version, **{metrics.CODE: '~' + error_codes})}"
            f"[{window}]))"
        ),
        p95=quantile(0.95),
        p99=quantile(0.99),
        # The gauge is already a windowed statistic; take its latest value.
        drift_share=f"max({metrics.DRIFT_SHARE.series}{sel})",
        drift_baseline_missing=f"max({metrics.DRIFT_BASELINE_MISSING.series}{sel})",
        feedback_correct=(
            f"sum(increase({feedback}"
            f"{selector(model, version, **{metrics.OUTCOME: 'correct'})}[{window}]))"
        ),
        feedback_incorrect=(
            f"sum(increase({feedback}"
            f"{selector(model, version, **{metrics.OUTCOME: 'incorrect'})}[{window}]))"
        ),
    )


def presence(model: str) -> dict[str, str]:
    """Queries that must return something before a rollout may start: the
    model's series exist at all (a typo in the model name, a missing scrape
    target or a renamed metric shows up here, not as a silent pass)."""
    sel = selector(model)
    return {
        "requests series": f"count({metrics.REQUESTS.series}{sel})",
        "latency series": f"count({_DURATION_BUCKET}{sel})",
        "drift series": f"count({metrics.DRIFT_SHARE.series}{sel})",
    }


def baseline_missing(model: str) -> str:
    """Versions of ``model`` served without a reference profile."""
    return f"{metrics.DRIFT_BASELINE_MISSING.series}{selector(model)} == 1"


def versions_seen(model: str, window: str) -> str:
    """Versions that answered requests over ``window`` (for error messages)."""
    return (
        f"sum by ({metrics.MODEL_VERSION}) "
        f"(increase({metrics.REQUESTS.series}{selector(model)}[{window}]))"
    )
