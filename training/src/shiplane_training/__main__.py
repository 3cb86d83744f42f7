"""``shiplane train`` / ``python -m shiplane_training``: train one model from a
YAML config, log it to MLflow and register it behind the quality gate.

Exit codes (a Kubernetes Job or CI can act on them):

====  ==========================================================================
0     a version was registered (gate passed, or it is the first champion; a
      gate rejection too, unless ``--fail-on-gate-reject``)
1     unexpected internal error (a bug: please report the traceback)
2     invalid command line or config (unknown key, bad estimator, ...)
3     bad data (missing target, text in a numeric column, empty file, NaN
      target...) or a dataset that cannot be read (no such object, access denied)
4     MLflow unreachable or failed before anything was registered
5     MLflow failed after a version was registered (tags/alias may be missing)
6     the gate rejected the version and ``--fail-on-gate-reject`` was given
7     the model needs skops types serving does not trust (nothing registered)
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from shiplane_training.config import load_config
from shiplane_training.errors import ConfigError, GateRejectedError, TrainingError
from shiplane_training.progress import Progress
from shiplane_training.settings import TrainingSettings
from shiplane_training.sources import SourceOptions
from shiplane_training.train import TrainingResult, run_training


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiplane train",
        description="Train a scikit-learn pipeline from a YAML config, log it to "
        "MLflow and register a version behind the quality gate.",
        epilog="Exit codes: 0 registered, 2 bad config, 3 bad data, 4 MLflow "
        "unavailable, 5 MLflow failed after registering, 6 gate rejected "
        "(with --fail-on-gate-reject), 7 model not servable. See docs/training.md.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="training config YAML (default: $SHIPLANE_TRAINING_CONFIG)",
    )
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI)",
    )
    parser.add_argument(
        "--model-name",
        help="registered model name, overriding the config's model_name",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the config and the data, then stop (no MLflow, no training)",
    )
    parser.add_argument(
        "--fail-on-gate-reject",
        action="store_true",
        default=None,
        help="exit 6 when the new version fails the quality gate",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the final summary"
    )
    return parser


def _summary(result: TrainingResult, elapsed_s: float) -> str:
    decision = result.decision
    aliases = ", ".join(f"@{a}" for a in result.aliases) or "none"
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    return "\n".join(
        [
            f"model:    {result.model_name} v{result.version} (run {result.run_id})",
            f"metrics:  {metrics}",
            f"gate:     {decision.outcome.upper()} - {decision.reason}",
            f"aliases:  {aliases}",
            f"uri:      models:/{result.model_name}/{result.version}",
            f"took:     {elapsed_s:.1f}s",
        ]
    )


def _quiet_mlflow() -> None:
    """MLflow's INFO lines (experiment created, waiting for the version, ...)
    would bury the progress lines; keep its warnings and errors. MLflow sets its
    logger level when imported, hence the import first."""
    import mlflow  # noqa: F401

    logging.getLogger("mlflow").setLevel(logging.WARNING)


def _run(args: argparse.Namespace, settings: TrainingSettings) -> int:
    config_path = args.config or settings.config
    if config_path is None:
        raise ConfigError(
            "no config: pass --config PATH or set SHIPLANE_TRAINING_CONFIG"
        )
    config = load_config(config_path, args.model_name or settings.model_name)
    progress = Progress(enabled=not args.quiet)
    tracking_uri = args.tracking_uri or settings.tracking_uri
    sources = SourceOptions(tracking_uri=tracking_uri)
    if args.dry_run:
        from shiplane_training.pipeline import build_pipeline, check_search
        from shiplane_training.train import load_checked

        build_pipeline(config)
        check_search(config)
        data = load_checked(config, sources)
        categorical = (
            f" ({len(data.columns.categorical)} categorical)"
            if data.columns.table
            else ""
        )
        print(
            f"config OK: {config.model_name}, {data.source}: {data.n_rows} rows x "
            f"{len(data.feature_names)} features{categorical}, fingerprint "
            f"{data.fingerprint[:12]}"
        )
        return 0
    if not tracking_uri:
        raise ConfigError(
            "no MLflow tracking server: set MLFLOW_TRACKING_URI or pass --tracking-uri"
        )
    _quiet_mlflow()
    result = run_training(config, tracking_uri, settings.probe_timeout_s, progress)
    print(_summary(result, progress.elapsed_s), flush=True)
    fail_on_reject = (
        args.fail_on_gate_reject
        if args.fail_on_gate_reject is not None
        else settings.fail_on_gate_reject
    )
    if fail_on_reject and not result.decision.passed:
        raise GateRejectedError(result.decision.reason)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    try:
        settings = TrainingSettings()
    except ValidationError as exc:
        print(f"error: invalid SHIPLANE_TRAINING_* setting: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    try:
        return _run(args, settings)
    except TrainingError as exc:
        # One line, so a Job's termination message or a CI log shows all of it.
        message = " ".join(str(exc).split())
        print(f"error: {exc.kind}: {message}", file=sys.stderr, flush=True)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
