"""Loading and validating data, without MLflow: what the model will see and
every refusal's message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shiplane_training.columns import ONE_HOT_MAX_CATEGORIES
from shiplane_training.config import DatasetConfig, parse_config
from shiplane_training.data import load_dataset, validate_frame
from shiplane_training.errors import DataError, DataSourceError
from shiplane_training.sources import SourceOptions, read_frame
from shiplane_training.train import load_checked


def table(rows: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "flag": [True, False] * (rows // 2),
            "b": rng.integers(0, 5, size=rows),
            "label": ["yes", "no"] * (rows // 2),
        }
    )


def shop(rows: int = 40) -> pd.DataFrame:
    """Numbers, a string column with a gap, a boolean and an integer code."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "price": rng.normal(20, 5, rows),
            "city": rng.choice(["paris", "oslo", "rome"], rows),
            "member": rng.choice([True, False], rows),
            "store": rng.integers(1, 4, rows),
            "label": [0, 1] * (rows // 2),
        }
    )
    frame.loc[5, "city"] = None
    return frame


def csv(tmp_path: Path, frame: pd.DataFrame, **dataset: Any) -> DatasetConfig:
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    return DatasetConfig(path=path, target="label", **dataset)


def test_all_numeric_csv_becomes_a_float_matrix_in_column_order(
    tmp_path: Path,
) -> None:
    # An explicit empty dataset.categorical: the boolean is a 0/1 number.
    data = load_dataset(csv(tmp_path, table(), categorical=[]), "classification")
    assert data.feature_names == ("a", "flag", "b")
    assert not data.columns.table
    assert isinstance(data.x, np.ndarray)
    assert data.x.dtype == np.float64 and data.x.shape == (20, 3)
    assert set(data.x[:, 1]) == {0.0, 1.0}
    assert data.y.dtype.kind == "U" and set(data.y) == {"yes", "no"}
    assert len(data.fingerprint) == 64
    again = load_dataset(csv(tmp_path, table(), categorical=[]), "classification")
    assert data.fingerprint == again.fingerprint


def test_string_and_boolean_columns_are_inferred_categorical(tmp_path: Path) -> None:
    data = load_dataset(csv(tmp_path, shop()), "classification")
    assert data.columns.categorical == ("city", "member")
    assert data.columns.numeric == ("price", "store")
    x = data.x
    assert isinstance(x, pd.DataFrame)
    assert list(x.columns) == ["price", "city", "member", "store"]
    assert {n: str(t) for n, t in x.dtypes.items()} == {
        "price": "float64",
        "city": "object",
        "member": "bool",
        "store": "int64",
    }
    assert x["city"].isna().sum() == 1  # missing stays missing, as NaN
    assert set(x["city"].dropna()) == {"paris", "oslo", "rome"}
    assert data.schema["city"] == "object"
    again = load_dataset(csv(tmp_path, shop()), "classification")
    assert data.fingerprint == again.fingerprint
    changed = shop()
    changed.loc[0, "city"] = "lima"
    assert (
        load_dataset(csv(tmp_path, changed), "classification").fingerprint
        != data.fingerprint
    )


def test_declared_categorical_takes_numeric_codes(tmp_path: Path) -> None:
    config = csv(tmp_path, shop(), categorical=["store", "city"])
    data = load_dataset(config, "classification")
    # Model input order, not the order of the list.
    assert data.columns.categorical == ("city", "store")
    assert isinstance(data.x, pd.DataFrame)
    assert data.x["store"].dtype == np.int64
    assert data.x["member"].dtype == np.float64  # not listed: a 0/1 number


def test_parquet_category_and_nullable_dtypes(tmp_path: Path) -> None:
    frame = shop()
    frame["city"] = frame["city"].astype("category")
    frame["member"] = frame["member"].astype("boolean")
    frame.loc[2, "member"] = pd.NA
    frame["store"] = frame["store"].astype("Int64")
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path)
    data = load_dataset(DatasetConfig(path=path, target="label"), "classification")
    assert data.columns.categorical == ("city", "member")
    assert isinstance(data.x, pd.DataFrame)
    assert data.x["city"].dtype == object
    assert data.x["member"].isna().sum() == 1
    assert data.x["store"].dtype == np.int64


def test_missing_feature_values_are_allowed(tmp_path: Path) -> None:
    frame = table()
    frame.loc[2, "a"] = np.nan
    data = load_dataset(csv(tmp_path, frame, categorical=[]), "classification")
    assert isinstance(data.x, np.ndarray) and np.isnan(data.x[2, 0])


def _with(column: str, values: list[Any]) -> Any:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out[column] = pd.Series(values * (len(out) // len(values)), dtype=object)
        return out

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(a=np.inf), "infinite values in a"),
        (lambda f: f.assign(a=np.nan), "feature columns with no values: a"),
        (lambda f: f.assign(label="yes"), "has 1 class"),
        (lambda f: f.head(5), "only 5 rows"),
        (lambda f: f[["label"]], "no feature columns"),
        (
            _with("b", [1, 2, 3, 4, 5, 6, 7, 8, 9, "unknown"]),
            "column 'b' holds numbers but also 2 values that are not "
            "(first 'unknown' in row 10)",
        ),
        (
            _with("b", ["red", 1]),
            "categorical column 'b' mixes value types (text 'red' in row 1, "
            "number 1 in row 2)",
        ),
        (
            lambda f: f.assign(when=pd.Timestamp("2026-01-01")),
            "column 'when' has dtype datetime64",
        ),
    ],
)
def test_refusals(change: Any, message: str) -> None:
    frame = change(table())
    with pytest.raises(DataError, match=re.escape(message)):
        validate_frame(frame, "label", None, None, "classification", "rows.csv")


def test_a_categorical_column_with_only_missing_values(tmp_path: Path) -> None:
    frame = shop().assign(city=None)
    config = csv(tmp_path, frame, categorical=["city"])
    with pytest.raises(
        DataError, match="categorical feature columns with no values: city"
    ):
        load_dataset(config, "classification")


def test_text_in_a_column_the_explicit_list_leaves_out(tmp_path: Path) -> None:
    config = csv(tmp_path, shop(), categorical=["member"])
    with pytest.raises(
        DataError,
        match="column 'city' holds text .* but dataset.categorical does not list it",
    ):
        load_dataset(config, "classification")


def test_categorical_names_a_column_that_is_no_feature(tmp_path: Path) -> None:
    config = csv(tmp_path, shop(), categorical=["town"])
    with pytest.raises(DataError, match="names columns that are not features: town"):
        load_dataset(config, "classification")


def test_regression_target_must_be_numeric(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"regression target 'label' must be numeric \(got object, e.g. 'yes' "
        r"in row 1\)",
    ):
        load_dataset(csv(tmp_path, table()), "regression")


def test_one_hot_of_an_identifier_column_is_refused(tmp_path: Path) -> None:
    rows = ONE_HOT_MAX_CATEGORIES + 2
    frame = pd.DataFrame(
        {
            "x": np.arange(rows, dtype=float),
            "customer": [f"c{i}" for i in range(rows)],
            "label": [0, 1] * (rows // 2),
        }
    )
    frame.to_csv(tmp_path / "wide.csv", index=False)
    base = {
        "model_name": "wide",
        "task": "classification",
        "dataset": {"path": str(tmp_path / "wide.csv"), "target": "label"},
        "estimator": {"name": "logistic_regression"},
    }
    with pytest.raises(DataError, match=f"'customer' has {rows} distinct values"):
        load_checked(parse_config(base), SourceOptions())
    bounded = {**base, "preprocessing": {"categorical": {"max_categories": 20}}}
    assert load_checked(parse_config(bounded), SourceOptions()).columns.table


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("missing.csv", DataSourceError, "no such file"),
        ("rows.xlsx", DataError, "unsupported file type '.xlsx'"),
        ("folder.csv", DataSourceError, "is a folder or prefix, not a file"),
        ("broken.parquet", DataError, "cannot be parsed"),
    ],
)
def test_file_problems(
    tmp_path: Path, name: str, error: type[Exception], message: str
) -> None:
    (tmp_path / "rows.xlsx").write_bytes(b"x")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(error, match=message):
        load_dataset(DatasetConfig(path=tmp_path / name, target="y"), "regression")


def test_file_uri_reads_a_local_file(tmp_path: Path) -> None:
    shop().to_csv(tmp_path / "rows.csv", index=False)
    frame = read_frame((tmp_path / "rows.csv").as_uri())
    assert list(frame.columns) == ["price", "city", "member", "store", "label"]


def test_mlflow_artifact_needs_a_tracking_uri() -> None:
    with pytest.raises(DataSourceError, match="needs the tracking server"):
        read_frame("runs:/0123456789abcdef/data/rows.csv", SourceOptions())


@pytest.mark.parametrize(
    ("name", "rows", "features"),
    [
        ("breast_cancer", 569, 30),
        ("iris", 150, 4),
        ("wine", 178, 13),
        ("diabetes", 442, 10),
    ],
)
def test_builtin_datasets_load_offline(name: str, rows: int, features: int) -> None:
    task = "regression" if name == "diabetes" else "classification"
    data = load_dataset(DatasetConfig(builtin=name), task)
    assert data.x.shape == (rows, features)
    assert isinstance(data.x, np.ndarray)
    assert data.source == f"sklearn:{name}"
