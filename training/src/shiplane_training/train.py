"""One training run, start to finish.

Order matters: config, data, estimator and MLflow reachability are all checked,
the model fitted and checked servable, and the champion scored, BEFORE the first
write to MLflow. So bad input of any kind registers nothing; only an MLflow
failure after the version exists can leave a partial result, and that is
reported as such.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

from shiplane_training import evaluate, gate
from shiplane_training.columns import check_encodable
from shiplane_training.config import TrainingConfig
from shiplane_training.data import Dataset, data_fingerprint, load_dataset
from shiplane_training.errors import (
    DataError,
    PartialRegistrationError,
    TrackingUnavailableError,
)
from shiplane_training.pipeline import (
    build_pipeline,
    check_search,
    count_candidates,
    fit,
)
from shiplane_training.profiling import reference_profile
from shiplane_training.progress import Progress
from shiplane_training.registry import (
    TAG_PREFIX,
    Registry,
    assert_servable,
    model_signature,
    profile_schema_metadata,
)
from shiplane_training.sources import SourceOptions

INPUT_EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class TrainingResult:
    """What a finished run produced."""

    model_name: str
    version: str
    run_id: str
    metrics: dict[str, float]
    decision: gate.GateDecision
    feature_names: tuple[str, ...]
    task: str
    classes: list[Any] | None = None
    tracking_uri: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Split:
    x_train: Any
    x_test: Any
    y_train: Any
    y_test: Any


def _split(config: TrainingConfig, data: Dataset) -> _Split:
    stratify = (
        data.y if config.task == "classification" and config.split.stratify else None
    )
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            data.x,
            data.y,
            test_size=config.split.test_size,
            random_state=config.seed,
            stratify=stratify,
        )
    except ValueError as exc:  # e.g. a class with a single row cannot be stratified
        raise DataError(f"{data.source}: cannot split the data: {exc}") from exc
    return _Split(x_train, x_test, y_train, y_test)


def _pip_requirements() -> list[str]:
    """Pinned from what is installed, so MLflow skips its slow inference step."""
    wanted = ("scikit-learn", "skops", "numpy", "scipy")
    return [f"{name}=={importlib_metadata.version(name)}" for name in wanted]


def _flat_params(
    config: TrainingConfig, data: Dataset, split: _Split
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "task": config.task,
        "seed": config.seed,
        "dataset": data.source,
        "estimator": config.estimator.name,
        "test_size": config.split.test_size,
        "stratify": config.split.stratify,
        "impute": config.preprocessing.impute,
        "scale": config.preprocessing.scale,
        "gate_metric": config.gate_metric,
        "gate_max_regression": config.gate.max_regression,
        "train_rows": len(split.y_train),
        "test_rows": len(split.y_test),
        "n_features": len(data.feature_names),
        "data_fingerprint": data.fingerprint,
        "data_rows": data.n_rows,
    }
    if data.columns.table:
        categorical = config.preprocessing.categorical
        params["categorical_features"] = ",".join(data.columns.categorical)
        params["encoding"] = categorical.encoding
        params["min_frequency"] = categorical.min_frequency
        params["max_categories"] = categorical.max_categories
    params.update({f"model.{k}": v for k, v in config.estimator.params.items()})
    if config.search is not None:
        params["search.method"] = config.search.method
        params["search.cv"] = config.search.cv
        params["search.grid"] = json.dumps(config.search.param_grid, sort_keys=True)
    return params


def load_checked(config: TrainingConfig, sources: SourceOptions) -> Dataset:
    """The run's dataset, with every check that needs the data (also what
    ``--dry-run`` runs).

    Raises:
        DataError: see :mod:`shiplane_training.data`.
    """
    data = load_dataset(config.dataset, config.task, sources)
    if isinstance(data.x, pd.DataFrame):
        check_encodable(
            data.x, data.columns, config.preprocessing.categorical, data.source
        )
    return data


def run_training(
    config: TrainingConfig,
    tracking_uri: str,
    probe_timeout_s: float = 5.0,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train, evaluate, gate, log and register one model version. A dataset
    that is an MLflow artifact is read from ``tracking_uri`` too.

    Raises:
        ConfigError, DataError, ModelFormatError, TrackingUnavailableError:
            before anything was written to the registry.
        PartialRegistrationError: MLflow failed after the version was created.
    """
    progress = progress or Progress()
    name = config.model_name
    progress.say(
        f"shiplane-training: model {name!r}, {config.task}, estimator "
        f"{config.estimator.name!r}, seed {config.seed}, MLflow {tracking_uri}"
    )
    build_pipeline(config)  # config errors (bad estimator/params) before any I/O
    check_search(config)
    sources = SourceOptions(tracking_uri=tracking_uri)

    # MLflow first: a dataset may be one of its artifacts, and its download
    # would otherwise sit in MLflow's retry loop on an unreachable server.
    with progress.step("connecting to MLflow") as notes:
        registry = Registry(tracking_uri, name)
        registry.probe(probe_timeout_s)
        notes.append(f"{tracking_uri} answers")

    with progress.step("loading data") as notes:
        data = load_checked(config, sources)
        notes.append(_describe_data(data))
    split = _split(config, data)
    n_classes = len(np.unique(data.y)) if config.task == "classification" else 0

    title = "fitting"
    if config.search is not None:
        candidates = count_candidates(config.search)
        title = (
            f"searching {candidates} candidates x {config.search.cv} folds "
            f"({candidates * config.search.cv} fits)"
        )
    with progress.step(title) as notes:
        fitted = fit(config, split.x_train, split.y_train, n_classes, data.columns)
        if fitted.best_params:
            notes.append(f"best {fitted.best_params}, cv score {fitted.cv_score:.4f}")
    model = fitted.pipeline
    assert_servable(model)

    with progress.step("evaluating on held-out rows") as notes:
        metrics = evaluate.score(model, split.x_test, split.y_test, config.task)
        notes.append(", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    with tempfile.TemporaryDirectory(prefix="shiplane-train-") as tmp_name:
        tmp = Path(tmp_name)
        with progress.step("quality gate against @champion") as notes:
            decision = _decide(config, registry, model, split, data, metrics, tmp)
            notes.append(f"{decision.outcome}: {decision.reason}")

        with progress.step("profiling training data and predictions"):
            train_fingerprint = data_fingerprint(split.x_train, split.y_train)
            train_predictions = model.predict(split.x_train)
            profile = reference_profile(
                split.x_train,
                data.columns,
                train_predictions,
                config.task,
                train_fingerprint,
            )
        classes = (
            [_plain(c) for c in model.classes_]
            if config.task == "classification"
            else None
        )
        artifacts = _write_artifacts(tmp, config, data, split, model, train_fingerprint)

        metric_values = dict(metrics)
        if fitted.cv_score is not None:
            metric_values["cv_best_score"] = fitted.cv_score
        if decision.champion_value is not None:
            metric_values[f"champion_{decision.metric}"] = decision.champion_value
        gate_tags = _gate_tags(decision)
        run_tags = {
            **gate_tags,
            f"{TAG_PREFIX}model_name": name,
            f"{TAG_PREFIX}dataset_fingerprint": data.fingerprint,
        }
        params = _flat_params(config, data, split)
        params.update({f"best.{k}": v for k, v in fitted.best_params.items()})

        with progress.step("logging run and model to MLflow") as notes:
            run_id, model_uri, model_id = registry.log_run(
                experiment=config.experiment_name,
                run_name=f"{name}-{config.estimator.name}",
                params=params,
                metrics=metric_values,
                tags=run_tags,
                artifacts=artifacts,
                model=model,
                profile=profile,
                metadata=profile_schema_metadata(
                    config.task,
                    list(data.feature_names),
                    classes,
                    list(data.columns.categorical),
                    profile.schema_version,
                ),
                signature=model_signature(split.x_train, train_predictions),
                input_example=split.x_train[:INPUT_EXAMPLE_ROWS],
                pip_requirements=_pip_requirements(),
            )
            notes.append(f"run {run_id}")

    version = _register(
        registry, model_uri, model_id, run_id, decision, data, config, progress
    )
    aliases = (decision.alias,) if decision.alias else ()
    return TrainingResult(
        model_name=name,
        version=version,
        run_id=run_id,
        metrics=metrics,
        decision=decision,
        feature_names=data.feature_names,
        task=config.task,
        classes=classes,
        tracking_uri=tracking_uri,
        aliases=aliases,
    )


def _decide(
    config: TrainingConfig,
    registry: Registry,
    model: Any,
    split: _Split,
    data: Dataset,
    metrics: dict[str, float],
    tmp: Path,
) -> gate.GateDecision:
    metric = config.gate_metric
    new_value = metrics[metric]
    try:
        champion_version = registry.champion()
        if champion_version is None:
            if registry.version_count() == 0:
                return gate.first_version(metric, new_value)
            return gate.refuse(
                metric,
                new_value,
                f"model {config.model_name!r} has versions but no @champion alias; "
                "the gate will not pick a champion by itself (set one with "
                "`shiplane promote` or an MLflow alias)",
            )
    except Exception as exc:
        raise TrackingUnavailableError(
            f"MLflow failed while looking up @champion (nothing was registered): {exc}"
        ) from exc
    try:
        champion = registry.load_champion(champion_version, tmp / "champion")
    except Exception as exc:  # a champion serving cannot load is not comparable
        return gate.refuse(
            metric,
            new_value,
            f"cannot load champion v{champion_version}: {str(exc).splitlines()[0]}",
            champion_version,
        )
    if champion.task is not None and champion.task != config.task:
        return gate.refuse(
            metric,
            new_value,
            f"champion v{champion_version} is a {champion.task} model, "
            f"the new one a {config.task} model",
            champion_version,
        )
    if champion.feature_names != list(data.feature_names) or (
        champion.categorical != list(data.columns.categorical)
    ):
        return gate.refuse(
            metric,
            new_value,
            f"feature schema differs from champion v{champion_version} "
            f"({len(champion.feature_names or [])} vs {len(data.feature_names)} "
            "features, or other names/order/categorical columns)",
            champion_version,
        )
    try:
        champion_metrics = evaluate.score(
            champion.model, split.x_test, split.y_test, config.task
        )
    except Exception as exc:  # e.g. champion trained on other classes
        return gate.refuse(
            metric,
            new_value,
            f"champion v{champion_version} cannot be scored on this data: "
            f"{str(exc).splitlines()[0]}",
            champion_version,
        )
    return gate.compare(
        metric,
        new_value,
        champion_metrics[metric],
        champion_version,
        config.gate.max_regression,
    )


def _gate_tags(decision: gate.GateDecision) -> dict[str, str]:
    tags = {
        f"{TAG_PREFIX}gate": decision.outcome,
        f"{TAG_PREFIX}gate_reason": decision.reason,
        f"{TAG_PREFIX}gate_metric": decision.metric,
        f"{TAG_PREFIX}gate_new_value": f"{decision.new_value:.6f}",
    }
    if decision.champion_value is not None:
        tags[f"{TAG_PREFIX}gate_champion_value"] = f"{decision.champion_value:.6f}"
    if decision.champion_version is not None:
        tags[f"{TAG_PREFIX}gate_champion_version"] = decision.champion_version
    return tags


def _register(
    registry: Registry,
    model_uri: str,
    model_id: str,
    run_id: str,
    decision: gate.GateDecision,
    data: Dataset,
    config: TrainingConfig,
    progress: Progress,
) -> str:
    version: str | None = None
    try:
        with progress.step("registering model version") as notes:
            version = registry.register(
                model_uri,
                model_id,
                run_id,
                tags={
                    **_gate_tags(decision),
                    f"{TAG_PREFIX}task": config.task,
                    f"{TAG_PREFIX}dataset_fingerprint": data.fingerprint,
                },
                description=config.description,
            )
            notes.append(f"{config.model_name} v{version}")
            if decision.alias:
                registry.set_alias(decision.alias, version)
                notes.append(f"@{decision.alias} -> v{version}")
            registry.tag_run(run_id, {f"{TAG_PREFIX}model_version": version})
    except Exception as exc:
        if version is None:
            raise TrackingUnavailableError(
                f"MLflow failed while registering run {run_id} (no version was "
                f"created): {str(exc).splitlines()[0]}"
            ) from exc
        raise PartialRegistrationError(
            f"{config.model_name} v{version} was registered but MLflow failed "
            f"afterwards (alias {decision.alias or 'none'} may be missing): "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    return version


def _write_artifacts(
    tmp: Path,
    config: TrainingConfig,
    data: Dataset,
    split: _Split,
    model: Any,
    train_fingerprint: str,
) -> list[Path]:
    """Plot, fingerprint and the resolved config, for humans browsing the run.
    (The profile is logged with the model, as the contract says.)"""
    plot = evaluate.plot(model, split.x_test, split.y_test, config.task, tmp)
    fingerprint_file = tmp / "data_fingerprint.json"
    fingerprint_file.write_text(
        json.dumps(
            {
                "source": data.source,
                "sha256": data.fingerprint,
                "rows": data.n_rows,
                "schema": data.schema,
                "categorical": list(data.columns.categorical),
                "train_rows": int(len(split.y_train)),
                "train_sha256": train_fingerprint,
                "test_rows": int(len(split.y_test)),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    config_file = tmp / "training_config.yaml"
    config_file.write_text(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False),
        encoding="utf-8",
    )
    return [plot, fingerprint_file, config_file]


def _describe_data(data: Dataset) -> str:
    text = f"{data.source}, {data.n_rows} rows x {len(data.feature_names)} features"
    if data.columns.table:
        text += f" ({len(data.columns.categorical)} categorical)"
    return text


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
