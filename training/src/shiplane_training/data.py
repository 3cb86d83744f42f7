"""Loading the dataset and refusing data the pipeline cannot train on.

Everything is checked here, before any MLflow run exists, so bad data registers
nothing. The result is what the model sees: a float64 matrix in the order of
``feature_names`` when every feature is numeric (serving sends arrays in that
order), or, when some are categorical, a DataFrame of typed columns in that
order (serving sends named, typed values); and the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from shiplane_contracts.profile import fingerprint, table_fingerprint
from shiplane_training.columns import FeatureColumns, type_columns
from shiplane_training.config import DatasetConfig, Task
from shiplane_training.errors import DataError
from shiplane_training.sources import SourceOptions, read_frame

MIN_ROWS = 10
"""Fewer rows cannot give both a training and a held-out part worth the name."""

Features: TypeAlias = npt.NDArray[np.float64] | pd.DataFrame
"""Model input rows: a float64 matrix, or a DataFrame of typed columns."""


@dataclass(frozen=True)
class Dataset:
    """Validated training data."""

    x: Features
    """Features, rows x ``len(feature_names)``: float64 (NaN = missing) when all
    are numeric, else a DataFrame (see :mod:`shiplane_training.columns`)."""
    y: npt.NDArray[Any]
    """Target: float64 for regression; labels for classification."""
    columns: FeatureColumns
    source: str
    """Human description: ``sklearn:breast_cancer``, the file path or URI."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.columns.names

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def fingerprint(self) -> str:
        """sha256 of the exact feature and target values (see
        :func:`data_fingerprint`)."""
        return data_fingerprint(self.x, self.y)

    @property
    def schema(self) -> dict[str, str]:
        """Column -> dtype as the model sees it, target last."""
        if isinstance(self.x, pd.DataFrame):
            features = {n: str(self.x[n].dtype) for n in self.feature_names}
        else:
            features = {n: "float64" for n in self.feature_names}
        return {**features, "target": self.y.dtype.str}


def data_fingerprint(x: Features, y: npt.NDArray[Any]) -> str:
    """sha256 of features and target, by the profile contract's rules: the
    exact bytes of a float64 matrix (:func:`~shiplane_contracts.profile.fingerprint`),
    or a table's column names and values
    (:func:`~shiplane_contracts.profile.table_fingerprint`)."""
    if not isinstance(x, pd.DataFrame):
        return fingerprint(x, y)
    return table_fingerprint({str(n): x[n].tolist() for n in x.columns}, y)


def load_dataset(
    config: DatasetConfig, task: Task, options: SourceOptions | None = None
) -> Dataset:
    """Load and validate the configured dataset.

    Raises:
        DataError: with one sentence saying what is wrong with which column
            (a :class:`~shiplane_training.errors.DataSourceError` when the file
            cannot be read at all).
    """
    if config.builtin is not None:
        frame, target = _load_builtin(config.builtin)
        source = f"sklearn:{config.builtin}"
    else:
        assert config.target is not None  # config checks
        location = config.path if config.path is not None else config.uri
        assert location is not None  # config checks
        frame, target = read_frame(location, options), config.target
        source = config.location
    return validate_frame(
        frame, target, config.features, config.categorical, task, source
    )


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


def validate_frame(
    frame: pd.DataFrame,
    target: str,
    features: list[str] | None,
    categorical: list[str] | None,
    task: Task,
    source: str,
) -> Dataset:
    """Check a frame as read and build the :class:`Dataset` (see
    :func:`load_dataset`); ``categorical`` is ``dataset.categorical``.

    Raises:
        DataError: naming the column and what is wrong with it.
    """
    names = [str(c) for c in frame.columns]
    frame.columns = pd.Index(names)
    if target not in names:
        raise DataError(
            f"{source}: target column {target!r} not found (columns: {_preview(names)})"
        )
    if features is None:
        features = [c for c in names if c != target]
    else:
        missing = [f for f in features if f not in names]
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

    typed, columns = type_columns(frame, features, categorical, source)
    x: Features = (
        typed if columns.table else typed.to_numpy(dtype=np.float64, na_value=np.nan)
    )

    labels = frame[target]
    n_missing = int(labels.isna().sum())
    if n_missing:
        raise DataError(
            f"{source}: target column {target!r} has {n_missing} missing (NaN) "
            f"value{'s' if n_missing > 1 else ''}; drop or fill those rows"
        )
    y = _target_array(labels, task, target, source)
    return Dataset(x=x, y=y, columns=columns, source=source)


def _target_array(labels: pd.Series, task: Task, target: str, source: str) -> Any:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(
            labels
        ):
            numbers = pd.to_numeric(labels.astype(str), errors="coerce")
            bad = np.flatnonzero(numbers.isna().to_numpy())
            example = ""
            if bad.size:
                example = f", e.g. {labels.iloc[bad[0]]!r} in row {bad[0] + 1}"
            raise DataError(
                f"{source}: regression target {target!r} must be numeric "
                f"(got {labels.dtype}{example})"
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
