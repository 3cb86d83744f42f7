"""The dataplane is the one writer of serving metrics: a transport that
counted on its own would count a request differently from the others."""

from __future__ import annotations

import ast

from tests.conftest import REPO

SERVING = REPO / "serving" / "src" / "shiplane_serving"
#: Where the collectors are defined and where they are written.
OWNERS = {SERVING / "metrics.py", SERVING / "dataplane.py"}
#: ServingMetrics' writing API: a labelled child, or one of its observe_* helpers.
WRITERS = {"child", "observe_request", "observe_predictions"}


def metric_writes(source: str) -> list[int]:
    """Lines of ``source`` that call ServingMetrics' writing API."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WRITERS
        and "metrics" in ast.unparse(node.func.value)
    )


def test_only_the_dataplane_writes_serving_metrics() -> None:
    writes = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted(SERVING.rglob("*.py"))
        if path not in OWNERS
        for line in metric_writes(path.read_text())
    ]
    assert not writes, f"serving metrics written outside the dataplane: {writes}"


def test_the_check_sees_a_transport_that_counts() -> None:
    transport = (
        "async def _infer(self):\n"
        "    self.metrics.child(self.metrics.invalid_requests, 'm', 'type').inc()\n"
        "    self.dataplane.metrics.observe_request('m', '1', 'v1', 200, 0.1, 1)\n"
    )
    assert metric_writes(transport) == [2, 3]
    assert metric_writes(SERVING.joinpath("dataplane.py").read_text())
