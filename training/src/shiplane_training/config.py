"""The training config: a YAML file validated into a typed, frozen model.

Every section forbids unknown keys, so a typo (``n_estimator``) is an error that
names the key instead of a silently ignored setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shiplane_training.errors import ConfigError
from shiplane_training.sources import check_uri

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
# A scheme then ":/": what a URI given as dataset.path looks like.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetConfig(_Section):
    """Where the data comes from: exactly one of ``builtin``, ``path`` or ``uri``."""

    builtin: str | None = None
    """Name of a dataset scikit-learn ships: breast_cancer, iris, wine, diabetes."""
    path: Path | None = None
    """A local CSV (``.csv``) or Parquet (``.parquet``/``.pq``) file, e.g. on a
    mounted volume; relative paths are resolved against the config file's folder."""
    uri: str | None = None
    """The same kinds of file elsewhere: ``s3://bucket/key``, ``gs://bucket/key``,
    an MLflow artifact (``runs:/RUN_ID/path``, ``mlflow-artifacts:/path``) or
    ``file:///absolute/path``."""
    target: str | None = None
    """Target column of ``path`` or ``uri`` (required with them)."""
    features: list[str] | None = Field(default=None, min_length=1)
    """Feature columns, in model input order. Default: every column but the
    target, in file order."""
    categorical: list[str] | None = None
    """Feature columns holding categories (encoded by
    ``preprocessing.categorical``). Default: every string, boolean and pandas
    ``category`` column. A list, even an empty one, is taken as it is: numeric
    columns in it become categories, a text column missing from it is an error."""

    @field_validator("path", mode="before")
    @classmethod
    def _path_is_local(cls, value: object) -> object:
        if isinstance(value, str) and _URI.match(value):
            raise ValueError(
                f"{value!r} is a URI; dataset.path takes a local file, put URIs "
                "in dataset.uri"
            )
        return value

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            check_uri(value)  # ValueError naming the schemes that work
        return value

    @field_validator("categorical")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("lists a column twice")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        given = [k for k in ("builtin", "path", "uri") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of dataset.builtin, dataset.path or dataset.uri"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.builtin is not None:
            if self.builtin not in BUILTIN_DATASETS:
                known = ", ".join(sorted(BUILTIN_DATASETS))
                raise ValueError(f"unknown dataset {self.builtin!r} (known: {known})")
            if self.target is not None:
                raise ValueError("dataset.target is only for dataset.path or uri")
        elif self.target is None:
            raise ValueError(
                f"dataset.{given[0]} needs dataset.target (the label column)"
            )
        return self

    @property
    def location(self) -> str:
        """The file or URI to read (not for ``builtin``)."""
        return self.uri if self.uri is not None else str(self.path)


class SplitConfig(_Section):
    """Train/held-out split. The gate compares models on the held-out part."""

    test_size: float = Field(default=0.25, gt=0.0, lt=1.0)
    """Share of rows held out for evaluation and the quality gate."""
    stratify: bool = True
    """Keep class shares equal in both parts (classification only)."""


class CategoricalConfig(_Section):
    """How categorical feature columns are encoded. Missing values are a
    category of their own; a category never seen in training is accepted at
    prediction time (see docs/training.md)."""

    encoding: Literal["one_hot", "ordinal"] = "one_hot"
    """``one_hot``: one 0/1 column per category (linear models, small
    cardinality). ``ordinal``: one integer code per category (trees, many
    categories); unseen and missing values both get -1."""
    min_frequency: int | None = Field(default=None, ge=1)
    """Categories seen in fewer training rows are merged into one
    "infrequent" category, which also takes unseen values (one_hot)."""
    max_categories: int | None = Field(default=None, ge=2)
    """At most this many categories per column, the rarest merged as with
    ``min_frequency``; bounds the width of a one-hot encoding."""


class PreprocessingConfig(_Section):
    """Steps in front of the estimator, fitted on the training rows only."""

    impute: Literal["median", "mean", "most_frequent"] = "median"
    """How missing numeric feature values are filled."""
    scale: bool = True
    """Standardize numeric features (zero mean, unit variance)."""
    categorical: CategoricalConfig = Field(default_factory=CategoricalConfig)
    """Encoding of the categorical columns (``dataset.categorical``)."""


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
