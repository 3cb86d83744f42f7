"""``make demo``: the whole Shiplane flow on this machine, nothing mocked.

A local MLflow server (SQLite) gets a champion (v1) and a challenger (v2).
Their aliases are resolved once, and each version is served by the real
serving runtime on its pinned ``models:/NAME/VERSION``: aliases are for people,
versions are for pods. The A/B router goes in front at 90/10, a bounded Locust
load with ground-truth feedback runs through it, a real Prometheus scrapes it
all, and ``shiplane analyze`` compares the two versions. On a pass,
``shiplane rollout --actuator router`` promotes the challenger behind the
router (``@champion`` moves, ``@previous`` is set); otherwise the demo rolls
back. Then a third training run moves ``@challenger``, both servers restart
from their pinned URIs and still serve what they were started on. The stack
keeps running afterwards (``make demo-stop`` stops it) unless ``--stop-after``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from shiplane.router.client import RouterAdminClient
from shiplane_contracts.identity import (
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    PREVIOUS_ALIAS,
    parse_models_uri,
    pinned_uri,
)
from shiplane_tools import localstack, repo
from shiplane_tools.localstack import ManagedProcess, StartError, http_ok

MODEL_NAME = "breast-cancer"
REPO = repo.root()
CHAMPION_CONFIG = REPO / "training/configs/breast_cancer.yaml"
CHALLENGER_CONFIG = REPO / "training/configs/breast_cancer_challenger.yaml"
# The promotion behind the router: one analyzed step, then 100%. Each interval
# runs a short Locust load (loadtests/v1.py) and is the analysis window.
ROLLOUT_STEPS = "50,100"
ROLLOUT_INTERVAL_S = 10
VERDICTS = {0: "PASS", 1: "FAIL", 3: "INCONCLUSIVE", 5: "NOT ANALYZED"}


class DemoError(RuntimeError):
    """An expected failure: printed as one clear message, no traceback."""


@dataclass
class Server:
    """One serving process, started on a pinned URI it keeps for its life."""

    role: str
    """``stable`` or ``canary``: its router variant."""
    alias: str
    """The alias a person named, resolved once into ``version``."""
    version: str
    proc: ManagedProcess

    @property
    def uri(self) -> str:
        return pinned_uri(MODEL_NAME, self.version)


@dataclass
class Demo:
    state: Path
    load_s: int
    users: int
    canary_percent: int
    started: float = field(default_factory=time.monotonic)
    procs: list[ManagedProcess] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        return self.state / "demo"

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"\n\033[1m==> {title}\033[0m", flush=True)
        t0 = time.monotonic()
        yield
        print(f"    done in {time.monotonic() - t0:.1f}s", flush=True)

    def launch(self, proc: ManagedProcess, ready_path: str, timeout_s: float) -> str:
        if proc not in self.procs:
            self.procs.append(proc)
        url = proc.url
        proc.start().wait_ready(lambda: http_ok(url + ready_path), timeout_s)
        print(f"    {proc.name} ready at {url}  (log: {proc.log_path})")
        return url


def _run(argv: Sequence[str], env: dict[str, str], what: str) -> str:
    """Run a CLI step, echoing its output; a failure becomes a DemoError."""
    print("    $ " + " ".join(str(a) for a in argv), flush=True)
    proc = subprocess.run(
        list(argv), env={**os.environ, **env}, capture_output=True, text=True
    )
    out = proc.stdout + proc.stderr
    for line in out.strip().splitlines():
        print(f"    | {line}")
    if proc.returncode != 0:
        raise DemoError(f"{what} failed (exit code {proc.returncode}); output above")
    return out


class _Indented(io.TextIOBase):
    """A stream that echoes whole lines, indented, as they are written."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.pending = out, ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.out.write(f"    | {line}\n")
        self.out.flush()
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.write("\n")


def _shiplane(argv: Sequence[str]) -> int:
    """Run a ``shiplane`` verb in this process, output echoed live; its exit code."""
    from shiplane.cli import main as shiplane_main

    print("    $ shiplane " + " ".join(argv), flush=True)
    out = _Indented(sys.stdout)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = shiplane_main(list(argv))
        except SystemExit as exc:  # argparse rejected the flags
            code = exc.code if isinstance(exc.code, int) else 2
        out.flush()
    return code


def stop(state: Path) -> int:
    workdir = state / "demo"
    stopped = [
        pid.stem
        for pid in sorted(workdir.rglob("*.pid"))
        if localstack.stop_pidfile(pid)
    ]
    print("stopped: " + ", ".join(stopped) if stopped else "nothing was running")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shiplane_tools.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state", type=Path, default=Path(".shiplane"))
    parser.add_argument("--stop", action="store_true", help="stop a running demo")
    parser.add_argument(
        "--stop-after", action="store_true", help="stop the stack when done"
    )
    parser.add_argument("--load-seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--canary-percent", type=int, default=10)
    args = parser.parse_args(argv)
    if args.stop:
        return stop(args.state)
    stop(args.state)  # a previous demo's processes would hold the ports
    demo = Demo(
        args.state.resolve(), args.load_seconds, args.users, args.canary_percent
    )
    try:
        run(demo)
    except (DemoError, StartError) as exc:
        print(f"\n\033[31mdemo failed:\033[0m {exc}", file=sys.stderr)
        stop(demo.state)
        return 1
    except KeyboardInterrupt:
        stop(demo.state)
        return 130
    if args.stop_after:
        stop(demo.state)
    else:
        print("\nThe stack keeps running; `make demo-stop` stops it.")
    return 0


def run(demo: Demo) -> None:
    work = demo.workdir
    if work.exists():
        shutil.rmtree(work)  # every demo starts from an empty registry
    work.mkdir(parents=True)

    with demo.step("MLflow tracking server (SQLite + local artifacts)"):
        mlflow = localstack.mlflow_server(work / "mlflow")
        mlflow_url = demo.launch(mlflow, "/health", 300)
    mlflow_env = {"MLFLOW_TRACKING_URI": mlflow_url}

    for role, config in (
        (CHAMPION_ALIAS, CHAMPION_CONFIG),
        (CHALLENGER_ALIAS, CHALLENGER_CONFIG),
    ):
        with demo.step(f"Train the {role} ({_shown(config)})"):
            _train(config, mlflow_env, f"training the {role}")
    if CHALLENGER_ALIAS not in _aliases(mlflow_url):
        raise DemoError("the challenger did not pass the quality gate (see above)")

    with demo.step("Resolve the aliases once: pods get pinned versions"):
        servers = [
            _resolve(demo, role, alias, mlflow_url)
            for role, alias in (
                ("stable", CHAMPION_ALIAS),
                ("canary", CHALLENGER_ALIAS),
            )
        ]
    stable, canary = servers
    demo.summary["pinned"] = {s.role: s.uri for s in servers}

    urls: dict[str, str] = {}
    for server in servers:
        with demo.step(f"Serve {server.uri} as {server.role}"):
            urls[server.role] = demo.launch(server.proc, "/v2/health/ready", 120)

    with demo.step(
        f"A/B router: stable {100 - demo.canary_percent}% / canary "
        f"{demo.canary_percent}%, sticky by x-user-id"
    ):
        token_file = work / "router-admin-token"
        urls["router"] = _start_router(demo, urls, token_file)

    prometheus_url = None
    with demo.step("Prometheus scraping both versions and the router"):
        if _ensure_prometheus():
            targets = {
                "shiplane-serving": [
                    _hostport(urls["stable"]),
                    _hostport(urls["canary"]),
                ],
                "shiplane-router": [_hostport(urls["router"])],
            }
            prom = localstack.prometheus_server(
                work / "prometheus", targets, rule_files=_rule_files()
            )
            prometheus_url = demo.launch(prom, "/-/ready", 60)

    with demo.step(
        f"Locust: {demo.users} users for {demo.load_s}s through the router "
        "(sticky users + ground-truth feedback)"
    ):
        demo.summary["load"] = _load(demo, urls["router"])

    code = -1
    if prometheus_url is not None:
        with demo.step("shiplane analyze: canary vs stable from Prometheus"):
            time.sleep(3)  # one more scrape after the load stopped
            code = _analyze(prometheus_url, mlflow_url, stable, canary)
    demo.summary["analysis"] = VERDICTS.get(code, "not run")

    with _router_client(urls["router"], token_file) as router:
        before = router.get_weights().weights
        outcome = "not promoted"
        if code == 0 and prometheus_url is not None:
            with demo.step(
                f"Promote v{canary.version} behind the router: shiplane rollout, "
                f"steps {ROLLOUT_STEPS}"
            ):
                outcome = _promote(
                    demo,
                    urls["router"],
                    token_file,
                    prometheus_url,
                    mlflow_url,
                    stable,
                    canary,
                )
        if outcome != "promoted":
            why = (
                f"the analysis said {demo.summary['analysis']}"
                if outcome == "not promoted"
                else f"the rollout {outcome}"
            )
            with demo.step(f"Roll back v{canary.version}: {why}"):
                if outcome != "rolled back":  # the rollout leaves it rolled back
                    verdict = str(demo.summary["analysis"]).lower()
                    outcome = _rollback(
                        router, mlflow_url, stable, canary, verdict, why
                    )
                print(
                    f"    @{CHAMPION_ALIAS} stays v{stable.version}; "
                    "nothing was promoted"
                )
        demo.summary["rollout"] = {
            "result": outcome,
            "weights_before": before,
            "weights_after": router.get_weights().weights,
            "aliases_after": _aliases(mlflow_url),
        }

    with demo.step(
        f"Train v3, the next training run ({_shown(CHALLENGER_CONFIG)} again)"
    ):
        _train(CHALLENGER_CONFIG, mlflow_env, "training v3")
        aliases = _aliases(mlflow_url)
        print(f"    @{CHALLENGER_ALIAS} -> v{aliases.get(CHALLENGER_ALIAS)}")
    demo.summary["aliases"] = aliases

    with demo.step("Restart both servers from their pinned URIs"):
        demo.summary["restart"] = _restart(demo, servers, aliases)
    _print_summary(demo, urls, mlflow_url, prometheus_url, token_file)


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _train(config: Path, env: dict[str, str], what: str) -> None:
    argv = [sys.executable, "-m", "shiplane_training", "--config", str(config)]
    _run(argv, env, what)


def _aliases(mlflow_url: str) -> dict[str, str]:
    from shiplane_contracts.mlflowclient import registry_client

    model = registry_client(mlflow_url).get_registered_model(MODEL_NAME)
    return {alias: str(version) for alias, version in model.aliases.items()}


def _resolve(demo: Demo, role: str, alias: str, mlflow_url: str) -> Server:
    """Resolve ``models:/NAME@alias`` now, once, into the server that serves the
    version it names for as long as it lives."""
    from shiplane.control.errors import ControlError
    from shiplane.control.registry import resolve_version

    named = parse_models_uri(f"models:/{MODEL_NAME}@{alias}")
    assert named is not None
    try:
        version = resolve_version(named, mlflow_url)
    except ControlError as exc:
        raise DemoError(str(exc)) from None
    proc = localstack.serving_server(
        demo.workdir,
        pinned_uri(MODEL_NAME, version),
        MODEL_NAME,
        name=f"serving-v{version}",
        tracking_uri=mlflow_url,
        grpc_port=localstack.free_port(),
    )
    server = Server(role, alias, version, proc)
    print(f"    resolved {named} -> {server.uri}  ({role})")
    return server


def _start_router(demo: Demo, urls: dict[str, str], token_file: Path) -> str:
    token_file.write_text(secrets.token_urlsafe(24))
    token_file.chmod(0o600)
    router = localstack.router_server(
        demo.workdir,
        {
            "variants": {
                "stable": {
                    "url": urls["stable"],
                    "weight": 100 - demo.canary_percent,
                },
                "canary": {"url": urls["canary"], "weight": demo.canary_percent},
            },
            "fallback": "stable",
            "sticky": {"header": "x-user-id", "cookie": None},
        },
        env={"SHIPLANE_ROUTER_ADMIN_TOKEN_FILE": str(token_file)},
    )
    url = demo.launch(router, "/healthz", 60)
    # `make loadtest` aims at the demo's router by default.
    (demo.workdir / "router.url").write_text(url)
    return url


def _router_client(url: str, token_file: Path) -> RouterAdminClient:
    return RouterAdminClient(url, token_file.read_text().strip())


def _verdicts(load: object) -> list[str]:
    return list(load.get("verdicts", [])) if isinstance(load, dict) else []


def _hostport(url: str) -> str:
    return url.split("://", 1)[1]


def _ensure_prometheus() -> bool:
    """Prometheus from PATH, else Debian's package where we may install it."""
    if shutil.which("prometheus"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("    prometheus not found: installing Debian's package (apt-get)")
        for argv in (
            ["apt-get", "update", "-qq"],
            [
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "prometheus",
            ],
        ):
            if subprocess.run(argv, capture_output=True).returncode != 0:
                break
        else:
            return shutil.which("prometheus") is not None
    print(
        "    Prometheus is not installed, so no metrics history and no analysis.\n"
        "    Install it (`make tools`, or `apt-get install prometheus`), then rerun."
    )
    return False


def _rule_files() -> list[Path]:
    """The chart's recording and alert rules, so the demo's Prometheus shows the
    same recorded series and alerts a cluster would."""
    return sorted((REPO / "charts/shiplane/files/rules").glob("*.yaml"))


def _write_payloads(path: Path) -> Path:
    """Every breast_cancer row with its label: load drawn from the reference
    distribution, so drift stays low the way it does on healthy traffic."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    path.write_text(
        json.dumps({"instances": data.data.tolist(), "labels": data.target.tolist()})
    )
    return path


def _load(demo: Demo, router_url: str) -> dict[str, object]:
    reports = demo.workdir / "loadtest"
    payloads = _write_payloads(demo.workdir / "payloads.json")
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        f"{REPO / 'loadtests/sticky_router.py'},{REPO / 'loadtests/feedback.py'}",
        "--config",
        str(REPO / "loadtests/locust.conf"),
        "--host",
        router_url,
        "--users",
        str(demo.users),
        "--spawn-rate",
        str(demo.users),
        "--run-time",
        f"{demo.load_s}s",
        "--csv",
        str(reports / "locust"),
        "--html",
        str(reports / "report.html"),
        "--payload-file",
        str(payloads),
        "--expected-split",
        f"stable={100 - demo.canary_percent},canary={demo.canary_percent}",
    ]
    out = _run(argv, {}, "the Locust load")
    verdicts = [line for line in out.splitlines() if line.startswith(("SLO ", "SPLIT"))]
    return {"verdicts": verdicts, "report": str(reports / "report.html")}


def _analyze(
    prometheus_url: str, mlflow_url: str, stable: Server, canary: Server
) -> int:
    return _shiplane(
        [
            "analyze",
            MODEL_NAME,
            "--no-kube",
            "--prometheus-url",
            prometheus_url,
            "--mlflow-uri",
            mlflow_url,
            "--stable-version",
            stable.version,
            "--canary-version",
            canary.version,
            "--window",
            "2m",
        ]
    )


def _promote(
    demo: Demo,
    router_url: str,
    token_file: Path,
    prometheus_url: str,
    mlflow_url: str,
    stable: Server,
    canary: Server,
) -> str:
    """``shiplane rollout`` behind the router, under a short load per step."""
    code = _shiplane(
        [
            "rollout",
            MODEL_NAME,
            "--no-kube",
            "--actuator",
            "router",
            "--router-url",
            router_url,
            "--router-token-file",
            str(token_file),
            "--model",
            MODEL_NAME,
            "--stable-version",
            stable.version,
            "--canary-version",
            canary.version,
            "--steps",
            ROLLOUT_STEPS,
            "--interval",
            f"{ROLLOUT_INTERVAL_S}s",
            "--max-failures",
            "1",
            "--prometheus-url",
            prometheus_url,
            "--mlflow-uri",
            mlflow_url,
            "--locustfile",
            str(REPO / "loadtests/v1.py"),
            "--load-host",
            router_url,
            "--load-users",
            str(demo.users),
            f"--load-arg=--payload-file={demo.workdir / 'payloads.json'}",
            f"--load-arg=--model-name={MODEL_NAME}",
            # Two versions, the router and Locust share the machine's cores: compare
            # latency loosely; tests/analysis checks the latency rule itself.
            "--min-requests",
            "20",
            "--max-p95-ratio",
            "3",
            "--max-p99-ratio",
            "5",
            "--latency-min-delta-s",
            "0.05",
            "--actor",
            "make-demo",
        ]
    )
    if code == 130:
        raise KeyboardInterrupt
    return {0: "promoted", 1: "rolled back"}.get(code, f"did not start (exit {code})")


def _rollback(
    router: RouterAdminClient,
    mlflow_url: str,
    stable: Server,
    canary: Server,
    verdict: str,
    why: str,
) -> str:
    """All traffic back to stable, the canary tagged in MLflow: what a rollout
    does when its analysis fails, done by the same actuator."""
    from shiplane.control.errors import ControlError
    from shiplane.rollout.actuators import RouterActuator

    actuator = RouterActuator(
        router,
        "stable",
        "canary",
        MODEL_NAME,
        stable.version,
        canary.version,
        mlflow_url,
        "make-demo",
    )
    try:
        lines = actuator.rollback(verdict, f"make demo: {why}")
    except ControlError as exc:
        raise DemoError(f"rolling back failed: {exc}") from None
    for line in lines:
        print(f"    {line}")
    return "rolled back"


def _served_version(url: str) -> str:
    """The version a server says it serves: ``GET /v2/models/NAME`` versions[0]."""
    reply = httpx.get(f"{url}/v2/models/{MODEL_NAME}", timeout=10)
    reply.raise_for_status()
    return str(reply.json()["versions"][0])


def _restart(
    demo: Demo, servers: list[Server], aliases: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Stop and start each server with the same command line (pinned URI, same
    ports), as a rescheduled pod would be; each must serve what it started on."""
    for server in servers:
        server.proc.stop()
        # Keep the first run's log next to the new one.
        log = server.proc.log_path
        log.replace(log.with_name(f"{server.proc.name}.before-restart.log"))
    checks: dict[str, dict[str, str]] = {}
    for server in servers:
        demo.launch(server.proc, "/v2/health/ready", 120)
        served = _served_version(server.proc.url)
        checks[server.role] = {"uri": server.uri, "serves": served}
        print(
            f"    {server.proc.name} restarted on {server.uri}: serves v{served} "
            f"(@{server.alias} is now v{aliases.get(server.alias, '-')})"
        )
        if served != server.version:
            raise DemoError(
                f"{server.proc.name} was started on {server.uri} but serves "
                f"v{served} after a restart: an alias reached a pod"
            )
    return checks


def _print_summary(
    demo: Demo,
    urls: dict[str, str],
    mlflow_url: str,
    prometheus_url: str | None,
    token_file: Path,
) -> None:
    pinned = demo.summary["pinned"]
    rollout = demo.summary["rollout"]
    restart = demo.summary["restart"]
    aliases = demo.summary["aliases"]
    assert isinstance(pinned, dict) and isinstance(rollout, dict)
    assert isinstance(restart, dict) and isinstance(aliases, dict)
    after = rollout["aliases_after"]

    def weights(w: dict[str, int]) -> str:
        return f"stable {w.get('stable', 0)}% / canary {w.get('canary', 0)}%"

    def named(found: dict[str, str]) -> str:
        return ", ".join(
            f"@{a} v{found[a]}"
            for a in (CHAMPION_ALIAS, PREVIOUS_ALIAS, CHALLENGER_ALIAS)
            if a in found
        )

    lines = [
        f"model             {MODEL_NAME}",
        f"pinned            stable {pinned['stable']}, canary {pinned['canary']} "
        "(aliases resolved once)",
        *[f"load              {v}" for v in _verdicts(demo.summary.get("load"))],
        f"canary analysis   {demo.summary['analysis']}",
        f"rollout           {rollout['result']}: router "
        f"{weights(rollout['weights_before'])} -> {weights(rollout['weights_after'])}",
        f"registry after    {named(after)}",
        f"train v3          {named(aliases)}",
        *[
            f"restart {role:<10}{check['uri']} still serves v{check['serves']}"
            for role, check in restart.items()
        ],
        f"MLflow            {mlflow_url}",
        f"router            {urls['router']}/v1/models/{MODEL_NAME}:predict",
        f"stable            {urls['stable']}  (metrics: /metrics)",
        f"canary            {urls['canary']}  (metrics: /metrics)",
        f"Prometheus        {prometheus_url or 'not running'}",
        f"router admin      token in {token_file}",
        f"took              {time.monotonic() - demo.started:.0f}s",
    ]
    print("\n\033[1mShiplane demo summary\033[0m")
    for line in lines:
        print("  " + line)
    summary = {
        "urls": urls,
        "mlflow": mlflow_url,
        "prometheus": prometheus_url,
        "token_file": str(token_file),
        "pinned": pinned,
        "analysis": demo.summary["analysis"],
        "rollout": rollout,
        "aliases": aliases,
        "restart": restart,
    }
    (demo.workdir / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
