"""Run the queries for both versions and turn the numbers into a verdict."""

from __future__ import annotations

from shiplane.analysis import checks, queries
from shiplane.analysis.prometheus import PrometheusClient, QueryError
from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.verdict import Verdict, combine, reasons_of


def analyze(
    prom: PrometheusClient,
    settings: AnalysisSettings,
    model: str,
    stable_version: str,
    canary_version: str,
    window: str | None = None,
) -> Verdict:
    """Compare ``canary_version`` with ``stable_version`` of ``model``.

    Raises:
        QueryError: a query was rejected (a bug or a bad setting, not a verdict).
        PrometheusError: Prometheus unreachable.
    """
    if stable_version == canary_version:
        raise ValueError(f"stable and canary are the same version ({stable_version})")
    window = window or settings.window
    qs = queries.for_version(model, stable_version, window, settings.error_codes)
    qc = queries.for_version(model, canary_version, window, settings.error_codes)
    s = {k: prom.value(q) for k, q in qs.named().items()}
    c = {k: prom.value(q) for k, q in qc.named().items()}

    results = [
        checks.traffic(s["requests"], c["requests"], settings),
        checks.error_rate(
            s["requests"], s["errors"], c["requests"], c["errors"], settings
        ),
        checks.latency(
            "latency p95", s["p95"], c["p95"], settings.max_p95_ratio, settings
        ),
        checks.latency(
            "latency p99", s["p99"], c["p99"], settings.max_p99_ratio, settings
        ),
    ]
    if settings.check_drift:
        results.append(
            checks.drift(
                s["drift_share"],
                c["drift_share"],
                settings,
                c["drift_baseline_missing"],
            )
        )
    results.append(
        checks.accuracy(
            s["feedback_correct"],
            s["feedback_incorrect"],
            c["feedback_correct"],
            c["feedback_incorrect"],
            settings,
        )
    )
    outcome = combine(results)
    return Verdict(
        outcome,
        reasons_of(results, outcome),
        tuple(results),
        model,
        stable_version,
        canary_version,
        window,
    )


def validate_queries(
    prom: PrometheusClient,
    settings: AnalysisSettings,
    model: str,
    stable_version: str,
    canary_version: str,
) -> list[str]:
    """Check before a rollout that every query parses and the model's series
    exist; returns the problems (empty = ready).

    Raises:
        PrometheusError: Prometheus unreachable.
    """
    problems: list[str] = []
    for version in (stable_version, canary_version):
        named = queries.for_version(
            model, version, settings.window, settings.error_codes
        )
        for name, promql in named.named().items():
            try:
                prom.query(promql)
            except QueryError as exc:
                problems.append(f"{name} (v{version}): {exc}")
    presence = queries.presence(model)
    if not settings.check_drift:
        presence.pop("drift series")
    for name, promql in presence.items():
        try:
            if not prom.query(promql):
                if name == "drift series" and prom.query(
                    queries.baseline_missing(model)
                ):
                    problems.append(
                        f"drift series: model {model!r} serves a version without a "
                        "reference profile, so drift is not measured; run `shiplane "
                        "profile models:/NAME/VERSION --data FILE`, or roll out "
                        "with --no-drift-check"
                    )
                    continue
                problems.append(
                    f"{name}: {promql} returns nothing: is model {model!r} scraped "
                    "and has it served requests?"
                )
        except QueryError as exc:
            problems.append(f"{name}: {exc}")
    return problems
