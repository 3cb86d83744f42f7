"""Every dashboard panel and every rule against a real Prometheus.

A real MLflow (session fixture) holds a trained model as version N @champion and
version N+1 @challenger; two real Shiplane serving runtimes serve them; the real
A/B router fronts them (stable 80 / canary 10 / a dead variant 10 that makes the
router fall back, 50% shadow to the canary); a real Prometheus scrapes all three
every second with the chart's rule file loaded. A bounded load (predictions
through the router and directly, invalid requests, correct, incorrect and
unknown feedback) runs, then every panel query with Grafana's variables on "All"
and every rule must return data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest

from shiplane_contracts.mlflowclient import registry_client
from shiplane_tools import localstack
from shiplane_tools.observability import dashboards, promql, rules
from tests.conftest import RegisteredModel, require_tool

pytestmark = [pytest.mark.prometheus, pytest.mark.e2e, pytest.mark.mlflow]

SERVED_NAME = "live-observability"
LOAD_SECONDS = 6.0
LOAD_MAX_ITERATIONS = 400
DATA_DEADLINE_S = 120.0

#: Panels this test cannot fill, and why. Everything else must return data.
NOT_EXERCISED = {
    "Online MAE by version": "regression models only; the live stack serves a classifier",  # noqa: E501
}


@dataclass
class LiveStack:
    prometheus_url: str
    requests_sent: int
    at: float
    """Unix time at which every signal was in Prometheus, traffic still flowing:
    queries are evaluated there, so a slow worker cannot let rate windows lapse."""

    def query(self, expr: str) -> list[dict[str, Any]]:
        return _query(self.prometheus_url, expr, self.at)


def _finite(result: list[dict[str, Any]]) -> bool:
    """At least one sample is a number (a ratio of two zero rates is NaN)."""
    return any(math.isfinite(float(r["value"][1])) for r in result)


def _query(
    prometheus_url: str, expr: str, at: float | None = None
) -> list[dict[str, Any]]:
    params: dict[str, str | float] = {"query": expr}
    if at is not None:
        params["time"] = at
    reply = httpx.get(f"{prometheus_url}/api/v1/query", params=params, timeout=10)
    body = reply.json()
    assert body.get("status") == "success", f"{expr}: {body.get('error')}"
    return list(body["data"]["result"])


def _register_champion_and_challenger(model: RegisteredModel) -> None:
    """Our own registered model (other tests share ``breast-cancer``): the
    trained artifacts as two versions, aliased champion and challenger."""
    client = registry_client(model.tracking_uri)
    trained = client.get_model_version(model.name, model.version)
    # register_model resolves MLflow 3's logged-model source (models:/m-...);
    # it uses the global tracking URI, which the in-process training already set.
    mlflow.set_tracking_uri(model.tracking_uri)
    for alias in ("champion", "challenger"):
        version = mlflow.register_model(trained.source, SERVED_NAME)
        client.set_registered_model_alias(SERVED_NAME, alias, version.version)


def _serving(workdir: Path, alias: str, tracking_uri: str) -> localstack.ManagedProcess:
    return localstack.serving_server(
        workdir,
        f"models:/{SERVED_NAME}@{alias}",
        SERVED_NAME,
        name=f"serving-{alias}",
        tracking_uri=tracking_uri,
        extra=["--drift-min-rows", "20"],
    )


def _router(workdir: Path, stable: str, canary: str) -> localstack.ManagedProcess:
    dead = f"http://{localstack.LOOPBACK}:{localstack.free_port()}"
    config = {
        "variants": {
            "stable": {"url": stable, "weight": 80},
            "canary": {"url": canary, "weight": 10},
            "dead": {"url": dead, "weight": 10},
        },
        "fallback": "stable",
        "shadow": {"variant": "canary", "percent": 50},
    }
    return localstack.router_server(workdir, config)


def _load(
    router: str, servers: list[str], rows: dict[str, Any], deadline: float
) -> int:
    """Bounded traffic: predictions (through the router and directly), invalid
    requests, and correct / incorrect / unknown feedback. Returns requests sent."""
    instances = rows["instances"]
    labels = rows["labels"]
    predict = f"/v1/models/{SERVED_NAME}:predict"
    feedback = f"/v1/models/{SERVED_NAME}/feedback"
    sent = 0
    with httpx.Client(timeout=10) as client:
        for i in range(LOAD_MAX_ITERATIONS):
            if time.monotonic() > deadline:
                break
            client.post(
                router + predict,
                json={"instances": instances},
                headers={"x-user-id": f"user-{i}"},
            )
            for server in servers:
                answer = client.post(server + predict, json={"instances": instances})
                assert answer.status_code == 200, answer.text
                request_id = answer.headers["x-shiplane-request-id"]
                # Every third answer is marked wrong, so accuracy is not trivially 1.
                truth = labels if i % 3 else [1 - label for label in labels]
                client.post(
                    server + feedback, json={"request_id": request_id, "truth": truth}
                )
                sent += 3
                if i % 10 == 0:
                    bad = client.post(
                        server + predict, json={"instances": [[1.0, 2.0]]}
                    )
                    assert 400 <= bad.status_code < 500, bad.text
                    client.post(
                        server + feedback,
                        json={"request_id": "s1.unknown.id", "truth": 1},
                    )
                    sent += 2
            sent += 1
    return sent


@pytest.fixture(scope="module")
def live_stack(
    tmp_path_factory: pytest.TempPathFactory,
    registered_model: RegisteredModel,
    breast_cancer_rows: dict[str, Any],
) -> Iterator[LiveStack]:
    require_tool("prometheus")
    workdir = tmp_path_factory.mktemp("live-observability")
    clock = time.monotonic()
    _register_champion_and_challenger(registered_model)
    started: list[localstack.ManagedProcess] = []
    try:
        servers = [
            _serving(workdir, alias, registered_model.tracking_uri)
            for alias in ("champion", "challenger")
        ]
        for server in servers:
            started.append(server.start())
        for server in servers:
            server.wait_ready(
                lambda s=server: localstack.http_ok(f"{s.url}/v2/health/ready"), 60
            )
        router = _router(workdir, servers[0].url, servers[1].url)
        started.append(router.start())
        router.wait_ready(lambda: localstack.http_ok(f"{router.url}/healthz"), 30)
        prometheus = localstack.prometheus_server(
            workdir / "prometheus",
            {
                "serving": [s.url.removeprefix("http://") for s in servers],
                "router": [router.url.removeprefix("http://")],
            },
            rule_files=[rules.RULES_FILE],
        )
        started.append(prometheus.start())
        prometheus.wait_ready(
            lambda: localstack.http_ok(f"{prometheus.url}/-/ready"), 30
        )
        print(
            f"servers, router and Prometheus ready in {time.monotonic() - clock:.1f}s"
        )
        clock = time.monotonic()
        sent = _load(
            router.url,
            [s.url for s in servers],
            breast_cancer_rows,
            time.monotonic() + LOAD_SECONDS,
        )
        # Wait for the slowest signals (recorded canary comparison, fallbacks),
        # keeping traffic flowing meanwhile so every rate stays live.
        deadline = time.monotonic() + DATA_DEADLINE_S
        slowest = [
            "model:shiplane_canary_error_ratio_delta:rate5m",
            "model_version:shiplane_feedback_accuracy:ratio_rate30m",
            "shiplane_router_fallbacks_total",
            "rate(shiplane_requests_total[1m]) > 0",
        ]
        while missing := [q for q in slowest if not _query(prometheus.url, q)]:
            if time.monotonic() > deadline:
                waited = f"{DATA_DEADLINE_S:.0f}s"
                pytest.fail(f"not in Prometheus after {waited}: {missing}")
            sent += _load(
                router.url,
                [s.url for s in servers],
                breast_cancer_rows,
                time.monotonic() + 1.0,
            )
        at = time.time()
        print(
            f"{sent} requests in the load, every signal in Prometheus after "
            f"{time.monotonic() - clock:.1f}s"
        )
        yield LiveStack(prometheus_url=prometheus.url, requests_sent=sent, at=at)
    finally:
        for process in reversed(started):
            process.stop()


def test_the_load_really_ran(live_stack: LiveStack) -> None:
    assert live_stack.requests_sent >= 100
    total = live_stack.query("sum(shiplane_requests_total)")
    assert float(total[0]["value"][1]) >= 100


@pytest.mark.parametrize(
    ("board", "title", "expr"), dashboards.panel_queries(), ids=lambda v: str(v)[:40]
)
def test_panel_query_returns_data(
    live_stack: LiveStack, board: str, title: str, expr: str
) -> None:
    result = live_stack.query(promql.substitute_grafana_variables(expr))
    if title in NOT_EXERCISED:
        return  # it parsed (status success); the reason it is empty is listed
    assert result, f"{board} / {title} stays empty: {expr}"
    assert _finite(result), f"{board} / {title} shows only NaN: {expr}"


def test_not_exercised_list_names_real_panels() -> None:
    titles = {title for _, title, _ in dashboards.panel_queries()}
    assert set(NOT_EXERCISED) <= titles


def test_variable_queries_find_the_served_model(live_stack: LiveStack) -> None:
    for label in ("model", "model_version"):
        reply = httpx.get(
            f"{live_stack.prometheus_url}/api/v1/label/{label}/values",
            params={"match[]": "shiplane_model_info"},
            timeout=10,
        ).json()
        assert reply["data"], label
    assert dashboards.DASHBOARDS  # the generator defines what the JSON holds


@pytest.mark.parametrize("rule", rules.load(), ids=lambda r: r.name)
def test_rule_returns_data(live_stack: LiveStack, rule: rules.Rule) -> None:
    """A recording rule's output exists; an alert's expression parses and every
    series it reads has data (the alert itself must not fire on a healthy load)."""
    if rule.kind == "record":
        matchers = ", ".join(f'{k}="{v}"' for k, v in rule.labels.items())
        result = live_stack.query(f"{rule.name}{{{matchers}}}")
        assert result and _finite(result), rule.name
        return
    live_stack.query(rule.expr)  # parses
    for name in promql.referenced_series(rule.expr):
        assert live_stack.query(name), f"{rule.name} reads {name}, which has no data"


def test_prometheus_evaluates_every_rule_without_error(live_stack: LiveStack) -> None:
    reply = httpx.get(f"{live_stack.prometheus_url}/api/v1/rules", timeout=10).json()
    evaluated = {
        r["name"]: (r["health"], r.get("lastError", ""))
        for group in reply["data"]["groups"]
        for r in group["rules"]
    }
    assert {r.name for r in rules.load()} <= set(evaluated)
    assert {n: h for n, h in evaluated.items() if h[0] != "ok"} == {}
