"""Bounded, incremental bin counts over a sliding time window.

The window is a ring of ``subwindows`` slots, each holding the bin counts of
``window_s / subwindows`` seconds of traffic. Adding a batch increments one slot
(O(columns) numpy work per model call, whatever the window size); reading sums the
slots younger than the window. Memory is fixed: ``subwindows x (bins + 2)``
integers.

Slots are stamped with wall-clock slot numbers, so several worker processes can
each write their own ring to a file (numpy memmap) in a shared directory and any
of them can sum all rings: the window then covers every worker's traffic, and a
ring left by a dead worker ages out on its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

FILE_PREFIX: Final = "drift_"
FILE_SUFFIX: Final = ".counts"
_STAMP, _ROWS, _HEADER = 0, 1, 2

IntArray = npt.NDArray[np.int64]


class WindowCounts:
    """One process's ring of bin counts.

    Args:
        n_bins: total bins over all columns (the flat layout the caller uses).
        window_s: window length in seconds.
        subwindows: slots in the ring.
        directory: when set, the ring lives in a file there so other processes
            can read it; else in memory.
        clock: wall-clock seconds (injectable for tests).
    """

    def __init__(
        self,
        n_bins: int,
        window_s: float,
        subwindows: int,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.n_bins = n_bins
        self.subwindows = subwindows
        self.slot_s = window_s / subwindows
        self.clock = clock
        self.directory = directory
        shape = (subwindows, _HEADER + n_bins)
        self.ring: IntArray
        if directory is None:
            self.ring = np.zeros(shape, dtype=np.int64)
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{FILE_PREFIX}{os.getpid()}{FILE_SUFFIX}"
            self.ring = np.memmap(path, dtype=np.int64, mode="w+", shape=shape)
        self.ring[:, _STAMP] = -1

    def _slot_number(self) -> int:
        return int(self.clock() // self.slot_s)

    def add(self, bin_counts: IntArray, rows: int) -> None:
        """Add one batch: ``bin_counts`` over the flat bins and its row count."""
        number = self._slot_number()
        slot = self.ring[number % self.subwindows]
        if slot[_STAMP] != number:  # the slot's old period has left the window
            slot[_HEADER:] = 0
            slot[_ROWS] = 0
            slot[_STAMP] = number
        slot[_HEADER:] += bin_counts
        slot[_ROWS] += rows

    def _rings(self) -> list[IntArray]:
        if self.directory is None:
            return [self.ring]
        rings: list[IntArray] = []
        expected = self.ring.size * self.ring.itemsize
        for path in sorted(self.directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}")):
            try:
                if path.stat().st_size != expected:
                    continue  # another model's layout: not ours to add
                rings.append(
                    np.asarray(
                        np.memmap(path, dtype=np.int64, mode="r", shape=self.ring.shape)
                    )
                )
            except (OSError, ValueError):
                continue  # a worker's file vanished while we looked
        return rings

    def totals(self) -> tuple[IntArray, int]:
        """Bin counts and rows over the window, every process's ring included."""
        oldest = self._slot_number() - self.subwindows + 1
        counts = np.zeros(self.n_bins, dtype=np.int64)
        rows = 0
        for ring in self._rings():
            live = ring[ring[:, _STAMP] >= oldest]
            counts += live[:, _HEADER:].sum(axis=0, dtype=np.int64)
            rows += int(live[:, _ROWS].sum())
        return counts, rows
