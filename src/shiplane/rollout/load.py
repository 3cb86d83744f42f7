"""Optional bounded Locust load during each analysis interval.

Runs ``locust --headless`` as a subprocess for exactly the interval (Locust's
own ``-t``), with a hard kill shortly after in case it hangs, so a rollout never
waits on a load generator.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LocustLoad:
    """One Locust scenario file against one host."""

    locustfile: Path
    host: str
    users: int = 4
    spawn_rate: int = 4
    extra_args: Sequence[str] = field(default_factory=tuple)
    """More Locust options (``--model-name X``, ``--config FILE``)."""
    grace_s: float = 20.0
    """Time past the run time before the process is killed."""

    def argv(self, duration_s: float) -> list[str]:
        """The command line for a run of ``duration_s`` seconds."""
        return [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(self.locustfile),
            "--headless",
            "--only-summary",
            "-u",
            str(self.users),
            "-r",
            str(self.spawn_rate),
            "-t",
            f"{max(1, round(duration_s))}s",
            "--stop-timeout",
            "2",
            "--host",
            self.host,
            *self.extra_args,
        ]

    def run(self, duration_s: float) -> str:
        """Run the load for ``duration_s``; returns a one-line summary.

        A non-zero exit of Locust (its SLO checks) is reported, not raised: the
        canary analysis, not the load generator, decides the rollout.
        """
        if not self.locustfile.is_file():
            return f"load: {self.locustfile} not found, no load generated"
        # Run from an empty directory: Locust reads ./locust.conf on its own,
        # and the CI defaults next to the scenarios (reports, run time) must
        # not leak into a rollout. Locust puts the locustfile's folder on
        # sys.path itself, so the scenario's imports still resolve.
        try:
            with tempfile.TemporaryDirectory(prefix="shiplane-load-") as cwd:
                done = subprocess.run(
                    self.argv(duration_s),
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    timeout=duration_s + self.grace_s,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            return f"load: locust did not stop within {duration_s + self.grace_s:.0f}s"
        lines = (done.stdout + "\n" + done.stderr).splitlines()
        # The first "Aggregated" row is the request table's: count, failures,
        # latencies, throughput.
        summary = next(
            (
                " ".join(line.split())
                for line in lines
                if line.strip().startswith("Aggregated")
            ),
            "no summary",
        )
        return f"load: locust exit {done.returncode}: {summary[:160]}"
