"""Every verb's plan on every InferenceService the chart renders (all ci/
scenarios, both canary styles): the CLI reads what the chart writes.

The objects are the real `helm template` output, given the resourceVersion an
API server would add; each plan's result is checked against KServe's schema
and read back with the same view `status` uses. tests/kube/ runs the verbs
against a real API server with KServe's webhooks.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shiplane.control import mergepatch, plans
from shiplane.control.audit import AuditContext
from shiplane.control.errors import InvalidRequestError, NoCanaryError
from shiplane.control.view import Style, inspect
from tests.chart import chartkit
from tests.chart import kserve_schema as schema

pytestmark = pytest.mark.helm
CTX = AuditContext(by="test", at=datetime(2026, 12, 2, tzinfo=UTC))


def _rendered() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for scenario in chartkit.SCENARIOS:
        for obj in chartkit.objects(chartkit.template(scenario), "InferenceService"):
            obj["metadata"]["resourceVersion"] = "1"
            found.append((f"{scenario.stem}/{obj['metadata']['name']}", obj))
    return found


RENDERED = _rendered()


def _applied(obj: dict[str, Any], plan: plans.Plan) -> dict[str, Any]:
    if plan.patch is None:
        return obj
    patch = copy.deepcopy(plan.patch)
    patch["metadata"].pop("resourceVersion")
    after: dict[str, Any] = mergepatch.apply_merge_patch(obj, patch)
    assert schema.validate(after) == [], schema.validate(after)
    return after


@pytest.mark.parametrize(("where", "obj"), RENDERED, ids=[w for w, _ in RENDERED])
def test_every_verb_on_every_rendered_inference_service(
    where: str, obj: dict[str, Any], tmp_path: Path
) -> None:
    view = inspect(obj)
    registry = view.stable is not None and view.stable.uri.startswith("models:/")
    if registry:
        assert view.model_name and view.stable_version, where
    if view.has_canary:
        assert view.canary_version or not registry, where
        traffic = _applied(obj, plans.plan_set_traffic(obj, 40))
        assert inspect(traffic).canary_percent == 40
        rolled_back = _applied(obj, plans.plan_rollback(obj, CTX))
        assert inspect(rolled_back).canary_percent == 0
        promoted_obj = _applied(obj, plans.plan_promote(obj, CTX))
        promoted = inspect(promoted_obj)
        assert not promoted.has_canary
        assert promoted.stable_version == view.canary_version
        if registry:
            with pytest.raises(InvalidRequestError, match="already running"):
                plans.plan_canary(obj, view.model_name or "", "99", 10, CTX)
        return
    with pytest.raises(NoCanaryError):
        plans.plan_set_traffic(obj, 10)
    if not registry:
        return  # a storageUri model: canaries come from the registry
    assert view.model_name is not None
    started_obj = _applied(obj, plans.plan_canary(obj, view.model_name, "7", 15, CTX))
    started = inspect(started_obj)
    assert (started.stable_version, started.canary_version) == (
        view.stable_version,
        "7",
    )
    assert started.canary is not None
    assert started.canary.uri == f"models:/{view.model_name}/7"
    assert started.canary_percent == 15
    if started.style is Style.STANDARD:
        [canary] = started_obj["spec"]["canary"]
        for field in plans.CANARY_FORBIDDEN_FIELDS:
            assert field not in canary["predictor"]
        assert canary["predictor"]["name"] != started_obj["spec"]["predictor"].get(
            "name"
        )
    promoted = inspect(_applied(started_obj, plans.plan_promote(started_obj, CTX)))
    assert (promoted.stable_version, promoted.has_canary) == ("7", False)
    assert promoted.stable is not None
    assert promoted.stable.uri == f"models:/{view.model_name}/7"


def test_the_rendered_objects_cover_every_branch() -> None:
    views = [inspect(obj) for _, obj in RENDERED]
    assert any(v.style is Style.STANDARD and v.has_canary for v in views)
    assert any(v.style is Style.KNATIVE and v.has_canary for v in views)
    assert any(
        not v.has_canary and v.stable and v.stable.uri.startswith("models:/")
        for v in views
    )
    assert any(v.stable and not v.stable.uri.startswith("models:/") for v in views)


def test_a_canary_is_refused_when_it_is_already_stable_or_another_model() -> None:
    obj = next(
        o
        for _, o in RENDERED
        if not inspect(o).has_canary and inspect(o).stable_version
    )
    view = inspect(obj)
    assert view.model_name and view.stable_version
    with pytest.raises(InvalidRequestError, match="already the stable version"):
        plans.plan_canary(obj, view.model_name, view.stable_version, 10, CTX)
    with pytest.raises(InvalidRequestError, match="serves model"):
        plans.plan_canary(obj, "another-model", "3", 10, CTX)
