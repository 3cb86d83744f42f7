"""Shiplane's Prometheus rule file, as the chart ships it and promtool tests it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shiplane_tools import repo

RULES_FILE = repo.root() / "charts/shiplane/files/rules/shiplane.rules.yaml"


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule."""

    group: str
    name: str
    kind: str  # "record" | "alert"
    expr: str
    labels: dict[str, str]


def load(path: Path = RULES_FILE) -> list[Rule]:
    """Every rule of a Prometheus rule file, in file order."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    rules = []
    for group in document["groups"]:
        for raw in group["rules"]:
            kind = "alert" if "alert" in raw else "record"
            rules.append(
                Rule(
                    group=group["name"],
                    name=raw[kind],
                    kind=kind,
                    expr=raw["expr"],
                    labels=dict(raw.get("labels") or {}),
                )
            )
    return rules


def recorded_series(path: Path = RULES_FILE) -> set[str]:
    """Names of the series the recording rules produce."""
    return {rule.name for rule in load(path) if rule.kind == "record"}
