"""``python -m shiplane.cli``: the same as ``shiplane``."""

from __future__ import annotations

import sys

from shiplane.cli import main

if __name__ == "__main__":
    sys.exit(main())
