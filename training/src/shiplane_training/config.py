"""The training config: a YAML file validated into a typed, frozen model.

Every section forbids unknown keys, so a typo (``n_estimator``) is an error that
names the key instead of a silently ignored setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shiplane_training.errors import ConfigError

Task = Literal["classification", "regression"]
ClassificationMetric = Literal["roc_auc", "accuracy", "f1"]
RegressionMetric = Literal["rmse", "mae", "r2"]

BUILTIN_DATASETS: Final[dict[str, Task]] = {
    "breast_cancer": "classification",
    "iris": "classification",
    "wine": "classification",
    "diabetes": "regression",
}
"""Datasets scikit-learn ships inside its wheel (they load offline) and their task."""

DEFAULT_GATE_METRIC: Final[dict[Task, str]] = {
    "classification": "roc_auc",
    "regression": "rmse",
}

# MLflow registered model names: keep them URL- and Kubernetes-label-friendly.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Section):
    """Where the data comes from: exactly one of ``builtin`` or ``path``."""

    builtin: str | None = None
    """Name of a dataset scikit-learn ships: breast_cancer, iris, wine, diabetes."""
    path: Path | None = None
    """CSV (``.csv``) or Parquet (``.parquet``/``.pq``) file; relative paths are
    resolved against the config file's folder."""
    target: str | None = None
    """Target column of ``path`` (required with ``path``)."""
    features: list[str] | None = Field(default=None, min_length=1)
    """Feature columns, in model input order. Default: every column but the
    target, in file order."""

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.builtin is None) == (self.path is None):
            raise ValueError("give exactly one of dataset.builtin or dataset.path")
        if self.builtin is not None:
            if self.builtin not in BUILTIN_DATASETS:
                known = ", ".join(sorted(BUILTIN_DATASETS))
                raise ValueError(f"unknown dataset {self.builtin!r} (known: {known})")
            if self.target is not None:
                raise ValueError("dataset.target is only for dataset.path")
        elif self.target is None:
            raise ValueError("dataset.path needs dataset.target (the label column)")
        return self


class SplitConfig(_Section):
    """Train/held-out split. The gate compares models on the held-out part."""

    test_size: float = Field(default=0.25, gt=0.0, lt=1.0)
    """Share of rows held out for evaluation and the quality gate."""
    stratify: bool = True
    """Keep class shares equal in both parts (classification only)."""


class PreprocessingConfig(_Section):
    """Steps in front of the estimator, fitted on the training rows only."""

    impute: Literal["median", "mean", "most_frequent"] = "median"
    """How missing feature values are filled."""
    scale: bool = True
    """Standardize features (zero mean, unit variance)."""


class EstimatorConfig(_Section):
    """The estimator and its hyperparameters."""

    name: str
    """A name from the estimator registry (see :mod:`shiplane_training.pipeline`)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Constructor arguments; names are checked against the estimator."""


class SearchConfig(_Section):
    """A small cross-validated hyperparameter search over the estimator."""

    method: Literal["grid", "random"] = "grid"
    """Exhaustive grid, or ``n_iter`` random candidates from it."""
    param_grid: dict[str, list[Any]] = Field(min_length=1)
    """Estimator parameter name -> candidate values."""
    cv: int = Field(default=3, ge=2, le=10)
    """Folds of the cross-validation on the training rows."""
    n_iter: int = Field(default=4, ge=1, le=50)
    """Candidates tried by ``method: random``."""
    max_candidates: int = Field(default=24, ge=1, le=200)
    """Refuse grids larger than this, so a config cannot start an hours-long search."""


class GateConfig(_Section):
    """The quality gate against the current ``@champion``."""

    metric: str | None = None
    """Primary metric: roc_auc, accuracy, f1 (classification) or rmse, mae, r2
    (regression). Default: roc_auc or rmse."""
    max_regression: float = Field(default=0.0, ge=0.0)
    """How much worse than the champion the new version may be and still pass
    (in the metric's units). 0 means at least as good."""


class TrainingConfig(_Section):
    """A whole training run."""

    model_name: str
    """Registered model name in MLflow."""
    experiment: str | None = None
    """MLflow experiment; default: the model name."""
    task: Task
    """classification or regression."""
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    """Seeds the split, the estimator and the search: same config, same metrics."""
    dataset: DatasetConfig
    split: SplitConfig = Field(default_factory=SplitConfig)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)
    estimator: EstimatorConfig
    search: SearchConfig | None = None
    gate: GateConfig = Field(default_factory=GateConfig)
    description: str = ""
    """Free text stored on the run and the model version."""

    @model_validator(mode="after")
    def _consistent(self) -> TrainingConfig:
        if not _MODEL_NAME.match(self.model_name):
            raise ValueError(
                f"model_name {self.model_name!r}: use letters, digits, '.', '_', '-'"
            )
        if self.dataset.builtin is not None:
            expected = BUILTIN_DATASETS[self.dataset.builtin]
            if expected != self.task:
                raise ValueError(
                    f"dataset {self.dataset.builtin!r} is a {expected} dataset, "
                    f"but task is {self.task!r}"
                )
        allowed = _metrics_for(self.task)
        if self.gate.metric is not None and self.gate.metric not in allowed:
            raise ValueError(
                f"gate.metric {self.gate.metric!r} is not a {self.task} metric "
                f"(choose from {', '.join(allowed)})"
            )
        return self

    @property
    def gate_metric(self) -> str:
        return self.gate.metric or DEFAULT_GATE_METRIC[self.task]

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.model_name


def _metrics_for(task: Task) -> tuple[str, ...]:
    metric = ClassificationMetric if task == "classification" else RegressionMetric
    return get_args(metric)


def _describe(error: ValidationError) -> str:
    """One line per problem, each naming the key path (``estimator.nme``)."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_config(raw: object, source: str = "config") -> TrainingConfig:
    """Validate an already-parsed YAML document.

    Raises:
        ConfigError: naming every bad key and why.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return TrainingConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from exc


def load_config(path: Path, model_name: str | None = None) -> TrainingConfig:
    """Read and validate a YAML config; relative dataset paths become relative to
    the config file.

    Args:
        path: the YAML file.
        model_name: overrides ``model_name`` from the file when given.

    Raises:
        ConfigError: the file is missing, not YAML or not a valid config.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}") from exc
    if isinstance(raw, dict) and model_name:
        raw = {**raw, "model_name": model_name}
    config = parse_config(raw, str(path))
    data_path = config.dataset.path
    if data_path is not None and not data_path.is_absolute():
        dataset = config.dataset.model_copy(
            update={"path": (path.parent / data_path).resolve()}
        )
        config = config.model_copy(update={"dataset": dataset})
    return config
