"""Sticky, weighted assignment of users to variants (pure functions, no I/O).

A user key is hashed to a point on a ring of ``2**64`` positions (the first 8
bytes of its BLAKE2b digest). The ring is cut into consecutive ranges, one per
variant, sized by weight, in a fixed *layout order*: the configured order with
the baseline (the fallback variant, i.e. stable) moved to the end. With
stable/canary this gives canary ``[0, w_canary)`` and stable the rest, so:

* the same key always lands on the same variant while the weights stay put;
* when weights change, only the range boundaries move, and a user changes
  variant only if their point lies between an old and a new boundary. Growing
  the canary from 10 to 25 therefore keeps every canary user on the canary and
  moves exactly the stable users in ``[10, 25)``; shrinking it moves only users
  back to stable.

With more than two variants the same rule holds boundary by boundary: moving
weight between two *adjacent* ranges moves users only between them, while
resizing an earlier range shifts the boundaries after it.

Integer arithmetic keeps the cut points exact: boundary ``k`` is
``cumulative_weight_k * 2**64 // 100``.
"""

from __future__ import annotations

import bisect
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RING_BITS = 64
RING_SIZE = 1 << RING_BITS
TOTAL_WEIGHT = 100


def key_point(key: str | bytes) -> int:
    """Position of a user key on the ring, in ``[0, 2**64)``."""
    data = key.encode() if isinstance(key, str) else key
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def random_point() -> int:
    """A fresh uniformly random ring position, for requests without a key."""
    return secrets.randbits(RING_BITS)


def layout_order(variants: Sequence[str], baseline: str | None) -> tuple[str, ...]:
    """The order in which variants own ring ranges: configuration order with the
    baseline last, so that a growing canary takes users only from the baseline."""
    ordered = [v for v in variants if v != baseline]
    if baseline is not None and baseline in variants:
        ordered.append(baseline)
    return tuple(ordered)


@dataclass(frozen=True)
class Assignment:
    """Weighted ranges on the ring; build one with :meth:`build`."""

    names: tuple[str, ...]
    """Variants in layout order, zero weights left out."""
    upper_bounds: tuple[int, ...]
    """Exclusive upper bound of each variant's range; the last is ``2**64``."""

    @classmethod
    def build(cls, weights: Mapping[str, int], baseline: str | None) -> Assignment:
        """Cut the ring for ``weights`` (name -> percent, summing to 100).

        Args:
            weights: weight per variant in configuration order.
            baseline: the variant laid out last (the fallback/stable), if any.

        Raises:
            ValueError: the weights are negative or do not sum to 100.
        """
        if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
            raise ValueError(f"weights must be >= 0 and sum to 100: {dict(weights)}")
        names: list[str] = []
        bounds: list[int] = []
        cumulative = 0
        for name in layout_order(list(weights), baseline):
            weight = weights[name]
            if weight == 0:
                continue
            cumulative += weight
            names.append(name)
            bounds.append(cumulative * RING_SIZE // TOTAL_WEIGHT)
        return cls(tuple(names), tuple(bounds))

    def variant_at(self, point: int) -> str:
        """The variant owning ring position ``point`` (``0 <= point < 2**64``)."""
        return self.names[bisect.bisect_right(self.upper_bounds, point)]

    def variant_for(self, key: str | bytes) -> str:
        """The sticky variant of a user key."""
        return self.variant_at(key_point(key))
