"""The stepping loop driving the InferenceService actuator (official kubernetes
client -> the real kube-apiserver, KServe's webhooks and controller) on the
chart's own canary scenarios, with verdict sequences chosen per test so every
branch (promote, rollback, retries, interruption) is exercised. Only the
analysis and the clock are scripted; every result is read back from the API
server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from shiplane.analysis.verdict import Outcome, Verdict
from shiplane.cli.rollout import parse_duration_s
from shiplane.control import kube
from shiplane.control.errors import ConflictError
from shiplane.rollout.actuators import InferenceServiceActuator
from shiplane.rollout.loop import RolloutPlan, RolloutResult, parse_steps, run_rollout
from shiplane_contracts.identity import (
    CANARY_VERSION_ANNOTATION,
    HISTORY_ANNOTATION,
    MODEL_URI_ENV,
    STABLE_VERSION_ANNOTATION,
)
from shiplane_tools.localcluster import write_kubeconfig
from tests.kubekit import Release, eventually, isvc_versions_since

ISVC = "breast-cancer"
"""The InferenceService of both chart scenarios (tests/rollout/conftest.py)."""


def verdicts(*outcomes: Outcome) -> Callable[[], Verdict]:
    it: Iterator[Outcome] = iter(outcomes)

    def next_verdict() -> Verdict:
        outcome = next(it)
        return Verdict(outcome, (f"scripted {outcome}",), (), ISVC, "1", "2", "5s")

    return next_verdict


def actuator(
    release: Release, kubeconfig: Path | None = None
) -> InferenceServiceActuator:
    """The actuator as the rollout runs it, acting as the release's operator
    (or as whoever ``kubeconfig`` names)."""
    target = kube.connect(str(kubeconfig or release.kubeconfig))
    return InferenceServiceActuator(
        target,
        ISVC,
        release.namespace,
        mlflow_uri=None,
        by="rollout-job",
        clock=lambda: datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
    )


def canary_percent(obj: dict[str, Any]) -> int | None:
    """The canary's share in either style; None once there is no canary."""
    spec = obj["spec"]
    if spec.get("canary"):
        return int(spec["canary"][0]["trafficPercent"])
    percent = spec["predictor"].get("canaryTrafficPercent")
    return None if percent is None else int(percent)


def model_uri(predictor: dict[str, Any]) -> str:
    [uri] = [
        e["value"] for e in predictor["model"]["env"] if e["name"] == MODEL_URI_ENV
    ]
    return str(uri)


def history(obj: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(
        obj["metadata"]["annotations"][HISTORY_ANNOTATION]
    )
    return entries


class Traffic:
    """The canary shares the API server stored from now on, in order: every
    version of the object (a watch from the current resourceVersion), each
    change of the share once."""

    def __init__(self, release: Release) -> None:
        self.release = release
        start = release.get(ISVC)
        self.since = str(start["metadata"]["resourceVersion"])
        self.initial = canary_percent(start)

    def changes(self) -> list[int | None]:
        seen: list[int | None] = []
        last = self.initial
        for obj in isvc_versions_since(self.release, ISVC, self.since):
            percent = canary_percent(obj)
            if percent != last:
                seen.append(percent)
            last = percent
        return seen


@pytest.mark.kube
@pytest.mark.parametrize("style", ["knative", "standard"])
def test_all_steps_pass_then_promote(
    request: pytest.FixtureRequest, style: str
) -> None:
    release: Release = request.getfixturevalue(style)
    traffic = Traffic(release)
    lines: list[str] = []
    report = run_rollout(
        actuator(release),
        verdicts(*[Outcome.PASS] * 3),
        RolloutPlan((20, 40, 60, 100), 0.01, 1),
        say=lines.append,
        sleep=lambda s: None,
    )
    assert report.result is RolloutResult.PROMOTED
    assert [step for step, _ in report.verdicts] == [20, 40, 60]
    # Every step reached the server, then the promotion removed the canary.
    assert traffic.changes() == [20, 40, 60, None]
    obj = release.get(ISVC)
    assert "canary" not in obj["spec"]
    assert "canaryTrafficPercent" not in obj["spec"]["predictor"]
    # The stable predictor serves v2 (Knative: the latest revision already
    # did; Standard: it took the canary's model).
    assert model_uri(obj["spec"]["predictor"]) == "models:/breast-cancer/2"
    annotations = obj["metadata"]["annotations"]
    assert annotations[STABLE_VERSION_ANNOTATION] == "2"
    assert CANARY_VERSION_ANNOTATION not in annotations
    entry = history(obj)[-1]
    assert (entry["action"], entry["by"]) == ("promote", "rollout-job")
    assert (entry["from_version"], entry["to_version"]) == ("1", "2")
    assert entry["reason"] == "passed analysis at [20, 40, 60]%"
    assert any("mlflow: not configured" in line for line in lines)
    assert any("rollout PROMOTED" in line for line in lines)


@pytest.mark.kube
def test_a_failure_beyond_the_budget_rolls_back(knative: Release) -> None:
    traffic = Traffic(knative)
    lines: list[str] = []
    report = run_rollout(
        actuator(knative),
        verdicts(Outcome.PASS, Outcome.INCONCLUSIVE, Outcome.FAIL),
        RolloutPlan((10, 50, 100), 0.01, 1),
        say=lines.append,
        sleep=lambda s: None,
    )
    assert report.result is RolloutResult.ROLLED_BACK
    assert report.failures == 2
    obj = knative.get(ISVC)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0
    entry = history(obj)[-1]
    assert (entry["action"], entry["verdict"]) == ("rollback", "fail")
    assert (entry["from_version"], entry["to_version"]) == ("2", "1")
    # The chart already sends 10%: that step is a no-op, not a patch.
    assert any(
        "step 10%: breast-cancer: canary already gets 10%, nothing to do" in line
        for line in lines
    )
    assert traffic.changes() == [50, 0]


@pytest.mark.kube
def test_a_tolerated_failure_reanalyzes_the_same_step(standard: Release) -> None:
    traffic = Traffic(standard)
    report = run_rollout(
        actuator(standard),
        verdicts(Outcome.FAIL, Outcome.PASS, Outcome.PASS),
        RolloutPlan((25, 75), 0.01, 1),
        say=lambda _: None,
        sleep=lambda s: None,
    )
    assert report.result is RolloutResult.PROMOTED
    assert report.failures == 1
    assert [step for step, _ in report.verdicts] == [25, 25, 75]
    obj = standard.get(ISVC)
    assert "canary" not in obj["spec"]
    assert model_uri(obj["spec"]["predictor"]) == "models:/breast-cancer/2"
    # The chart's 25% stayed for both analyses of that step.
    assert traffic.changes() == [75, None]


@pytest.mark.kube
def test_an_error_mid_rollout_rolls_back_and_propagates(knative: Release) -> None:
    def broken() -> Verdict:
        raise RuntimeError("Prometheus went away")

    with pytest.raises(RuntimeError, match="went away"):
        run_rollout(
            actuator(knative),
            broken,
            RolloutPlan((10, 100), 0.01, 3),
            say=lambda _: None,
            sleep=lambda s: None,
        )
    obj = knative.get(ISVC)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 0
    entry = history(obj)[-1]
    assert (entry["action"], entry["verdict"]) == ("rollback", "error")
    assert entry["reason"] == "interrupted: Prometheus went away"


@dataclass
class Race:
    """Another writer changes the object right after the actuator's read, so
    the API server refuses the patch that read led to."""

    release: Release
    times: int
    """How many reads to race."""
    raced: int = 0
    refused: list[int] = field(default_factory=list)
    """HTTP status of every patch the API server refused."""

    def wrap(self, act: InferenceServiceActuator) -> None:
        api = act.target.api
        read, patch = (
            api.get_namespaced_custom_object,
            api.patch_namespaced_custom_object,
        )

        def racing_read(*args: Any, **kwargs: Any) -> Any:
            obj = read(*args, **kwargs)
            if self.raced < self.times:
                self.raced += 1
                self.release.touch(ISVC)
            return obj

        def watched_patch(*args: Any, **kwargs: Any) -> Any:
            try:
                return patch(*args, **kwargs)
            except ApiException as exc:
                self.refused.append(int(exc.status))
                raise

        api.get_namespaced_custom_object = racing_read
        api.patch_namespaced_custom_object = watched_patch


@pytest.mark.kube
def test_the_actuator_retries_conflicts_with_kserve(knative: Release) -> None:
    # KServe rewrites the status all the time: the rollout re-reads and re-plans.
    before = knative.get(ISVC)
    always = Race(knative, times=100)
    act = actuator(knative)
    always.wrap(act)
    with pytest.raises(ConflictError, match="changed by someone else"):
        act.set_canary_percent(30)
    assert always.raced == 5  # reads: the first, then one after each of 4 refusals
    assert always.refused == [409] * 4  # each refused by the API server
    after = knative.get(ISVC)
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]

    once = Race(knative, times=1)
    act = actuator(knative)
    once.wrap(act)
    assert "10% -> 30%" in act.set_canary_percent(30)
    assert once.refused[:1] == [409]  # (KServe may have raced it too)
    assert knative.get(ISVC)["spec"]["predictor"]["canaryTrafficPercent"] == 30


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("", "at least one step"),
        ("10,5", "strictly increase"),
        ("0,50", "within 1..100"),
        ("100", "below 100"),
        ("10,x", "integers"),
    ],
)
def test_bad_steps_are_refused(steps: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RolloutPlan(parse_steps(steps), 1.0, 0)


def test_durations() -> None:
    assert parse_duration_s("90") == 90 and parse_duration_s("2m") == 120
    assert parse_duration_s("1.5s") == 1.5
    with pytest.raises(Exception, match="not a duration"):
        parse_duration_s("soon")


@pytest.mark.kube
def test_a_failing_rollback_is_reported_not_retried(knative: Release) -> None:
    lines: list[str] = []

    def object_deleted() -> Verdict:
        # Someone deletes the InferenceService mid-rollout (KServe's finalizer
        # lets it go): the rollback fails too.
        with knative.kube.api() as api:
            api.call("DELETE", knative.isvc_path(ISVC))
            eventually(
                f"{ISVC} to be gone", lambda: api.get(knative.isvc_path(ISVC)) is None
            )
        raise RuntimeError("analysis broke")

    with pytest.raises(Exception, match=f"no InferenceService {ISVC} in namespace"):
        run_rollout(
            actuator(knative),
            object_deleted,
            RolloutPlan((10, 100), 0.01, 3),
            say=lines.append,
            sleep=lambda s: None,
        )
    assert any("rolling back" in line for line in lines)
    assert sum("ROLLBACK FAILED" in line for line in lines) == 1
    assert not any("ROLLED BACK" in line for line in lines)


@pytest.mark.kube
def test_a_rollback_without_patch_rights_is_reported_not_retried(
    knative: Release, tmp_path: Path
) -> None:
    # The rollout runs as someone who may read the InferenceService but not
    # patch it: the chart's 10% needs no patch, the rollback does.
    reader = _isvc_reader(knative, "bob", tmp_path)
    lines: list[str] = []
    with pytest.raises(Exception, match='cannot patch resource "inferenceservices"'):
        run_rollout(
            actuator(knative, reader),
            verdicts(Outcome.FAIL),
            RolloutPlan((10, 100), 0.01, 0),
            say=lines.append,
            sleep=lambda s: None,
        )
    assert sum("ROLLBACK FAILED" in line for line in lines) == 1
    obj = knative.get(ISVC)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert HISTORY_ANNOTATION not in obj["metadata"]["annotations"]


def _isvc_reader(release: Release, user: str, workdir: Path) -> Path:
    """Let ``user`` read (not patch) InferenceServices in the release namespace;
    their kubeconfig, once the API server's authorizer lets them read."""
    namespace, cluster = release.namespace, release.kube.cluster
    release.kube.grant_isvc_reader(namespace, user)
    token = cluster.user_tokens[user]
    with release.kube.api(token) as api:
        eventually(
            f"{user} to read {ISVC}",
            lambda: api.get(release.isvc_path(ISVC)) is not None,
        )
    return write_kubeconfig(
        workdir / f"{user}.kubeconfig",
        server=cluster.server,
        ca_file=cluster.ca_file,
        user=user,
        token=token,
        namespace=namespace,
    )
