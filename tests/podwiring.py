"""Run a rendered pod spec as a local process: the seam between the chart (or an
InferenceService the CLI patched) and the programs it configures.

There is no kubelet here, so the container is started as a process with exactly
its command, args and env, merged the way KServe merges a ServingRuntime with a
predictor: the predictor's model container overrides the runtime container's
env by name. Only what a pod gets from its network namespace is rewritten:
ports become free loopback ports, the bind host becomes 127.0.0.1, and
``python`` is this interpreter (the image's python is the same package).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane import localstack
from shiplane.identity import MODEL_URI_ENV

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class PodProcess:
    """A started container and what the test needs to reach it."""

    process: localstack.ManagedProcess
    url: str
    env: dict[str, str]
    """The merged env the process got (before the loopback rewrites)."""

    @property
    def model_uri(self) -> str:
        return self.env[MODEL_URI_ENV]


def merged_env(
    runtime_container: JsonDict, model_container: JsonDict
) -> dict[str, str]:
    """Runtime env, then the predictor's model env over it, by name (KServe)."""
    env: dict[str, str] = {}
    for source in (runtime_container, model_container):
        for entry in source.get("env") or []:
            if "value" in entry:
                env[str(entry["name"])] = str(entry["value"])
    return env


def _rewrite_ports(args: list[str], ports: dict[str, int]) -> list[str]:
    out = []
    for arg in args:
        flag = arg.split("=", 1)[0]
        out.append(f"{flag}={ports[flag]}" if flag in ports else arg)
    return out


def start_predictor(
    runtime: JsonDict,
    predictor: JsonDict,
    name: str,
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
) -> PodProcess:
    """Start the serving container of ``predictor`` (an InferenceService's
    ``spec.predictor`` or ``spec.canary[].predictor``) on ``runtime`` (the
    ServingRuntime object) and wait until its rendered readiness probe answers.

    Args:
        runtime: the ServingRuntime object the predictor names.
        predictor: the predictor spec.
        name: process name (logs and pid file under ``workdir``).
        workdir: where logs, downloads and metrics files go.
        extra_env: env a pod would get from its surroundings (none by default).
    """
    assert predictor["model"]["runtime"] == runtime["metadata"]["name"]
    [container] = runtime["spec"]["containers"]
    env = merged_env(container, predictor["model"])
    http_port, grpc_port = localstack.free_port(), localstack.free_port()
    command = [sys.executable if c == "python" else c for c in container["command"]]
    args = _rewrite_ports(
        list(container.get("args") or []),
        {"--http-port": http_port, "--grpc-port": grpc_port},
    )
    local = workdir / name
    local.mkdir(parents=True, exist_ok=True)
    process_env = {
        **env,
        **(extra_env or {}),
        "SHIPLANE_SERVING_HOST": "127.0.0.1",
        # The pod's writable emptyDir at /tmp.
        "SHIPLANE_SERVING_DOWNLOAD_DIR": str(local / "models"),
        "SHIPLANE_SERVING_METRICS_DIR": str(local / "metrics"),
    }
    url = f"http://127.0.0.1:{http_port}"
    process = localstack.ManagedProcess(
        name, [*command, *args], workdir, env=process_env, url=url
    ).start()
    probe = container["readinessProbe"]["httpGet"]
    assert int(probe["port"]) == int(container["ports"][0]["containerPort"])
    process.wait_ready(
        lambda: localstack.http_ok(f"{url}{probe['path']}"), timeout_s=180
    )
    return PodProcess(process, url, env)


def predictors(isvc: JsonDict) -> dict[str, JsonDict]:
    """``{"stable": spec.predictor, "canary": spec.canary[0].predictor}`` (the
    canary only when there is one; Standard mode)."""
    found = {"stable": isvc["spec"]["predictor"]}
    for canary in isvc["spec"].get("canary") or []:
        found["canary"] = canary["predictor"]
    return found
