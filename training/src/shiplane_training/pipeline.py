"""The scikit-learn pipeline: a fixed registry of estimators behind imputation
and scaling, and the optional small hyperparameter search.

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
from sklearn.preprocessing import StandardScaler

from shiplane_training.config import SearchConfig, Task, TrainingConfig
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


def build_pipeline(config: TrainingConfig) -> Pipeline:
    """Imputer, optional scaler and the estimator, seeded from ``config.seed``.

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
    steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy=config.preprocessing.impute))
    ]
    if config.preprocessing.scale:
        steps.append(("scale", StandardScaler()))
    steps.append((MODEL_STEP, estimator))
    return Pipeline(steps)


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
    x: npt.NDArray[np.float64],
    y: npt.NDArray[Any],
    n_classes: int,
) -> FittedModel:
    """Fit the pipeline, through the configured search if any.

    Args:
        config: the run's config.
        x: training features.
        y: training target.
        n_classes: classes in the whole dataset (multiclass changes the scorer).
    """
    pipeline = build_pipeline(config)
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
