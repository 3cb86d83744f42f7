"""The performance targets of the issues, judged on one run. A miss is
reported, never an error: the command succeeds either way."""

from __future__ import annotations

from serving.bench.results import Cell, Check, RunResult, ServerResult

SHIPLANE_ROWS = ("shiplane-nobatch", "shiplane")
# The peers: servers a user could deploy instead. The floor (a bare
# ASGI app, no metrics, no validation) is the yardstick, not a peer.
PEERS = ("kserve", "mlflow", "mlserver")

P50_VS_FLOOR_MAX = 1.3
RPS_VS_KSERVE_MIN = 1.5
RPS_VS_FLOOR_MIN = 0.7
BATCHING_RPS_VS_FLOOR_MIN = 2.0
BATCH_ROWS_VS_BEST_PEER_MIN = 1.3
RSS_VS_KSERVE_MAX = 1.2
ROUTER_P50_ADDED_MAX_MS = 1.0
ROUTER_RPS_VS_DIRECT_MIN = 0.8


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _cell(run: RunResult, key: str, rows: int, conc: int) -> Cell | None:
    server = run.server(key)
    if server is None or server.status != "ok":
        return None
    cell = server.cell(None, rows, conc)
    return cell if cell is not None and cell.valid else None


def _missing(target: str, server: str, needed: str) -> Check:
    return Check(target, server, "no valid measurement", needed, "N/A")


def _ratio_check(
    target: str,
    server: str,
    value: float,
    reference: float,
    ratio: float,
    at_least: bool,
    unit: str,
) -> Check:
    digits = 2 if unit == "ms" else 0
    needed = f"{'>=' if at_least else '<='} {ratio:g} x {reference:.{digits}f} {unit}"
    limit = ratio * reference
    ok = value >= limit if at_least else value <= limit
    measured = f"{value:.{digits}f} {unit}"
    if reference:
        measured += f" ({value / reference:.2f}x)"
    return Check(target, server, measured, needed, _verdict(ok))


def _latency_and_throughput(
    run: RunResult, key: str, c_low: int, c_high: int
) -> list[Check]:
    checks = []
    ours_c1, floor_c1 = _cell(run, key, 1, c_low), _cell(run, "floor", 1, c_low)
    target = f"p50 @c{c_low} <= {P50_VS_FLOOR_MAX}x floor"
    if ours_c1 and floor_c1:
        checks.append(
            _ratio_check(
                target,
                key,
                ours_c1.p50_ms,
                floor_c1.p50_ms,
                P50_VS_FLOOR_MAX,
                False,
                "ms",
            )
        )
    else:
        checks.append(_missing(target, key, f"<= {P50_VS_FLOOR_MAX}x floor"))
    ours = _cell(run, key, 1, c_high)
    for peer, ratio in (("kserve", RPS_VS_KSERVE_MIN), ("floor", RPS_VS_FLOOR_MIN)):
        target = f"req/s @c{c_high} >= {ratio}x {peer}"
        other = _cell(run, peer, 1, c_high)
        if ours and other:
            checks.append(
                _ratio_check(target, key, ours.rps, other.rps, ratio, True, "req/s")
            )
        else:
            checks.append(_missing(target, key, f">= {ratio}x {peer}"))
    return checks


def _batching(run: RunResult, c_high: int) -> Check:
    target = (
        f"batching: req/s @c{c_high} >= {BATCHING_RPS_VS_FLOOR_MIN}x floor "
        "and p99 <= floor p99"
    )
    ours, floor = _cell(run, "shiplane", 1, c_high), _cell(run, "floor", 1, c_high)
    if not (ours and floor):
        return _missing(
            target, "shiplane", f">= {BATCHING_RPS_VS_FLOOR_MIN}x floor, p99 <= floor"
        )
    ok = (
        ours.rps >= BATCHING_RPS_VS_FLOOR_MIN * floor.rps
        and ours.p99_ms <= floor.p99_ms
    )
    return Check(
        target,
        "shiplane",
        f"{ours.rps:.0f} req/s ({ours.rps / floor.rps:.2f}x), p99 {ours.p99_ms:.2f} ms",
        f">= {BATCHING_RPS_VS_FLOOR_MIN * floor.rps:.0f} req/s, p99 <= "
        f"{floor.p99_ms:.2f} ms",
        _verdict(ok),
    )


def _batch_rows(run: RunResult, key: str, rows: int, conc: int) -> Check:
    target = f"{rows}-row rows/s @c{conc} >= {BATCH_ROWS_VS_BEST_PEER_MIN}x best peer"
    ours = _cell(run, key, rows, conc)
    peers = [
        (f"{server.label}, {cell.protocol_label}", cell)
        for peer in PEERS
        if (server := run.server(peer)) is not None
        for cell in server.cells
        if cell.rows == rows and cell.concurrency == conc and cell.valid
    ]
    if not (ours and peers):
        return _missing(target, key, f">= {BATCH_ROWS_VS_BEST_PEER_MIN}x best peer")
    best_key, best = max(peers, key=lambda item: item[1].rows_per_s)
    check = _ratio_check(
        target,
        key,
        ours.rows_per_s,
        best.rows_per_s,
        BATCH_ROWS_VS_BEST_PEER_MIN,
        True,
        "rows/s",
    )
    check.needed += f" (best peer: {best_key})"
    return check


def _rss(run: RunResult, key: str) -> Check:
    target = f"idle RSS <= {RSS_VS_KSERVE_MAX}x plain KServe"
    ours, kserve = run.server(key), run.server("kserve")
    if not (_measured(ours) and _measured(kserve)):
        return _missing(target, key, f"<= {RSS_VS_KSERVE_MAX}x kserve")
    assert ours is not None and kserve is not None
    return _ratio_check(
        target,
        key,
        ours.idle_rss_mb,
        kserve.idle_rss_mb,
        RSS_VS_KSERVE_MAX,
        False,
        "MB",
    )


def _measured(server: ServerResult | None) -> bool:
    return server is not None and server.status == "ok" and server.idle_rss_mb > 0


def _router(run: RunResult, c_low: int, c_high: int) -> list[Check]:
    checks = []
    direct, routed = _cell(run, "shiplane", 1, c_low), _cell(run, "router", 1, c_low)
    target = f"router: p50 added @c{c_low} <= {ROUTER_P50_ADDED_MAX_MS:g} ms"
    if direct and routed:
        added = routed.p50_ms - direct.p50_ms
        checks.append(
            Check(
                target,
                "router",
                f"{added:+.2f} ms",
                f"<= {ROUTER_P50_ADDED_MAX_MS:g} ms",
                _verdict(added <= ROUTER_P50_ADDED_MAX_MS),
            )
        )
    else:
        checks.append(
            _missing(target, "router", f"<= {ROUTER_P50_ADDED_MAX_MS:g} ms over direct")
        )
    direct, routed = _cell(run, "shiplane", 1, c_high), _cell(run, "router", 1, c_high)
    target = f"router: req/s @c{c_high} >= {ROUTER_RPS_VS_DIRECT_MIN}x direct"
    if direct and routed:
        checks.append(
            _ratio_check(
                target,
                "router",
                routed.rps,
                direct.rps,
                ROUTER_RPS_VS_DIRECT_MIN,
                True,
                "req/s",
            )
        )
    else:
        checks.append(
            _missing(target, "router", f">= {ROUTER_RPS_VS_DIRECT_MIN}x direct")
        )
    return checks


def evaluate(
    run: RunResult, c_low: int, c_high: int, batch_rows: int, batch_conc: int
) -> list[Check]:
    """Every target, judged on the cells of ``run``.

    Args:
        run: the measured run.
        c_low: the latency concurrency (1).
        c_high: the throughput concurrency (16).
        batch_rows: rows per batch request (64).
        batch_conc: the concurrency the batch target is judged at.
    """
    checks: list[Check] = []
    for key in SHIPLANE_ROWS:
        checks += _latency_and_throughput(run, key, c_low, c_high)
    checks.append(_batching(run, c_high))
    for key in SHIPLANE_ROWS:
        checks.append(_batch_rows(run, key, batch_rows, batch_conc))
    for key in SHIPLANE_ROWS:
        checks.append(_rss(run, key))
    checks += _router(run, c_low, c_high)
    return checks
