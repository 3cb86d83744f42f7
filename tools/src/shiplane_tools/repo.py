"""Where the Shiplane checkout is: the tools read its chart, configs and rules.

Found explicitly, never from ``__file__``: an installed (non-editable) copy of
this package lives in site-packages, far from any checkout. ``SHIPLANE_REPO``
names the checkout; without it the current directory and its parents are
searched, as git does.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

ENV = "SHIPLANE_REPO"
#: A file only a Shiplane checkout has.
MARKER = Path("charts/shiplane/Chart.yaml")


class RepositoryNotFound(RuntimeError):
    pass


@functools.cache
def root() -> Path:
    """The checkout's top directory."""
    named = os.environ.get(ENV)
    if named:
        path = Path(named).resolve()
        if not (path / MARKER).is_file():
            raise RepositoryNotFound(
                f"{ENV}={named} is not a Shiplane checkout (no {MARKER} there)"
            )
        return path
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / MARKER).is_file():
            return candidate
    raise RepositoryNotFound(
        f"no Shiplane checkout at or above {here} (looked for {MARKER}); "
        f"run from inside one, or set {ENV}=/path/to/shiplane"
    )
