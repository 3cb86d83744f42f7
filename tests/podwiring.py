"""Run a rendered pod spec as a local process: the seam between the chart (or
the objects KServe made of it, or an InferenceService the CLI patched) and the
programs it configures.

There is no kubelet here, so each container is started as a process with
exactly what the pod gives it:

- argv: the container's ``command``/``args``, or its image's ENTRYPOINT/CMD
  (Kubernetes' rules), with ``$(VAR)`` references expanded;
- env: the image's ENV, then the container's ``envFrom`` and ``env`` (``value``,
  ``valueFrom`` a Secret or ConfigMap key, ``fieldRef`` to the pod's name or
  namespace); a reference that cannot be resolved fails, naming it;
- files: each ``volumeMount`` of an ``emptyDir``, ``configMap`` or ``secret``
  volume, written from the objects (``items``, modes, ``subPath``);
- cwd: the image's WORKDIR.

What a pod gets from its surroundings (its network namespace, its root
filesystem, cluster DNS) cannot be had on a laptop. Every such change goes
through :class:`Substitution`, one of :data:`SUBSTITUTIONS`, and is recorded on
the :class:`LocalContainer`, so a test can print (and bound) what it changed
and thereby prove that everything else is the pod spec unchanged. Nothing else
is rewritten. In particular the process does not inherit this test's
environment: only the pod's env (and the substitutions) reach it.

The programs' own settings say how a port or the bind address is set
(:data:`PROGRAMS`): the container's declared ``containerPort`` must be the one
its program listens on (from its flag, else its env, else its default), and any
``SHIPLANE_*`` variable the pod sets must be a setting the program reads;
either mismatch is a :class:`WiringError` before anything starts.
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from pydantic_settings import BaseSettings

from shiplane.router.settings import RouterSettings
from shiplane_contracts.identity import MODEL_URI_ENV
from shiplane_serving.settings import ServingSettings
from shiplane_tools import localstack
from shiplane_training.settings import TrainingSettings
from tests import dockerfile

JsonDict = dict[str, Any]
Lookup = Callable[[str, str], JsonDict | None]
"""``(kind, name) -> object | None``: the Secrets and ConfigMaps a pod refers
to, as the API server (or the rendered manifest) has them."""

LOOPBACK = localstack.LOOPBACK


class WiringError(AssertionError):
    """The pod spec and the program it runs disagree, or the spec needs
    something this helper cannot provide; the message names the container."""


# --- substitutions -----------------------------------------------------------

SUBSTITUTIONS: dict[str, str] = {
    "interpreter": "argv[0] found on the image's PATH (/opt/venv/bin, the "
    "workspace's venv) runs from this venv's bin (same packages)",
    "PATH": "the image's PATH names /opt/venv/bin: this venv's bin instead",
    "port": "each port the program listens on (declared containerPort or not) "
    "becomes a free loopback port, set through the same flag/env",
    "bind-host": "the wildcard bind address (0.0.0.0) becomes 127.0.0.1",
    "mount": "a path under a volumeMount's mountPath becomes the local "
    "directory holding that volume",
    "workdir": "the image's WORKDIR (read-only with readOnlyRootFilesystem) "
    "becomes an empty local directory",
    "service": "a Service's cluster DNS name and port (in env, args or a "
    "mounted file) becomes the loopback port of the process it selects",
}
"""Every kind of change made to a pod spec to run it here, and why."""


@dataclass(frozen=True)
class Substitution:
    kind: str
    """A key of :data:`SUBSTITUTIONS`."""
    where: str
    """``env NAME``, ``args[i]``, ``command[0]``, ``file PATH``, ``cwd``."""
    pod: str
    local: str

    def __str__(self) -> str:
        return f"{self.kind:<11} {self.where}: {self.pod!r} -> {self.local!r}"


# --- images: what a container gets from its image ----------------------------

IMAGES: dict[str, str] = {
    # The one table from images to local programs: repository (under
    # image.registry, any tag) -> the Dockerfile target that builds it (see
    # `make images`). The target's ENTRYPOINT, CMD, ENV and WORKDIR, with those
    # it inherits, are read from the file itself, so a container without
    # `command` runs what the image would run.
    "shiplane/shiplane-serving": "serving",  # python -m shiplane_serving
    "shiplane/shiplane-router": "router",  # python -m shiplane.router
    "shiplane/shiplane-training": "training",  # python -m shiplane_training
}
IMAGE_BIN = "/opt/venv/bin"
"""Where every image's venv is (first on its PATH)."""
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The base image's PATH (python:3.11-slim), which the images' ``$PATH`` extends."""


@dataclass(frozen=True)
class Image:
    target: str  # of the repository's Dockerfile
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    workdir: str


def _repository(ref: str) -> str:
    """``ghcr.io/shiplane/shiplane-serving:0.1.0`` -> ``shiplane/shiplane-serving``."""
    ref = ref.split("@", 1)[0]
    head, _, tail = ref.rpartition("/")
    ref = f"{head}/{tail.split(':', 1)[0]}" if head else tail.split(":", 1)[0]
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return ref


@cache
def image(ref: str) -> Image:
    """The Dockerfile target that builds ``ref`` (see :data:`IMAGES`)."""
    repository = _repository(ref)
    if repository not in IMAGES:
        raise WiringError(
            f"image {ref}: no Dockerfile target for {repository} (IMAGES)"
        )
    target = IMAGES[repository]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = {}
    workdir = "/"
    for step in dockerfile.resolved(target):
        if step.keyword == "ENV":
            env.update(step.env())
        elif step.keyword == "WORKDIR":
            workdir = step.rest
        elif step.keyword == "ENTRYPOINT":
            entrypoint, cmd = step.exec_form(), ()  # a new ENTRYPOINT resets CMD
        elif step.keyword == "CMD":
            cmd = step.exec_form()
    return Image(target, entrypoint, cmd, tuple(env.items()), workdir)


# --- programs: how a port and the bind address are set -----------------------


@dataclass(frozen=True)
class Program:
    """A program's settings class: its flags are ``--field-name``, its env
    ``PREFIX + FIELD_NAME``, its defaults the fields' defaults."""

    module: str
    settings: type[BaseSettings]
    listens: tuple[str, ...]
    """Fields holding a TCP port it listens on (0 disables one)."""
    host: str | None
    """Field holding the bind address."""

    @property
    def env_prefix(self) -> str:
        return str(self.settings.model_config.get("env_prefix", ""))

    def env_name(self, name: str) -> str:
        return self.env_prefix + name.upper()

    @staticmethod
    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")


PROGRAMS: dict[str, Program] = {
    p.module: p
    for p in (
        Program(
            "shiplane_serving", ServingSettings, ("http_port", "grpc_port"), "host"
        ),
        Program("shiplane.router", RouterSettings, ("port",), "host"),
        Program("shiplane_training", TrainingSettings, (), None),
    )
}
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")


@dataclass(frozen=True)
class _Effective:
    value: str
    source: str
    """``flag`` (``index`` in args), ``env`` or ``default``."""
    index: int = -1


def _effective(
    program: Program, name: str, args: Sequence[str], env: Mapping[str, str]
) -> _Effective:
    """A setting's value as the program would read it: the last flag wins, then
    the env (case-insensitive, as pydantic-settings reads it), then the default."""
    flag = program.flag(name)
    found: _Effective | None = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            found = _Effective(args[i + 1], "flag", i + 1)
        elif arg.startswith(flag + "="):
            found = _Effective(arg.split("=", 1)[1], "flag", i)
    if found is not None:
        return found
    wanted = program.env_name(name).upper()
    for key, value in env.items():
        if key.upper() == wanted:
            return _Effective(value, "env")
    return _Effective(str(program.settings.model_fields[name].default), "default")


# --- the container, as a local process --------------------------------------

_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_URL = re.compile(r"\b(https?)://([A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d+))?")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (``$$`` escapes; unknown refs stay)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(one, text)


@dataclass
class LocalContainer:
    """One container of a pod spec, ready to run here."""

    pod: str
    name: str
    namespace: str
    labels: dict[str, str]
    spec: JsonDict
    program: Program | None
    argv: list[str]
    env: dict[str, str]
    """What the process gets: :attr:`pod_env` after the substitutions."""
    pod_env: dict[str, str]
    """What the container gets in its pod: image ENV, then envFrom and env."""
    cwd: Path
    ports: dict[str, int]
    """Declared port name -> local port."""
    container_ports: dict[int, int]
    """In-pod port (declared or not) -> local port."""
    substitutions: list[Substitution] = field(default_factory=list)

    def has_port(self, port: int | str) -> bool:
        """Whether ``port`` (a name, or a number it listens on) is this one's."""
        if _named(port):
            return port in self.ports
        return int(port) in self.container_ports

    def local_port(self, port: int | str, what: str) -> int:
        """The local port of a probe's or monitor's ``port`` (name or number)."""
        if _named(port):
            if port not in self.ports:
                raise WiringError(
                    f"container {self.name}: {what} names port {port!r}, but the "
                    f"container's ports are {sorted(self.ports)}"
                )
            return self.ports[port]
        number = int(port)
        if number not in self.container_ports:
            raise WiringError(
                f"container {self.name}: {what} uses port {number}, but "
                f"{self.argv[2:3] or self.argv[:1]} listens on "
                f"{sorted(self.container_ports)} only"
            )
        return self.container_ports[number]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the first declared port."""
        for entry in self.spec.get("ports") or []:
            local = self.container_ports[int(entry["containerPort"])]
            return f"http://{LOOPBACK}:{local}"
        return ""


def pod_template(obj: JsonDict) -> JsonDict:
    """The pod (``metadata`` and ``spec``) of a Pod, Deployment, Job or CronJob."""
    kind, owner = obj.get("kind"), obj.get("metadata") or {}
    if kind == "Pod":
        return obj
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        template = dict(obj["spec"]["template"])
    elif kind == "CronJob":
        template = dict(obj["spec"]["jobTemplate"]["spec"]["template"])
    else:
        raise WiringError(f"{kind} {owner.get('name')}: not a pod owner")
    # Its pods are named after it and live in its namespace.
    template["metadata"] = {
        "name": owner.get("name", ""),
        "namespace": owner.get("namespace", ""),
        **(template.get("metadata") or {}),
    }
    return template


def _decoded(obj: JsonDict) -> dict[str, bytes]:
    """A Secret's or ConfigMap's keys and their bytes."""
    out: dict[str, bytes] = {}
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("data") or {}).items():
            out[key] = base64.b64decode(value)
        for key, value in (obj.get("stringData") or {}).items():
            out[key] = str(value).encode()
    else:
        for key, value in (obj.get("data") or {}).items():
            out[key] = str(value).encode()
        for key, value in (obj.get("binaryData") or {}).items():
            out[key] = base64.b64decode(value)
    return out


class _Builder:
    """Builds a :class:`LocalContainer`; one per container."""

    def __init__(
        self,
        pod: JsonDict,
        container: JsonDict,
        root: Path,
        lookup: Lookup | None,
        hosts: Mapping[str, str],
    ) -> None:
        self.meta = pod.get("metadata") or {}
        self.pod_spec = pod["spec"]
        self.container = container
        self.name = str(container["name"])
        self.root = root
        self.lookup = lookup
        self.hosts = hosts
        self.subs: list[Substitution] = []

    def fail(self, message: str) -> WiringError:
        return WiringError(f"container {self.name}: {message}")

    def sub(self, kind: str, where: str, pod: str, local: str) -> str:
        assert kind in SUBSTITUTIONS, kind
        self.subs.append(Substitution(kind, where, pod, local))
        return local

    def ref(self, kind: str, name: str) -> dict[str, bytes] | None:
        obj = self.lookup(kind, name) if self.lookup else None
        return None if obj is None else _decoded(obj)

    # env -------------------------------------------------------------------
    def env(self, img: Image) -> dict[str, str]:
        env = dict(img.env)
        declared: dict[str, str] = {}
        for source in self.container.get("envFrom") or []:
            prefix = str(source.get("prefix", ""))
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key not in source:
                    continue
                ref = source[key]
                data = self.ref(kind, ref["name"])
                if data is None:
                    if ref.get("optional"):
                        continue
                    raise self.fail(f"envFrom {kind} {ref['name']!r} not found")
                for k, v in data.items():
                    declared[prefix + k] = v.decode()
        for entry in self.container.get("env") or []:
            name = str(entry["name"])
            if "valueFrom" in entry:
                value = self.value_from(name, entry["valueFrom"])
                if value is None:
                    continue
            else:
                value = _expand(str(entry.get("value", "")), declared)
            declared[name] = value
        env.update(declared)
        return env

    def value_from(self, name: str, source: JsonDict) -> str | None:
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            if key in source:
                ref = source[key]
                data = self.ref(kind, ref["name"])
                if data is None or ref["key"] not in data:
                    if ref.get("optional"):
                        return None
                    missing = (
                        "not found" if data is None else f"has no key {ref['key']!r}"
                    )
                    raise self.fail(f"env {name}: {kind} {ref['name']!r} {missing}")
                return data[ref["key"]].decode()
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            fields = {
                "metadata.name": self.meta.get("name", ""),
                "metadata.namespace": self.meta.get("namespace", ""),
            }
            if path not in fields:
                raise self.fail(f"env {name}: fieldRef {path} is not resolved here")
            return str(fields[path])
        raise self.fail(f"env {name}: valueFrom {sorted(source)} is not resolved here")

    # volumes ---------------------------------------------------------------
    def mounts(self) -> list[tuple[str, Path]]:
        """``(mountPath, local path)``, longest mountPath first."""
        volumes = {v["name"]: v for v in self.pod_spec.get("volumes") or []}
        out = []
        for mount in self.container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                raise self.fail(f"volumeMount {mount['name']!r} names no pod volume")
            local = self.volume(volume)
            if mount.get("subPath"):
                local = local / str(mount["subPath"])
            out.append((str(mount["mountPath"]).rstrip("/") or "/", local))
        return sorted(out, key=lambda m: len(m[0]), reverse=True)

    def volume(self, volume: JsonDict) -> Path:
        local = self.root / "volumes" / str(volume["name"])
        if local.exists():  # shared by the pod's containers
            return local
        if "emptyDir" in volume:
            local.mkdir(parents=True)
            return local
        for kind, key, name_key in (
            ("ConfigMap", "configMap", "name"),
            ("Secret", "secret", "secretName"),
        ):
            if key not in volume:
                continue
            source = volume[key]
            data = self.ref(kind, source[name_key])
            local.mkdir(parents=True)
            if data is None:
                if source.get("optional"):
                    return local
                raise self.fail(
                    f"volume {volume['name']}: {kind} {source[name_key]!r} not found"
                )
            default_mode = int(source.get("defaultMode", 0o644))
            items = source.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                if item["key"] not in data:
                    if source.get("optional"):
                        continue
                    raise self.fail(
                        f"volume {volume['name']}: {kind} {source[name_key]!r} has "
                        f"no key {item['key']!r}"
                    )
                path = local / str(item["path"])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(self.file_hosts(data[item["key"]], item["path"]))
                path.chmod(int(item.get("mode", default_mode)) & 0o777 | stat.S_IRUSR)
            return local
        raise self.fail(
            f"volume {volume['name']}: only emptyDir, configMap and secret "
            f"volumes run here, not {sorted(k for k in volume if k != 'name')}"
        )

    def file_hosts(self, content: bytes, path: str) -> bytes:
        try:
            text = content.decode()
        except UnicodeDecodeError:
            return content
        return self.rewrite_hosts(text, f"file {path}").encode()

    def rewrite_hosts(self, text: str, where: str) -> str:
        def one(match: re.Match[str]) -> str:
            scheme, host, port = match.groups()
            key = f"{host}:{port or (443 if scheme == 'https' else 80)}"
            if key not in self.hosts:
                return match.group(0)
            return self.sub(
                "service", where, match.group(0), f"{scheme}://{self.hosts[key]}"
            )

        return _URL.sub(one, text)

    def remap_path(self, value: str, where: str, mounts: list[tuple[str, Path]]) -> str:
        prefix, sep, path = (
            value.rpartition("=") if value.startswith("-") else ("", "", value)
        )
        if not path.startswith("/"):
            return value
        for mount_path, local in mounts:
            if path == mount_path or path.startswith(mount_path.rstrip("/") + "/"):
                rest = path[len(mount_path) :].lstrip("/")
                new = str(local / rest) if rest else str(local)
                return prefix + sep + self.sub("mount", where, path, new)
        return value

    # argv ------------------------------------------------------------------
    def argv(self, img: Image, env: Mapping[str, str]) -> list[str]:
        if self.container.get("command"):
            command = list(self.container["command"])
            args = list(self.container.get("args") or [])
        else:
            command = list(img.entrypoint)
            args = list(self.container.get("args") or img.cmd)
        argv = [_expand(str(a), env) for a in [*command, *args]]
        if not argv:
            raise self.fail("neither the container nor its image has a command")
        return argv

    def interpreter(self, argv0: str) -> str:
        local_bin = Path(sys.executable).parent
        if argv0.startswith("/"):
            if not argv0.startswith(IMAGE_BIN + "/"):
                raise self.fail(f"command {argv0} is outside the image's {IMAGE_BIN}")
            argv0 = argv0.removeprefix(IMAGE_BIN + "/")
        if argv0 in ("python", "python3"):
            found: str | None = sys.executable
        else:
            found = shutil.which(argv0, path=str(local_bin))
        if found is None:
            raise self.fail(f"command {argv0!r} is not in the image's {IMAGE_BIN}")
        return self.sub("interpreter", "command[0]", argv0, found)


def _program(argv: Sequence[str]) -> Program | None:
    if len(argv) >= 3 and Path(argv[0]).name.startswith("python") and argv[1] == "-m":
        return PROGRAMS.get(argv[2])
    return None


def local_container(
    pod: JsonDict,
    workdir: Path,
    *,
    container: str | None = None,
    lookup: Lookup | None = None,
    hosts: Mapping[str, str] | None = None,
    name: str | None = None,
) -> LocalContainer:
    """The container ``container`` (default: the only one) of ``pod`` (a Pod, or
    a pod template: ``metadata`` and ``spec``), ready to run under ``workdir``.

    Args:
        pod: the pod; :func:`pod_template` gets one from its owner.
        workdir: where its volumes and stand-in directories go.
        container: which container.
        lookup: the Secrets and ConfigMaps its env and volumes refer to.
        hosts: ``"service-dns-name:port" -> "127.0.0.1:port"`` (see
            :func:`service_hosts`), applied to env, args and mounted files.
        name: the pod's name here (default ``metadata.name``).

    Raises:
        WiringError: a reference that does not resolve, a declared port the
            program does not listen on, a bind address unreachable from outside
            the pod, or a ``SHIPLANE_*`` variable the program does not read.
    """
    meta = pod.get("metadata") or {}
    containers = pod["spec"]["containers"]
    if container is None:
        if len(containers) != 1:
            raise WiringError(f"pod {meta.get('name')}: name one of {len(containers)}")
        [spec] = containers
    else:
        [spec] = [c for c in containers if c["name"] == container]
    pod_name = name or str(meta.get("name") or spec["name"])
    build = _Builder(pod, spec, workdir / pod_name, lookup, hosts or {})
    img = image(str(spec["image"]))
    pod_env = build.env(img)
    argv = build.argv(
        img,
        {
            e["name"]: pod_env[e["name"]]
            for e in spec.get("env") or []
            if e["name"] in pod_env
        },
    )
    program = _program(argv)
    mounts = build.mounts()
    env = dict(pod_env)
    argv[0] = build.interpreter(argv[0])
    if "PATH" in env:
        local_path = (
            env["PATH"]
            .replace("$PATH", BASE_PATH)
            .replace(IMAGE_BIN, str(Path(sys.executable).parent))
        )
        env["PATH"] = build.sub("PATH", "env PATH", env["PATH"], local_path)
    declared = {
        int(p["containerPort"]): str(p.get("name", "")) for p in spec.get("ports") or []
    }
    container_ports: dict[int, int] = {}
    args = argv[1:]

    def setting(field_name: str, new: str, kind: str) -> None:
        assert program is not None
        current = _effective(program, field_name, args, env)
        if current.source == "flag":
            where = f"args[{current.index}]"
            old = args[current.index]
            args[current.index] = (
                f"{program.flag(field_name)}={new}" if old.startswith("--") else new
            )
            build.sub(kind, where, old, args[current.index])
        else:
            key = program.env_name(field_name)
            env[key] = build.sub(kind, f"env {key}", env.get(key, current.value), new)

    if program is None:
        if declared:
            raise build.fail(
                f"declares ports {sorted(declared)} but runs {argv[:3]}, whose "
                "settings are not known (PROGRAMS)"
            )
    else:
        known = {program.env_name(f) for f in program.settings.model_fields}
        names = [*(n for n, _ in img.env), *(e["name"] for e in spec.get("env") or [])]
        for env_name in names:
            upper = env_name.upper()
            if program.env_prefix and upper.startswith(program.env_prefix):
                if upper not in known:
                    raise build.fail(
                        f"env {env_name} is not a setting of {program.module} "
                        f"({program.settings.__name__})"
                    )
        if program.host and declared:
            host = _effective(program, program.host, args, env)
            if host.value not in WILDCARD_HOSTS:
                raise build.fail(
                    f"{program.module} binds {host.value} ({host.source}): its "
                    f"ports {sorted(declared)} are unreachable from outside the pod"
                )
            setting(program.host, LOOPBACK, "bind-host")
        listens = {f: _effective(program, f, args, env).value for f in program.listens}
        for field_name, value in listens.items():
            if int(value):
                container_ports[int(value)] = localstack.free_port()
                setting(field_name, str(container_ports[int(value)]), "port")
        for number, port_name in declared.items():
            if number not in container_ports:
                raise build.fail(
                    f"declares port {port_name or '?'} ({number}) but "
                    f"{program.module} listens on {listens}"
                )
    argv[1:] = args
    for i in range(1, len(argv)):
        argv[i] = build.remap_path(argv[i], f"args[{i - 1}]", mounts)
        argv[i] = build.rewrite_hosts(argv[i], f"args[{i - 1}]")
    for key in [k for k in env if k != "PATH"]:
        env[key] = build.remap_path(env[key], f"env {key}", mounts)
        env[key] = build.rewrite_hosts(env[key], f"env {key}")
    cwd = Path(build.remap_path(img.workdir, "cwd", mounts))
    if str(cwd) == img.workdir:
        cwd = workdir / pod_name / "rootfs" / img.workdir.lstrip("/")
        cwd.mkdir(parents=True, exist_ok=True)
        if (spec.get("securityContext") or {}).get("readOnlyRootFilesystem"):
            cwd.chmod(0o555)
        build.sub("workdir", "cwd", img.workdir, str(cwd))
    return LocalContainer(
        pod=pod_name,
        name=build.name,
        namespace=str(meta.get("namespace", "")),
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        spec=spec,
        program=program,
        argv=argv,
        env=env,
        pod_env=pod_env,
        cwd=cwd,
        ports={n: container_ports[p] for p, n in declared.items() if n},
        container_ports=container_ports,
        substitutions=build.subs,
    )


# --- running it ---------------------------------------------------------------


@dataclass
class _PodProcess(localstack.ManagedProcess):
    """A ManagedProcess with only the pod's env (none of this test's) and the
    image's WORKDIR as cwd."""

    cwd: Path | None = None

    def start(self) -> _PodProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=self.cwd or self.workdir,
                start_new_session=True,
            )
        self.pid_path.write_text(str(self.proc.pid))
        return self


@dataclass(frozen=True)
class PodProcess:
    """A started container and what the test needs to reach it."""

    process: localstack.ManagedProcess
    url: str
    env: dict[str, str]
    """The env the container gets in its pod (before the substitutions)."""
    local: LocalContainer | None = None

    @property
    def model_uri(self) -> str:
        return self.env[MODEL_URI_ENV]

    @property
    def container(self) -> LocalContainer:
        assert self.local is not None
        return self.local


def start(
    local: LocalContainer,
    logdir: Path,
    *,
    name: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> PodProcess:
    """Start ``local`` (log ``logdir/NAME.log``); :func:`wait_ready` waits for it."""
    process = _PodProcess(
        name or f"{local.pod}-{local.name}",
        local.argv,
        logdir,
        env={**local.env, **(extra_env or {})},
        url=local.url,
        cwd=local.cwd,
    ).start()
    return PodProcess(process, local.url, local.pod_env, local)


PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def probe(
    local: LocalContainer, kind: str, timeout_s: float | None = None
) -> str | None:
    """Run the container's ``kind`` probe once as a kubelet would (against the
    local ports); None when it succeeds, else why not (naming container, probe,
    path). The probe's own timeoutSeconds, at least 5 s: timing is not what is
    proven here. A success is HTTP 200 (stricter than the kubelet's 2xx/3xx)."""
    spec = local.spec.get(kind)
    if not spec:
        return None
    timeout = timeout_s or max(float(spec.get("timeoutSeconds", 1)), 5.0)
    if "httpGet" in spec:
        get = spec["httpGet"]
        path = str(get.get("path", "/"))
        what = f"{kind} GET {path} on port {get['port']}"
        if get.get("host"):
            return f"container {local.name}: {what}: host {get['host']} is not run here"
        port = local.local_port(get["port"], what)
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
        url = f"{str(get.get('scheme', 'HTTP')).lower()}://{LOOPBACK}:{port}{path}"
        try:
            reply = httpx.get(url, headers=headers, timeout=timeout, verify=False)
        except httpx.HTTPError as exc:
            return f"container {local.name}: {what} ({url}): {exc!r}"
        if reply.status_code != 200:
            return (
                f"container {local.name}: {what} ({url}): HTTP "
                f"{reply.status_code} {reply.text[:200]!r}"
            )
        return None
    if "tcpSocket" in spec:
        what = f"{kind} tcpSocket port {spec['tcpSocket']['port']}"
        port = local.local_port(spec["tcpSocket"]["port"], what)
        try:
            socket.create_connection((LOOPBACK, port), timeout).close()
        except OSError as exc:
            return f"container {local.name}: {what}: {exc!r}"
        return None
    return f"container {local.name}: {kind} {sorted(spec)} is not run here"


def probe_failures(containers: Sequence[LocalContainer]) -> list[str]:
    """Every rendered probe of every container, once; what did not answer."""
    failures = []
    for local in containers:
        for kind in PROBES:
            failure = probe(local, kind)
            if failure:
                failures.append(failure)
    return failures


def wait_ready(server: PodProcess, timeout_s: float = 180) -> PodProcess:
    """Until the startup probe, then the readiness probe, succeed (or, with
    neither, the first port accepts connections); fails if the process exits."""
    local = server.container
    kinds = [k for k in ("startupProbe", "readinessProbe") if local.spec.get(k)]
    last: list[str | None] = [None]

    def ready() -> bool:
        for kind in kinds:
            last[0] = probe(local, kind, timeout_s=2)
            if last[0]:
                return False
        if not kinds and local.container_ports:
            port = next(iter(local.container_ports.values()))
            try:
                socket.create_connection((LOOPBACK, port), 1).close()
            except OSError:
                return False
        return True

    try:
        server.process.wait_ready(ready, timeout_s=timeout_s, poll_s=0.2)
    except localstack.StartError as exc:
        raise WiringError(f"{exc}\nlast probe: {last[0]}") from exc
    return server


def run_to_completion(
    local: LocalContainer, logdir: Path, *, timeout_s: float, name: str | None = None
) -> tuple[int, str]:
    """Run a Job's container to its end: ``(exit code, output)``."""
    server = start(local, logdir, name=name)
    process = server.process
    assert process.proc is not None
    try:
        code = process.proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.stop()
        raise WiringError(
            f"container {local.name} still running after {timeout_s:.0f}s:\n"
            f"{process.log_tail()}"
        ) from None
    return code, process.log_path.read_text(errors="replace")


# --- Services and monitors ----------------------------------------------------


def _named(port: int | str) -> bool:
    return isinstance(port, str) and not port.isdigit()


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str], what: str) -> bool:
    if "matchExpressions" in selector:
        raise WiringError(f"{what}: matchExpressions are not evaluated here")
    match = selector.get("matchLabels", selector)
    return all(labels.get(k) == v for k, v in match.items())


def _dns_names(service: JsonDict) -> list[str]:
    name, ns = service["metadata"]["name"], service["metadata"]["namespace"]
    return [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]


def _service_backends(
    service: JsonDict, port: JsonDict, containers: Sequence[LocalContainer]
) -> list[tuple[LocalContainer, int]]:
    """The processes a Service port reaches: its selector's pods, its
    targetPort (name or number, default the port) on them."""
    target: int | str = port["targetPort"] if "targetPort" in port else port["port"]
    meta, selector = service["metadata"], service["spec"].get("selector") or {}
    found = []
    for local in containers:
        if not selector or local.namespace != meta["namespace"]:
            continue
        if not _selects(selector, local.labels, f"Service {meta['name']}"):
            continue
        if local.has_port(target):
            found.append((local, local.local_port(target, "Service targetPort")))
    return found


def service_hosts(
    services: Sequence[JsonDict], containers: Sequence[LocalContainer]
) -> dict[str, str]:
    """``"name[.ns[.svc[.cluster.local]]]:port" -> "127.0.0.1:local"`` for each
    Service port that selects one of ``containers`` (the first, when several):
    how a process here reaches what the Service would reach in the cluster."""
    hosts = {}
    for service in services:
        for port in service["spec"].get("ports") or []:
            backends = _service_backends(service, port, containers)
            if backends:
                for dns in _dns_names(service):
                    hosts[f"{dns}:{port['port']}"] = f"{LOOPBACK}:{backends[0][1]}"
    return hosts


def _label_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _relabel(rules: Sequence[JsonDict]) -> list[JsonDict]:
    """prometheus-operator relabelings (camelCase) as Prometheus relabel_configs."""
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    out = []
    for rule in rules:
        converted = {keys.get(k, k): v for k, v in rule.items()}
        if "action" in converted:
            converted["action"] = str(converted["action"]).lower()
        out.append(converted)
    return out


Target = tuple[LocalContainer, int, dict[str, str]]


def _pod_targets(
    spec: JsonDict,
    port: int | str,
    namespaces: Sequence[str],
    containers: Sequence[LocalContainer],
    what: str,
) -> list[Target]:
    """A PodMonitor endpoint: the selected pods' containers with that port."""
    found: list[Target] = []
    for local in containers:
        if local.namespace not in namespaces:
            continue
        if not _selects(spec["selector"], local.labels, what):
            continue
        if local.has_port(port):
            found.append((local, local.local_port(port, what), {}))
    return found


def _service_targets(
    spec: JsonDict,
    port: int | str,
    namespaces: Sequence[str],
    containers: Sequence[LocalContainer],
    services: Sequence[JsonDict],
    what: str,
) -> list[Target]:
    """A ServiceMonitor endpoint: the selected Services' port of that name (or
    targetPort), then what that Service port reaches."""
    found = []
    for service in services:
        meta = service["metadata"]
        labels = meta.get("labels") or {}
        if meta.get("namespace") not in namespaces:
            continue
        if not _selects(spec["selector"], labels, what):
            continue
        for sport in service["spec"].get("ports") or []:
            if port not in (sport.get("name"), sport.get("targetPort")):
                continue
            extra = {
                "__meta_kubernetes_service_name": str(meta["name"]),
                "__meta_kubernetes_endpoint_port_name": str(sport.get("name", "")),
            }
            for key, value in labels.items():
                extra[f"__meta_kubernetes_service_label_{_label_name(key)}"] = value
            for local, local_port in _service_backends(service, sport, containers):
                found.append((local, local_port, extra))
    return found


def _sd_labels(local: LocalContainer, port: int | str) -> dict[str, str]:
    """The target labels prometheus-operator sets, and the Kubernetes service
    discovery labels a monitor's relabelings may read."""
    labels = {
        "namespace": local.namespace,
        "pod": local.pod,
        "container": local.name,
        "endpoint": str(port),
        "__meta_kubernetes_namespace": local.namespace,
        "__meta_kubernetes_pod_name": local.pod,
        "__meta_kubernetes_pod_container_name": local.name,
    }
    for key, value in local.labels.items():
        labels[f"__meta_kubernetes_pod_label_{_label_name(key)}"] = value
        labels[f"__meta_kubernetes_pod_labelpresent_{_label_name(key)}"] = "true"
    return labels


def scrape_configs(
    monitors: Sequence[JsonDict],
    containers: Sequence[LocalContainer],
    services: Sequence[JsonDict] = (),
    interval_s: float = 1.0,
) -> list[JsonDict]:
    """Prometheus scrape configs for PodMonitors and ServiceMonitors, as
    prometheus-operator would write them, with the targets resolved through the
    containers' named ports (and, for a ServiceMonitor, the Service's ports and
    selector): one job per endpoint (``podMonitor/NS/NAME/I``), the endpoint's
    path, scheme and relabelings, and the Kubernetes service discovery labels
    those read. The interval becomes ``interval_s`` (timing is not proven). An
    endpoint that reaches no container is a :class:`WiringError`."""
    configs = []
    for monitor in monitors:
        kind, meta, spec = monitor["kind"], monitor["metadata"], monitor["spec"]
        what = f"{kind} {meta['name']}"
        namespaces = (spec.get("namespaceSelector") or {}).get("matchNames") or [
            meta.get("namespace", "")
        ]
        pod_monitor = kind == "PodMonitor"
        endpoints = spec.get("podMetricsEndpoints" if pod_monitor else "endpoints")
        for i, endpoint in enumerate(endpoints or []):
            port = endpoint.get("port") or endpoint.get("targetPort")
            path = endpoint.get("path", "/metrics")
            if port is None:
                raise WiringError(f"{what} endpoint {i}: no port")
            if pod_monitor:
                targets = _pod_targets(spec, port, namespaces, containers, what)
            else:
                targets = _service_targets(
                    spec, port, namespaces, containers, services, what
                )
            if not targets:
                raise WiringError(
                    f"{what} endpoint {i} (port {port!r}, path {path}) reaches no "
                    f"container; containers: "
                    f"{[(c.pod, c.name, c.ports) for c in containers]}"
                )
            job = f"{kind[0].lower()}{kind[1:]}/{meta.get('namespace', '')}"
            configs.append(
                {
                    "job_name": f"{job}/{meta['name']}/{i}",
                    "scrape_interval": f"{interval_s:g}s",
                    "scrape_timeout": f"{interval_s:g}s",
                    "metrics_path": path,
                    "scheme": str(endpoint.get("scheme", "http")).lower(),
                    "static_configs": [
                        {
                            "targets": [f"{LOOPBACK}:{local_port}"],
                            "labels": {**_sd_labels(local, port), **extra},
                        }
                        for local, local_port, extra in targets
                    ],
                    "relabel_configs": _relabel(endpoint.get("relabelings") or []),
                }
            )
    return configs


def prometheus(
    workdir: Path, configs: Sequence[JsonDict], port: int | None = None
) -> localstack.ManagedProcess:
    """A real Prometheus (not started) with exactly ``configs``."""
    import yaml

    port = port or localstack.free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "prometheus.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": list(configs),
            },
            sort_keys=False,
        )
    )
    argv = [
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--storage.tsdb.retention.time=1d",
    ]
    return localstack.ManagedProcess(
        "prometheus", argv, workdir, url=f"http://{LOOPBACK}:{port}"
    )


def wait_targets_up(
    prometheus_url: str, expected: int, timeout_s: float = 30
) -> list[JsonDict]:
    """Until Prometheus has ``expected`` active targets, every one scraped and
    up; their records. Fails naming each target that is not, and its error."""
    deadline = time.monotonic() + timeout_s
    targets: list[JsonDict] = []
    while time.monotonic() < deadline:
        try:
            reply = httpx.get(f"{prometheus_url}/api/v1/targets", timeout=5)
            targets = list(reply.json()["data"]["activeTargets"])
        except (httpx.HTTPError, ValueError, KeyError):
            time.sleep(0.5)
            continue
        if len(targets) == expected and all(t["health"] == "up" for t in targets):
            return targets
        time.sleep(0.5)
    raise AssertionError(
        f"{len(targets)} targets (expected {expected}) not all up after "
        f"{timeout_s:.0f}s:\n"
        + "\n".join(
            f"  {t['labels'].get('job')} {t['scrapeUrl']} ({t['labels'].get('pod')}): "
            f"{t['health']} {t.get('lastError', '')}"
            for t in targets
        )
    )


# --- KServe: a ServingRuntime merged with a predictor -------------------------


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


_PREDICTOR_MODEL_KEYS = (
    "runtime",
    "modelFormat",
    "storageUri",
    "protocolVersion",
    "runtimeVersion",
    "storage",
)
_POD_KEYS = (
    "volumes",
    "securityContext",
    "serviceAccountName",
    "nodeSelector",
    "tolerations",
    "affinity",
    "imagePullSecrets",
    "automountServiceAccountToken",
)


def kserve_pod(runtime: JsonDict, predictor: JsonDict, name: str) -> JsonDict:
    """The pod KServe makes of a ServingRuntime and a predictor that names it:
    the runtime's container with the predictor's ``model`` fields over it (env
    by name, volumeMounts by mountPath, other keys replaced), the predictor's
    pod-level fields and labels. The Deployment KServe writes (Standard mode)
    is the same plus KServe's own labels and env (INFERENCE_SERVICE_NAME)."""
    assert predictor["model"]["runtime"] == runtime["metadata"]["name"]
    [base] = runtime["spec"]["containers"]
    container = dict(base)
    for key, value in predictor["model"].items():
        if key in _PREDICTOR_MODEL_KEYS:
            continue
        if key in ("env", "volumeMounts"):
            by = "name" if key == "env" else "mountPath"
            merged = {e[by]: e for e in base.get(key) or []}
            merged.update({e[by]: e for e in value})
            container[key] = list(merged.values())
        else:
            container[key] = value
    spec: JsonDict = {k: runtime["spec"][k] for k in _POD_KEYS if k in runtime["spec"]}
    spec.update({k: predictor[k] for k in _POD_KEYS if k in predictor})
    spec["containers"] = [container]
    metadata = {
        "name": name,
        "labels": dict(predictor.get("labels") or {}),
        "namespace": runtime["metadata"].get("namespace", ""),
    }
    return {"metadata": metadata, "spec": spec}


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
        name: process name (logs, pid file and the pod's files under ``workdir``).
        workdir: where logs, downloads and metrics files go.
        extra_env: env a pod would get from its surroundings (none by default).
    """
    local = local_container(kserve_pod(runtime, predictor, name), workdir)
    return wait_ready(start(local, workdir, name=name, extra_env=extra_env))


def predictors(isvc: JsonDict) -> dict[str, JsonDict]:
    """``{"stable": spec.predictor, "canary": spec.canary[0].predictor}`` (the
    canary only when there is one; Standard mode)."""
    found = {"stable": isvc["spec"]["predictor"]}
    for canary in isvc["spec"].get("canary") or []:
        found["canary"] = canary["predictor"]
    return found
