"""The stepping loop driving a real InferenceService actuator (official
kubernetes client -> real HTTP API server), with verdict sequences chosen per
test so every branch (promote, rollback, retries, interruption) is exercised."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fake_kube_api import RunningApi

from shiplane.analysis.verdict import Outcome, Verdict
from shiplane.control import kube
from shiplane.identity import HISTORY_ANNOTATION
from shiplane.rollout.actuators import InferenceServiceActuator
from shiplane.rollout.command import parse_duration_s
from shiplane.rollout.loop import RolloutPlan, RolloutResult, parse_steps, run_rollout


def verdicts(*outcomes: Outcome) -> Callable[[], Verdict]:
    it: Iterator[Outcome] = iter(outcomes)

    def next_verdict() -> Verdict:
        outcome = next(it)
        return Verdict(outcome, (f"scripted {outcome}",), (), "m", "3", "4", "5s")

    return next_verdict


def actuator(kube_api: RunningApi, name: str) -> InferenceServiceActuator:
    target = kube.connect(str(kube_api.kubeconfig))
    return InferenceServiceActuator(
        target, name, "models", mlflow_uri=None, by="rollout-job",
        clock=lambda: datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    )  # fmt: skip


def percents(kube_api: RunningApi, name: str) -> list[int]:
    seen = []
    for body in kube_api.api.patches():
        spec = body.get("spec") or {}
        if "canary" in spec and spec["canary"]:
            seen.append(spec["canary"][0]["trafficPercent"])
        elif "predictor" in spec and "canaryTrafficPercent" in spec["predictor"]:
            seen.append(spec["predictor"]["canaryTrafficPercent"])
    return seen


@pytest.mark.parametrize("name", ["breast-cancer", "diabetes"])
def test_all_steps_pass_then_promote(kube_api: RunningApi, name: str) -> None:
    lines: list[str] = []
    report = run_rollout(
        actuator(kube_api, name), verdicts(*[Outcome.PASS] * 3),
        RolloutPlan((20, 40, 60, 100), 0.01, 1), say=lines.append, sleep=lambda s: None,
    )  # fmt: skip
    assert report.result is RolloutResult.PROMOTED
    assert [step for step, _ in report.verdicts] == [20, 40, 60]
    obj = kube_api.api.get("models", name)
    history = json.loads(obj["metadata"]["annotations"][HISTORY_ANNOTATION])
    assert history[-1]["action"] == "promote" and history[-1]["by"] == "rollout-job"
    assert history[-1]["reason"] == "passed analysis at [20, 40, 60]%"
    assert any("mlflow: not configured" in line for line in lines)
    assert any("rollout PROMOTED" in line for line in lines)


def test_a_failure_beyond_the_budget_rolls_back(kube_api: RunningApi) -> None:
    report = run_rollout(
        actuator(kube_api, "breast-cancer"),
        verdicts(Outcome.PASS, Outcome.INCONCLUSIVE, Outcome.FAIL),
        RolloutPlan((10, 50, 100), 0.01, 1), say=lambda _: None, sleep=lambda s: None,
    )  # fmt: skip
    assert report.result is RolloutResult.ROLLED_BACK
    assert report.failures == 2
    obj = kube_api.api.get("models", "breast-cancer")
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0
    entry = json.loads(obj["metadata"]["annotations"][HISTORY_ANNOTATION])[-1]
    assert (entry["action"], entry["verdict"]) == ("rollback", "fail")
    # The fixture already sends 10%: that step is a no-op, not a patch.
    assert percents(kube_api, "breast-cancer") == [50, 0]


def test_a_tolerated_failure_reanalyzes_the_same_step(kube_api: RunningApi) -> None:
    report = run_rollout(
        actuator(kube_api, "diabetes"),
        verdicts(Outcome.FAIL, Outcome.PASS, Outcome.PASS),
        RolloutPlan((25, 75), 0.01, 1), say=lambda _: None, sleep=lambda s: None,
    )  # fmt: skip
    assert report.result is RolloutResult.PROMOTED
    assert [step for step, _ in report.verdicts] == [25, 25, 75]
    assert "canary" not in kube_api.api.get("models", "diabetes")["spec"]


def test_an_error_mid_rollout_rolls_back_and_propagates(kube_api: RunningApi) -> None:
    def broken() -> Verdict:
        raise RuntimeError("Prometheus went away")

    with pytest.raises(RuntimeError, match="went away"):
        run_rollout(actuator(kube_api, "breast-cancer"), broken,
                    RolloutPlan((10, 100), 0.01, 3), say=lambda _: None,
                    sleep=lambda s: None)  # fmt: skip
    obj = kube_api.api.get("models", "breast-cancer")
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0


def test_the_actuator_retries_conflicts_with_kserve(kube_api: RunningApi) -> None:
    # KServe rewrites the status all the time: the rollout re-reads and re-plans.
    kube_api.api.race_after_get = True
    with pytest.raises(Exception, match="changed by someone else"):
        actuator(kube_api, "breast-cancer").set_canary_percent(30)
    assert len(kube_api.api.patches()) == 4  # first try + 3 retries, all refused
    kube_api.api.race_after_get = False
    assert "10% -> 30%" in actuator(kube_api, "breast-cancer").set_canary_percent(30)


@pytest.mark.parametrize(("steps", "message"), [
    ("", "at least one step"), ("10,5", "strictly increase"), ("0,50", "within 1..100"),
    ("100", "below 100"), ("10,x", "integers"),
])  # fmt: skip
def test_bad_steps_are_refused(steps: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RolloutPlan(parse_steps(steps), 1.0, 0)


def test_durations() -> None:
    assert parse_duration_s("90") == 90 and parse_duration_s("2m") == 120
    assert parse_duration_s("1.5s") == 1.5
    with pytest.raises(Exception, match="not a duration"):
        parse_duration_s("soon")


def test_a_failing_rollback_is_reported_not_retried(kube_api: RunningApi) -> None:
    lines: list[str] = []

    def object_deleted() -> Verdict:
        # Someone deletes the InferenceService mid-rollout: the rollback fails too.
        del kube_api.api.objects[("models", "breast-cancer")]
        raise RuntimeError("analysis broke")

    with pytest.raises(Exception, match="no InferenceService breast-cancer"):
        run_rollout(actuator(kube_api, "breast-cancer"), object_deleted,
                    RolloutPlan((10, 100), 0.01, 3), say=lines.append,
                    sleep=lambda s: None)  # fmt: skip
    assert any("rolling back" in line for line in lines)
    assert any("ROLLBACK FAILED" in line for line in lines)
