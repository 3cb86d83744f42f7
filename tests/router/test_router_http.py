"""The router as a real process in front of two real upstream processes:
weights, stickiness, the monotone property, shadow, fallback, pass-through,
admin authentication and metrics, all over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from shiplane.router.assignment import RING_SIZE, Assignment, key_point
from shiplane.router.client import RouterAdminClient, RouterAdminError
from shiplane_tools.localstack import free_port
from tests.promtext import samples, total
from tests.router.router_stack import Spawn, Stack

INFER = "/v2/models/m/infer"
KEYS = [f"user-{i}" for i in range(1000)]


# ---- helpers ----------------------------------------------------------------
def variants_of(url: str, keys: Iterable[str], path: str = INFER) -> dict[str, str]:
    """Which variant answers each key (16 requests in flight, bounded by count)."""

    async def run() -> dict[str, str]:
        limit = asyncio.Semaphore(16)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(base_url=url, timeout=timeout) as session:

            async def one(key: str) -> tuple[str, str]:
                async with (
                    limit,
                    session.post(
                        path, data=b"{}", headers={"x-user-id": key}
                    ) as response,
                ):
                    assert response.status == 200, await response.text()
                    body = await response.json()
                    variant = response.headers["x-shiplane-variant"]
                    assert body["variant"] == variant  # the header tells the truth
                    return key, variant

            return dict(await asyncio.gather(*(one(k) for k in keys)))

    return asyncio.run(run())


def put_weights(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    with stack.admin() as admin:
        return admin.put("/admin/weights", json=body)


def set_weights(stack: Stack, stable: int, canary: int, **extra: Any) -> None:
    response = put_weights(
        stack, {"weights": {"stable": stable, "canary": canary}, **extra}
    )
    assert response.status_code == 200, response.text


def get_state(stack: Stack) -> dict[str, Any]:
    with stack.admin() as admin:
        response = admin.get("/admin/weights")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def scrape(url: str) -> str:
    """The router's /metrics page."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(metrics: str, name: str, **labels: str) -> float:
    return total(metrics, name, **labels)


def split(canary: int) -> Assignment:
    return Assignment.build({"stable": 100 - canary, "canary": canary}, "stable")


def key_on(variant: str, canary: int, avoid: Iterable[str] = ()) -> str:
    """A user key that the ring puts on ``variant`` at this canary weight."""
    skip = set(avoid)
    return next(
        k for k in KEYS if k not in skip and split(canary).variant_for(k) == variant
    )


def upstream_stats(proc_url: str) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"{proc_url}/stats").json()
    return stats


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s")
        time.sleep(0.05)


# ---- weights and stickiness -------------------------------------------------
def test_weights_are_respected_and_match_the_ring(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    seen = variants_of(stack.url, KEYS)
    share = sum(v == "canary" for v in seen.values()) / len(KEYS)
    sigma = math.sqrt(0.1 * 0.9 / len(KEYS))
    assert abs(share - 0.10) < 4.5 * sigma, share
    ring = split(10)
    assert all(seen[k] == ring.variant_for(k) for k in KEYS)


def test_same_user_always_gets_the_same_variant(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    keys = KEYS[:100]
    first = variants_of(stack.url, keys)
    for _ in range(4):
        assert variants_of(stack.url, keys) == first


def test_growing_the_canary_keeps_its_users_and_moves_exactly_the_band(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    at_10 = variants_of(stack.url, KEYS)
    set_weights(stack, 75, 25)
    at_25 = variants_of(stack.url, KEYS)
    moved = {k for k in KEYS if at_10[k] != at_25[k]}
    assert all(at_25[k] == "canary" for k in KEYS if at_10[k] == "canary")
    assert all((at_10[k], at_25[k]) == ("stable", "canary") for k in moved)
    low, high = 10 * RING_SIZE // 100, 25 * RING_SIZE // 100
    assert moved == {k for k in KEYS if low <= key_point(k) < high}
    sigma = math.sqrt(0.15 * 0.85 / len(KEYS))
    assert abs(len(moved) / len(KEYS) - 0.15) < 4.5 * sigma
    set_weights(stack, 90, 10)  # and back: everyone returns where they were
    assert variants_of(stack.url, KEYS) == at_10


def test_keyless_users_get_a_sticky_cookie(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    set_weights(stack, 50, 50)
    first = httpx.post(f"{stack.url}{INFER}", content=b"{}")
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("shiplane-user=") and "HttpOnly" in cookie
    key = cookie.split(";")[0].removeprefix("shiplane-user=")
    assert first.headers["x-shiplane-variant"] == split(50).variant_for(key)
    with httpx.Client(base_url=stack.url, cookies={"shiplane-user": key}) as client:
        answers = [client.post(INFER, content=b"{}") for _ in range(20)]
    assert {a.headers["x-shiplane-variant"] for a in answers} == {
        first.headers["x-shiplane-variant"]
    }
    assert all("set-cookie" not in a.headers for a in answers)
    # The header wins over the cookie.
    on_canary = key_on("canary", 50)
    on_stable = key_on("stable", 50)
    response = httpx.post(
        f"{stack.url}{INFER}",
        content=b"{}",
        headers={"x-user-id": on_canary, "cookie": f"shiplane-user={on_stable}"},
    )
    assert response.headers["x-shiplane-variant"] == "canary"


def test_the_variant_header_pins_a_request(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    set_weights(stack, 100, 0)
    pinned = httpx.post(
        f"{stack.url}/v2/models/m/feedback",
        content=b'{"request_id": "r1", "truth": 1}',
        headers={"x-shiplane-variant": "canary", "x-user-id": "anyone"},
    )
    assert pinned.status_code == 200
    assert pinned.json()["variant"] == "canary"  # weight 0, still reachable
    unknown = httpx.post(
        f"{stack.url}{INFER}", content=b"{}", headers={"x-shiplane-variant": "ghost"}
    )
    assert unknown.status_code == 400
    assert "unknown variant 'ghost'" in unknown.json()["error"]


# ---- pass-through ----------------------------------------------------------
def test_requests_and_answers_pass_through_unchanged(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    key = key_on("stable", 10)
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]], "note": "\xc3\xa9"}'
    response = httpx.post(
        f"{stack.url}/v1/models/iris:predict?a=1&b=%20x",
        content=body,
        headers={"x-user-id": key, "x-request-id": "req-123"},
    )
    assert response.status_code == 200
    echo = response.json()
    assert echo["path"] == "/v1/models/iris:predict"
    assert echo["query"] == "a=1&b=%20x"
    assert echo["body"].encode() == body and echo["body_len"] == len(body)
    assert response.headers["x-request-id"] == "req-123"
    assert response.headers["x-shiplane-model-version"] == "stable-7"
    assert response.headers["x-custom"] == "kept"
    assert response.headers["x-shiplane-variant"] == "stable"
    meta = httpx.get(f"{stack.url}/v2/models/iris", headers={"x-user-id": key})
    assert meta.status_code == 200 and meta.json()["method"] == "GET"


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024])
@pytest.mark.parametrize("kind", ["chunked", "big"])
def test_large_and_chunked_answers_stream_through(
    stack: Stack, base_weights: Callable[[], None], kind: str, size: int
) -> None:
    expected = bytes(i % 251 for i in range(size))
    with httpx.Client(base_url=stack.url) as client:  # one kept-alive connection
        for _ in range(2):
            response = client.get(
                f"/v1/models/{kind}-{size}", headers={"x-user-id": "a"}
            )
            assert response.status_code == 200
            assert response.content == expected
            assert response.headers["x-shiplane-variant"] in ("stable", "canary")


def test_head_requests_have_no_body_and_keep_the_pool_healthy(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    with httpx.Client(base_url=stack.url) as client:
        for _ in range(3):
            head = client.head("/v2/models/m", headers={"x-user-id": "h"})
            assert head.status_code == 200 and head.content == b""
            assert int(head.headers["content-length"]) > 0
            after = client.get("/v2/models/m", headers={"x-user-id": "h"})
            assert after.status_code == 200 and after.json()["method"] == "GET"


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_4xx_is_an_answer_not_a_failure(
    stack: Stack, base_weights: Callable[[], None], status: int
) -> None:
    before = scrape(stack.url)
    key = key_on("canary", 10)
    response = httpx.post(
        f"{stack.url}/v2/models/status-{status}/infer",
        content=b"{}",
        headers={"x-user-id": key},
    )
    assert response.status_code == status
    assert response.headers["x-shiplane-variant"] == "canary"
    assert response.json()["variant"] == "canary"
    assert "x-shiplane-fallback-from" not in response.headers
    after = scrape(stack.url)
    name = "shiplane_router_fallbacks_total"
    assert sample(after, name, variant="canary") == sample(
        before, name, variant="canary"
    )


# ---- fallback ---------------------------------------------------------------
def test_a_5xx_falls_back_and_is_counted(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    key = key_on("canary", 10)
    before = scrape(stack.url)
    response = httpx.post(
        f"{stack.url}/v2/models/fail-canary/infer",
        content=b"{}",
        headers={"x-user-id": key},
    )
    assert response.status_code == 200
    assert response.json()["variant"] == "stable"
    assert response.headers["x-shiplane-variant"] == "stable"
    assert response.headers["x-shiplane-fallback-from"] == "canary"
    after = scrape(stack.url)
    name = "shiplane_router_fallbacks_total"
    assert (
        sample(after, name, variant="canary")
        == sample(before, name, variant="canary") + 1
    )
    # Pinned requests never fall back: the 5xx goes back as it came.
    pinned = httpx.post(
        f"{stack.url}/v2/models/fail-canary/infer",
        content=b"{}",
        headers={"x-shiplane-variant": "canary"},
    )
    assert pinned.status_code == 500 and pinned.json()["variant"] == "canary"
    # Both fail: a 502 that names both failures, counted as the canary's 502.
    before = scrape(stack.url)
    both = httpx.post(
        f"{stack.url}/v2/models/status-503/infer",
        content=b"{}",
        headers={"x-user-id": key},
    )
    assert both.status_code == 502
    message = both.json()["error"]
    assert "'canary' failed (answered 503)" in message
    assert "fallback 'stable' failed (answered 503)" in message
    after = scrape(stack.url)
    requests = "shiplane_router_requests_total"
    assert (
        sample(after, requests, variant="canary", code="502")
        == sample(before, requests, variant="canary", code="502") + 1
    )
    assert sample(after, name, variant="canary") == sample(
        before, name, variant="canary"
    )


def test_a_dead_variant_falls_back_and_is_counted(
    stack: Stack, spawn: tuple[Spawn, Spawn]
) -> None:
    new_upstream, new_router = spawn
    doomed = new_upstream("canary")
    config = stack.config({"stable": 0, "canary": 100}, fallback="stable")
    config["variants"]["canary"]["url"] = doomed.url
    router = new_router(config)  # and no admin token: admin API disabled
    alive = httpx.post(f"{router.url}{INFER}", content=b"{}")
    assert alive.headers["x-shiplane-variant"] == "canary"
    doomed.stop()
    answers = [
        httpx.post(f"{router.url}{INFER}", content=b"{}", headers={"x-user-id": k})
        for k in KEYS[:5]
    ]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["variant"] for a in answers} == {"stable"}
    assert {a.headers["x-shiplane-fallback-from"] for a in answers} == {"canary"}
    metrics = scrape(router.url)
    assert sample(metrics, "shiplane_router_fallbacks_total", variant="canary") == 5
    assert (
        sample(metrics, "shiplane_router_requests_total", variant="stable", code="200")
        == 5
    )
    disabled = httpx.get(f"{router.url}/admin/weights")
    assert disabled.status_code == 403
    assert "admin API disabled" in disabled.json()["detail"]


def test_a_slow_variant_times_out_and_falls_back(
    stack: Stack, spawn: tuple[Spawn, Spawn]
) -> None:
    _, new_router = spawn
    config = stack.config({"stable": 0, "canary": 100}, fallback="stable")
    router = new_router(config, {"SHIPLANE_ROUTER_TIMEOUT_S": "0.3"})
    started = time.monotonic()
    response = httpx.post(f"{router.url}/v2/models/slow-canary/infer", content=b"{}")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["variant"] == "stable"
    assert response.headers["x-shiplane-fallback-from"] == "canary"
    assert elapsed < 1.5  # did not wait the canary's 2 s
    metrics = scrape(router.url)
    assert sample(metrics, "shiplane_router_fallbacks_total", variant="canary") == 1


def test_the_connection_limit_is_enforced_with_a_clear_error(
    stack: Stack, spawn: tuple[Spawn, Spawn]
) -> None:
    _, new_router = spawn
    config = stack.config({"stable": 0, "canary": 100})
    router = new_router(
        config,
        {
            "SHIPLANE_ROUTER_MAX_CONNECTIONS": "1",
            "SHIPLANE_ROUTER_POOL_TIMEOUT_S": "0.2",
        },
    )
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(
            httpx.post, f"{router.url}/v2/models/slow-canary/infer", content=b"{}"
        )
        time.sleep(0.5)  # the slow request holds the only connection
        starved = httpx.post(f"{router.url}{INFER}", content=b"{}")
        assert slow.result(timeout=10).status_code == 200
    assert starved.status_code == 502
    assert "no free upstream connection within 0.2s" in starved.json()["error"]
    again = httpx.post(f"{router.url}{INFER}", content=b"{}")
    assert again.status_code == 200  # the slot came back


def test_an_oversized_body_is_refused(stack: Stack, spawn: tuple[Spawn, Spawn]) -> None:
    _, new_router = spawn
    router = new_router(
        stack.config({"stable": 100, "canary": 0}),
        {"SHIPLANE_ROUTER_MAX_BODY_BYTES": "1000"},
    )
    too_big = httpx.post(f"{router.url}{INFER}", content=b"x" * 1001)
    assert too_big.status_code == 413
    assert "body larger than 1000 bytes" in too_big.json()["error"]
    fits = httpx.post(f"{router.url}{INFER}", content=b"x" * 1000)
    assert fits.status_code == 200 and fits.json()["body_len"] == 1000


def test_a_dead_variant_without_fallback_is_a_502(
    stack: Stack, spawn: tuple[Spawn, Spawn]
) -> None:
    _, new_router = spawn
    config = stack.config({"stable": 0, "canary": 100})
    config["variants"]["canary"]["url"] = f"http://127.0.0.1:{free_port()}"
    router = new_router(config)
    response = httpx.post(f"{router.url}{INFER}", content=b"{}")
    assert response.status_code == 502
    message = response.json()["error"]
    assert "variant 'canary' failed (cannot connect to 127.0.0.1:" in message
    metrics = scrape(router.url)
    assert (
        sample(metrics, "shiplane_router_requests_total", variant="canary", code="502")
        == 1
    )


# ---- shadow -----------------------------------------------------------------
def test_shadow_mirrors_a_share_and_never_answers(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    set_weights(stack, 100, 0, shadow={"variant": "canary", "percent": 100})
    before = upstream_stats(stack.canary.url)["shadow"]
    seen = variants_of(stack.url, KEYS[:50])
    assert set(seen.values()) == {"stable"}  # the shadow's answer is discarded
    wait_for(lambda: upstream_stats(stack.canary.url)["shadow"] == before + 50)
    wait_for(
        lambda: (
            sample(
                scrape(stack.url),
                "shiplane_router_shadow_requests_total",
                variant="canary",
                outcome="ok",
            )
            >= 50
        )
    )
    set_weights(stack, 100, 0, shadow={"variant": "canary", "percent": 30})
    before = upstream_stats(stack.canary.url)["shadow"]
    n = 600
    seen = variants_of(stack.url, KEYS[:n])
    assert set(seen.values()) == {"stable"}
    time.sleep(0.5)  # let the last copies land
    mirrored = upstream_stats(stack.canary.url)["shadow"] - before
    sigma = math.sqrt(n * 0.3 * 0.7)
    assert abs(mirrored - 0.3 * n) < 5 * sigma, mirrored
    assert get_state(stack)["shadow"] == {"variant": "canary", "percent": 30.0}


# ---- admin API --------------------------------------------------------------
def test_admin_needs_the_right_token(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    url = f"{stack.url}/admin/weights"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for header in ("Bearer wrong", "Basic czNjcmV0", f"Bearer {stack.token}x"):
        denied = httpx.put(
            url,
            json={"weights": {"stable": 0, "canary": 100}},
            headers={"authorization": header},
        )
        assert denied.status_code == 401, header
    assert get_state(stack) == {
        "weights": {"stable": 90, "canary": 10},
        "shadow": {"variant": "canary", "percent": 0.0},
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"weights": {"stable": 50, "canary": 40}}, "weights must sum to 100"),
        ({"weights": {"stable": 50, "ghost": 50}}, "unknown variants: ghost"),
        ({"weights": {"stable": 100}}, "missing variants: canary"),
        ({"weights": {"stable": 110, "canary": -10}}, "weights.stable"),
        (
            {
                "weights": {"stable": 50, "canary": 50},
                "shadow": {"variant": "ghost", "percent": 5},
            },
            "shadow variant 'ghost'",
        ),
        ({"weights": {"stable": 50, "canary": 50}, "extra": 1}, "extra"),
        ([1, 2], "body must be an object"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_bad_weights_are_refused_and_change_nothing(
    stack: Stack, base_weights: Callable[[], None], body: Any, reason: str
) -> None:
    before = get_state(stack)
    with stack.admin() as admin:
        if isinstance(body, bytes):
            response = admin.put("/admin/weights", content=body)
        else:
            response = admin.put("/admin/weights", json=body)
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert get_state(stack) == before
    weight = sample(
        scrape(stack.url), "shiplane_router_variant_weight", variant="canary"
    )
    assert weight == 10


def test_admin_client_reads_and_sets_weights(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    with RouterAdminClient(stack.url, stack.token) as client:
        assert client.get_weights().weights == {"stable": 90, "canary": 10}
        state = client.set_weights({"stable": 75, "canary": 25})
        assert state.weights == {"stable": 75, "canary": 25}
        assert state.shadow == {"variant": "canary", "percent": 0.0}  # kept
        state = client.set_weights({"stable": 80, "canary": 20}, shadow=None)
        assert state.shadow is None
        with pytest.raises(RouterAdminError) as refused:
            client.set_weights({"stable": 1, "canary": 1})
        assert refused.value.status == 422 and "sum to 100" in refused.value.message
        assert client.get_weights().weights == {"stable": 80, "canary": 20}
    with (
        RouterAdminClient(stack.url, "wrong") as client,
        pytest.raises(RouterAdminError) as denied,
    ):
        client.get_weights()
    assert denied.value.status == 401
    with RouterAdminClient(f"http://127.0.0.1:{free_port()}", "t") as client:
        with pytest.raises(RouterAdminError) as unreachable:
            client.get_weights()
    assert unreachable.value.status == 0


# ---- metrics ----------------------------------------------------------------
def test_metrics_follow_the_contract(
    stack: Stack, base_weights: Callable[[], None]
) -> None:
    set_weights(stack, 70, 30)
    before = scrape(stack.url)
    seen = variants_of(stack.url, KEYS[:200])
    after = scrape(stack.url)
    assert sample(after, "shiplane_router_variant_weight", variant="canary") == 30
    assert sample(after, "shiplane_router_variant_weight", variant="stable") == 70
    for variant in ("stable", "canary"):
        answered = sum(v == variant for v in seen.values())
        name = "shiplane_router_requests_total"
        labels = {"variant": variant, "code": "200"}
        assert (
            sample(after, name, **labels) - sample(before, name, **labels) == answered
        )
        count = "shiplane_router_request_duration_seconds_count"
        assert (
            sample(after, count, variant=variant)
            - sample(before, count, variant=variant)
            == answered
        )
        bucket = sample(
            after,
            "shiplane_router_request_duration_seconds_bucket",
            variant=variant,
            le="+Inf",
        )
        assert bucket == sample(after, count, variant=variant)
    for outcome in ("ok", "error", "dropped"):  # declared before any shadow traffic
        declared = samples(
            after,
            "shiplane_router_shadow_requests_total",
            variant="canary",
            outcome=outcome,
        )
        assert len(declared) == 1, (outcome, declared)


# ---- start-up errors ----------------------------------------------------------
def test_a_bad_config_stops_the_router_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "router.yaml"
    config.write_text(
        "variants:\n"
        "  stable: {url: 'http://127.0.0.1:1', weight: 60}\n"
        "  canary: {url: 'http://127.0.0.1:2', weight: 30}\n"
        "fallback: ghost\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "shiplane.router", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "weights must sum to 100, got 90" in result.stderr
    assert "fallback 'ghost' is not a configured variant" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text("variants:\n  stable: {url: 'http://127.0.0.1:1', weight: 100}\n")
    result = subprocess.run(
        [sys.executable, "-m", "shiplane.router", "--config", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "SHIPLANE_ROUTER_ADMIN_TOKEN_FILE": str(tmp_path / "no-such-secret"),
            "PATH": "/usr/bin:/bin",
        },
    )
    assert result.returncode == 2
    assert "cannot read admin token file" in result.stderr
