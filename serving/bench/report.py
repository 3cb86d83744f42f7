"""The run as tables: printed to the terminal and written to
``docs/benchmarks.md`` together with the machine, the method and where the time
goes."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from serving.bench.results import RunResult, ServerResult

RESULT_COLUMNS = (
    "server",
    "format",
    "rows/req",
    "conc",
    "req/s",
    "p50 ms",
    "p99 ms",
    "rows/s",
    "non-2xx",
    "sock err",
    "idle RSS MB",
    "rows per model call",
)
CHECK_COLUMNS = ("target", "server", "measured", "needed", "result")


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"

    out = [line(columns), line(["---"] * len(columns))]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _server_rows(server: ServerResult) -> list[list[str]]:
    blank = ["-"] * (len(RESULT_COLUMNS) - 2)
    if server.status != "ok" and not server.cells:
        return [[server.label, server.status.upper(), *blank]]
    rss = f"{server.idle_rss_mb:.0f}" if server.idle_rss_mb else "-"
    rows = []
    for cell in server.cells:
        if cell.error:
            numbers = ["-"] * 6
            note = f"ERROR: {cell.error[:80]}"
        else:
            numbers = [
                f"{cell.rps:.0f}",
                f"{cell.p50_ms:.2f}",
                f"{cell.p99_ms:.2f}",
                f"{cell.rows_per_s:.0f}",
                str(cell.non_2xx),
                str(cell.socket_errors),
            ]
            note = cell.batches or ""
        rows.append(
            [
                server.label,
                cell.protocol_label,
                str(cell.rows),
                str(cell.concurrency),
                *numbers,
                rss,
                note or "-",
            ]
        )
    if server.status != "ok":
        rows.append([server.label, server.status.upper(), *blank])
    return rows


def results_table(run: RunResult) -> str:
    """One line per server, format, request size and concurrency."""
    rows = [row for server in run.servers for row in _server_rows(server)]
    return _table(RESULT_COLUMNS, rows)


def checks_table(run: RunResult) -> str:
    """One line per target."""
    rows = [[c.target, c.server, c.measured, c.needed, c.result] for c in run.checks]
    return _table(CHECK_COLUMNS, rows)


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of the first markdown table in ``text``, as dicts by header.

    Raises:
        ValueError: no table, or a row whose cell count differs from the header.
    """
    lines = [ln.strip() for ln in text.splitlines()]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|")), None)
    if start is None:
        raise ValueError("no table found")
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(header):
            raise ValueError(f"row has {len(cells)} cells, header {len(header)}: {ln}")
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def console_report(run: RunResult) -> str:
    """What the terminal shows at the end."""
    parts = [
        results_table(run),
        "",
        "Targets (a FAIL is reported, not an error):",
        checks_table(run),
    ]
    failed = [s for s in run.servers if s.status != "ok"]
    for server in failed:
        parts.append(f"\n{server.label}: {server.status}: {server.error[-1500:]}")
    parts += [f"note: {n}" for n in run.notes]
    parts.append(
        f"\nload average at start {run.load_average_start}, at end "
        f"{run.load_average_end} on {run.machine.get('nproc')} cores"
    )
    return "\n".join(parts)


def write_json(run: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(run), indent=2) + "\n", encoding="utf-8")


def _machine_section(run: RunResult) -> str:
    m = run.machine
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    mlserver = ", ".join(f"{k} {v}" for k, v in m.get("mlserver_versions", {}).items())
    busy = max(run.load_average_start + run.load_average_end, default=0.0)
    warning = ""
    if busy > 0.5 * m.get("nproc", 1):
        warning = (
            f"\n**The machine was busy** (load average up to {busy:.1f} on "
            f"{m.get('nproc')} cores): these numbers are noise; rerun "
            "`make bench` on a quiet machine before drawing conclusions.\n"
        )
    return f"""## Machine

- CPU: {m.get("cpu_model")}, {m.get("nproc")} cores usable (`nproc`)
- Memory: {m.get("mem_total_gib")} GiB; kernel {m.get("kernel")}
- Python {m.get("python")}; {m.get("wrk")}
- Project venv: {versions}
- MLServer venv: {mlserver or "not built"}
- Load average (1, 5, 15 min) at start {run.load_average_start}, at end \
{run.load_average_end}
{warning}"""


def _method_section(run: RunResult) -> str:
    s = run.settings
    return f"""## Method

- One model for everyone: `GradientBoostingClassifier(random_state=0)` (100
  trees) fitted on scikit-learn's breast_cancer (569 rows, 30 features) by the
  harness, saved as joblib (plain KServe, floor, MLServer), as an MLflow sklearn
  model with skops and `pyfunc_predict_fn="predict_proba"` (`mlflow models
  serve`) and in Shiplane's model layout (`shiplane_contracts.modelformat`: skops,
  reference profile, `metadata.shiplane`). Every server computes
  `predict_proba`: MLServer is asked for the `predict_proba` output and
  Shiplane runs with `SHIPLANE_SERVING_V1_DEFAULT_OUTPUT=predict_proba`.
- One worker each, all bound to 127.0.0.1 on free ports, started one at a
  time (the others stopped) so they never compete for the cores.
- Load: `wrk` 1 thread, from its own process over loopback, POSTing a fixed
  JSON body (the dataset's first row, or its first {s["batch_rows"]} rows) in
  the server's own format: KServe V1 `{{"instances": [[...]]}}`, Open Inference
  Protocol V2 `{{"inputs": [{{"name": "input-0", "shape": [1, 30], "datatype":
  "FP64", "data": [...]}}]}}`, MLflow `dataframe_split` and `inputs`.
- Each server's first answer, for 1 and for {s["batch_rows"]} rows, is checked
  against the model's own `predict_proba` before any load; a server that
  answers wrongly is not timed. wrk's non-2xx answers and socket errors are
  counted and shown: a cell with any is not used for a target.
- Per server: {s["server_warmup_s"]} s warm-up at concurrency
  {max(s["concurrencies"])}, {s["settle_s"]} s pause, then idle RSS = resident
  set size summed over the server's process tree from /proc (shared pages of
  child processes count once per process). Then per cell: {s["warmup_s"]} s
  warm-up, {s["duration_s"]} s measured.
- p50/p99 are wrk's latency percentiles; rows/s = req/s x rows per request.
  "rows per model call" is Shiplane's `shiplane_batch_rows` histogram from
  /metrics, read before and after each measured load.
- Peers as users get them: plain KServe keeps its per-request latency logging
  (4 log lines a request) and gRPC on; `mlflow models serve` keeps uvicorn's
  access log; MLServer runs its defaults (one inference worker process).
  The floor is a raw ASGI callable: orjson parse, `predict_proba`, orjson
  answer, no validation, no metrics, no access log.
- The router row is `python -m shiplane.router` with one variant at 100%, in
  front of a fresh Shiplane server (defaults); its overhead is judged against
  the Shiplane row measured just before it.
"""


def _server_notes(run: RunResult) -> str:
    lines = ["## Servers", ""]
    for server in run.servers:
        start = f", ready in {server.start_s:.1f} s" if server.start_s else ""
        lines.append(f"- **{server.label}** ({server.status}{start}): {server.notes}")
        if server.error:
            lines.append(f"  - error: `{server.error.splitlines()[-1][:300]}`")
    return "\n".join(lines) + "\n"


def _time_section(run: RunResult) -> str:
    calls = ", ".join(
        f"{rows} rows {ms:.3f} ms" for rows, ms in run.model_call_ms.items()
    )
    lines = [
        "## Where the time goes",
        "",
        f"- The model call itself, in process (median `predict_proba`): {calls}. "
        "Everything above that in a server's p50 at concurrency 1 is the server.",
        "- With one worker a Python server is CPU-bound on one core: req/s at "
        "concurrency 16 is about 1 / (CPU time per request), so whatever a server "
        "adds per request (validation, logging, metrics, framework routing) comes "
        "straight off its throughput. A 64-row call costs about as much as a 1-row "
        "call, which is why batching concurrent requests into one model call is "
        "the big lever.",
        "- The profiles below sample each server under load at concurrency "
        "16 (1 row); the router's is of the router process alone. "
        '"Innermost frame by package" is self time; "stacks '
        'containing" is inclusive time (a sample counts for every marker in its '
        "stack, so these overlap). Time inside C extensions (uvloop, httptools, "
        "orjson, numpy) counts for the innermost Python frame that called them, "
        "so the event loop and the HTTP parser show up as asyncio or uvicorn.",
    ]
    for server in run.servers:
        spots = server.hotspots
        if spots is None:
            continue
        if spots.error:
            lines.append(f"- {server.label}: no profile ({spots.error})")
            continue
        packages = ", ".join(f"{p} {share:.0f}%" for p, share in spots.by_package)
        markers = ", ".join(f"{m} {share:.0f}%" for m, share in spots.markers)
        lines.append(
            f"- {server.label} (py-spy, {spots.samples} samples under load): "
            f"innermost frame by package: {packages}. Stacks containing: {markers}."
        )
    return "\n".join(lines) + "\n"


_WHY = """## Why Shiplane is faster than the floor it is measured against

The floor calls `predict_proba` once per request. Its cost barely grows with
rows, because scikit-learn's per-call input validation (once per pipeline step)
dominates. Shiplane validates each request once itself, then:

1. **Calls the pipeline directly** (`serving/src/shiplane_serving/fastpath.py`):
   for the imputer/scaler/GradientBoosting pipelines training produces, the
   fitted steps and the ensemble's own Cython routine compute the same numbers
   without re-validating. It is used only if it reproduces the estimator's own
   output exactly (`numpy.array_equal`) on probe rows built from the reference
   profile at load; otherwise the model's normal `predict_proba` runs. This is
   what makes p50 at concurrency 1 lower than the floor's.
2. **Batches opportunistically** (`batching.py`): requests that arrive while
   the model is busy go into the next call together, with no timer. A lone
   request goes straight through, and no request waits longer than one model
   call, so p99 stays low (MLServer's timer-based adaptive batching is the
   opposite trade). The "rows per model call" column shows the batch sizes
   under each load, read from `shiplane_batch_rows`.
3. **Keeps bookkeeping off the response path**: drift counts are updated after
   the response is written, and metrics are plain counter increments.

At 64-row requests there is little left to batch (each request already fills a
call), so Shiplane and the floor are close: what is left is JSON parsing and
the model itself.
"""


_RUNNING = """## Running it

- `make bench` (it needs `make env tools`: the project venv and `wrk`); about 8
  minutes with the defaults. It never fails on a missed target: read the table.
- Options: `uv run --frozen python -m serving.bench.run --help`; e.g.
  `--only floor,shiplane --duration-s 3` for a quick look. Every setting is
  also an environment variable with the `SHIPLANE_BENCH_` prefix
  (`serving/bench/settings.py`).
- MLServer and py-spy get their own venvs under `.shiplane/bench/venvs/`
  (built with `uv` on first use), never the project's `.venv`. Server logs are
  in `.shiplane/bench/servers/<name>/`, py-spy's stacks in
  `.shiplane/bench/profiles/`.
- Run it on a quiet machine: with two cores, anything else running (a build,
  a test suite) shows up directly in these numbers.
"""


def markdown(run: RunResult) -> str:
    """The whole ``docs/benchmarks.md``."""
    return f"""# Serving benchmarks

Generated by `make bench` (`python -m serving.bench.run`) at {run.generated_utc}.
Raw numbers: `.shiplane/bench/results.json`. Rerun to refresh; do not edit by hand.

## Results

{results_table(run)}

## Targets

A FAIL is reported here and by the lead; `make bench` itself never fails on a
miss.

{checks_table(run)}

{_machine_section(run)}
{_method_section(run)}
{_server_notes(run)}
{_time_section(run)}
{_WHY}
{_RUNNING}"""
