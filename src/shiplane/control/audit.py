"""The audit trail of canary operations: one entry builder for every actuator.

An entry (``at``, ``by``, ``action``, ``from_version``, ``to_version``,
``verdict``, ``reason``) goes into the InferenceService's history annotation in
the same patch as the traffic change, and into the MLflow tags of the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shiplane_contracts.identity import HISTORY_ANNOTATION

JsonDict = dict[str, Any]

HISTORY_LIMIT = 20
"""Entries kept in the history annotation; annotations share a 256 KiB budget
per object, and the MLflow tags keep the full record anyway."""


class Action(StrEnum):
    """What a plan does; also the ``action`` of an audit entry."""

    CANARY = "canary"
    SET_TRAFFIC = "set-traffic"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class AuditContext:
    """Who does a promotion or rollback, when and why: becomes a history entry."""

    by: str
    at: datetime
    verdict: str = "manual"
    reason: str = ""


def audit_entry(
    action: Action, ctx: AuditContext, from_version: str | None, to_version: str | None
) -> JsonDict:
    """The record of one operation, as history and MLflow tags keep it."""
    return {
        "at": ctx.at.isoformat(timespec="seconds"),
        "by": ctx.by,
        "action": str(action),
        "from_version": from_version,
        "to_version": to_version,
        "verdict": ctx.verdict,
        "reason": ctx.reason,
    }


def parse_history(annotations: dict[str, str]) -> tuple[JsonDict, ...]:
    """The entries of the history annotation (a broken one reads as empty)."""
    raw = annotations.get(HISTORY_ANNOTATION)
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError:
        # A hand-edited, broken history must not block a rollback: start anew.
        return ()
    return (
        tuple(e for e in entries if isinstance(e, dict))
        if isinstance(entries, list)
        else ()
    )


def append_history(history: tuple[JsonDict, ...], entry: JsonDict) -> str:
    """The history annotation's value with ``entry`` appended (the last
    HISTORY_LIMIT entries)."""
    entries = [*history, entry][-HISTORY_LIMIT:]
    return json.dumps(entries, separators=(",", ":"), sort_keys=True)
