"""Per-process state built once when Locust initialises: the payload rows, the
parsed expected split and the split counter.

Bad options (a missing payload file, an unreadable ``--expected-split``) stop
the run before the first request with one clear message and exit code 2, so a
typo never turns into a load test that measures nothing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from locust import events
from locust.env import Environment

from common.payloads import PayloadError, Payloads, load_payloads
from common.split import SplitSpecError, SplitTracker, parse_expected_split

log = logging.getLogger("shiplane.loadtest")


@dataclass
class Runtime:
    payloads: Payloads | None = None
    expected_split: dict[str, float] = field(default_factory=dict)
    tracker: SplitTracker = field(default_factory=SplitTracker)

    def require_payloads(self) -> Payloads:
        if self.payloads is None:
            raise RuntimeError(
                "payloads are loaded by the init listener before users start"
            )
        return self.payloads


RUNTIME = Runtime()


def _options_error(message: str) -> None:
    print(f"LOADTEST CONFIG ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def load_runtime(environment: Environment, **_: Any) -> None:
    """Read the payload file and the expected split once per process."""
    options = environment.parsed_options
    if options is None:  # used as a library without Locust's argument parser
        return
    try:
        RUNTIME.payloads = load_payloads(options.payload_file)
    except PayloadError as exc:
        _options_error(str(exc))
    if options.expected_split:
        try:
            RUNTIME.expected_split = parse_expected_split(options.expected_split)
        except SplitSpecError as exc:
            _options_error(str(exc))
    payloads = RUNTIME.require_payloads()
    log.info(
        "payloads: %d rows x %d features from %s",
        len(payloads.rows),
        payloads.n_features,
        payloads.source,
    )


def send_split_counts(client_id: str, data: dict[str, Any], **_: Any) -> None:
    """A worker ships its split counts with each stats report."""
    data["shiplane_split"] = RUNTIME.tracker.drain()


def receive_split_counts(client_id: str, data: dict[str, Any], **_: Any) -> None:
    """The master adds up what its workers counted."""
    if "shiplane_split" in data:
        RUNTIME.tracker.merge(data["shiplane_split"])


events.init.add_listener(load_runtime)
events.report_to_master.add_listener(send_split_counts)
events.worker_report.add_listener(receive_split_counts)
