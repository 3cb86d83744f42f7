"""Fixtures of the rollout tests: the chart's own canary scenarios installed on
the session's real control plane (kube-apiserver, KServe's webhooks and
controller), each into a namespace of the test's own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.kubekit import CHART, Release

KNATIVE_CANARY = CHART / "ci" / "02-knative-canary-values.yaml"
"""breast-cancer in Knative mode: stable v1, canary v2 at canaryTrafficPercent 10."""
STANDARD_CANARY = CHART / "ci" / "03-standard-canary-values.yaml"
"""breast-cancer in Standard mode: stable v1, spec.canary[0] "challenger" (v2)
at 25%."""


@pytest.fixture
def knative(install_chart: Callable[..., Release]) -> Release:
    """The Knative canary scenario, installed."""
    return install_chart(KNATIVE_CANARY)


@pytest.fixture
def standard(install_chart: Callable[..., Release]) -> Release:
    """The Standard canary scenario, installed."""
    return install_chart(STANDARD_CANARY)
