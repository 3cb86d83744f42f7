"""Shiplane's Grafana dashboards, as code (grafana-foundation-sdk).

``python -m shiplane_tools.observability.dashboards`` writes one JSON file per dashboard
to ``charts/shiplane/files/dashboards/``; the chart turns each into a ConfigMap for
Grafana's dashboard sidecar. ``--check`` fails when the committed JSON is stale.

Every query reads series of the metrics contract (``shiplane_contracts.metrics``) or
recording rules of ``charts/shiplane/files/rules/shiplane.rules.yaml``; tests check
both the names and, against a real Prometheus scraping a real model server, that
every panel returns data.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)

from shiplane_contracts import metrics as m
from shiplane_tools import generated, repo

DASHBOARDS_DIR = repo.root() / "charts" / "shiplane" / "files" / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["shiplane", "kserve", "mlops"]

# Label matchers every serving query starts from; Grafana fills the variables.
SERVING = 'namespace=~"$namespace", model=~"$model", model_version=~"$version"'
MODEL = 'namespace=~"$namespace", model=~"$model"'
ROUTER = 'namespace=~"$namespace"'
# Recording rules (charts/shiplane/files/rules/shiplane.rules.yaml).
QUANTILES = "model_version:shiplane_request_duration_seconds:histogram_quantile_5m"
ERROR_RATIO = "model_version:shiplane_request_errors:ratio_rate5m"
ACCURACY = "model_version:shiplane_feedback_accuracy:ratio_rate30m"
ROLE_INFO = "model_version:shiplane_model_role:info"
CANARY_ERROR_DELTA = "model:shiplane_canary_error_ratio_delta:rate5m"
CANARY_P99_RATIO = "model:shiplane_canary_p99_latency_ratio:5m"

Variable = dash.DatasourceVariable | dash.QueryVariable
RATE = "$__rate_interval"
BY_VERSION = "model, model_version"
# Joins a per-version series with its role: of the pinned versions serving a
# model, the newest is the canary, the oldest the stable (see the rules file).
WITH_ROLE = (
    f"* on (namespace, model, model_version) group_left (role) {ROLE_INFO}{{{MODEL}}}"
)


@dataclass(frozen=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    legend: str


def _rate(series: str, matchers: str, by: str) -> str:
    return f"sum by ({by}) (rate({series}{{{matchers}}}[{RATE}]))"


def _agg(op: str, by: str, series: str, matchers: str) -> str:
    return f"{op} by ({by}) ({series}{{{matchers}}})"


def _ratio(numerator: str, denominator: str, matching: str = "") -> str:
    return f"{numerator} / {matching + ' ' if matching else ''}{denominator}"


def _quantile(q: float, bucket: str, matchers: str, by: str) -> str:
    return (
        f"histogram_quantile({q}, sum by ({by}, le) "
        f"(rate({bucket}{{{matchers}}}[{RATE}])))"
    )


def _bucket(spec: m.MetricSpec) -> str:
    return f"{spec.name}_bucket"


def _targets(queries: Sequence[Query]) -> list[prometheus.Dataquery]:
    return [
        prometheus.Dataquery()
        .expr(q.expr)
        .legend_format(q.legend)
        .ref_id(chr(ord("A") + i))
        .datasource(DATASOURCE)
        for i, q in enumerate(queries)
    ]


def graph(
    title: str, description: str, unit: str, queries: Sequence[Query], width: int = 12
) -> timeseries.Panel:
    """A time series panel."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(width)
        .height(8)
        .line_width(1)
        .fill_opacity(10)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    for target in _targets(queries):
        panel = panel.with_target(target)
    return panel


def single(
    title: str, description: str, unit: str, queries: Sequence[Query], width: int = 6
) -> stat.Panel:
    """A single-value panel (last value)."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(width)
        .height(4)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    for target in _targets(queries):
        panel = panel.with_target(target)
    return panel


def _variables(with_version: bool = True) -> list[Variable]:
    info = m.MODEL_INFO.series
    variables: list[Variable] = [
        dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"),
        dash.QueryVariable("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query(f"label_values({info}, namespace)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*"),
        dash.QueryVariable("model")
        .label("Model")
        .datasource(DATASOURCE)
        .query(f'label_values({info}{{namespace=~"$namespace"}}, model)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*"),
    ]
    if with_version:
        variables.append(
            dash.QueryVariable("version")
            .label("Version")
            .datasource(DATASOURCE)
            .query(f"label_values({info}{{{MODEL}}}, model_version)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.NUMERICAL_DESC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    return variables


def _dashboard(
    uid: str, title: str, description: str, with_version: bool = True
) -> dash.Dashboard:
    board = (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
    )
    for variable in _variables(with_version):
        board = board.with_variable(variable)
    return board


# ---- dashboards ------------------------------------------------------------------


def serving_overview() -> dash.Dashboard:
    """Traffic, latency percentiles, errors and model state, by version."""
    req = m.REQUESTS.series
    ok = f'{SERVING}, code!~"5.."'
    return (
        _dashboard(
            "shiplane-serving-overview",
            "Shiplane / Serving overview",
            "Requests, latency percentiles and errors of every served model version.",
        )
        .with_row(dash.Row("Traffic"))
        .with_panel(
            single(
                "Requests per second",
                "All versions selected.",
                "reqps",
                [Query(f"sum(rate({req}{{{SERVING}}}[{RATE}]))", "req/s")],
            )
        )
        .with_panel(
            single(
                "5xx ratio",
                "Share of requests answered with a 5xx.",
                "percentunit",
                [
                    Query(
                        f"1 - sum(rate({req}{{{ok}}}[{RATE}]))"
                        f" / sum(rate({req}{{{SERVING}}}[{RATE}]))",
                        "5xx",
                    )
                ],
            )
        )
        .with_panel(
            single(
                "p99 latency",
                "Slowest version's p99 over 5 minutes (recorded).",
                "s",
                [
                    Query(
                        f'max({QUANTILES}{{{SERVING}, quantile="0.99"}})',
                        "p99",
                    )
                ],
            )
        )
        .with_panel(
            single(
                "Model ready",
                "1 when every server has loaded its model.",
                "none",
                [Query(f"min({m.MODEL_READY.series}{{{MODEL}}})", "ready")],
            )
        )
        .with_panel(
            graph(
                "Requests per second by version",
                "",
                "reqps",
                [
                    Query(
                        _rate(req, SERVING, BY_VERSION), "{{model}} v{{model_version}}"
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Responses by status code",
                "",
                "reqps",
                [Query(_rate(req, SERVING, "code"), "{{code}}")],
            )
        )
        .with_row(dash.Row("Latency"))
        .with_panel(
            graph(
                "Latency p50 / p95 / p99 by version",
                "shiplane_request_duration_seconds: request parsed to response ready.",
                "s",
                [
                    Query(
                        _quantile(q, _bucket(m.REQUEST_DURATION), SERVING, BY_VERSION),
                        f"p{round(q * 100)} v{{{{model_version}}}}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
                width=24,
            )
        )
        .with_row(dash.Row("Errors"))
        .with_panel(
            graph(
                "5xx ratio by version",
                "",
                "percentunit",
                [
                    Query(
                        "1 - "
                        + _ratio(
                            _rate(req, ok, BY_VERSION), _rate(req, SERVING, BY_VERSION)
                        ),
                        "{{model}} v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Rejected requests by reason",
                "4xx answers, by validation failure.",
                "reqps",
                [
                    Query(
                        _rate(m.INVALID_REQUESTS.series, MODEL, "reason"), "{{reason}}"
                    )
                ],
            )
        )
        .with_row(dash.Row("Model and batching"))
        .with_panel(
            graph(
                "Rows predicted per second",
                "",
                "rowsps",
                [
                    Query(
                        _rate(m.REQUEST_ROWS.series, SERVING, BY_VERSION),
                        "v{{model_version}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            graph(
                "Predicted classes",
                "Classification models.",
                "reqps",
                [
                    Query(
                        _rate(m.PREDICTIONS.series, SERVING, "model_version, class"),
                        "v{{model_version}} {{class}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            graph(
                "Rows per model call (p50 / p99)",
                "After opportunistic batching.",
                "none",
                [
                    Query(
                        _quantile(q, _bucket(m.BATCH_ROWS), SERVING, "model_version"),
                        f"p{round(q * 100)} v{{{{model_version}}}}",
                    )
                    for q in (0.5, 0.99)
                ],
                width=8,
            )
        )
        .with_panel(
            graph(
                "Loaded versions",
                "shiplane_model_info: which version and alias each server loaded.",
                "none",
                [
                    Query(
                        _agg(
                            "count",
                            f"{BY_VERSION}, alias",
                            m.MODEL_INFO.series,
                            SERVING,
                        ),
                        "v{{model_version}} @{{alias}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Batch queue depth",
                "Requests waiting when the last batch was taken.",
                "none",
                [
                    Query(
                        _agg("max", BY_VERSION, m.BATCH_QUEUE_DEPTH.series, SERVING),
                        "v{{model_version}}",
                    )
                ],
            )
        )
    )


def canary() -> dash.Dashboard:
    """Canary against stable (told apart by pinned version), and the router."""
    req = m.REQUESTS.series
    return (
        _dashboard(
            "shiplane-canary",
            "Shiplane / Canary vs stable",
            "The canary against the stable version (of the pinned versions serving "
            "a model, the newest is the canary): traffic share, errors, latency and "
            "accuracy; the A/B router's variants.",
            with_version=False,
        )
        .with_row(dash.Row("Canary against stable"))
        .with_panel(
            single(
                "5xx ratio, canary minus stable",
                "Above 0.01 for 5m fires ShiplaneCanaryWorseThanStable.",
                "percentunit",
                [
                    Query(
                        f"max({CANARY_ERROR_DELTA}{{{MODEL}}})",
                        "delta",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            single(
                "p99, canary over stable",
                "Above 1.5 for 5m fires ShiplaneCanaryWorseThanStable.",
                "x",
                [
                    Query(
                        f"max({CANARY_P99_RATIO}{{{MODEL}}})",
                        "ratio",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            graph(
                "Traffic share by version",
                "",
                "percentunit",
                [
                    Query(
                        _ratio(
                            _rate(req, MODEL, BY_VERSION),
                            _rate(req, MODEL, "model"),
                            "ignoring (model_version) group_left ()",
                        ),
                        "v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "5xx ratio by role",
                "",
                "percentunit",
                [
                    Query(
                        f"{ERROR_RATIO}{{{MODEL}}} {WITH_ROLE}",
                        "{{role}} v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "p99 latency by role",
                "",
                "s",
                [
                    Query(
                        f'{QUANTILES}{{{MODEL}, quantile="0.99"}} {WITH_ROLE}',
                        "{{role}} v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Accuracy from feedback by role",
                "Correct / (correct + incorrect) over 30m.",
                "percentunit",
                [
                    Query(
                        f"{ACCURACY}{{{MODEL}}} {WITH_ROLE}",
                        "{{role}} v{{model_version}}",
                    )
                ],
            )
        )
        .with_row(dash.Row("A/B router"))
        .with_panel(
            graph(
                "Router requests per second by variant",
                "",
                "reqps",
                [
                    Query(
                        _rate(m.ROUTER_REQUESTS.series, ROUTER, "variant"),
                        "{{variant}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Router weights",
                "Configured share of traffic per variant.",
                "percent",
                [
                    Query(
                        _agg("max", "variant", m.ROUTER_VARIANT_WEIGHT.series, ROUTER),
                        "{{variant}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Router p99 latency by variant",
                "Proxy hop included.",
                "s",
                [
                    Query(
                        _quantile(
                            0.99, _bucket(m.ROUTER_REQUEST_DURATION), ROUTER, "variant"
                        ),
                        "{{variant}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Shadow requests by outcome",
                "",
                "reqps",
                [
                    Query(
                        _rate(
                            m.ROUTER_SHADOW_REQUESTS.series, ROUTER, "variant, outcome"
                        ),
                        "{{variant}} {{outcome}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Router fallbacks",
                "Requests the fallback answered because the chosen variant failed.",
                "reqps",
                [
                    Query(
                        _rate(m.ROUTER_FALLBACKS.series, ROUTER, "variant"),
                        "{{variant}}",
                    )
                ],
                width=24,
            )
        )
    )


def drift() -> dash.Dashboard:
    """Input and prediction drift against the training reference profile."""
    features = f'{SERVING}, feature!="{m.PREDICTION_FEATURE}"'
    prediction = f'{SERVING}, feature="{m.PREDICTION_FEATURE}"'
    return (
        _dashboard(
            "shiplane-drift",
            "Shiplane / Drift",
            "Drift of every input feature and of the prediction against the reference "
            "profile logged at training time (PSI, KS), over the server's window.",
        )
        .with_panel(
            graph(
                "Drift share by version",
                "Share of features above the drift threshold; "
                "above 0.3 fires ShiplaneDriftShareHigh.",
                "percentunit",
                [
                    Query(
                        _agg("max", BY_VERSION, m.DRIFT_SHARE.series, SERVING),
                        "v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Rows in the drift window",
                "Drift gauges mean little on a nearly empty window.",
                "none",
                [
                    Query(
                        _agg("sum", BY_VERSION, m.DRIFT_WINDOW_ROWS.series, SERVING),
                        "v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "PSI per feature",
                "Population Stability Index: 0.1 moderate, 0.25 significant.",
                "none",
                [
                    Query(
                        _agg("max", "feature", m.DRIFT_PSI.series, features),
                        "{{feature}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "KS statistic per feature",
                "Largest CDF distance on the profile's bins.",
                "none",
                [
                    Query(
                        _agg("max", "feature", m.DRIFT_KS.series, features),
                        "{{feature}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Prediction drift (PSI)",
                "Drift of the model's output distribution.",
                "none",
                [
                    Query(
                        _agg("max", "model_version", m.DRIFT_PSI.series, prediction),
                        "v{{model_version}}",
                    )
                ],
                width=24,
            )
        )
    )


def feedback() -> dash.Dashboard:
    """Online accuracy from ground truth posted back to the servers."""
    fb = m.FEEDBACK.series
    correct = f'{SERVING}, outcome="correct"'
    labelled = f'{SERVING}, outcome=~"correct|incorrect"'
    scored = f'{SERVING}, outcome="scored"'
    return (
        _dashboard(
            "shiplane-feedback",
            "Shiplane / Feedback accuracy",
            "Accuracy (classification) and mean absolute error (regression) from "
            "ground truth posted to the feedback endpoint, per version.",
        )
        .with_panel(
            graph(
                "Online accuracy by version",
                "correct / (correct + incorrect).",
                "percentunit",
                [
                    Query(
                        _ratio(
                            _rate(fb, correct, BY_VERSION),
                            _rate(fb, labelled, BY_VERSION),
                        ),
                        "v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Accuracy over 30 minutes (recorded)",
                "",
                "percentunit",
                [
                    Query(
                        f"{ACCURACY}{{{SERVING}}}",
                        "v{{model_version}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Feedback received by outcome",
                "",
                "reqps",
                [
                    Query(
                        _rate(fb, SERVING, "model_version, outcome"),
                        "v{{model_version}} {{outcome}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Feedback for unknown request ids",
                "Expired or never seen by this server.",
                "reqps",
                [Query(_rate(m.FEEDBACK_UNKNOWN.series, MODEL, "model"), "{{model}}")],
            )
        )
        .with_panel(
            graph(
                "Online MAE by version",
                "Regression models: mean |prediction - truth|.",
                "none",
                [
                    Query(
                        _ratio(
                            _rate(
                                m.FEEDBACK_ABSOLUTE_ERROR.series, SERVING, BY_VERSION
                            ),
                            _rate(fb, scored, BY_VERSION),
                        ),
                        "v{{model_version}}",
                    )
                ],
                width=24,
            )
        )
    )


DASHBOARDS: dict[str, Callable[[], dash.Dashboard]] = {
    "serving-overview": serving_overview,
    "canary": canary,
    "drift": drift,
    "feedback": feedback,
}


def render(name: str) -> str:
    """The JSON of one dashboard, stable across runs (sorted keys, 2-space indent)."""
    model = DASHBOARDS[name]().build()
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def render_all() -> dict[str, str]:
    """Every dashboard as ``shiplane-<name>.json`` and its JSON."""
    return {f"shiplane-{name}.json": render(name) for name in DASHBOARDS}


def _json_files(directory: Path) -> list[Path]:
    return list(directory.glob("*.json"))


def write_all(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """Write every dashboard as ``<directory>/shiplane-<name>.json``."""
    return generated.write(directory, render_all())


def stale(directory: Path = DASHBOARDS_DIR) -> list[str]:
    """Dashboard files that are missing, differ from a fresh render, or are
    not generated at all."""
    return generated.stale(directory, render_all(), _json_files)


def panel_queries(directory: Path = DASHBOARDS_DIR) -> list[tuple[str, str, str]]:
    """``(file name, panel title, expr)`` of every panel target in the JSON files."""
    queries = []
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                queries.append((path.name, panel["title"], target["expr"]))
    return queries


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards, or with ``--check`` report stale ones (exit 1)."""
    parser = argparse.ArgumentParser(
        prog="python -m shiplane_tools.observability.dashboards"
    )
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR)
    parser.add_argument("--check", action="store_true", help="fail if files are stale")
    args = parser.parse_args(argv)
    return generated.sync(
        args.out,
        render_all,
        check=args.check,
        remedy="make dashboards",
        present=_json_files,
    )


if __name__ == "__main__":
    sys.exit(main())
