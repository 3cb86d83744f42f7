"""Loading the dataset and refusing data the pipeline cannot train on.

Everything is checked here, before any MLflow run exists, so bad data registers
nothing. The result is what the model sees: a float64 matrix in the order of
``feature_names`` (serving sends arrays in that order) and the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shiplane_contracts.profile import fingerprint
from shiplane_training.config import DatasetConfig, Task
from shiplane_training.errors import DataError

_PARQUET_SUFFIXES = {".parquet", ".pq"}
_CSV_SUFFIXES = {".csv"}
MIN_ROWS = 10
"""Fewer rows cannot give both a training and a held-out part worth the name."""


@dataclass(frozen=True)
class Dataset:
    """Validated training data."""

    x: npt.NDArray[np.float64]
    """Features, rows x ``len(feature_names)``, float64 (NaN = missing)."""
    y: npt.NDArray[Any]
    """Target: float64 for regression; labels for classification."""
    feature_names: tuple[str, ...]
    source: str
    """Human description: ``sklearn:breast_cancer`` or the file path."""

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def fingerprint(self) -> str:
        """sha256 of the exact feature and target bytes (see the profile contract)."""
        return fingerprint(self.x, self.y)

    @property
    def schema(self) -> dict[str, str]:
        """Column -> dtype as the model sees it, target last."""
        return {
            **{n: "float64" for n in self.feature_names},
            "target": self.y.dtype.str,
        }


def load_dataset(config: DatasetConfig, task: Task) -> Dataset:
    """Load and validate the configured dataset.

    Raises:
        DataError: with one sentence saying what is wrong with which column.
    """
    if config.builtin is not None:
        frame, target = _load_builtin(config.builtin)
        source = f"sklearn:{config.builtin}"
    else:
        assert config.path is not None and config.target is not None  # config checks
        frame, target = _read_file(config.path), config.target
        source = str(config.path)
    return _validate(frame, target, config.features, task, source)


def _load_builtin(name: str) -> tuple[pd.DataFrame, str]:
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        raise DataError(f"unknown dataset {name!r} (known: {', '.join(loaders)})")
    bunch = loaders[name](as_frame=True)
    frame: pd.DataFrame = bunch.frame
    return frame, "target"


def _read_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in _PARQUET_SUFFIXES | _CSV_SUFFIXES:
        raise DataError(
            f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)"
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    try:
        if suffix in _PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty (no columns)") from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot be parsed: {exc}") from exc


def _validate(
    frame: pd.DataFrame,
    target: str,
    features: list[str] | None,
    task: Task,
    source: str,
) -> Dataset:
    columns = [str(c) for c in frame.columns]
    frame.columns = pd.Index(columns)
    if target not in columns:
        raise DataError(
            f"{source}: target column {target!r} not found "
            f"(columns: {_preview(columns)})"
        )
    if features is None:
        features = [c for c in columns if c != target]
    else:
        missing = [f for f in features if f not in columns]
        if missing:
            raise DataError(f"{source}: feature columns not found: {_preview(missing)}")
        if target in features:
            raise DataError(f"{source}: target column {target!r} is also a feature")
        if len(set(features)) != len(features):
            raise DataError(f"{source}: dataset.features lists a column twice")
    if not features:
        raise DataError(f"{source}: no feature columns besides the target {target!r}")
    if len(frame) == 0:
        raise DataError(f"{source}: the data has a header but no rows")
    if len(frame) < MIN_ROWS:
        raise DataError(f"{source}: only {len(frame)} rows; need at least {MIN_ROWS}")

    non_numeric = [
        f"{c} ({frame[c].dtype})"
        for c in features
        if not (pd.api.types.is_numeric_dtype(frame[c]) or frame[c].isna().all())
    ]
    if non_numeric:
        raise DataError(
            f"{source}: non-numeric feature columns the pipeline cannot use: "
            f"{_preview(non_numeric)} (encode them as numbers or drop them via "
            "dataset.features)"
        )
    x = frame[features].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(x).any():
        bad = [features[i] for i in np.flatnonzero(np.isinf(x).any(axis=0))]
        raise DataError(f"{source}: infinite values in {_preview(bad)}")
    empty = [features[i] for i in np.flatnonzero(np.isnan(x).all(axis=0))]
    if empty:
        raise DataError(f"{source}: feature columns with no values: {_preview(empty)}")

    labels = frame[target]
    n_missing = int(labels.isna().sum())
    if n_missing:
        raise DataError(
            f"{source}: target column {target!r} has {n_missing} missing (NaN) "
            f"value{'s' if n_missing > 1 else ''}; drop or fill those rows"
        )
    y = _target_array(labels, task, target, source)
    return Dataset(x=x, y=y, feature_names=tuple(features), source=source)


def _target_array(labels: pd.Series, task: Task, target: str, source: str) -> Any:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(
            labels
        ):
            raise DataError(
                f"{source}: regression target {target!r} must be numeric "
                f"(got {labels.dtype})"
            )
        y = labels.to_numpy(dtype=np.float64)
        if np.isinf(y).any():
            raise DataError(f"{source}: target column {target!r} has infinite values")
        return y
    # Integer labels stay integers; anything else becomes fixed-width strings,
    # which hash deterministically (object arrays would hash pointers).
    if pd.api.types.is_integer_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        y = labels.to_numpy(dtype=np.int64)
    elif pd.api.types.is_float_dtype(labels) and bool((labels == labels.round()).all()):
        y = labels.to_numpy(dtype=np.int64)
    else:
        y = labels.astype(str).to_numpy(dtype=str)
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise DataError(
            f"{source}: target column {target!r} has {n_classes} class; "
            "classification needs at least 2"
        )
    return y


def _preview(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
