"""Shiplane's control CLI (``kubectl shiplane``) and A/B router.

The contracts every component shares live in :mod:`shiplane_contracts`; the
developer tooling (demo, local stack, generators) in :mod:`shiplane_tools`,
which no image ships.
"""

__version__ = "0.1.0"
