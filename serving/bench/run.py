"""``make bench``: start each server in turn, check its answers, load it with
wrk, and report the numbers next to the targets.

Run from the repository root::

    uv run --frozen python -m serving.bench.run [--duration-s 10] [--only a,b]

Exits 0 whatever the targets say (the report carries PASS/FAIL); 2 when the
harness itself cannot run (no wrk, bad option); 130 when interrupted. Every
process it starts is stopped on the way out, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from serving.bench import batches, hotspots, machine, report, results, targets
from serving.bench.load import LoadError, run_wrk
from serving.bench.model import BenchModel, train_and_save
from serving.bench.procs import tree_rss_mb
from serving.bench.protocols import Protocol
from serving.bench.results import Cell, Check, RunResult, ServerResult
from serving.bench.servers import (
    SERVERS,
    SHIPLANE_SERVERS,
    Launch,
    LaunchContext,
    ServerSpec,
)
from serving.bench.settings import ALL_SERVERS, BenchSettings
from serving.bench.venvs import VenvError, ensure_venv, installed_versions
from shiplane_tools.localstack import StartError, http_ok


class Bench:
    """One benchmark run over the configured servers."""

    def __init__(self, settings: BenchSettings) -> None:
        self.settings = settings
        self.state = settings.state_dir.resolve()
        self.mlserver_bin: Path | None = None
        self.py_spy: Path | None = None

    # ---- set-up ------------------------------------------------------------------
    def _prepare_venvs(self, run: RunResult) -> None:
        s = self.settings
        if "mlserver" in s.servers:
            try:
                bin_dir = ensure_venv(
                    self.state / "venvs" / "mlserver", s.mlserver_requirements
                )
                self.mlserver_bin = bin_dir / "mlserver"
                run.machine["mlserver_versions"] = installed_versions(
                    bin_dir, machine.MLSERVER_DISTRIBUTIONS
                )
            except VenvError as exc:
                run.notes.append(f"MLServer venv: {exc}")
        if s.profile:
            try:
                tools = ensure_venv(self.state / "venvs" / "tools", ["py-spy"])
                self.py_spy = tools / "py-spy"
            except VenvError as exc:
                run.notes.append(f"py-spy venv, profiles skipped: {exc}")

    def _write_bodies(self, model: BenchModel) -> dict[tuple[str, int], Path]:
        bodies: dict[tuple[str, int], Path] = {}
        folder = self.state / "bodies"
        folder.mkdir(parents=True, exist_ok=True)
        for key in self.settings.servers:
            for protocol in SERVERS[key].protocols:
                for rows in (1, self.settings.batch_rows):
                    path = folder / f"{protocol.key}-{rows}.json"
                    path.write_bytes(orjson.dumps(protocol.make_body(model, rows)))
                    bodies[(protocol.key, rows)] = path
        return bodies

    @staticmethod
    def _model_call_ms(model: BenchModel, rows: int, calls: int = 200) -> float:
        x = model.x[:rows]
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            model.estimator.predict_proba(x)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1e3

    # ---- one server --------------------------------------------------------------
    def _start(self, launch: Launch) -> float:
        started = time.monotonic()
        for step in launch.steps:
            step.process.start()
            step.process.wait_ready(
                functools.partial(http_ok, step.health_url),
                timeout_s=self.settings.start_timeout_s,
            )
        return time.monotonic() - started

    def _verify(
        self,
        model: BenchModel,
        base_url: str,
        protocol: Protocol,
        bodies: dict[tuple[str, int], Path],
    ) -> str | None:
        """None when the server answers wrk's exact bodies correctly, else the
        problem."""
        for rows in (1, self.settings.batch_rows):
            body = bodies[(protocol.key, rows)].read_bytes()
            try:
                answer = httpx.post(
                    base_url + protocol.path,
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
            except httpx.HTTPError as exc:
                return f"{protocol.label}, {rows} rows: {exc}"
            if answer.status_code != 200:
                return (
                    f"{protocol.label}, {rows} rows: HTTP {answer.status_code}: "
                    f"{answer.text[:300]}"
                )
            try:
                decoded = orjson.loads(answer.content)
            except orjson.JSONDecodeError:
                return f"{protocol.label}, {rows} rows: not JSON: {answer.text[:300]}"
            problem = protocol.check(model, rows, decoded)
            if problem:
                return f"{protocol.label}, {rows} rows: {problem}"
        return None

    def _shapes(self) -> list[tuple[int, int]]:
        s = self.settings
        return [(1, c) for c in s.concurrencies] + [
            (s.batch_rows, c) for c in s.batch_concurrencies
        ]

    def _load(self, url: str, body: Path, conc: int, duration_s: int) -> Any:
        s = self.settings
        return run_wrk(s.wrk, url, body, conc, duration_s, s.wrk_timeout_s)

    def _measure(
        self,
        spec: ServerSpec,
        url: str,
        protocol: Protocol,
        bodies: dict[tuple[str, int], Path],
        result: ServerResult,
    ) -> None:
        s = self.settings
        endpoint = url + protocol.path
        for rows, conc in self._shapes():
            cell = Cell(protocol.key, protocol.label, rows, conc)
            result.cells.append(cell)
            body = bodies[(protocol.key, rows)]
            try:
                if s.warmup_s:
                    self._load(endpoint, body, conc, s.warmup_s)
                before = batches.scrape_batch_rows(url) if spec.batch_metrics else None
                load = self._load(endpoint, body, conc, s.duration_s)
                if spec.batch_metrics:
                    cell.batches = batches.summarize(
                        before, batches.scrape_batch_rows(url)
                    )
            except LoadError as exc:
                cell.error = str(exc)
                continue
            cell.rps, cell.requests = load.rps, load.requests
            cell.rows_per_s = load.rps * rows
            cell.p50_ms, cell.p99_ms = load.p50_ms, load.p99_ms
            cell.non_2xx, cell.socket_errors = load.non_2xx, load.socket_errors
            print(
                f"  {protocol.label:16} {rows:3} rows c{conc:<3} {load.rps:8.0f} req/s "
                f"p50 {load.p50_ms:7.2f} ms p99 {load.p99_ms:7.2f} ms "
                f"non-2xx {load.non_2xx} {cell.batches}",
                flush=True,
            )

    def _profile(
        self, launch: Launch, url: str, body: Path, result: ServerResult
    ) -> None:
        s = self.settings
        assert self.py_spy is not None and launch.measured.proc is not None
        output = self.state / "profiles" / f"{result.key}.txt"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.unlink(missing_ok=True)
        recording = hotspots.start_recording(
            self.py_spy, launch.measured.proc.pid, s.profile_s, output
        )
        try:
            self._load(url, body, s.profile_concurrency, s.profile_s)
        except LoadError as exc:
            result.hotspots = hotspots.Hotspots(error=f"load failed: {exc}")
        finally:
            spots = hotspots.finish_recording(recording, output, s.profile_s + 30)
        if result.hotspots is None:
            result.hotspots = spots

    def _idle_rss(
        self, launch: Launch, endpoint: str, body: Path, result: ServerResult
    ) -> None:
        """Warm the server up, let it settle, then read its tree's RSS."""
        s = self.settings
        if s.server_warmup_s:
            with contextlib.suppress(LoadError):
                self._load(endpoint, body, max(s.concurrencies), s.server_warmup_s)
        time.sleep(s.settle_s)
        assert launch.measured.proc is not None
        result.idle_rss_mb = tree_rss_mb(launch.measured.proc.pid)
        print(
            f"  ready in {result.start_s:.1f} s, idle RSS {result.idle_rss_mb:.0f} MB",
            flush=True,
        )

    def run_server(
        self, spec: ServerSpec, model: BenchModel, bodies: dict[tuple[str, int], Path]
    ) -> ServerResult:
        """Start, check, measure and stop one server."""
        result = ServerResult(spec.key, spec.label, spec.notes)
        workdir = self.state / "servers" / spec.key
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        ctx = LaunchContext(
            model, workdir, mlserver_bin=self.mlserver_bin or Path("mlserver")
        )
        try:
            launch = spec.launch(ctx)
        except OSError as exc:
            result.status, result.error = "failed to start", f"set-up: {exc}"
            return result
        print(f"==> {spec.label}: starting", flush=True)
        with _stopping(launch):
            self._check_and_measure(spec, launch, model, bodies, result)
        result.error = result.error.strip()
        return result

    def _check_and_measure(
        self,
        spec: ServerSpec,
        launch: Launch,
        model: BenchModel,
        bodies: dict[tuple[str, int], Path],
        result: ServerResult,
    ) -> None:
        try:
            result.start_s = self._start(launch)
        except StartError as exc:
            result.status, result.error = "failed to start", str(exc)
            print(f"  failed to start: {str(exc).splitlines()[0]}", flush=True)
            return
        url = launch.url
        valid = []
        for protocol in spec.protocols:
            problem = self._verify(model, url, protocol, bodies)
            if problem:
                result.status = "bad answer"
                result.error += problem + "\n"
                print(f"  bad answer, not timed: {problem}", flush=True)
            else:
                valid.append(protocol)
        if not valid:
            return
        warm_body = bodies[(valid[0].key, 1)]
        warm_endpoint = url + valid[0].path
        self._idle_rss(launch, warm_endpoint, warm_body, result)
        for protocol in valid:
            self._measure(spec, url, protocol, bodies, result)
        if spec.profile and self.py_spy is not None:
            self._profile(launch, warm_endpoint, warm_body, result)

    # ---- the run -----------------------------------------------------------------
    def run(self) -> RunResult:
        """Every configured server, one after the other."""
        s = self.settings
        run = RunResult(
            generated_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            settings=s.model_dump(mode="json"),
            machine=machine.describe(s.wrk),
            model_call_ms={},
            load_average_start=machine.load_average(),
        )
        self._prepare_venvs(run)
        print("==> training the model", flush=True)
        model = train_and_save(
            self.state / "model",
            mlflow_model="mlflow" in s.servers,
            shiplane_model=bool(set(s.servers) & SHIPLANE_SERVERS),
        )
        for rows in (1, s.batch_rows):
            run.model_call_ms[str(rows)] = round(self._model_call_ms(model, rows), 4)
        bodies = self._write_bodies(model)
        for key in s.servers:
            run.servers.append(self.run_server(SERVERS[key], model, bodies))
        run.load_average_end = machine.load_average()
        run.checks = _evaluate(run, s)
        return run


def _evaluate(run: RunResult, s: BenchSettings) -> list[Check]:
    return targets.evaluate(
        run,
        c_low=min(s.concurrencies),
        c_high=max(s.concurrencies),
        batch_rows=s.batch_rows,
        batch_conc=max(s.batch_concurrencies),
    )


@contextlib.contextmanager
def _stopping(launch: Launch) -> Iterator[None]:
    """Stop every process of ``launch``, last started first, however we leave."""
    try:
        yield
    finally:
        for step in reversed(launch.steps):
            step.process.stop()


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _name_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = sorted(set(names) - set(ALL_SERVERS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown server(s) {', '.join(unknown)}; known: {', '.join(ALL_SERVERS)}"
        )
    return names


def parse_args(argv: Sequence[str] | None) -> dict[str, Any]:
    """Command-line options given, as settings overrides."""
    parser = argparse.ArgumentParser(
        prog="python -m serving.bench.run",
        description="Side-by-side serving benchmark: Shiplane vs plain KServe, "
        "mlflow models serve, MLServer and a bare ASGI floor.",
    )
    parser.add_argument("--duration-s", type=int, help="measured seconds per cell")
    parser.add_argument("--warmup-s", type=int, help="warm-up seconds per cell")
    parser.add_argument(
        "--server-warmup-s", type=int, help="warm-up seconds before idle RSS"
    )
    parser.add_argument("--concurrencies", type=_int_list, help="e.g. 1,16")
    parser.add_argument("--batch-rows", type=int, help="rows per batch request")
    parser.add_argument("--batch-concurrencies", type=_int_list, help="e.g. 1,16")
    parser.add_argument(
        "--only",
        dest="servers",
        type=_name_list,
        help=f"servers to run, among {','.join(ALL_SERVERS)}",
    )
    parser.add_argument("--state-dir", type=Path, help="default .shiplane/bench")
    parser.add_argument(
        "--docs",
        dest="docs_path",
        type=Path,
        help="markdown report to rewrite (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="do not write the markdown report"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument(
        "--report-from",
        type=Path,
        help="measure nothing: judge the targets and rewrite the report from an "
        "earlier run's results.json",
    )
    args = vars(parser.parse_args(argv))
    overrides = {
        k: v
        for k, v in args.items()
        if v is not None and k not in ("no_docs", "no_profile")
    }
    if args["no_docs"]:
        overrides["docs_path"] = None
    if args["no_profile"]:
        overrides["profile"] = False
    return overrides


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring for exit codes."""
    try:
        settings = BenchSettings(**parse_args(argv))
    except ValidationError as exc:
        print(f"error: invalid benchmark settings: {exc}", file=sys.stderr)
        return 2
    if shutil.which(settings.wrk) is None:
        print(f"error: {settings.wrk} not found: run `make tools`", file=sys.stderr)
        return 2
    # SIGTERM (and SIGINT even where a shell ignored it) stop the run cleanly.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    bench = Bench(settings)
    results_path = bench.state / "results.json"
    if settings.report_from is not None:
        run = results.load(json.loads(settings.report_from.read_text()))
        run.checks = _evaluate(run, settings)
    else:
        try:
            run = bench.run()
        except KeyboardInterrupt:
            print("\ninterrupted: every server started was stopped", file=sys.stderr)
            return 130
    report.write_json(run, results_path)
    print()
    print(report.console_report(run))
    print(f"\nraw results: {results_path}")
    if settings.docs_path is not None:
        settings.docs_path.parent.mkdir(parents=True, exist_ok=True)
        settings.docs_path.write_text(report.markdown(run), encoding="utf-8")
        print(f"report: {settings.docs_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
