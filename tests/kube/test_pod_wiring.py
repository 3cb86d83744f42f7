"""The pods' wiring, without a kubelet: the chart's ports, env names, paths and
monitors match the programs they run.

The chart (05-router scenario, plus the training Job and CronJob and a feedback
Secret) is installed into the real control plane. Then every pod is run as a
local process from exactly what a kubelet would get (tests/podwiring.py): the
serving runtime from the Deployments KServe's controller made of the
InferenceServices, the router from its Deployment, the trainer from the Pod the
Job controller created; their ConfigMaps and Secrets read from the API server.
Only the substitutions podwiring documents are made (free loopback ports, the
bind address, mount paths, Service DNS names, this venv), and the test bounds
them. Then:

- the trainer runs to completion against the real MLflow and registers v1;
- both model servers load it and become ready through their readiness probe;
- the router reaches each of them through their Services' names and ports, and
  its admin API accepts the token from the mounted Secret;
- every readiness, liveness and startup probe answers 200 on its (named) port;
- a real Prometheus whose scrape config is derived from the rendered PodMonitor
  and ServiceMonitor (port names, paths, schemes, relabelings) has every
  target up, labelled the way the relabelings say.

The tests after it show that the checks fail, and how they say so.
"""

from __future__ import annotations

import base64
import copy
import secrets
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shiplane_contracts.mlflowclient import registry_client
from shiplane_tools.localcluster import KubeApi
from shiplane_tools.localstack import http_ok
from tests import podwiring
from tests.conftest import require_tool
from tests.kubekit import CHART, RELEASE, Kube, eventually, run

SCENARIO = CHART / "ci" / "05-router-values.yaml"
ROUTER_TOKEN_SECRET = "shiplane-router-admin"  # the scenario's adminTokenSecret
FEEDBACK_SECRET = "shiplane-feedback-hmac"
ISVCS = ("bc-a", "bc-b")
#: The env each container gets changed (podwiring.SUBSTITUTIONS: this venv's
#: PATH, the loopback bind address, mount paths); the rest is its pod's as is.
SUBSTITUTED_ENV = {
    "kserve-container": {
        "PATH",
        "SHIPLANE_SERVING_HOST",
        "HOME",
        "SHIPLANE_SERVING_DOWNLOAD_DIR",
        "SHIPLANE_SERVING_METRICS_DIR",
    },
    "router": {
        "PATH",
        "SHIPLANE_ROUTER_HOST",
        "HOME",
        "SHIPLANE_ROUTER_ADMIN_TOKEN_FILE",
    },
    "trainer": {"PATH", "HOME", "MPLCONFIGDIR"},
}

JsonDict = dict[str, Any]


def _values(namespace: str, model: str, mlflow_uri: str) -> JsonDict:
    """Over the scenario: the session's MLflow, the model the Job trains, the
    router's variants in this namespace, the training Job and CronJob and a
    feedback Secret (a secretKeyRef in the serving env)."""
    return {
        "mlflow": {"trackingUri": mlflow_uri},
        "servingRuntime": {"feedbackSecret": FEEDBACK_SECRET},
        "inferenceServices": {
            isvc: {"model": {"mlflowUri": f"models:/{model}/1"}} for isvc in ISVCS
        },
        "training": {
            "job": {"enabled": True},
            "schedule": {"enabled": True},
            "config": {"model_name": model},
        },
        "router": {
            "config": {
                "variants": {
                    isvc[-1]: {"url": f"http://{isvc}-predictor.{namespace}.svc"}
                    for isvc in ISVCS
                }
            }
        },
    }


def _secrets(namespace: str, token: str, feedback_key: str) -> list[JsonDict]:
    """The Secrets the values name and the chart expects to exist."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {key: value},
        }
        for name, key, value in (
            (ROUTER_TOKEN_SECRET, "token", token),
            (FEEDBACK_SECRET, "key", feedback_key),
        )
    ]


def _one(objects: list[JsonDict], kind: str, name: str | None = None) -> JsonDict:
    found = [
        o
        for o in objects
        if o["kind"] == kind and name in (None, o["metadata"]["name"])
    ]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} rendered"
    return found[0]


def _lookup(api: KubeApi, namespace: str) -> podwiring.Lookup:
    """Secrets and ConfigMaps as the kubelet gets them: from the API server."""

    def lookup(kind: str, name: str) -> JsonDict | None:
        return api.get(f"/api/v1/namespaces/{namespace}/{kind.lower()}s/{name}")

    return lookup


def _substitutions(locals_: list[podwiring.LocalContainer]) -> None:
    """Print what was changed to run each container here; only the env
    :data:`SUBSTITUTED_ENV` names was."""
    for local in locals_:
        print(f"--- {local.pod}/{local.name}: {' '.join(local.argv)}")
        for sub in local.substitutions:
            print(f"    {sub}")
        env = {
            s.where.removeprefix("env ")
            for s in local.substitutions
            if s.where.startswith("env ")
        }
        assert env == SUBSTITUTED_ENV[local.name], local.substitutions
        assert local.env.keys() == local.pod_env.keys()


@pytest.mark.kube
@pytest.mark.mlflow
@pytest.mark.prometheus
@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_every_pod_runs_as_rendered_and_is_probed_and_scraped(
    kube: Kube, mlflow_uri: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        _run_every_pod(kube, mlflow_uri, tmp_path, stack)


def _run_every_pod(
    kube: Kube, mlflow_uri: str, tmp_path: Path, wiring: ExitStack
) -> None:
    require_tool("prometheus")
    started = time.monotonic()

    def phase(what: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {what}")

    suffix = uuid.uuid4().hex[:6]
    namespace, model = f"pod-wiring-{suffix}", f"wiring-{suffix}"
    token, feedback_key = secrets.token_hex(8), secrets.token_hex(16)
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(_values(namespace, model, mlflow_uri)))
    wiring.enter_context(kube.namespace(namespace))
    api = wiring.enter_context(kube.api())
    for secret in _secrets(namespace, token, feedback_key):
        api.call("POST", f"/api/v1/namespaces/{namespace}/secrets", secret)
    kube.install(namespace, SCENARIO, values)
    rendered = kube.manifest(namespace)
    phase("installed")
    lookup = _lookup(api, namespace)
    pods, logs = tmp_path / "pods", tmp_path / "logs"
    running: list[podwiring.PodProcess] = []

    @wiring.callback
    def _stop() -> None:
        for server in running:
            server.process.stop()

    # What a kubelet would be given: KServe's Deployments and Services, the
    # chart's router Deployment, the Pod the Job controller made.
    def deployment(name: str) -> JsonDict | None:
        return api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")

    serving = [
        podwiring.local_container(
            podwiring.pod_template(
                eventually(
                    f"KServe's Deployment {isvc}-predictor",
                    lambda isvc=isvc: deployment(f"{isvc}-predictor"),
                )
            ),
            pods,
            lookup=lookup,
        )
        for isvc in ISVCS
    ]

    def services() -> list[JsonDict] | None:
        found = api.call("GET", f"/api/v1/namespaces/{namespace}/services")["items"]
        return found if len(found) == len(ISVCS) + 1 else None  # + the router's

    all_services = eventually("KServe's predictor Services", services)
    router_deployment = deployment(f"{RELEASE}-router")
    assert router_deployment is not None
    router = podwiring.local_container(
        podwiring.pod_template(router_deployment),
        pods,
        lookup=lookup,
        hosts=podwiring.service_hosts(all_services, serving),
    )
    job = _one(rendered, "Job")
    cron_job = _one(rendered, "CronJob")
    # The CronJob runs the Job's pod template: running one runs both.
    assert podwiring.pod_template(cron_job)["spec"] == job["spec"]["template"]["spec"]
    job_name = job["metadata"]["name"]
    pod = eventually(
        f"the Job controller to create {job_name}'s Pod",
        lambda: next(
            iter(
                api.call(
                    "GET",
                    f"/api/v1/namespaces/{namespace}/pods",
                    params={
                        "labelSelector": f"batch.kubernetes.io/job-name={job_name}"
                    },
                )["items"]
            ),
            None,
        ),
    )
    trainer = podwiring.local_container(pod, pods, lookup=lookup)
    phase("pod specs read")
    _substitutions([*serving, router, trainer])
    service_subs = [s for s in router.substitutions if s.kind == "service"]
    assert [s.pod for s in service_subs] == [
        f"http://{isvc}-predictor.{namespace}.svc" for isvc in ISVCS
    ]
    for local in (*serving, trainer):
        assert "service" not in {s.kind for s in local.substitutions}
    # The real MLflow is the chart's value: no substitution needed.
    assert trainer.env["MLFLOW_TRACKING_URI"] == mlflow_uri
    assert {s.env["MLFLOW_TRACKING_URI"] for s in serving} == {mlflow_uri}
    # The serving env's secretKeyRef, resolved from the Secret.
    assert {s.env["SHIPLANE_SERVING_FEEDBACK_SECRET"] for s in serving} == {
        feedback_key
    }

    # A real Prometheus from the rendered monitors, up before the targets are.
    monitors = [o for o in rendered if o["kind"] in ("PodMonitor", "ServiceMonitor")]
    assert sorted(m["kind"] for m in monitors) == ["PodMonitor", "ServiceMonitor"]
    configs = podwiring.scrape_configs(monitors, [*serving, router], all_services)
    prometheus = podwiring.prometheus(tmp_path / "prometheus", configs).start()
    wiring.callback(prometheus.stop)

    # The trainer, to its end, while the router and Prometheus start.
    router_process = podwiring.start(router, logs)
    running.append(router_process)
    code, output = podwiring.run_to_completion(trainer, logs, timeout_s=150)
    phase("trained")
    print(output)
    assert code == 0, output
    assert f"model:    {model} v1 " in output, output
    assert registry_client(mlflow_uri).get_registered_model(model).aliases == {
        "champion": "1"
    }

    # Both model servers, from KServe's Deployments, serving what they name.
    servers = [podwiring.start(local, logs) for local in serving]
    running.extend(servers)
    for server in [*servers, router_process]:
        podwiring.wait_ready(server, timeout_s=120)
    phase("servers and router ready")
    for isvc, server in zip(ISVCS, servers, strict=True):
        assert server.model_uri == f"models:/{model}/1"
        reply = httpx.get(f"{server.url}/v2/models/{isvc}", timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.json()["versions"] == ["1"], reply.text

    # The router reaches each through its Service's name and port...
    for isvc in ISVCS:
        reply = httpx.get(
            f"{router.url}/v2/models/{isvc}",
            headers={"x-shiplane-variant": isvc[-1]},
            timeout=10,
        )
        assert reply.status_code == 200, f"{isvc} through the router: {reply.text}"
        assert reply.headers["x-shiplane-variant"] == isvc[-1]
    # ...and its admin API reads the token from the mounted Secret.
    bearer = {"authorization": f"Bearer {token}"}
    assert httpx.get(f"{router.url}/admin/weights", timeout=10).status_code == 401
    reply = httpx.get(f"{router.url}/admin/weights", headers=bearer, timeout=10)
    assert reply.status_code == 200, reply.text

    # Every rendered probe answers, on the port it names.
    probed = [
        (c.name, k)
        for c in (*serving, router, trainer)
        for k in podwiring.PROBES
        if k in c.spec
    ]
    assert ("kserve-container", "readinessProbe") in probed
    assert {("router", "readinessProbe"), ("router", "livenessProbe")} <= set(probed)
    assert podwiring.probe_failures([*serving, router, trainer]) == []
    phase("probed")

    # Every target of the rendered monitors is up, labelled as they say.
    prometheus.wait_ready(lambda: http_ok(f"{prometheus.url}/-/ready"), 60)
    targets = podwiring.wait_targets_up(prometheus.url, expected=3)
    by_job: dict[str, list[JsonDict]] = {}
    for target in targets:
        by_job.setdefault(target["labels"]["job"], []).append(target["labels"])
    pod_job = f"podMonitor/{namespace}/{RELEASE}-serving/0"
    service_job = f"serviceMonitor/{namespace}/{RELEASE}-router/0"
    assert sorted(by_job) == [pod_job, service_job], by_job
    assert sorted(t["inferenceservice"] for t in by_job[pod_job]) == list(ISVCS)
    assert {t["kserve_component"] for t in by_job[pod_job]} == {"predictor"}
    up = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": "up"}, timeout=5)
    assert sorted(r["value"][1] for r in up.json()["data"]["result"]) == ["1"] * 3
    phase("scraped")


# --- the checks fail, naming what is wrong -----------------------------------


@pytest.fixture(scope="module")
def templated(tmp_path_factory: pytest.TempPathFactory) -> list[JsonDict]:
    """The same install, rendered by ``helm template`` (no cluster)."""
    require_tool("helm")
    values = tmp_path_factory.mktemp("templated") / "values.yaml"
    values.write_text(yaml.safe_dump(_values("wiring", "wiring", "http://mlflow:5000")))
    text = run(
        [
            "helm",
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            "wiring",
            "-f",
            str(SCENARIO),
            "-f",
            str(values),
        ]
    ).stdout
    objects = [o for o in yaml.safe_load_all(text) if o]
    return [*objects, *_secrets("wiring", "token", "key")]


def _rendered_lookup(objects: list[JsonDict]) -> podwiring.Lookup:
    def lookup(kind: str, name: str) -> JsonDict | None:
        found = [
            o for o in objects if (o["kind"], o["metadata"]["name"]) == (kind, name)
        ]
        if found and kind == "Secret":  # as the API server returns it
            data = found[0]["stringData"].items()
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data}
            return {"kind": kind, "data": encoded}
        return found[0] if found else None

    return lookup


def _router_pod(objects: list[JsonDict]) -> JsonDict:
    deployment = _one(objects, "Deployment", f"{RELEASE}-router")
    return copy.deepcopy(podwiring.pod_template(deployment))


@pytest.mark.helm
def test_the_rendered_commands_are_their_images_entrypoints(
    templated: list[JsonDict],
) -> None:
    """IMAGES reads each image's ENTRYPOINT from its Dockerfile; the chart's
    commands for those images are the same program, which PROGRAMS knows."""
    commands = {}
    for obj in templated:
        if obj["kind"] in ("Deployment", "Job", "CronJob"):
            for container in podwiring.pod_template(obj)["spec"]["containers"]:
                commands[container["image"]] = container["command"]
    for obj in templated:
        if obj["kind"] == "ServingRuntime":
            [container] = obj["spec"]["containers"]
            commands[container["image"]] = container["command"]
    assert len(commands) == 3, commands
    for ref, command in commands.items():
        entrypoint = podwiring.image(ref).entrypoint
        assert tuple(command) == entrypoint, (ref, podwiring.image(ref).target)
        assert entrypoint[2] in podwiring.PROGRAMS


@pytest.mark.helm
def test_a_probe_path_the_program_does_not_serve_fails_naming_it(
    templated: list[JsonDict], tmp_path: Path
) -> None:
    pod = _router_pod(templated)
    [container] = pod["spec"]["containers"]
    container["livenessProbe"]["httpGet"]["path"] = "/healthz-typo"
    local = podwiring.local_container(pod, tmp_path, lookup=_rendered_lookup(templated))
    server = podwiring.start(local, tmp_path / "logs")
    try:
        podwiring.wait_ready(server, timeout_s=60)  # the readiness probe is right
        [failure] = podwiring.probe_failures([local])
    finally:
        server.process.stop()
    assert failure.startswith("container router: livenessProbe GET /healthz-typo")
    assert "on port http" in failure and "HTTP 404" in failure


@pytest.mark.helm
def test_a_declared_port_the_program_does_not_listen_on_fails(
    templated: list[JsonDict], tmp_path: Path
) -> None:
    pod = _router_pod(templated)
    [container] = pod["spec"]["containers"]
    container["args"][container["args"].index("--port") + 1] = "9090"
    with pytest.raises(podwiring.WiringError) as failure:
        podwiring.local_container(pod, tmp_path, lookup=_rendered_lookup(templated))
    assert str(failure.value) == (
        "container router: declares port http (8080) but shiplane.router listens "
        "on {'port': '9090'}"
    )


@pytest.mark.helm
def test_an_env_name_the_program_does_not_read_fails(
    templated: list[JsonDict], tmp_path: Path
) -> None:
    pod = _router_pod(templated)
    [container] = pod["spec"]["containers"]
    for entry in container["env"]:
        if entry["name"] == "SHIPLANE_ROUTER_ADMIN_TOKEN_FILE":
            entry["name"] = "SHIPLANE_ROUTER_ADMIN_TOKEN_PATH"
    with pytest.raises(
        podwiring.WiringError,
        match=(
            "container router: env SHIPLANE_ROUTER_ADMIN_TOKEN_PATH is not a setting "
            "of shiplane.router"
        ),
    ):
        podwiring.local_container(pod, tmp_path, lookup=_rendered_lookup(templated))


@pytest.mark.helm
def test_a_secret_that_is_not_there_fails_naming_it(
    templated: list[JsonDict], tmp_path: Path
) -> None:
    without = [o for o in templated if o["kind"] != "Secret"]
    with pytest.raises(
        podwiring.WiringError,
        match=(
            f"container router: volume admin-token: Secret '{ROUTER_TOKEN_SECRET}' "
            "not found"
        ),
    ):
        podwiring.local_container(
            _router_pod(templated), tmp_path, lookup=_rendered_lookup(without)
        )


@pytest.mark.helm
def test_a_monitor_port_name_no_container_has_fails(
    templated: list[JsonDict], tmp_path: Path
) -> None:
    """KServe's merge of the runtime and the predictor (as the journey uses
    it), scraped by a PodMonitor naming the wrong port."""
    runtime = _one(templated, "ServingRuntime")
    isvc = _one(templated, "InferenceService", "bc-a")
    local = podwiring.local_container(
        podwiring.kserve_pod(runtime, isvc["spec"]["predictor"], "bc-a-predictor"),
        tmp_path,
        lookup=_rendered_lookup(templated),
    )
    monitor = copy.deepcopy(_one(templated, "PodMonitor"))
    assert podwiring.scrape_configs([monitor], [local])[0]["metrics_path"] == "/metrics"
    monitor["spec"]["podMetricsEndpoints"][0]["port"] = "http"
    with pytest.raises(
        podwiring.WiringError,
        match=(
            r"PodMonitor shiplane-serving endpoint 0 \(port 'http', path /metrics\) "
            "reaches no container"
        ),
    ):
        podwiring.scrape_configs([monitor], [local])
