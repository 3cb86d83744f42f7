"""Analysis against a real Prometheus scraping a real exporter of contract
series: pass, fail on each metric, inconclusive, no traffic, empty queries,
and validation before a rollout."""

from __future__ import annotations

import json

import pytest

from shiplane.analysis.analyzer import analyze, validate_queries
from shiplane.analysis.prometheus import PrometheusClient, QueryError
from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.verdict import Outcome, Verdict
from shiplane.cli import main
from tests.analysis.contract_exporter import WINDOW_S

pytestmark = pytest.mark.prometheus
WINDOW = f"{WINDOW_S}s"


def run(
    url: str, model: str, stable: str = "1", canary: str = "2", **kw: object
) -> Verdict:
    settings = AnalysisSettings(prometheus_url=url, window=WINDOW, **kw)  # type: ignore[arg-type]
    with PrometheusClient(url) as prom:
        return analyze(prom, settings, model, stable, canary)


def outcomes(verdict: Verdict) -> dict[str, Outcome]:
    return {c.metric: c.outcome for c in verdict.checks}


def test_a_good_canary_passes(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "good")
    assert verdict.outcome is Outcome.PASS, verdict.reasons
    requests = verdict.checks[0]
    # 20 req/s over the window, give or take a scrape of extrapolation.
    assert requests.canary == pytest.approx(20 * WINDOW_S, rel=0.25)
    assert outcomes(verdict)["accuracy"] is Outcome.SKIPPED  # no feedback sent


def test_a_slow_canary_fails_on_latency(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "slow")
    assert verdict.outcome is Outcome.FAIL
    assert outcomes(verdict)["latency p95"] is Outcome.FAIL
    assert outcomes(verdict)["error rate"] is Outcome.PASS
    assert any("slower" in r for r in verdict.reasons)


def test_an_erroring_canary_fails_on_errors(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "erroring")
    assert verdict.outcome is Outcome.FAIL
    check = next(c for c in verdict.checks if c.metric == "error rate")
    assert check.outcome is Outcome.FAIL
    assert check.canary == pytest.approx(0.2, abs=0.02)
    assert check.stable == 0.0


def test_a_drifting_canary_fails_on_drift(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "drifting")
    assert outcomes(verdict)["drift share"] is Outcome.FAIL
    assert verdict.outcome is Outcome.FAIL


def test_a_less_accurate_canary_fails_on_feedback(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "worse")
    assert outcomes(verdict)["accuracy"] is Outcome.FAIL
    assert verdict.outcome is Outcome.FAIL


@pytest.mark.parametrize("model", ["quiet", "idle"])
def test_a_canary_without_traffic_never_passes(prometheus_url: str, model: str) -> None:
    # "quiet": the canary's series do not exist; "idle": they exist, flat at 0.
    verdict = run(prometheus_url, model)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert any("no traffic" in r for r in verdict.reasons)


def test_too_few_requests_is_inconclusive(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "few")
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert any("too few requests" in r for r in verdict.reasons)


def test_fail_beats_inconclusive(prometheus_url: str) -> None:
    verdict = run(prometheus_url, "few-drifting")
    assert outcomes(verdict)["requests"] is Outcome.INCONCLUSIVE
    assert verdict.outcome is Outcome.FAIL


def test_a_missing_drift_gauge_blocks_a_pass_unless_drift_is_off(
    prometheus_url: str,
) -> None:
    assert run(prometheus_url, "no-drift-gauge").outcome is Outcome.INCONCLUSIVE
    assert run(prometheus_url, "no-drift-gauge", check_drift=False).outcome is (
        Outcome.PASS
    )


def test_drift_of_a_canary_without_a_baseline_is_unavailable_never_a_pass(
    prometheus_url: str,
) -> None:
    verdict = run(prometheus_url, "no-baseline")
    check = next(c for c in verdict.checks if c.metric == "drift share")
    assert check.outcome is Outcome.INCONCLUSIVE
    assert check.reason.startswith("unavailable")
    assert "shiplane profile" in check.reason
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert run(prometheus_url, "no-baseline", check_drift=False).outcome is (
        Outcome.PASS
    )
    with PrometheusClient(prometheus_url) as prom:
        settings = AnalysisSettings(prometheus_url=prometheus_url, window=WINDOW)
        assert validate_queries(prom, settings, "no-baseline", "1", "2") == []
        problems = validate_queries(prom, settings, "unprofiled", "1", "2")
    assert len(problems) == 1 and "without a reference profile" in problems[0]


def test_validation_finds_parse_errors_and_empty_series(prometheus_url: str) -> None:
    with PrometheusClient(prometheus_url) as prom:
        ok = AnalysisSettings(prometheus_url=prometheus_url, window=WINDOW)
        assert validate_queries(prom, ok, "good", "1", "2") == []
        empty = validate_queries(prom, ok, "no-such-model", "1", "2")
        assert any("requests series" in p and "returns nothing" in p for p in empty)
        broken = AnalysisSettings(
            prometheus_url=prometheus_url, window=WINDOW, error_codes="5("
        )
        problems = validate_queries(prom, broken, "good", "1", "2")
        assert problems and all("errors" in p for p in problems)
        assert "bad_data" in problems[0]
        with pytest.raises(QueryError, match="bad_data"):
            prom.query("sum(")


def test_cli_analyze_exit_codes_and_json(
    prometheus_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [
        "--no-kube",
        "--prometheus-url",
        prometheus_url,
        "--window",
        WINDOW,
        "--stable-version",
        "1",
        "--canary-version",
        "2",
    ]
    assert main(["analyze", "good", *base]) == 0
    table = capsys.readouterr().out
    assert "verdict: PASS" in table and "latency p95" in table
    assert main(["analyze", "slow", *base, "-o", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "fail"
    assert main(["analyze", "idle", *base]) == 3
    assert "no traffic" in capsys.readouterr().out
    # A stricter threshold from the command line turns the pass into a fail.
    assert (
        main(
            [
                "analyze",
                "good",
                *base,
                "--max-p95-ratio",
                "0.5",
                "--latency-min-delta-s",
                "0",
            ]
        )
        == 1
    )
    capsys.readouterr()
    assert (
        main(
            [
                "analyze",
                "good",
                "--no-kube",
                "--prometheus-url",
                "http://127.0.0.1:9",
                "--stable-version",
                "1",
                "--canary-version",
                "2",
            ]
        )
        == 5
    )
    assert "cannot reach Prometheus" in capsys.readouterr().err
