"""Fixtures of the Kubernetes tests: one real control plane (etcd,
kube-apiserver, kube-controller-manager, KServe) for the whole test session.

Under pytest-xdist each worker is its own process, so the first worker to get
here starts the cluster and the others reuse it (a lock and a count of users
in the session's shared temporary directory); the last one out stops it.
A missing binary fails every test here with the message naming it and
`make tools`: the control plane is never skipped.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kubekit import Kube

from shiplane import localcluster
from shiplane.localcluster import LocalCluster
from shiplane.localstack import StartError
from tests.conftest import require_tool


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
