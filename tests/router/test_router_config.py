"""Validation of the routing configuration and of admin updates: clear errors,
nothing half-applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shiplane.router.config import (
    ConfigError,
    WeightsUpdate,
    apply_update,
    load_config,
    parse_config,
)


def _config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "variants": {
            "stable": {"url": "http://127.0.0.1:9001", "weight": 90},
            "canary": {"url": "http://127.0.0.1:9002", "weight": 10},
        },
        "fallback": "stable",
        "shadow": {"variant": "canary", "percent": 0},
        "sticky": {"header": "X-User-Id", "cookie": "shiplane-user"},
    }
    config.update(overrides)
    return config


def test_example_config_is_valid() -> None:
    config = parse_config(_config())
    assert config.weights == {"stable": 90, "canary": 10}
    assert config.variants["stable"].base_url == "http://127.0.0.1:9001"
    assert config.sticky.header == "x-user-id"  # header names are lowercased


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "variants": {
                    "a": {"url": "http://h:1", "weight": 50},
                    "b": {"url": "http://h:2", "weight": 40},
                }
            },
            "weights must sum to 100, got 90",
        ),
        ({"fallback": "nope"}, "fallback 'nope' is not a configured variant"),
        (
            {"shadow": {"variant": "ghost", "percent": 5}},
            "shadow variant 'ghost' is not a configured variant",
        ),
        ({"shadow": {"variant": "canary", "percent": 101}}, "shadow.percent"),
        (
            {"variants": {"a": {"url": "http://h:1", "weight": 101}}},
            "variants.a.weight",
        ),
        ({"variants": {"a": {"url": "not a url", "weight": 100}}}, "variants.a.url"),
        ({"variants": {}}, "at least one variant"),
        ({"variants": {"Bad Name": {"url": "http://h:1", "weight": 100}}}, "Bad Name"),
        ({"wieghts": {}}, "wieghts: Extra inputs are not permitted"),
    ],
)
def test_invalid_configs_are_refused_with_the_reason(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(_config(**overrides))
    assert message in str(excinfo.value)


def test_load_config_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read router config"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("variants: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(scalar)


def test_apply_update_changes_weights_and_keeps_urls() -> None:
    config = parse_config(_config())
    update = WeightsUpdate.model_validate({"weights": {"stable": 75, "canary": 25}})
    new = apply_update(config, update, shadow_given=False)
    assert new.weights == {"stable": 75, "canary": 25}
    assert new.shadow == config.shadow
    assert new.variants["canary"].url == config.variants["canary"].url
    assert config.weights == {"stable": 90, "canary": 10}  # the original is intact
    off = apply_update(config, update, shadow_given=True)
    assert off.shadow is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"weights": {"stable": 100}}, "missing variants: canary"),
        ({"weights": {"stable": 50, "canary": 25, "x": 25}}, "unknown variants: x"),
        (
            {
                "weights": {"stable": 50, "canary": 50},
                "shadow": {"variant": "x", "percent": 1},
            },
            "shadow variant 'x'",
        ),
    ],
)
def test_apply_update_refuses_a_mismatch(body: dict[str, Any], message: str) -> None:
    config = parse_config(_config())
    with pytest.raises(ConfigError, match=message):
        apply_update(config, WeightsUpdate.model_validate(body), "shadow" in body)
