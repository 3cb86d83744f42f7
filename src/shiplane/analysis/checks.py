"""Each check compares canary with stable on one metric and says why it
passes, fails or cannot tell."""

from __future__ import annotations

from functools import partial

from shiplane.analysis.settings import AnalysisSettings
from shiplane.analysis.stats import ratio, two_proportion_ztest
from shiplane.analysis.verdict import CheckResult, Outcome


def traffic(
    stable: float | None, canary: float | None, s: AnalysisSettings
) -> CheckResult:
    """Both versions answered enough requests to compare.

    A canary without traffic is never passed (it would pass every other check
    vacuously: flagger#883, flagger#1581).
    """
    result = partial(
        CheckResult, "requests", stable, canary, f">= {s.min_requests} requests each"
    )
    if not canary:
        return result(
            Outcome.INCONCLUSIVE,
            "canary got no traffic in the window (or its series is "
            "missing): refusing to judge it",
        )
    if not stable:
        return result(
            Outcome.INCONCLUSIVE,
            "stable got no traffic in the window: nothing to compare against",
        )
    if canary < s.min_requests or stable < s.min_requests:
        return result(
            Outcome.INCONCLUSIVE,
            f"too few requests (canary {canary:.0f}, stable "
            f"{stable:.0f}; need {s.min_requests})",
        )
    return result(Outcome.PASS, "enough traffic on both")


def error_rate(
    stable_requests: float | None,
    stable_errors: float | None,
    canary_requests: float | None,
    canary_errors: float | None,
    s: AnalysisSettings,
) -> CheckResult:
    """Canary error rate vs an absolute ceiling and vs stable (z-test)."""
    threshold = f"<= {s.max_error_rate:.2%}; z-test p >= {s.error_alpha}"
    if not stable_requests or not canary_requests:
        return CheckResult(
            "error rate",
            None,
            None,
            threshold,
            Outcome.INCONCLUSIVE,
            "no requests to compute a rate from",
        )
    # An error series only exists once an error happened: absent means zero.
    rate_s = (stable_errors or 0.0) / stable_requests
    rate_c = (canary_errors or 0.0) / canary_requests
    test = two_proportion_ztest(
        canary_errors or 0.0, canary_requests, stable_errors or 0.0, stable_requests
    )
    details = {"z": round(test.z, 4), "p_value": round(test.p_value, 6)}
    result = partial(CheckResult, "error rate", rate_s, rate_c, threshold)
    if min(canary_requests, stable_requests) < s.min_requests:
        return result(Outcome.INCONCLUSIVE, "below the minimum sample size", details)
    if rate_c > s.max_error_rate:
        return result(
            Outcome.FAIL,
            f"canary error rate {rate_c:.2%} above {s.max_error_rate:.2%}",
            details,
        )
    if test.p_value < s.error_alpha and rate_c - rate_s > s.error_min_delta:
        return result(
            Outcome.FAIL,
            f"canary errors significantly more ({rate_c:.2%} vs "
            f"{rate_s:.2%}, p={test.p_value:.4g})",
            details,
        )
    return result(Outcome.PASS, f"p={test.p_value:.3g}", details)


def latency(
    name: str,
    stable: float | None,
    canary: float | None,
    max_ratio: float,
    s: AnalysisSettings,
) -> CheckResult:
    """A latency quantile: canary/stable ratio, with an absolute slack."""
    threshold = f"ratio <= {max_ratio:g} (or < +{s.latency_min_delta_s * 1000:g} ms)"
    result = partial(CheckResult, name, stable, canary, threshold)
    if stable is None or canary is None:
        missing = "canary" if canary is None else "stable"
        return result(
            Outcome.INCONCLUSIVE, f"no latency data for {missing} in the window"
        )
    r = ratio(canary, stable)
    details = {"ratio": round(r, 4) if r != float("inf") else -1.0}
    if r > max_ratio and canary - stable >= s.latency_min_delta_s:
        return result(
            Outcome.FAIL,
            f"canary {r:.2f}x slower ({canary * 1000:.1f} ms vs "
            f"{stable * 1000:.1f} ms)",
            details,
        )
    return result(Outcome.PASS, f"ratio {r:.2f}", details)


def drift(
    stable: float | None,
    canary: float | None,
    s: AnalysisSettings,
    canary_baseline_missing: float | None = None,
) -> CheckResult:
    """Share of the canary's input features drifted from its reference.

    A canary without a reference profile has no drift to measure: the check is
    unavailable (inconclusive), never a pass, and says how to give it one.
    """
    result = partial(
        CheckResult, "drift share", stable, canary, f"<= {s.max_drift_share:g}"
    )
    if canary_baseline_missing:
        return result(
            Outcome.INCONCLUSIVE,
            "unavailable: the canary version has no reference profile, so its "
            "drift is not measured (shiplane_drift_baseline_missing=1); give it one "
            "with `shiplane profile models:/MODEL/VERSION --data FILE`, or judge "
            "without drift (--no-drift-check)",
        )
    if canary is None:
        return result(Outcome.INCONCLUSIVE, "no drift gauge for the canary")
    if canary > s.max_drift_share:
        return result(
            Outcome.FAIL,
            f"{canary:.0%} of features drifted (max {s.max_drift_share:.0%})",
        )
    return result(Outcome.PASS, f"{canary:.0%} of features drifted")


def accuracy(
    stable_correct: float | None,
    stable_incorrect: float | None,
    canary_correct: float | None,
    canary_incorrect: float | None,
    s: AnalysisSettings,
) -> CheckResult:
    """Online accuracy from feedback: canary not significantly worse."""
    threshold = f"drop <= {s.max_accuracy_drop:.1%}; z-test p >= {s.accuracy_alpha}"
    n_s = (stable_correct or 0.0) + (stable_incorrect or 0.0)
    n_c = (canary_correct or 0.0) + (canary_incorrect or 0.0)
    if min(n_s, n_c) < s.min_feedback:
        outcome = Outcome.INCONCLUSIVE if s.require_feedback else Outcome.SKIPPED
        return CheckResult(
            "accuracy",
            None,
            None,
            threshold,
            outcome,
            f"too little feedback (canary {n_c:.0f}, stable {n_s:.0f}; "
            f"need {s.min_feedback})",
        )
    acc_s, acc_c = (stable_correct or 0.0) / n_s, (canary_correct or 0.0) / n_c
    # Canary worse = its share of incorrect answers is larger.
    test = two_proportion_ztest(
        canary_incorrect or 0.0, n_c, stable_incorrect or 0.0, n_s
    )
    details = {
        "z": round(test.z, 4),
        "p_value": round(test.p_value, 6),
        "feedback_canary": n_c,
        "feedback_stable": n_s,
    }
    result = partial(CheckResult, "accuracy", acc_s, acc_c, threshold)
    if test.p_value < s.accuracy_alpha and acc_s - acc_c > s.max_accuracy_drop:
        return result(
            Outcome.FAIL,
            f"canary accuracy {acc_c:.1%} vs {acc_s:.1%} (p={test.p_value:.4g})",
            details,
        )
    return result(Outcome.PASS, f"p={test.p_value:.3g}", details)
