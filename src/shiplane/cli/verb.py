"""The one way to add a verb: a :class:`Verb` in its family's ``VERBS``.

Each verb module (``control``, ``analyze``, ``rollout``) lists its verbs;
:func:`shiplane.cli.builtin_verbs` puts the families in ``--help`` order and
:func:`shiplane.cli.build_parser` registers every one the same way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[argparse.Namespace], int]
"""Runs a parsed verb; returns the exit code."""


@dataclass(frozen=True)
class Verb:
    """One ``shiplane`` verb: its parser and what runs it."""

    name: str
    help: str
    """One line in ``shiplane --help``."""
    description: str
    """The paragraph of ``shiplane NAME --help``."""
    add_arguments: Callable[[argparse.ArgumentParser], None]
    """Adds the verb's flags (the shared ones from :mod:`shiplane.cli.args`)."""
    run: Handler
