"""Which feature columns are numeric and which categorical, and the one dtype
each is trained with.

The dtypes chosen here are the model's input contract: the MLflow signature is
inferred from the frame this module returns, and serving parses requests by that
signature (strings, booleans, whole numbers, numbers). So every column must hold
one kind of value, and a column that cannot is refused here, naming it, before
anything is fitted or logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from shiplane_training.config import CategoricalConfig
from shiplane_training.errors import DataError

NUMERIC_SHARE: Final = 0.9
"""A text column whose values are at least this share numbers (but not all) is
taken for a numeric column with typos, not for categories."""

ONE_HOT_MAX_CATEGORIES: Final = 1000
"""Above this many categories in one column, one-hot encoding needs
``max_categories`` (or ``encoding: ordinal``): one float64 column per category
would exhaust a training Job's memory on an identifier column."""

# pandas.api.types.infer_dtype results, by the kind of column they make.
_NUMBER_VALUES: Final = frozenset(
    {"integer", "floating", "mixed-integer-float", "decimal"}
)
_TEXT_VALUES: Final = frozenset({"string"})
_BOOLEAN_VALUES: Final = frozenset({"boolean"})


@dataclass(frozen=True)
class FeatureColumns:
    """The model's input columns, in model input order."""

    names: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    """The categorical ones, in model input order."""

    @property
    def numeric(self) -> tuple[str, ...]:
        chosen = set(self.categorical)
        return tuple(n for n in self.names if n not in chosen)

    @property
    def table(self) -> bool:
        """Whether the model takes a named, typed table (some column is
        categorical) rather than a float64 matrix."""
        return bool(self.categorical)


def type_columns(
    frame: pd.DataFrame,
    features: Sequence[str],
    declared: Sequence[str] | None,
    source: str,
) -> tuple[pd.DataFrame, FeatureColumns]:
    """The feature columns with their training dtypes, and which are categorical.

    Numeric columns become int64 (whole numbers, none missing) or float64 (NaN
    for missing); categorical ones hold str, bool or numbers, missing values as
    NaN (bool dtype when none is missing).

    Args:
        frame: the data as read.
        features: the feature columns, in model input order.
        declared: ``dataset.categorical``; None infers it (string, boolean and
            pandas category columns).
        source: where the data came from, for messages.

    Raises:
        DataError: naming the column: no values, text in a numeric column,
            mixed value types, infinite values, an unsupported dtype.
    """
    if declared is not None:
        unknown = [c for c in declared if c not in features]
        if unknown:
            raise DataError(
                f"{source}: dataset.categorical names columns that are not "
                f"features: {', '.join(unknown)}"
            )
    empty = [c for c in features if frame[c].isna().all()]
    if empty:
        which = "categorical " if declared and set(empty) <= set(declared) else ""
        raise DataError(
            f"{source}: {which}feature columns with no values: {', '.join(empty)} "
            "(every row is missing)"
        )
    typed: dict[str, pd.Series] = {}
    categorical: list[str] = []
    for name in features:
        column = frame[name]
        kind = _kind(column)
        if kind == "other":
            raise DataError(
                f"{source}: column {name!r} has dtype {column.dtype}, which a model "
                "cannot take: convert it to numbers (e.g. epoch seconds) or leave "
                "it out via dataset.features"
            )
        if declared is not None:
            is_categorical = name in declared
        elif kind in ("text", "mixed") and _mostly_numbers(column):
            raise DataError(f"{source}: {_text_in_numeric(column, name)}")
        else:
            is_categorical = kind in ("text", "mixed", "boolean", "category")
        if is_categorical:
            typed[name] = _categorical(column, name, source)
            categorical.append(name)
        else:
            typed[name] = _numeric(column, kind, name, source)
    out = pd.DataFrame(typed, index=frame.index)
    return out, FeatureColumns(tuple(features), tuple(categorical))


def check_encodable(
    frame: pd.DataFrame, columns: FeatureColumns, config: CategoricalConfig, source: str
) -> None:
    """Refuse a one-hot encoding that would be as wide as an identifier column.

    Raises:
        DataError: naming the column and its number of categories.
    """
    if config.encoding != "one_hot" or config.max_categories is not None:
        return
    for name in columns.categorical:
        distinct = int(frame[name].nunique(dropna=True))
        if distinct > ONE_HOT_MAX_CATEGORIES:
            raise DataError(
                f"{source}: categorical column {name!r} has {distinct} distinct "
                f"values (more than {ONE_HOT_MAX_CATEGORIES}): one-hot would make "
                "a column for each; set preprocessing.categorical.max_categories, "
                "use encoding: ordinal, or leave it out via dataset.features"
            )


def _kind(column: pd.Series) -> str:
    """number, boolean, text, category, mixed or other (dates, bytes, ...)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(
        dtype
    ):
        return "number"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        values = pd.api.types.infer_dtype(column, skipna=True)
        if values in _TEXT_VALUES:
            return "text"
        if values in _BOOLEAN_VALUES:
            return "boolean"
        if values in _NUMBER_VALUES:
            return "number"
        if values.startswith("mixed"):
            return "mixed"
    return "other"


def _categorical(column: pd.Series, name: str, source: str) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    values = column.astype(object).where(column.notna(), np.nan)
    present = values.dropna()
    kinds = {_value_kind(v) for v in present}
    if len(kinds) > 1:
        raise DataError(
            f"{source}: categorical column {name!r} mixes value types "
            f"({_examples_of_each_kind(values)}): a column must hold one type"
        )
    if kinds == {"boolean"} and len(present) == len(values):
        return values.astype(bool)
    if kinds == {"number"}:
        return pd.to_numeric(values)
    return values


def _numeric(column: pd.Series, kind: str, name: str, source: str) -> pd.Series:
    if kind in ("text", "mixed"):
        raise DataError(f"{source}: {_text_in_numeric(column, name)}")
    if kind == "category":
        raise DataError(
            f"{source}: column {name!r} has dtype category but dataset.categorical "
            "does not list it: add it there, or store it as numbers"
        )
    if kind == "boolean":  # 0/1, as a column not listed in dataset.categorical
        ones = column.astype(object).where(column.notna(), np.nan).astype(np.float64)
        return pd.Series(ones.to_numpy(), index=column.index)
    numbers = pd.to_numeric(column)
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise DataError(f"{source}: infinite values in {name}")
    if pd.api.types.is_integer_dtype(numbers.dtype) and not np.isnan(values).any():
        return pd.Series(numbers.to_numpy(dtype=np.int64), index=column.index)
    return pd.Series(values, index=column.index)


def _mostly_numbers(column: pd.Series) -> bool:
    """Some values are not numbers, but nearly all are: a numeric column with
    typos, not categories."""
    present = column.dropna()
    parsed = pd.to_numeric(present.astype(str), errors="coerce")
    return bool(parsed.isna().any()) and parsed.notna().mean() >= NUMERIC_SHARE


def _text_in_numeric(column: pd.Series, name: str) -> str:
    present = column.dropna()
    bad = present[pd.to_numeric(present.astype(str), errors="coerce").isna()]
    first = f"first {bad.iloc[0]!r} in row {_row_of(column, bad.index[0])}"
    if len(bad) < len(present):
        return (
            f"column {name!r} holds numbers but also {len(bad)} "
            f"{'values that are' if len(bad) > 1 else 'value that is'} not "
            f"({first}): fix or blank them (blank cells are missing values the "
            "imputer fills), or list the column in dataset.categorical to use its "
            "values as categories"
        )
    return (
        f"column {name!r} holds text ({first}) but dataset.categorical does not "
        "list it: add it there to encode it, or leave it out via dataset.features"
    )


def _value_kind(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | float | np.number):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _examples_of_each_kind(values: pd.Series) -> str:
    seen: dict[str, str] = {}
    for index, value in values.dropna().items():
        kind = _value_kind(value)
        if kind not in seen:
            seen[kind] = f"{kind} {value!r} in row {_row_of(values, index)}"
    return ", ".join(seen.values())


def _row_of(column: pd.Series, index: object) -> int:
    """1-based data row (the header not counted) of an index label."""
    position = column.index.get_loc(index)
    return int(position) + 1 if isinstance(position, int | np.integer) else 0
