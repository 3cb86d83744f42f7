"""Step-by-step progress with timings, for humans watching a terminal or the
logs of a Kubernetes Job (plain lines, flushed, no terminal control codes)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Prints ``-> step ...`` when a step starts and ``   done (1.2s) note``
    when it ends, so a slow step is visible while it runs."""

    def __init__(self, out: TextIO | None = None, enabled: bool = True) -> None:
        self._out = out or sys.stdout
        self._enabled = enabled
        self._started = time.monotonic()

    def say(self, message: str) -> None:
        if self._enabled:
            print(message, file=self._out, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Time a step; append short notes to the yielded list to show them."""
        notes: list[str] = []
        self.say(f"-> {title} ...")
        begun = time.monotonic()
        yield notes
        detail = f": {'; '.join(notes)}" if notes else ""
        self.say(f"   done in {time.monotonic() - begun:.1f}s{detail}")

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started
