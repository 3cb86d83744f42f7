"""Which series a PromQL expression reads, without a full PromQL parser.

Good enough for the expressions Shiplane writes (checked against a real
Prometheus by the live test): strings, label matchers, durations and the label
lists of ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right`` are
removed, then every remaining identifier that is not a function, keyword or
number is a metric name.
"""

from __future__ import annotations

import re
from typing import Final

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(\s*\()?")
_KEYWORDS: Final = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "atan2",
    }
)


def referenced_series(expr: str) -> set[str]:
    """Metric names an expression selects (functions and aggregations excluded)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def substitute_grafana_variables(expr: str, interval: str = "1m") -> str:
    """A panel query as Prometheus would receive it with every variable on "All".

    Template variables become ``.*`` (their All value), Grafana's interval
    variables become ``interval``.
    """
    for builtin in ("$__rate_interval", "$__interval", "$__range"):
        expr = expr.replace(builtin, interval)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)
