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
"""Entry-point group of verbs that other packages bring (shiplane-training
registers ``train``), so this package never imports theirs."""


def _train(argv: Sequence[str]) -> int:
    found = entry_points(group=PLUGIN_GROUP, name="train")
    if not found:
        print(
            "shiplane train needs the shiplane-training package "
            "(pip install shiplane-training, or use the training image)",
            file=sys.stderr,
        )
        return 2
    train_main: Callable[[list[str]], int] = next(iter(found)).load()
    return train_main(list(argv))


def builtin_verbs() -> list[Verb]:
    """Every verb of this package, in ``shiplane --help`` order (after
    ``train``). Imported here, not at the top, so ``train`` loads none of them."""
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
    verbs.add_parser(
        "train",
        help="train a model from a YAML config and register it in MLflow",
        add_help=False,
    )
    handlers: dict[str, Handler] = {}
    for verb in builtin_verbs():
        verb.add_arguments(
            verbs.add_parser(verb.name, help=verb.help, description=verb.description)
        )
        handlers[verb.name] = verb.run
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # `train` owns its own flags; hand it everything after the verb.
    if args[:1] == ["train"]:
        return _train(args[1:])
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
