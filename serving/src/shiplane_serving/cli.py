"""``shiplane score`` and ``shiplane profile``: the serving runtime's batch
verbs. The ``shiplane`` CLI finds them through its ``shiplane.verbs`` entry
points; in the serving image (the chart's scoring Job) they run as
``python -m shiplane_serving.cli score|profile``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shiplane_serving.settings import ServingSettings

log = logging.getLogger("shiplane.score")


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model (loaded as a server loads it)")
    group.add_argument(
        "--mlflow-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", ""),
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI)",
    )
    group.add_argument(
        "--extra-trusted-types",
        default="",
        metavar="TYPES",
        help="comma-separated types skops may load beyond the built-in list",
    )
    group.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load pickle/cloudpickle models: runs code the model's author chose",
    )
    group.add_argument(
        "--download-dir",
        default="",
        help="where model files are downloaded (default: a temporary directory)",
    )


def _settings(args: argparse.Namespace, model_uri: str, tmp: str) -> ServingSettings:
    return ServingSettings(
        model_uri=model_uri,
        tracking_uri=args.mlflow_uri,
        extra_trusted_types=[t for t in args.extra_trusted_types.split(",") if t],
        allow_pickle=args.allow_pickle,
        download_dir=Path(args.download_dir or tmp),
        drift=False,
        batching=False,
        grpc_port=0,
    )


def score_main(argv: Sequence[str] | None = None) -> int:
    """``shiplane score``: batch predictions for a file."""
    import tempfile

    from shiplane_serving.scorerun import ScoreRun
    from shiplane_serving.scoring import ScoringError, default_rejects, score_file

    parser = argparse.ArgumentParser(
        prog="shiplane score",
        description="Score a CSV or Parquet file (a path, s3:// or gs://) with a "
        "model version, in bounded memory. Rows the model cannot take go to a "
        "rejects file with the reason; outputs appear only when the run succeeds.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="models:/NAME/VERSION, "
        "models:/NAME@ALIAS, runs:/RUN/PATH or a model directory",
    )
    parser.add_argument("--input", required=True, help="CSV or Parquet to score")
    parser.add_argument("--output", required=True, help="CSV or Parquet to write")
    parser.add_argument(
        "--rejects",
        default="",
        help="where refused rows go (default: OUTPUT with .rejects before the suffix)",
    )
    parser.add_argument(
        "--id-column",
        default="",
        help="input column copied next "
        "to each prediction (default: the row number, 'row')",
    )
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=10_000,
        help="rows read, validated and predicted at a time (memory "
        "grows with it, not with the file)",
    )
    parser.add_argument(
        "--no-log-run", action="store_true", help="do not record the run in MLflow"
    )
    _model_arguments(parser)
    args = parser.parse_args(argv)
    if args.batch_rows < 1:
        parser.error("--batch-rows must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    rejects = args.rejects or default_rejects(args.output)
    run = ScoreRun.start(
        args.mlflow_uri if not args.no_log_run else "",
        {
            "model": args.model,
            "input": args.input,
            "output": args.output,
            "rejects": rejects,
        },
    )
    with tempfile.TemporaryDirectory(prefix="shiplane-score-") as tmp:
        try:
            summary = score_file(
                _settings(args, args.model, tmp),
                args.input,
                args.output,
                rejects,
                id_column=args.id_column,
                batch_rows=args.batch_rows,
            )
        except ScoringError as exc:
            run.fail(str(exc))
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            run.fail("interrupted")
            print("interrupted: nothing was written", file=sys.stderr)
            return 130
    run.finish(summary)
    print(
        f"scored {summary.rows_scored:,} of {summary.rows_read:,} rows with "
        f"{args.model} (version {summary.model_version}) in {summary.seconds:.1f}s"
        f" -> {args.output}"
        + (
            f"; {summary.rows_rejected:,} rejected -> {rejects}"
            if summary.rows_rejected
            else ""
        )
        + (f"; MLflow run {run.run_id}" if run.run_id else "")
    )
    return 0


def profile_main(argv: Sequence[str] | None = None) -> int:
    """``shiplane profile``: a drift baseline for a registered version."""
    import tempfile

    from shiplane_serving.profiling import (
        ProfilingError,
        build_version_profile,
        store_profile,
        summary,
    )

    parser = argparse.ArgumentParser(
        prog="shiplane profile",
        description="Build the reference profile (drift baseline) of a registered "
        "model version from a dataset like its training data, store it with the "
        "version in MLflow, and print a summary. The next server start of that "
        "version measures drift.",
    )
    parser.add_argument("model", help="models:/NAME/VERSION or models:/NAME@ALIAS")
    parser.add_argument(
        "--data", required=True, help="CSV or Parquet (a path, s3:// or gs://)"
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=100_000,
        help="rows profiled at most (the first valid ones)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the profile's summary, store nothing",
    )
    _model_arguments(parser)
    args = parser.parse_args(argv)
    if args.max_rows < 1:
        parser.error("--max-rows must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="shiplane-profile-") as tmp:
        try:
            profiled = build_version_profile(
                _settings(args, args.model, tmp), args.data, args.max_rows
            )
            print("\n".join(summary(profiled)))
            if args.dry_run:
                return 0
            uri = store_profile(profiled, args.mlflow_uri, args.data)
        except ProfilingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(
        f"stored: {uri}; version {profiled.version} of {profiled.name} measures "
        "drift from its next start"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbs = {"score": score_main, "profile": profile_main}
    if not args or args[0] not in verbs:
        print(
            "usage: python -m shiplane_serving.cli {score,profile} ...", file=sys.stderr
        )
        return 2
    return verbs[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
