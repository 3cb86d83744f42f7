"""The sticky assignment function: exact ranges, stickiness and the monotone
property, exhaustively over weights and as hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiplane.router.assignment import (
    RING_SIZE,
    Assignment,
    key_point,
    layout_order,
    random_point,
)


def _split(canary: int) -> Assignment:
    return Assignment.build({"stable": 100 - canary, "canary": canary}, "stable")


def test_baseline_is_laid_out_last() -> None:
    assert layout_order(["stable", "canary"], "stable") == ("canary", "stable")
    assert layout_order(["a", "b", "c"], "a") == ("b", "c", "a")
    assert layout_order(["a", "b"], None) == ("a", "b")


def test_boundaries_are_exact() -> None:
    table = _split(10)
    boundary = 10 * RING_SIZE // 100
    assert table.variant_at(0) == "canary"
    assert table.variant_at(boundary - 1) == "canary"
    assert table.variant_at(boundary) == "stable"
    assert table.variant_at(RING_SIZE - 1) == "stable"


def test_zero_and_full_weights_route_everyone() -> None:
    points = [0, 1, RING_SIZE // 2, RING_SIZE - 1]
    assert {_split(0).variant_at(p) for p in points} == {"stable"}
    assert {_split(100).variant_at(p) for p in points} == {"canary"}


def test_weights_must_sum_to_100() -> None:
    with pytest.raises(ValueError, match="sum to 100"):
        Assignment.build({"a": 50, "b": 40}, None)
    with pytest.raises(ValueError):
        Assignment.build({"a": 110, "b": -10}, None)


def test_key_point_is_stable_across_processes() -> None:
    # A fixed digest: a change of hash would silently reshuffle every user.
    assert key_point("user-1") == 0x9AAC5A8621EAE188
    assert key_point("user-1") == key_point(b"user-1")
    assert 0 <= random_point() < RING_SIZE


def test_every_canary_step_is_monotone_exhaustively() -> None:
    """For every pair of canary weights a <= b, every user on the canary at a is
    still on it at b, and exactly the users in [a, b) move."""
    points = np.array([key_point(f"user-{i}") for i in range(1500)], dtype=np.uint64)
    on_canary = np.array(
        [[_split(w).variant_at(int(p)) == "canary" for p in points] for w in range(101)]
    )
    # below[w]: the point lies under the canary boundary for weight w.
    below = [
        points < np.uint64(w * RING_SIZE // 100)
        if w < 100
        else np.ones(len(points), bool)
        for w in range(101)
    ]
    for a in range(101):
        for b in range(a, 101):
            before, after = on_canary[a], on_canary[b]
            assert after[before].all(), (a, b)
            in_band = below[b] & ~below[a]
            assert np.array_equal(before != after, in_band), (a, b)


def test_weights_are_respected_statistically() -> None:
    n = 20000
    table = _split(25)
    share = sum(table.variant_for(f"k{i}") == "canary" for i in range(n)) / n
    sigma = math.sqrt(0.25 * 0.75 / n)
    assert abs(share - 0.25) < 5 * sigma


two_weights = st.lists(st.integers(0, 100), min_size=2, max_size=2).filter(
    lambda w: sum(w) <= 100
)


@settings(max_examples=300, deadline=None)
@given(key=st.text(max_size=64) | st.binary(max_size=64), canary=st.integers(0, 100))
def test_same_key_same_variant(key: str | bytes, canary: int) -> None:
    table = _split(canary)
    assert table.variant_for(key) == table.variant_for(key)
    assert 0 <= key_point(key) < RING_SIZE


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(min_size=1, max_size=32),
    a=st.integers(0, 100),
    b=st.integers(0, 100),
)
def test_growing_canary_keeps_canary_users(key: str, a: int, b: int) -> None:
    low, high = sorted((a, b))
    if _split(low).variant_for(key) == "canary":
        assert _split(high).variant_for(key) == "canary"
    if _split(high).variant_for(key) == "stable":
        assert _split(low).variant_for(key) == "stable"


@settings(max_examples=300, deadline=None)
@given(
    first=two_weights, point=st.integers(0, RING_SIZE - 1), delta=st.integers(0, 100)
)
def test_only_the_moved_boundary_moves_users(
    first: list[int], point: int, delta: int
) -> None:
    """Three variants a, b, base: moving weight from base to b (adjacent ranges)
    moves users only from base to b; a keeps everyone."""
    wa, wb = first
    delta = min(delta, 100 - wa - wb)
    before = Assignment.build({"a": wa, "b": wb, "base": 100 - wa - wb}, "base")
    after = Assignment.build(
        {"a": wa, "b": wb + delta, "base": 100 - wa - wb - delta}, "base"
    )
    old, new = before.variant_at(point), after.variant_at(point)
    if old != new:
        assert (old, new) == ("base", "b")
