"""``make demo``: the whole Shiplane flow on this machine, nothing mocked.

A local MLflow server (SQLite), a champion and a challenger trained into it,
both served by the real serving runtime, the A/B router in front at 90/10, a
bounded Locust load with ground-truth feedback, a real Prometheus scraping it
all, and ``shiplane analyze`` comparing the two versions. The stack keeps
running afterwards (``make demo-stop`` stops it) unless ``--stop-after``.
"""

from __future__ import annotations

import argparse
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

import yaml

from shiplane import localstack
from shiplane.localstack import LOOPBACK, ManagedProcess, StartError, http_ok

MODEL_NAME = "breast-cancer"
REPO = Path(__file__).resolve().parents[2]
CHAMPION_CONFIG = REPO / "training/configs/breast_cancer.yaml"
CHALLENGER_CONFIG = REPO / "training/configs/breast_cancer_challenger.yaml"


class DemoError(RuntimeError):
    """An expected failure: printed as one clear message, no traceback."""


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
        prog="python -m shiplane.demo", description=__doc__
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
    python = sys.executable

    with demo.step("MLflow tracking server (SQLite + local artifacts)"):
        mlflow = localstack.mlflow_server(work / "mlflow")
        mlflow_url = demo.launch(mlflow, "/health", 300)
    mlflow_env = {"MLFLOW_TRACKING_URI": mlflow_url}

    for role, config in (
        ("champion", CHAMPION_CONFIG),
        ("challenger", CHALLENGER_CONFIG),
    ):
        with demo.step(f"Train the {role} ({_shown(config)})"):
            _run(
                [python, "-m", "shiplane_training", "--config", str(config)],
                mlflow_env,
                f"training the {role}",
            )
    versions = _aliases(mlflow_url)
    if "challenger" not in versions:
        raise DemoError("the challenger did not pass the quality gate (see above)")
    demo.summary["versions"] = versions

    urls: dict[str, str] = {}
    for alias in ("champion", "challenger"):
        with demo.step(f"Serve models:/{MODEL_NAME}@{alias} (v{versions[alias]})"):
            port = localstack.free_port()
            argv = [
                python,
                "-m",
                "shiplane_serving",
                "--model-uri",
                f"models:/{MODEL_NAME}@{alias}",
                "--model-name",
                MODEL_NAME,
                "--host",
                LOOPBACK,
                "--http-port",
                str(port),
                "--grpc-port",
                str(localstack.free_port()),
            ]
            proc = ManagedProcess(
                f"serving-{alias}",
                argv,
                work,
                mlflow_env,
                url=f"http://{LOOPBACK}:{port}",
            )
            urls[alias] = demo.launch(proc, "/v2/health/ready", 120)

    with demo.step(
        f"A/B router: stable {100 - demo.canary_percent}% / canary "
        f"{demo.canary_percent}%, sticky by x-user-id"
    ):
        stable_percent = 100 - demo.canary_percent
        token_file = work / "router-admin-token"
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
        router_config = work / "router.yaml"
        router_config.write_text(
            yaml.safe_dump(
                {
                    "variants": {
                        "stable": {"url": urls["champion"], "weight": stable_percent},
                        "canary": {
                            "url": urls["challenger"],
                            "weight": demo.canary_percent,
                        },
                    },
                    "fallback": "stable",
                    "sticky": {"header": "x-user-id", "cookie": None},
                },
                sort_keys=False,
            )
        )
        port = localstack.free_port()
        router = ManagedProcess(
            "router",
            [
                python,
                "-m",
                "shiplane.router",
                "--config",
                str(router_config),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
            ],
            work,
            {"SHIPLANE_ROUTER_ADMIN_TOKEN_FILE": str(token_file)},
            url=f"http://{LOOPBACK}:{port}",
        )
        urls["router"] = demo.launch(router, "/healthz", 60)
        # `make loadtest` aims at the demo's router by default.
        (work / "router.url").write_text(urls["router"])

    prometheus_url = None
    with demo.step("Prometheus scraping both versions and the router"):
        if _ensure_prometheus():
            serving = [_hostport(urls["champion"]), _hostport(urls["challenger"])]
            targets = {
                "shiplane-serving": serving,
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

    if prometheus_url is not None:
        with demo.step("shiplane analyze: canary vs stable from Prometheus"):
            time.sleep(3)  # one more scrape after the load stopped
            demo.summary["analysis_exit"] = _analyze(
                prometheus_url, mlflow_url, versions
            )
    _print_summary(demo, urls, mlflow_url, prometheus_url, token_file)


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _aliases(mlflow_url: str) -> dict[str, str]:
    from shiplane.mlflowclient import registry_client

    model = registry_client(mlflow_url).get_registered_model(MODEL_NAME)
    return {alias: str(version) for alias, version in model.aliases.items()}


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


def _analyze(prometheus_url: str, mlflow_url: str, versions: dict[str, str]) -> int:
    argv = [
        sys.executable,
        "-m",
        "shiplane.cli",
        "analyze",
        MODEL_NAME,
        "--no-kube",
        "--prometheus-url",
        prometheus_url,
        "--mlflow-uri",
        mlflow_url,
        "--stable-version",
        versions["champion"],
        "--canary-version",
        versions["challenger"],
        "--window",
        "2m",
    ]
    print("    $ shiplane " + " ".join(argv[3:]), flush=True)
    proc = subprocess.run(argv, capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).strip().splitlines():
        print(f"    | {line}")
    return proc.returncode


def _print_summary(
    demo: Demo,
    urls: dict[str, str],
    mlflow_url: str,
    prometheus_url: str | None,
    token_file: Path,
) -> None:
    versions = demo.summary["versions"]
    assert isinstance(versions, dict)
    verdict = {0: "PASS", 1: "FAIL", 3: "INCONCLUSIVE"}.get(
        int(str(demo.summary.get("analysis_exit", -1))), "not run"
    )
    load = demo.summary.get("load", {})
    lines = [
        f"model             {MODEL_NAME}: champion v{versions['champion']}, "
        f"challenger v{versions['challenger']}",
        f"traffic           stable {100 - demo.canary_percent}% / canary "
        f"{demo.canary_percent}% (sticky by x-user-id)",
        *[f"load              {v}" for v in _verdicts(load)],
        f"canary analysis   {verdict}",
        f"MLflow            {mlflow_url}",
        f"router            {urls['router']}/v1/models/{MODEL_NAME}:predict",
        f"stable            {urls['champion']}  (metrics: /metrics)",
        f"canary            {urls['challenger']}  (metrics: /metrics)",
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
        "versions": versions,
        "analysis": verdict,
    }
    (demo.workdir / "summary.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
