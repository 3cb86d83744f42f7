"""The chart writes the identity contract the CLI reads (shiplane_contracts.identity).

Every InferenceService any ci/ scenario renders names its model and pinned
versions in the annotations, with the keys defined once in shiplane_contracts.identity;
the chart's own copies of those names (templates/_identity.tpl) are checked
against that definition, so the two cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shiplane.control.view import Style, inspect
from shiplane_contracts import identity
from tests.chart import chartkit

IDENTITY_TPL = chartkit.CHART / "templates" / "_identity.tpl"
CHART_NAMES = {
    "modelNameAnnotation": identity.MODEL_NAME_ANNOTATION,
    "stableVersionAnnotation": identity.STABLE_VERSION_ANNOTATION,
    "canaryVersionAnnotation": identity.CANARY_VERSION_ANNOTATION,
    "historyAnnotation": identity.HISTORY_ANNOTATION,
    "modelUriEnv": identity.MODEL_URI_ENV,
    "modelNameEnv": identity.MODEL_NAME_ENV,
}


def test_chart_copies_of_the_names_match_the_contract() -> None:
    defined = dict(
        re.findall(
            r'define "shiplane\.identity\.(\w+)" -}}([^{]+){{- end',
            IDENTITY_TPL.read_text(),
        )
    )
    assert defined == CHART_NAMES


def _isvcs(scenario: Path) -> list[dict[str, Any]]:
    return chartkit.objects(chartkit.render_scenario(scenario), "InferenceService")


@pytest.mark.parametrize("scenario", chartkit.SCENARIOS, ids=lambda p: p.stem)
def test_every_rendered_registry_predictor_is_pinned_and_annotated(
    scenario: Path,
) -> None:
    for obj in _isvcs(scenario):
        view = inspect(obj)
        refs = [r for r in (view.stable, view.canary) if r is not None]
        registry = [r for r in refs if r.uri.startswith("models:/")]
        for ref in registry:
            assert ref.version is not None and ref.alias is None, ref.uri
        if not registry:
            continue  # a storageUri model: no registry identity to write
        annotations = obj["metadata"]["annotations"]
        assert annotations[identity.MODEL_NAME_ANNOTATION] == view.model_name
        assert view.model_name == registry[0].model_name
        if view.style is Style.STANDARD or not view.has_canary:
            assert view.stable is not None
            assert annotations[identity.STABLE_VERSION_ANNOTATION] == (
                view.stable.version
            )
        if view.has_canary:
            assert view.canary is not None
            assert annotations[identity.CANARY_VERSION_ANNOTATION] == (
                view.canary.version
            )
        else:
            assert identity.CANARY_VERSION_ANNOTATION not in annotations


def test_the_scenarios_cover_both_canary_styles() -> None:
    styles = {
        (inspect(o).style, inspect(o).has_canary)
        for scenario in chartkit.SCENARIOS
        for o in _isvcs(scenario)
    }
    assert {
        (Style.KNATIVE, True),
        (Style.STANDARD, True),
        (Style.KNATIVE, False),
    } <= styles
