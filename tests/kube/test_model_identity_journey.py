"""The platform engineer's journey from docs/control.md, on real parts only: the
chart installed with the real helm into a real kube-apiserver (KServe's CRDs,
webhooks and controller), a real MLflow server and the real training job, the
serving runtime started from the exact predictors of the (patched) object, a
real Prometheus scraping them, and every step through `kubectl shiplane`.

1. install values pinned to v1;        6. analyze passes;
2. train v2 (@challenger);             7. promote: @champion -> v2, stable pinned v2;
3. canary --model @challenger pins v2; 7b. helm upgrade, same values: nothing reverts;
4. status names both versions;         8. train v3, which moves @challenger;
5. set-traffic;                        9. restart every server from its object:
                                          each still serves what its object names.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shiplane.cli import main
from shiplane_contracts import identity
from shiplane_contracts.mlflowclient import registry_client
from shiplane_tools import localstack
from shiplane_tools.localcluster import LocalCluster
from tests import podwiring
from tests.conftest import TRAINING_CONFIGS, require_tool
from tests.kubekit import CHART, RELEASE

pytestmark = [
    pytest.mark.kube,
    pytest.mark.mlflow,
    pytest.mark.prometheus,
    pytest.mark.e2e,
    pytest.mark.timeout(600),
]


def _train(config: Path, mlflow_uri: str, model: str, expect: str) -> str:
    """The real training job; returns the version it registered."""
    from shiplane_training.config import load_config
    from shiplane_training.progress import Progress
    from shiplane_training.train import run_training

    result = run_training(
        load_config(config, model), mlflow_uri, progress=Progress(enabled=False)
    )
    assert result.decision.outcome == expect, result.decision.reason
    return str(result.version)


class Journey:
    """What the steps share: the cluster, the names, the CLI."""

    def __init__(
        self, cluster: LocalCluster, mlflow_uri: str, workdir: Path, model: str
    ) -> None:
        self.cluster = cluster
        self.mlflow_uri = mlflow_uri
        self.workdir = workdir
        self.model = model
        self.namespace = model
        self.values = workdir / "values.yaml"
        self.servers: list[podwiring.PodProcess] = []

    def kubectl_shiplane(self, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
        """One verb, as `kubectl shiplane` runs it; fails the test on non-zero."""
        code = main(
            [
                *argv,
                "-n",
                self.namespace,
                "--kubeconfig",
                str(self.cluster.admin_kubeconfig),
            ]
        )
        out, err = capsys.readouterr()
        print(out, err)
        assert code == 0, f"shiplane {' '.join(argv)} exited {code}: {out}{err}"
        return out

    def helm(self, *argv: str) -> str:
        done = subprocess.run(
            [
                require_tool("helm"),
                *argv,
                "-n",
                self.namespace,
                "--kubeconfig",
                str(self.cluster.admin_kubeconfig),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def isvc(self) -> dict[str, Any]:
        with self.cluster.api() as api:
            found = api.get(
                f"/apis/serving.kserve.io/v1beta1/namespaces/{self.namespace}"
                f"/inferenceservices/{self.model}"
            )
        assert found is not None
        return found

    def runtime(self, isvc: dict[str, Any]) -> dict[str, Any]:
        name = isvc["spec"]["predictor"]["model"]["runtime"]
        with self.cluster.api() as api:
            found = api.get(
                f"/apis/serving.kserve.io/v1alpha1/namespaces/{self.namespace}"
                f"/servingruntimes/{name}"
            )
        assert found is not None
        return found

    def start_servers(self, tag: str) -> dict[str, podwiring.PodProcess]:
        """A process per predictor of the live object, from its exact spec."""
        isvc = self.isvc()
        runtime = self.runtime(isvc)
        started = {
            role: podwiring.start_predictor(
                runtime, predictor, f"{role}-{tag}", self.workdir
            )
            for role, predictor in podwiring.predictors(isvc).items()
        }
        self.servers.extend(started.values())
        return started

    def stop_servers(self) -> None:
        for server in self.servers:
            server.process.stop()
        self.servers.clear()


def _served_version(server: podwiring.PodProcess, model: str) -> str:
    reply = httpx.get(f"{server.url}/v2/models/{model}", timeout=10)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["versions"][0])


def _traffic(server: podwiring.PodProcess, model: str, rows: list[list[float]]) -> None:
    # Enough rows for the drift window's minimum (200), in batches, and single
    # requests so the request counters have a sample worth comparing.
    sample = random.Random(3).sample(rows, 240)
    for start in range(0, 240, 40):
        reply = httpx.post(
            f"{server.url}/v1/models/{model}:predict",
            json={"instances": sample[start : start + 40]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
    for row in sample[:60]:
        reply = httpx.post(
            f"{server.url}/v1/models/{model}:predict",
            json={"instances": [row]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text


def _rollout_job_stopped_by_sigterm(journey: Journey, manifest: str) -> None:
    [job] = [o for o in yaml.safe_load_all(manifest) if o and o["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    kubeconfig = journey.cluster.service_account_kubeconfig(
        journey.namespace, pod["serviceAccountName"]
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLFLOW_TRACKING_URI"] == journey.mlflow_uri
    argv = [require_tool(container["command"][0]), *container["args"]]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            **env,
            "HOME": str(journey.workdir),
            "KUBECONFIG": str(kubeconfig),
        },
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            lines.append(line)
            if "step 50%:" in line:  # traffic moved; now waiting the interval
                proc.send_signal(signal.SIGTERM)
                break
            assert time.monotonic() < deadline, "".join(lines)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines) + rest
    print(output)
    assert proc.returncode == 1, output
    assert "rollout ROLLED BACK: interrupted: received SIGTERM" in output
    assert "rollout stopped (received SIGTERM); rolled back" in output


def _wait_for(prometheus: str, query: str, at_least: float) -> None:
    """Until ``query`` returns a value >= ``at_least`` (1 s scrapes)."""
    from shiplane.analysis.prometheus import PrometheusClient

    deadline = time.monotonic() + 60
    with PrometheusClient(prometheus) as prom:
        while True:
            found = prom.query(query)
            if found and float(found[0].value) >= at_least:
                return
            assert time.monotonic() < deadline, f"{query} still {found}"
            time.sleep(0.5)


@pytest.fixture
def journey(
    control_plane: LocalCluster, mlflow_uri: str, tmp_path: Path
) -> Iterator[Journey]:
    model = f"journey-{uuid.uuid4().hex[:6]}"
    trip = Journey(control_plane, mlflow_uri, tmp_path, model)
    try:
        yield trip
    finally:
        trip.stop_servers()
        subprocess.run(
            [
                require_tool("helm"),
                "uninstall",
                RELEASE,
                "-n",
                trip.namespace,
                "--kubeconfig",
                str(control_plane.admin_kubeconfig),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )


def test_pinned_install_canary_promote_retrain_restart(
    journey: Journey, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("prometheus")
    model, mlflow = journey.model, journey.mlflow_uri
    client = registry_client(mlflow)
    from sklearn.datasets import load_breast_cancer

    rows = load_breast_cancer().data.tolist()

    # 1. Install values pinned to v1 (the first training run is the champion).
    assert (
        _train(TRAINING_CONFIGS / "breast_cancer.yaml", mlflow, model, "champion")
        == "1"
    )
    prometheus_port = localstack.free_port()
    journey.values.write_text(
        yaml.safe_dump(
            {
                "mlflow": {"trackingUri": mlflow},
                # The chart's rollout Job, run below as its pod would run it.
                "rollout": {
                    "enabled": True,
                    "inferenceService": model,
                    "steps": [50, 100],
                    "interval": "60s",
                    "prometheusUrl": f"http://127.0.0.1:{prometheus_port}",
                },
                "inferenceServices": {
                    model: {
                        "deploymentMode": "Standard",
                        "model": {"mlflowUri": identity.pinned_uri(model, 1)},
                        "autoscaling": {
                            "minReplicas": 1,
                            "maxReplicas": 2,
                            "scaleMetric": "cpu",
                            "scaleTarget": 70,
                        },
                    }
                },
            }
        )
    )
    journey.helm(
        "install", RELEASE, str(CHART), "--create-namespace", "-f", str(journey.values)
    )
    annotations = journey.isvc()["metadata"]["annotations"]
    assert annotations[identity.MODEL_NAME_ANNOTATION] == model
    assert annotations[identity.STABLE_VERSION_ANNOTATION] == "1"

    # 2. Train v2: it passes the gate and becomes @challenger.
    challenger_config = TRAINING_CONFIGS / "breast_cancer_challenger.yaml"
    assert _train(challenger_config, mlflow, model, "passed") == "2"

    # 3. The canary verb resolves the alias once and pins what it found.
    out = journey.kubectl_shiplane(
        capsys,
        "canary",
        model,
        "--model",
        f"models:/{model}@challenger",
        "--percent",
        "10",
        "--mlflow-uri",
        mlflow,
    )
    assert f"resolved models:/{model}@challenger -> models:/{model}/2" in out
    isvc = journey.isvc()
    [canary] = isvc["spec"]["canary"]
    canary_env = podwiring.merged_env({}, canary["predictor"]["model"])
    assert canary_env[identity.MODEL_URI_ENV] == f"models:/{model}/2"
    assert canary["trafficPercent"] == 10
    history = json.loads(isvc["metadata"]["annotations"][identity.HISTORY_ANNOTATION])
    assert history[-1]["action"] == "canary" and history[-1]["to_version"] == "2"

    # 4. status names both versions at once.
    out = journey.kubectl_shiplane(capsys, "status", model)
    assert "stable:   v1  (models:/" in out and "canary:   v2  (models:/" in out
    assert "traffic 10%" in out

    # 5. More traffic to the canary.
    out = journey.kubectl_shiplane(capsys, "set-traffic", model, "50")
    assert "10% -> 50%" in out

    # 6. Serve both predictors exactly as specified, scrape them as the
    #    PodMonitor says, and analyze.
    servers = journey.start_servers("before-promotion")
    assert {role: _served_version(s, model) for role, s in servers.items()} == {
        "stable": "1",
        "canary": "2",
    }
    rendered = journey.helm("get", "manifest", RELEASE)
    [pod_monitor] = [
        o for o in yaml.safe_load_all(rendered) if o and o["kind"] == "PodMonitor"
    ]
    [endpoint] = pod_monitor["spec"]["podMetricsEndpoints"]
    runtime = journey.runtime(journey.isvc())
    assert endpoint["port"] == runtime["spec"]["containers"][0]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    prometheus = localstack.prometheus_server(
        journey.workdir / "prometheus",
        {
            "serving": [s.url.removeprefix("http://") for s in servers.values()],
        },
        port=prometheus_port,
    )
    prometheus.start()
    try:
        prometheus.wait_ready(
            lambda: localstack.http_ok(f"{prometheus.url}/-/ready"), 60
        )
        # A first scrape before the traffic, so increase() sees it all.
        _wait_for(prometheus.url, 'count(up{job="serving"} == 1)', 2)
        for server in servers.values():
            _traffic(server, model, rows)
        _wait_for(
            prometheus.url,
            "count(sum by (model_version) "
            f'(shiplane_requests_total{{model="{model}"}}) >= 66)',
            2,
        )
        out = journey.kubectl_shiplane(
            capsys,
            "analyze",
            model,
            "--prometheus-url",
            prometheus.url,
            "--window",
            "2m",
            "--min-requests",
            "20",
            "--max-p95-ratio",
            "5",
            "--max-p99-ratio",
            "5",
            "--latency-min-delta-s",
            "0.05",
        )
        assert "PASS" in out

        # 6b. The chart's rollout Job, as its pod runs it (its command, args and
        #     env, its ServiceAccount's token), stopped by SIGTERM halfway: it
        #     rolls back and records why, never leaving an unrecorded split.
        _rollout_job_stopped_by_sigterm(journey, rendered)
        assert journey.isvc()["spec"]["canary"][0]["trafficPercent"] == 0
        entry = json.loads(
            journey.isvc()["metadata"]["annotations"][identity.HISTORY_ANNOTATION]
        )[-1]
        assert entry["action"] == "rollback" and "SIGTERM" in entry["reason"]
        assert entry["by"].startswith(f"system:serviceaccount:{journey.namespace}:")
        journey.kubectl_shiplane(capsys, "set-traffic", model, "50")
    finally:
        prometheus.stop()

    # 7. Promote: the registry follows and the stable predictor is pinned to v2.
    out = journey.kubectl_shiplane(
        capsys, "promote", model, "--mlflow-uri", mlflow, "--reason", "journey"
    )
    assert f"mlflow: @champion -> {model} v2" in out
    assert client.get_registered_model(model).aliases == {
        "champion": "2",
        "previous": "1",
        "challenger": "2",
    }
    promoted = journey.isvc()
    assert "canary" not in promoted["spec"]
    stable_env = podwiring.merged_env({}, promoted["spec"]["predictor"]["model"])
    assert stable_env[identity.MODEL_URI_ENV] == f"models:/{model}/2"
    assert (
        promoted["metadata"]["annotations"][identity.STABLE_VERSION_ANNOTATION] == "2"
    )

    # 7b. Helm and the CLI never fight: the same values again change nothing,
    #     and the first revision's rollout Job is not deleted under it.
    journey.helm("upgrade", RELEASE, str(CHART), "-f", str(journey.values))
    with journey.cluster.api() as api:
        jobs = api.get(f"/apis/batch/v1/namespaces/{journey.namespace}/jobs")
    assert jobs is not None
    names = sorted(j["metadata"]["name"] for j in jobs["items"])
    assert [n.rsplit("-", 1)[-1] for n in names] == ["1", "2"], names
    after_upgrade = journey.isvc()
    assert after_upgrade["spec"]["predictor"] == promoted["spec"]["predictor"]
    assert "canary" not in after_upgrade["spec"]
    assert (
        after_upgrade["metadata"]["annotations"][identity.STABLE_VERSION_ANNOTATION]
        == "2"
    )

    # 8. A new training run moves @challenger; nothing that serves follows it.
    assert _train(challenger_config, mlflow, model, "passed") == "3"
    assert client.get_registered_model(model).aliases["challenger"] == "3"

    # 9. Restart every server from its (patched) object.
    journey.stop_servers()
    restarted = journey.start_servers("after-retraining")
    assert {role: _served_version(s, model) for role, s in restarted.items()} == {
        "stable": "2",
    }
