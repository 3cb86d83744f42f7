"""The statistics and the per-check rules, on known numbers."""

from __future__ import annotations

import math

import pytest
from scipy.stats import chi2_contingency

from shiplane.analysis import checks
from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.stats import ratio, two_proportion_ztest
from shiplane.analysis.verdict import CheckResult, Outcome, combine

S = AnalysisSettings(min_requests=50, min_feedback=30)


@pytest.mark.parametrize(
    ("xa", "na", "xb", "nb"),
    [
        (30, 1000, 10, 1000),
        (5, 200, 4, 180),
        (120, 400, 100, 420),
        (1, 60, 0, 900),
    ],
)
def test_ztest_matches_scipy_chi_square(xa: int, na: int, xb: int, nb: int) -> None:
    # A pooled two-proportion z-test is the uncorrected 2x2 chi-square test:
    # chi2 = z^2 and the one-sided p is half the two-sided one.
    chi2, p_two, _, _ = chi2_contingency(
        [[xa, na - xa], [xb, nb - xb]], correction=False
    )
    test = two_proportion_ztest(xa, na, xb, nb)
    assert test.z**2 == pytest.approx(chi2, rel=1e-9)
    expected = p_two / 2 if test.z > 0 else 1 - p_two / 2
    assert test.p_value == pytest.approx(expected, rel=1e-9)


def test_ztest_degenerate_cases_give_no_evidence() -> None:
    assert two_proportion_ztest(0, 100, 0, 100).p_value == 1.0
    assert two_proportion_ztest(100, 100, 100, 100).p_value == 1.0
    assert two_proportion_ztest(3, 0, 1, 10).p_value == 1.0


def test_ratio() -> None:
    assert ratio(2.0, 1.0) == 2.0
    assert ratio(1.0, 0.0) == math.inf
    assert ratio(0.0, 0.0) == 1.0


def test_no_canary_traffic_is_never_a_pass() -> None:
    for canary in (None, 0.0):
        result = checks.traffic(500.0, canary, S)
        assert result.outcome is Outcome.INCONCLUSIVE
        assert "no traffic" in result.reason


def test_too_few_requests_is_inconclusive() -> None:
    assert checks.traffic(500.0, 10.0, S).outcome is Outcome.INCONCLUSIVE
    assert checks.traffic(500.0, 50.0, S).outcome is Outcome.PASS


def test_error_rate_rules() -> None:
    # Absent error series mean zero errors.
    assert checks.error_rate(1000, None, 1000, None, S).outcome is Outcome.PASS
    # Above the absolute ceiling.
    assert checks.error_rate(1000, 0, 1000, 80, S).outcome is Outcome.FAIL
    # Significant and beyond the minimal effect, below the ceiling.
    worse = checks.error_rate(5000, 25, 5000, 150, S)
    assert worse.outcome is Outcome.FAIL and "significantly" in worse.reason
    # Significant but negligible (0.5% vs 0.1%: below error_min_delta of 1%).
    assert checks.error_rate(20000, 20, 20000, 100, S).outcome is Outcome.PASS
    assert checks.error_rate(1000, 0, 20, 1, S).outcome is Outcome.INCONCLUSIVE


def test_latency_needs_ratio_and_absolute_slack() -> None:
    assert checks.latency("p95", 0.010, 0.030, 1.5, S).outcome is Outcome.FAIL
    # 3x but only 0.2 ms slower: sub-millisecond noise, not a regression.
    assert checks.latency("p95", 0.0001, 0.0003, 1.5, S).outcome is Outcome.PASS
    assert checks.latency("p95", 0.010, None, 1.5, S).outcome is Outcome.INCONCLUSIVE


def test_drift_and_accuracy() -> None:
    assert checks.drift(0.0, 0.5, S).outcome is Outcome.FAIL
    assert checks.drift(0.0, None, S).outcome is Outcome.INCONCLUSIVE
    assert checks.accuracy(950, 50, 600, 400, S).outcome is Outcome.FAIL
    assert checks.accuracy(95, 5, 94, 6, S).outcome is Outcome.PASS
    assert checks.accuracy(None, None, 3, 1, S).outcome is Outcome.SKIPPED
    strict = AnalysisSettings(require_feedback=True)
    assert checks.accuracy(None, None, 3, 1, strict).outcome is Outcome.INCONCLUSIVE


def _check(outcome: Outcome) -> CheckResult:
    return CheckResult("m", 1.0, 1.0, "", outcome, "")


def test_combine_fail_beats_inconclusive_beats_pass() -> None:
    p, f, i, s = Outcome.PASS, Outcome.FAIL, Outcome.INCONCLUSIVE, Outcome.SKIPPED
    assert combine([_check(p), _check(i), _check(f)]) is f
    assert combine([_check(p), _check(i)]) is i
    assert combine([_check(p), _check(s)]) is p
    assert combine([_check(s)]) is i
    assert combine([]) is i


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPLANE_ANALYSIS_MAX_P95_RATIO", "1.2")
    monkeypatch.setenv("SHIPLANE_ANALYSIS_WINDOW", "5m")
    settings = AnalysisSettings(min_requests=7)
    assert (settings.max_p95_ratio, settings.window, settings.min_requests) == (
        1.2,
        "5m",
        7,
    )
    with pytest.raises(ValueError):
        AnalysisSettings(window="five minutes")
