"""The chart meets a real API server: every ci/ scenario installs, upgrades and
uninstalls with the real helm, and manifests/ passes a server-side dry run.

Whatever the API server, the CRD schemas or KServe's admission webhooks reject
is a chart bug. `helm install` also checks Chart.yaml's kubeVersion against the
server's /version, which the build stamps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiplane_tools.localcluster import LocalCluster
from tests.kubekit import CHART, REPO, SCENARIOS, Kube

pytestmark = pytest.mark.kube

#: Objects Helm leaves behind on uninstall (``helm.sh/resource-policy: keep``).
KEPT = "keep"


def _ref(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _live(kube: Kube, namespace: str, objects: list[dict[str, Any]]) -> set[str]:
    """Which of ``objects`` exist in the cluster now (kind/name)."""
    found = kube.kubectl(
        "get",
        "--namespace",
        namespace,
        "--ignore-not-found",
        "-o",
        "yaml",
        "-f",
        "-",
        input_text=yaml.safe_dump_all(objects),
    ).stdout
    doc = yaml.safe_load(found) if found.strip() else None
    items = (doc or {}).get("items", []) if doc and doc.get("kind") == "List" else []
    if doc and doc.get("kind") != "List":
        items = [doc]
    return {_ref(item) for item in items}


def test_server_version_satisfies_chart_kube_version(
    control_plane: LocalCluster,
) -> None:
    with control_plane.api() as api:
        version = api.call("GET", "/version")
    assert version["gitVersion"] == control_plane.versions.kube
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    floor = re.match(r">=\s*(\d+)\.(\d+)", chart["kubeVersion"])
    assert floor, f"unexpected kubeVersion {chart['kubeVersion']!r}"
    server = (int(version["major"]), int(version["minor"].rstrip("+")))
    assert server >= (int(floor[1]), int(floor[2])), (version, chart["kubeVersion"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name[:2])
def test_scenario_installs_upgrades_and_uninstalls(kube: Kube, scenario: Path) -> None:
    namespace = f"helm-{scenario.name[:2]}"
    with kube.namespace(namespace):
        kube.install(namespace, scenario)
        objects = kube.manifest(namespace)
        assert objects, "the release rendered nothing"
        assert _live(kube, namespace, objects) == {_ref(o) for o in objects}

        upgraded = kube.install(namespace, scenario, action="upgrade")
        assert "REVISION: 2" in upgraded.stdout, upgraded.stdout
        status = kube.helm("status", "shiplane", "--namespace", namespace).stdout
        assert "STATUS: deployed" in status, status

        kube.helm("uninstall", "shiplane", "--namespace", namespace, "--wait")
        kept = {
            _ref(o)
            for o in objects
            if (o["metadata"].get("annotations") or {}).get("helm.sh/resource-policy")
            == KEPT
        }
        assert _live(kube, namespace, objects) == kept


def test_manifests_pass_a_server_side_dry_run(kube: Kube) -> None:
    # The plain manifests target namespace "shiplane"; a dry run creates nothing,
    # so the namespace must exist for the objects in it to be checked.
    with kube.namespace("shiplane"):
        done = kube.kubectl(
            "apply", "--dry-run=server", "--recursive", "-f", str(REPO / "manifests")
        )
    lines = done.stdout.strip().splitlines()
    assert lines and all(line.endswith("(server dry run)") for line in lines), lines
