"""``shiplane`` (also ``kubectl shiplane``): one entry point for every verb.

Each verb is a :class:`~shiplane.cli.verb.Verb` in the ``VERBS`` of its
family's module (:mod:`~shiplane.cli.control`, :mod:`~shiplane.cli.analyze`,
:mod:`~shiplane.cli.rollout`); :func:`builtin_verbs` lists the families, and the
flags they share are in :mod:`shiplane.cli.args`. Adding a verb touches its
module (and, for a new family, that list); the domain packages below hold no
argparse.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from shiplane import __version__
from shiplane.cli.verb import Handler, Verb

PLUGIN_GROUP = "shiplane.verbs"
"""Entry-point group of verbs that other packages bring, so this package never
imports theirs: shiplane-training registers ``train``, shiplane-serving
``score`` and ``profile`` (they load models, which only the serving runtime
does)."""

#: Verb -> (the package that brings it, its one-line help).
PLUGIN_VERBS: dict[str, tuple[str, str]] = {
    "train": (
        "shiplane-training",
        "train a model from a YAML config and register it in MLflow",
    ),
    "score": (
        "shiplane-serving",
        "batch-score a CSV or Parquet file with a model version",
    ),
    "profile": (
        "shiplane-serving",
        "build a model version's drift baseline from a dataset",
    ),
}


def _plugin(verb: str, argv: Sequence[str]) -> int:
    found = entry_points(group=PLUGIN_GROUP, name=verb)
    if not found:
        package = PLUGIN_VERBS[verb][0]
        image = package.removeprefix("shiplane-")
        print(
            f"shiplane {verb} needs the {package} package "
            f"(pip install {package}, or use the {image} image)",
            file=sys.stderr,
        )
        return 2
    plugin_main: Callable[[list[str]], int] = next(iter(found)).load()
    return plugin_main(list(argv))


def builtin_verbs() -> list[Verb]:
    """Every verb of this package, in ``shiplane --help`` order (after the
    plugin verbs). Imported here, not at the top, so a plugin verb loads none
    of them."""
    from shiplane.cli import analyze, control, rollout

    return [*control.VERBS, *analyze.VERBS, *rollout.VERBS]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(
        prog="shiplane",
        description="Ship scikit-learn models on Kubernetes: train, serve, canary, "
        "promote.",
    )
    parser.add_argument(
        "--version", action="version", version=f"shiplane {__version__}"
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, (_package, summary) in PLUGIN_VERBS.items():
        verbs.add_parser(name, help=summary, add_help=False)
    handlers: dict[str, Handler] = {}
    for verb in builtin_verbs():
        verb.add_arguments(
            verbs.add_parser(verb.name, help=verb.help, description=verb.description)
        )
        handlers[verb.name] = verb.run
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # A plugin verb owns its own flags; hand it everything after the verb.
    if args[:1] and args[0] in PLUGIN_VERBS:
        return _plugin(args[0], args[1:])
    from shiplane.control.errors import ControlError

    parser, handlers = build_parser()
    parsed = parser.parse_args(args)
    try:
        return handlers[parsed.verb](parsed)
    except ControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
