"""End to end with real parts: MLflow, three serving runtimes, two A/B routers,
Prometheus scraping all of them, Locust driving the traffic, and
``shiplane rollout`` moving the router weights.

* v1 (champion) vs v2 (a good challenger: the same model, a new version) is
  promoted: the router ends at 100% v2, ``@champion`` moves to v2 and v1
  keeps ``@previous``.
* v2 vs v3 (a drifting challenger: the same estimator registered with a
  reference profile of another population, so live traffic looks drifted to
  it, as it would to a model trained on the wrong data) is rolled back at its
  first step: the router ends at 100% v2, v3 is tagged rolled back.

The versions are registered here in the Shiplane model format rather than by
the training job, so this test depends only on the format contract.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shiplane.cli import main
from shiplane_contracts.mlflowclient import registry_client
from shiplane_tools import localstack
from tests.conftest import REPO, require_tool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.prometheus,
    pytest.mark.mlflow,
    pytest.mark.timeout(300),
]
TOKEN = "e2e-admin-token"


def _register_versions(mlflow_uri: str, model: str, workdir: Path) -> None:
    """Register three versions of one estimator in the Shiplane model format
    (skops + reference profile + ``metadata.shiplane``, see modelformat):
    v1 and v2 with the true reference profile, v3 with a profile of a shifted
    population, so live traffic looks drifted to it."""
    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from shiplane_contracts.modelformat import (
        METADATA_KEY,
        PROFILE_FILENAME,
        TRUSTED_TYPES,
    )
    from shiplane_contracts.profile import build_profile, fingerprint

    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    x_train, _, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.25, random_state=42, stratify=data.target
    )
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    estimator.fit(x_train, y_train)
    mlflow.set_tracking_uri(mlflow_uri)
    mlflow.set_experiment(f"{model}-e2e")
    metadata = {
        "task": "classification",
        "feature_names": names,
        "classes": [0, 1],
        "profile_schema_version": 1,
    }
    for version, x_ref in (("1", x_train), ("2", x_train), ("3", x_train * 10 + 1e4)):
        profile = build_profile(
            x_ref,
            names,
            estimator.predict(x_train),
            "classification",
            fingerprint(np.asarray(x_ref, dtype=np.float64), y_train),
        )
        folder = workdir / f"profile-v{version}"
        folder.mkdir()
        profile.save(folder / PROFILE_FILENAME)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                estimator,
                name="model",
                serialization_format="skops",
                skops_trusted_types=list(TRUSTED_TYPES),
                extra_files=[str(folder / PROFILE_FILENAME)],
                metadata={METADATA_KEY: metadata},
                registered_model_name=model,
                # Named requirements: MLflow would otherwise run `uv export`.
                pip_requirements=["scikit-learn", "skops"],
            )
        assert str(info.registered_model_version) == version


def _server(
    model: str, version: str, mlflow_uri: str, workdir: Path
) -> localstack.ManagedProcess:
    return localstack.serving_server(
        workdir,
        f"models:/{model}/{version}",
        model,
        name=f"serving-v{version}",
        tracking_uri=mlflow_uri,
        grpc_port=localstack.free_port(),
        extra=["--log-level", "warning"],
    )


def _router(
    name: str, stable_url: str, canary_url: str, workdir: Path
) -> localstack.ManagedProcess:
    return localstack.router_server(
        workdir,
        {
            "variants": {
                "stable": {"url": stable_url, "weight": 100},
                "canary": {"url": canary_url, "weight": 0},
            }
        },
        name=name,
        env={"SHIPLANE_ROUTER_ADMIN_TOKEN": TOKEN},
        extra=["--log-level", "warning"],
    )


def _warm_up(url: str, model: str, rows: list[list[float]]) -> None:
    # Enough rows for the drift window's minimum (serving default 200), so the
    # drift gauges exist before the rollout validates its queries; a random
    # sample, since the dataset's own order is not one.
    rows = random.Random(7).sample(rows, 240)
    for start in range(0, 240, 40):
        reply = httpx.post(
            f"{url}/v1/models/{model}:predict",
            json={"instances": rows[start : start + 40]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text


def _wait_for_series(prometheus: str, model: str, timeout_s: float = 60) -> None:
    """Until Prometheus has scraped requests and drift gauges of all three."""
    from shiplane.analysis.prometheus import PrometheusClient

    deadline = time.monotonic() + timeout_s
    with PrometheusClient(prometheus) as prom:
        while True:
            requests = prom.query(f'shiplane_requests_total{{model="{model}"}}')
            drift = prom.query(f'shiplane_drift_share{{model="{model}"}}')
            if len(requests) >= 3 and len(drift) >= 3:
                return
            assert time.monotonic() < deadline, (requests, drift)
            time.sleep(0.5)


@pytest.fixture
def stack(mlflow_uri: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    require_tool("prometheus")
    from sklearn.datasets import load_breast_cancer

    model = f"e2e-rollout-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    _register_versions(mlflow_uri, model, tmp_path)
    registry_client(mlflow_uri).set_registered_model_alias(model, "champion", "1")
    print(f"models registered in {time.monotonic() - started:.1f}s")

    data = load_breast_cancer()
    rows = data.data.tolist()
    payload = tmp_path / "rows.json"
    payload.write_text(json.dumps({"rows": rows, "labels": data.target.tolist()}))
    (tmp_path / "token").write_text(TOKEN)

    procs: list[localstack.ManagedProcess] = []
    try:
        servers = {v: _server(model, v, mlflow_uri, tmp_path) for v in ("1", "2", "3")}
        for proc in servers.values():
            procs.append(proc.start())
        for proc in servers.values():
            proc.wait_ready(
                lambda p=proc: localstack.http_ok(f"{p.url}/v2/health/ready"),
                timeout_s=120,
            )
        router_a = _router("router-a", servers["1"].url, servers["2"].url, tmp_path)
        router_b = _router("router-b", servers["2"].url, servers["3"].url, tmp_path)
        for proc in (router_a, router_b):
            procs.append(proc.start())
            proc.wait_ready(lambda p=proc: localstack.http_ok(f"{p.url}/healthz"), 60)
        prom = localstack.prometheus_server(
            tmp_path / "prometheus",
            {
                "serving": [s.url.removeprefix("http://") for s in servers.values()],
                "router": [r.url.removeprefix("http://") for r in (router_a, router_b)],
            },
        )
        procs.append(prom.start())
        prom.wait_ready(lambda: localstack.http_ok(f"{prom.url}/-/ready"), 60)
        for proc in servers.values():
            _warm_up(proc.url, model, rows)
        _wait_for_series(prom.url, model)
        print(f"stack ready in {time.monotonic() - started:.1f}s")
        yield {
            "model": model,
            "mlflow": mlflow_uri,
            "prometheus": prom.url,
            "router_a": router_a.url,
            "router_b": router_b.url,
            "token_file": str(tmp_path / "token"),
            "payload": str(payload),
        }
    finally:
        for proc in reversed(procs):
            proc.stop()


def _rollout(stack: dict[str, str], router: str, stable: str, canary: str) -> int:
    return main(
        [
            "rollout",
            stack["model"],
            "--actuator",
            "router",
            "--no-kube",
            "--router-url",
            stack[router],
            "--router-token-file",
            stack["token_file"],
            "--model",
            stack["model"],
            "--stable-version",
            stable,
            "--canary-version",
            canary,
            "--steps",
            "30,60,100",
            "--interval",
            "8s",
            "--max-failures",
            "1",
            "--prometheus-url",
            stack["prometheus"],
            "--mlflow-uri",
            stack["mlflow"],
            "--locustfile",
            str(REPO / "loadtests" / "v1.py"),
            "--load-host",
            stack[router],
            # The router sticks each Locust user to a variant by cookie: enough
            # users that a 30% canary gets some of them (0.7^10 < 3% it gets none).
            "--load-users",
            "10",
            f"--load-arg=--payload-file={stack['payload']}",
            f"--load-arg=--model-name={stack['model']}",
            # Both servers share 2 busy cores with Locust: compare latency loosely
            # here; tests/analysis checks the latency rule itself.
            "--min-requests",
            "20",
            "--max-p95-ratio",
            "3",
            "--max-p99-ratio",
            "5",
            "--latency-min-delta-s",
            "0.05",
            "--actor",
            "e2e",
        ]
    )


def _weights(stack: dict[str, str], router: str) -> dict[str, int]:
    reply = httpx.get(
        f"{stack[router]}/admin/weights",
        headers={"authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    return dict(reply.json()["weights"])


def test_good_canary_is_promoted_and_bad_one_rolled_back(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:

    client = registry_client(stack["mlflow"])
    model = stack["model"]

    started = time.monotonic()
    code = _rollout(stack, "router_a", stable="1", canary="2")
    out, err = capsys.readouterr()
    print(out, err)
    assert code == 0, out + err
    assert "rollout PROMOTED" in out and "step 60%: analysis PASS" in out
    assert _weights(stack, "router_a") == {"stable": 0, "canary": 100}
    assert client.get_registered_model(model).aliases == {
        "champion": "2",
        "previous": "1",
    }
    assert client.get_model_version(model, "2").tags["shiplane.verdict"] == "pass"
    print(f"good rollout took {time.monotonic() - started:.1f}s")

    started = time.monotonic()
    code = _rollout(stack, "router_b", stable="2", canary="3")
    out, err = capsys.readouterr()
    print(out, err)
    assert code == 1, out + err
    assert "rollout ROLLED BACK" in out and "drift share: " in out
    assert _weights(stack, "router_b") == {"stable": 100, "canary": 0}
    tags = client.get_model_version(model, "3").tags
    assert "shiplane.rolled_back_at" in tags and tags["shiplane.verdict"] == "fail"
    assert client.get_registered_model(model).aliases["champion"] == "2"
    print(f"bad rollout took {time.monotonic() - started:.1f}s")
