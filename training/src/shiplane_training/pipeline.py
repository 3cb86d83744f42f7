"""The scikit-learn pipeline: a fixed registry of estimators behind imputation
and scaling (and, for categorical columns, encoding), and the optional small
hyperparameter search.

All-numeric data gives ``impute -> scale -> model`` over a float64 matrix, the
layout serving's fast path takes. With categorical columns the first step is a
``ColumnTransformer`` that selects columns by name, so the model takes a
DataFrame: numeric columns imputed and scaled as before, categorical ones
encoded so that a missing value is a category of its own and a category never
seen in training is accepted (one-hot: all zeros, or the "infrequent" column;
ordinal: -1) instead of failing a prediction.

The registry is closed on purpose: every estimator here has been checked to save
with skops using only :data:`shiplane_contracts.modelformat.TRUSTED_TYPES`, so anything
training produces, serving can load.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterGrid,
    RandomizedSearchCV,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from shiplane_training.columns import FeatureColumns
from shiplane_training.config import (
    CategoricalConfig,
    PreprocessingConfig,
    SearchConfig,
    Task,
    TrainingConfig,
)
from shiplane_training.data import Features
from shiplane_training.errors import ConfigError

ESTIMATORS: Final[dict[str, tuple[Task, type[BaseEstimator]]]] = {
    "logistic_regression": ("classification", LogisticRegression),
    "random_forest": ("classification", RandomForestClassifier),
    "gradient_boosting": ("classification", GradientBoostingClassifier),
    "hist_gradient_boosting": ("classification", HistGradientBoostingClassifier),
    "ridge": ("regression", Ridge),
    "random_forest_regressor": ("regression", RandomForestRegressor),
    "gradient_boosting_regressor": ("regression", GradientBoostingRegressor),
    "hist_gradient_boosting_regressor": ("regression", HistGradientBoostingRegressor),
}
"""Allowed estimator names -> (task, class)."""

MODEL_STEP: Final = "model"
COLUMNS_STEP: Final = "columns"
UNKNOWN_CODE: Final = -1
"""Ordinal code of a missing value and of a category never seen in training."""

# Metric name -> scikit-learn scorer for the cross-validated search.
_SCORERS: Final[dict[str, str]] = {
    "roc_auc": "roc_auc",
    "accuracy": "accuracy",
    "f1": "f1",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


@dataclass(frozen=True)
class FittedModel:
    """The fitted pipeline and what the search found, if there was one."""

    pipeline: Pipeline
    best_params: dict[str, Any] = field(default_factory=dict)
    cv_score: float | None = None
    """Best mean cross-validation score (scikit-learn's sign: higher is better)."""
    candidates: int = 0


def estimator_class(config: TrainingConfig) -> type[BaseEstimator]:
    """The estimator class for the config, checked against the task.

    Raises:
        ConfigError: unknown name, or an estimator for the other task.
    """
    name = config.estimator.name
    if name not in ESTIMATORS:
        known = ", ".join(n for n, (t, _) in ESTIMATORS.items() if t == config.task)
        raise ConfigError(
            f"estimator.name: unknown estimator {name!r} (for {config.task}: {known})"
        )
    task, cls = ESTIMATORS[name]
    if task != config.task:
        raise ConfigError(
            f"estimator.name: {name!r} is a {task} estimator, "
            f"but task is {config.task!r}"
        )
    return cls


def _check_param_names(cls: type[BaseEstimator], names: list[str], where: str) -> None:
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(names) - accepted)
    if unknown:
        raise ConfigError(
            f"{where}: {cls.__name__} has no parameter {', '.join(map(repr, unknown))}"
        )


def build_pipeline(
    config: TrainingConfig, columns: FeatureColumns | None = None
) -> Pipeline:
    """The preprocessing steps and the estimator, seeded from ``config.seed``.

    Args:
        config: the run's config.
        columns: the data's columns; with categorical ones the pipeline takes a
            DataFrame (see module doc). None (config checks before the data is
            read) builds the numeric pipeline.

    Raises:
        ConfigError: unknown estimator or hyperparameter, or a bad value for one.
    """
    cls = estimator_class(config)
    params = dict(config.estimator.params)
    _check_param_names(cls, list(params), "estimator.params")
    if config.search is not None:
        _check_param_names(cls, list(config.search.param_grid), "search.param_grid")
    if "random_state" in inspect.signature(cls.__init__).parameters:
        params.setdefault("random_state", config.seed)
    try:
        estimator = cls(**params)
        # Catches bad values (e.g. n_estimators: -1) now, before any MLflow run.
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"estimator.params: {exc}") from exc
    numeric = _numeric_steps(config.preprocessing)
    if columns is None or not columns.table:
        return Pipeline([*numeric, (MODEL_STEP, estimator)])
    transformers: list[tuple[str, Any, list[str]]] = []
    if columns.numeric:
        transformers.append(("numeric", Pipeline(numeric), list(columns.numeric)))
    transformers.append(
        (
            "categorical",
            _encoder(config.preprocessing.categorical),
            list(columns.categorical),
        )
    )
    # Dense output: HistGradientBoosting takes no sparse input.
    table = ColumnTransformer(transformers, sparse_threshold=0.0)
    return Pipeline([(COLUMNS_STEP, table), (MODEL_STEP, estimator)])


def _numeric_steps(preprocessing: PreprocessingConfig) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy=preprocessing.impute))
    ]
    if preprocessing.scale:
        steps.append(("scale", StandardScaler()))
    return steps


def _encoder(config: CategoricalConfig) -> OneHotEncoder | OrdinalEncoder:
    """The encoder of the categorical columns. Both treat a missing value as a
    category learnt in training; neither fails on a category it never saw."""
    if config.encoding == "one_hot":
        return OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=config.min_frequency,
            max_categories=config.max_categories,
            sparse_output=False,
            dtype=np.float64,
        )
    return OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=UNKNOWN_CODE,
        encoded_missing_value=UNKNOWN_CODE,
        min_frequency=config.min_frequency,
        max_categories=config.max_categories,
        dtype=np.float64,
    )


def count_candidates(search: SearchConfig) -> int:
    """Candidates the search will fit (each ``cv`` times)."""
    grid_size = len(ParameterGrid(search.param_grid))
    return grid_size if search.method == "grid" else min(search.n_iter, grid_size)


def check_search(config: TrainingConfig) -> None:
    """Refuse a search too large or a scorer that does not fit the data.

    Raises:
        ConfigError: the grid exceeds ``search.max_candidates``.
    """
    search = config.search
    if search is None:
        return
    total = len(ParameterGrid(search.param_grid))
    if total > search.max_candidates and search.method == "grid":
        raise ConfigError(
            f"search.param_grid has {total} candidates, more than "
            f"search.max_candidates={search.max_candidates}; use method: random"
        )
    cls = estimator_class(config)
    for name, values in search.param_grid.items():
        if not values:
            raise ConfigError(f"search.param_grid.{name}: give at least one value")
        for value in values:
            try:
                cls(**{**config.estimator.params, name: value})._validate_params()
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"search.param_grid.{name}: {exc}") from exc


def fit(
    config: TrainingConfig,
    x: Features,
    y: npt.NDArray[Any],
    n_classes: int,
    columns: FeatureColumns | None = None,
) -> FittedModel:
    """Fit the pipeline, through the configured search if any.

    Args:
        config: the run's config.
        x: training features.
        y: training target.
        n_classes: classes in the whole dataset (multiclass changes the scorer).
        columns: the data's columns (see :func:`build_pipeline`).
    """
    pipeline = build_pipeline(config, columns)
    search = config.search
    if search is None:
        pipeline.fit(x, y)
        return FittedModel(pipeline)
    grid = {f"{MODEL_STEP}__{k}": v for k, v in search.param_grid.items()}
    scoring = _SCORERS[config.gate_metric]
    if n_classes > 2 and scoring in ("roc_auc", "f1"):
        scoring = {"roc_auc": "roc_auc_ovr", "f1": "f1_macro"}[scoring]
    splitter = (
        StratifiedKFold(search.cv, shuffle=True, random_state=config.seed)
        if config.task == "classification"
        else KFold(search.cv, shuffle=True, random_state=config.seed)
    )
    searcher: GridSearchCV | RandomizedSearchCV
    if search.method == "grid":
        searcher = GridSearchCV(
            pipeline, grid, scoring=scoring, cv=splitter, n_jobs=1, error_score="raise"
        )
    else:
        searcher = RandomizedSearchCV(
            pipeline,
            grid,
            n_iter=count_candidates(search),
            scoring=scoring,
            cv=splitter,
            n_jobs=1,
            random_state=config.seed,
            error_score="raise",
        )
    searcher.fit(x, y)
    best = {
        k.removeprefix(f"{MODEL_STEP}__"): _plain(v)
        for k, v in searcher.best_params_.items()
    }
    return FittedModel(
        pipeline=searcher.best_estimator_,
        best_params=best,
        cv_score=float(searcher.best_score_),
        candidates=count_candidates(search),
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
