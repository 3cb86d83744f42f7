"""The pure InferenceService transformations, on realistic objects of both
canary styles, checked against the kserve SDK's field schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shiplane.control import audit, mergepatch, plans, validation
from shiplane.control.audit import AuditContext
from shiplane.control.errors import (
    InvalidRequestError,
    NoCanaryError,
    UnsupportedShapeError,
)
from shiplane.control.view import Style, inspect, model_uri, parse_model_uri
from shiplane_contracts import identity
from shiplane_contracts.identity import HISTORY_ANNOTATION, STABLE_VERSION_ANNOTATION
from tests.chart import kserve_schema as schema
from tests.conftest import FIXTURES as _FIXTURES

FIXTURES = _FIXTURES / "isvc"
CTX = AuditContext(
    by="alice",
    at=datetime(2026, 11, 22, 7, 0, tzinfo=UTC),
    verdict="pass",
    reason="analysis passed",
)


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((FIXTURES / f"{name}.yaml").read_text()))


def applied(obj: dict[str, Any], plan: plans.Plan) -> dict[str, Any]:
    assert plan.patch is not None
    out = mergepatch.apply_merge_patch(obj, plan.patch)
    assert isinstance(out, dict)
    return out


@pytest.mark.parametrize("name", [p.stem for p in sorted(FIXTURES.glob("*.yaml"))])
def test_every_fixture_matches_the_kserve_schema(name: str) -> None:
    assert schema.validate(load(name)) == []


def test_schema_catches_unknown_and_mistyped_fields() -> None:
    obj = load("standard-canary")
    obj["spec"]["predictor"]["canaryTrafficPercnt"] = 10
    obj["spec"]["canary"][0]["trafficPercent"] = "25"
    obj["spec"]["canary"][0]["predictor"]["model"]["storageUri"] = 4
    obj["metadata"]["annotations"]["x"] = 1
    obj["spec"]["predictor"]["minReplicas"] = True
    problems = schema.validate(obj)
    assert sorted(problems) == [
        "metadata.annotations.x: expected str, got int",
        "spec.canary[0].predictor.model.storageUri: expected str, got int",
        "spec.canary[0].trafficPercent: expected int, got str",
        "spec.predictor.canaryTrafficPercnt: unknown field of V1beta1PredictorSpec",
        "spec.predictor.minReplicas: expected int, got bool",
    ]
    with pytest.raises(Exception, match="does not match the KServe"):
        schema.ensure_valid(obj)


def test_the_sdk_knows_both_canary_styles() -> None:
    import kserve.models as km

    assert km.V1beta1PredictorSpec.attribute_map["canary_traffic_percent"] == (
        "canaryTrafficPercent"
    )
    assert km.V1beta1InferenceServiceSpec.openapi_types["canary"] == (
        "list[V1beta1CanarySpec]"
    )
    assert km.V1beta1CanarySpec.attribute_map == {
        "predictor": "predictor",
        "traffic_percent": "trafficPercent",
    }


def test_inspect_knative_canary() -> None:
    view = inspect(load("knative-canary"))
    assert view.style is Style.KNATIVE
    assert (view.model_name, view.stable_version, view.canary_version) == (
        "breast-cancer",
        "3",
        "4",
    )
    assert view.canary_percent == 10 and view.ready is True
    assert [(t.percent, t.role) for t in view.traffic] == [
        (10, "canary"),
        (90, "stable"),
    ]


def test_inspect_standard_canary_and_stable() -> None:
    view = inspect(load("standard-canary"))
    assert view.style is Style.STANDARD
    assert (view.stable_version, view.canary_version, view.canary_percent) == (
        "3",
        "4",
        25,
    )
    stable = inspect(load("standard-stable"))
    assert stable.style is Style.STANDARD and not stable.has_canary
    assert stable.ready is False and "minimum availability" in stable.ready_message


def test_knative_set_traffic_patch_is_minimal_and_guarded() -> None:
    obj = load("knative-canary")
    plan = plans.plan_set_traffic(obj, 50)
    assert plan.patch == {
        "metadata": {"resourceVersion": "48213"},
        "spec": {"predictor": {"canaryTrafficPercent": 50}},
    }
    assert schema.validate(applied(obj, plan)) == []


def test_standard_set_traffic_replaces_the_canary_list() -> None:
    obj = load("standard-canary")
    plan = plans.plan_set_traffic(obj, 60)
    assert plan.patch is not None
    assert plan.patch["metadata"] == {"resourceVersion": "91044"}
    after = applied(obj, plan)
    assert after["spec"]["canary"][0]["trafficPercent"] == 60
    # Merge patches replace lists whole: the canary's predictor must survive.
    assert (
        after["spec"]["canary"][0]["predictor"] == obj["spec"]["canary"][0]["predictor"]
    )
    assert schema.validate(after) == []


@pytest.mark.parametrize("name", ["knative-canary", "standard-canary"])
def test_set_traffic_to_the_current_value_is_a_noop(name: str) -> None:
    obj = load(name)
    current = inspect(obj).canary_percent
    assert current is not None
    plan = plans.plan_set_traffic(obj, current)
    assert plan.noop and "nothing to do" in plan.message


@pytest.mark.parametrize("percent", [-1, 101, 1000])
def test_percent_outside_0_100_is_refused(percent: int) -> None:
    with pytest.raises(InvalidRequestError, match="within 0..100"):
        plans.plan_set_traffic(load("knative-canary"), percent)


@pytest.mark.parametrize("name", ["knative-promoted", "standard-stable"])
def test_no_canary_is_refused_for_set_traffic_and_rollback(name: str) -> None:
    obj = load(name)
    model = obj["metadata"]["annotations"]["serving.shiplane.io/model-name"]
    start = f"kubectl shiplane canary {obj['metadata']['name']} -n models --model "
    with pytest.raises(NoCanaryError, match="has no canary") as refused:
        plans.plan_set_traffic(obj, 10)
    assert f"start one with: {start}models:/{model}@challenger" in str(refused.value)
    with pytest.raises(NoCanaryError, match="has no canary"):
        plans.plan_rollback(load(name), CTX)


def test_both_styles_at_once_are_refused() -> None:
    with pytest.raises(UnsupportedShapeError, match="both canary styles"):
        plans.plan_set_traffic(load("both-styles"), 10)
    with pytest.raises(UnsupportedShapeError, match="both canary styles"):
        plans.plan_promote(load("both-styles"), CTX)


def test_several_standard_canaries_are_refused() -> None:
    obj = load("standard-canary")
    obj["spec"]["canary"].append(copy.deepcopy(obj["spec"]["canary"][0]))
    with pytest.raises(UnsupportedShapeError, match="exactly one canary"):
        inspect(obj)


def test_knative_promote_removes_the_percent_and_records_history() -> None:
    obj = load("knative-canary")
    plan = plans.plan_promote(obj, CTX)
    assert plan.patch is not None
    assert plan.patch["spec"] == {"predictor": {"canaryTrafficPercent": None}}
    after = applied(obj, plan)
    notes = after["metadata"]["annotations"]
    assert notes[STABLE_VERSION_ANNOTATION] == "4"
    assert identity.CANARY_VERSION_ANNOTATION not in notes
    assert json.loads(notes[HISTORY_ANNOTATION]) == [
        {
            "at": "2026-11-22T07:00:00+00:00",
            "by": "alice",
            "action": "promote",
            "from_version": "3",
            "to_version": "4",
            "verdict": "pass",
            "reason": "analysis passed",
        }
    ]
    assert schema.validate(after) == []
    # Promoting again is a no-op with a clear message.
    again = plans.plan_promote(after, CTX)
    assert again.noop and "already promoted" in again.message


def test_standard_promote_makes_the_canary_the_predictor() -> None:
    obj = load("standard-canary")
    plan = plans.plan_promote(obj, CTX)
    after = applied(obj, plan)
    assert "canary" not in after["spec"]
    canary = obj["spec"]["canary"][0]["predictor"]
    # The stable predictor takes the canary's model and keeps the rest (its
    # name, autoscaling): KServe refuses a rename without a storageUri change.
    assert after["spec"]["predictor"] == {
        **obj["spec"]["predictor"],
        "model": canary["model"],
    }
    # The old model's resources are gone (merge patch nulls them), the
    # canary's env arrived.
    assert "resources" not in after["spec"]["predictor"]["model"]
    assert model_uri(after["spec"]["predictor"]) == "models:/diabetes/4"
    assert after["metadata"]["annotations"][STABLE_VERSION_ANNOTATION] == "4"
    assert schema.validate(after) == []
    view = inspect(after)
    assert not view.has_canary and view.stable_version == "4"
    assert (
        view.last_promotion is not None and view.last_promotion["from_version"] == "3"
    )
    assert plans.plan_promote(after, CTX).noop


@pytest.mark.parametrize("name", ["knative-canary", "standard-canary"])
def test_rollback_sets_zero_and_is_idempotent(name: str) -> None:
    obj = load(name)
    plan = plans.plan_rollback(obj, CTX)
    after = applied(obj, plan)
    view = inspect(after)
    assert view.canary_percent == 0
    entry = json.loads(after["metadata"]["annotations"][HISTORY_ANNOTATION])[-1]
    assert (entry["action"], entry["from_version"], entry["to_version"]) == (
        "rollback",
        view.canary_version,
        view.stable_version,
    )
    assert schema.validate(after) == []
    again = plans.plan_rollback(after, CTX)
    assert again.noop and "already gets 0%" in again.message


def test_history_is_bounded() -> None:
    obj = load("knative-canary")
    for i in range(audit.HISTORY_LIMIT + 5):
        obj["spec"]["predictor"]["canaryTrafficPercent"] = 10
        obj = applied(obj, plans.plan_rollback(obj, CTX))
        obj["metadata"]["resourceVersion"] = str(i)
    history = json.loads(obj["metadata"]["annotations"][HISTORY_ANNOTATION])
    assert len(history) == audit.HISTORY_LIMIT


def test_no_resource_version_no_patch() -> None:
    obj = load("knative-canary")
    del obj["metadata"]["resourceVersion"]
    with pytest.raises(UnsupportedShapeError, match="optimistic concurrency"):
        plans.plan_set_traffic(obj, 20)


def test_a_broken_history_annotation_does_not_block_a_rollback() -> None:
    obj = load("knative-canary")
    obj["metadata"]["annotations"][HISTORY_ANNOTATION] = "{not json"
    after = applied(obj, plans.plan_rollback(obj, CTX))
    assert len(json.loads(after["metadata"]["annotations"][HISTORY_ANNOTATION])) == 1


def test_versions_come_from_the_model_uri_env() -> None:
    obj = load("standard-canary")
    view = inspect(obj)
    assert view.stable is not None and view.stable.version == "3"
    ref = parse_model_uri("models:/breast-cancer@challenger")
    assert ref is not None and (ref.model_name, ref.alias, ref.version) == (
        "breast-cancer",
        "challenger",
        None,
    )
    other = parse_model_uri("s3://bucket/model")
    assert other is not None and other.version is None


@pytest.mark.parametrize("bad", ["Bad_Name", "", "-x", "a" * 64])
def test_invalid_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequestError):
        validation.validate_name(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=3), json_values, max_size=4)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


@given(old=objects, new=objects)
def test_merge_patch_diff_round_trips(old: dict[str, Any], new: dict[str, Any]) -> None:
    # Merge patches cannot express a null inside an object (null means delete),
    # so compare objects with their null members dropped, as an API server would.
    old, new = _drop_nulls(old), _drop_nulls(new)
    assert (
        mergepatch.apply_merge_patch(old, mergepatch.merge_patch_diff(old, new)) == new
    )
