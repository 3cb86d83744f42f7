"""The session's real Kubernetes control plane (etcd, kube-apiserver,
kube-controller-manager, KServe), for every test package that talks to
Kubernetes: tests/kube, and the CLI, rollout and analysis tests.

Under pytest-xdist each worker is its own process, so the first worker to get
here starts the cluster and the others reuse it (a lock and a count of users
in the session's shared temporary directory); the last one out stops it.
A missing binary fails every test that needs it with the message naming it and
`make tools`: the control plane is never skipped.
"""

from __future__ import annotations

import fcntl
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from shiplane_tools import localcluster
from shiplane_tools.localcluster import LocalCluster
from shiplane_tools.localstack import StartError
from tests.conftest import require_tool
from tests.kubekit import Kube, Release


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _users(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope="session")
def control_plane(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[LocalCluster]:
    """The session's control plane, shared by every xdist worker."""
    require_tool("helm")
    require_tool("kubectl")
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if worker_id != "master" else base) / "kube"
    shared.mkdir(exist_ok=True)
    state, count = shared / "cluster", shared / "users"
    with _locked(shared / ".lock"):
        if _users(count) == 0:
            try:
                cluster = localcluster.start(state)
            except localcluster.MissingBinariesError as exc:
                pytest.fail(str(exc), pytrace=False)
            except (localcluster.ClusterError, StartError) as exc:
                pytest.fail(f"the local control plane did not start: {exc}")
        else:
            cluster = LocalCluster.load(state)
            if not cluster.healthy():
                pytest.fail(f"the shared control plane in {state} stopped answering")
        count.write_text(str(_users(count) + 1))
    yield cluster
    with _locked(shared / ".lock"):
        left = _users(count) - 1
        count.write_text(str(left))
        if left == 0:
            cluster.stop()


@pytest.fixture(scope="session")
def kube(control_plane: LocalCluster) -> Iterator[Kube]:
    """helm and kubectl as the cluster's admin; at the end of the session,
    every namespace a test deleted must be gone."""
    kube = Kube(control_plane)
    yield kube
    kube.wait_deleted()


@pytest.fixture
def install_chart(
    kube: Kube, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Release]]:
    """Install the chart into a namespace of this test's own: a factory taking
    values files (and ``--set`` items), returning the :class:`Release`, whose
    kubeconfig acts as ``alice``, bound to the chart's operator Role.

    The namespaces are deleted when the test ends."""
    with ExitStack() as stack:

        def install(*values: Path, set_values: Sequence[str] = ()) -> Release:
            namespace = stack.enter_context(kube.namespace(_namespace_for(request)))
            return kube.install_release(namespace, values, set_values, tmp_path)

        yield install


def _namespace_for(request: pytest.FixtureRequest) -> str:
    """A valid, unique namespace name that says which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    # Short: KServe names a canary's objects <isvc>-<canary>-predictor-<namespace>
    # and silently skips its Deployment when that is over 63 characters.
    return f"{slug[:16].rstrip('-')}-{secrets.token_hex(3)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the control plane, however indirectly, is a
    ``kube`` test: ``make test-python`` (-m "not kube") never starts one, and
    ``make test-kube`` runs them all."""
    for item in items:
        if "control_plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kube)
