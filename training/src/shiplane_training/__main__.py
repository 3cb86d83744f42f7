"""Placeholder entry point; the training issue fills it in."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("shiplane-training: not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
