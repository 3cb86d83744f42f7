"""``shiplane`` (also ``kubectl shiplane``): one entry point for every verb.

Each verb lives in its own module and registers itself here; this file only
wires them together, so adding a verb never touches another one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from shiplane import __version__

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


Handler = Callable[[argparse.Namespace], int]


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
    from shiplane.analysis import command as analyze_command
    from shiplane.control import commands as control_commands
    from shiplane.rollout import command as rollout_command

    handlers = control_commands.register(verbs)
    analyze_command.register(verbs)
    handlers["analyze"] = analyze_command.run_analyze
    rollout_command.register(verbs)
    handlers["rollout"] = rollout_command.run_rollout_command
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


if __name__ == "__main__":
    sys.exit(main())
