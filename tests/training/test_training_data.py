"""Loading and validating data, without MLflow: what the model will see and
every refusal's message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shiplane_training.config import DatasetConfig
from shiplane_training.data import load_dataset
from shiplane_training.errors import DataError


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


def csv(tmp_path: Path, frame: pd.DataFrame) -> DatasetConfig:
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    return DatasetConfig(path=path, target="label")


def test_csv_becomes_a_float_matrix_in_column_order(tmp_path: Path) -> None:
    data = load_dataset(csv(tmp_path, table()), "classification")
    assert data.feature_names == ("a", "flag", "b")
    assert data.x.dtype == np.float64 and data.x.shape == (20, 3)
    assert set(data.x[:, 1]) == {0.0, 1.0}
    assert data.y.dtype.kind == "U" and set(data.y) == {"yes", "no"}
    assert len(data.fingerprint) == 64
    assert (
        data.fingerprint
        == load_dataset(csv(tmp_path, table()), "classification").fingerprint
    )


def test_feature_subset_and_order(tmp_path: Path) -> None:
    config = csv(tmp_path, table()).model_copy(update={"features": ["b", "a"]})
    data = load_dataset(config, "classification")
    assert data.feature_names == ("b", "a")


def test_missing_feature_values_are_allowed(tmp_path: Path) -> None:
    frame = table()
    frame.loc[2, "a"] = np.nan
    assert np.isnan(load_dataset(csv(tmp_path, frame), "classification").x[2, 0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(a=np.inf), "infinite values in a"),
        (lambda f: f.assign(a=np.nan), "feature columns with no values: a"),
        (lambda f: f.assign(label="yes"), "has 1 class"),
        (lambda f: f.head(5), "only 5 rows"),
        (lambda f: f[["label"]], "no feature columns"),
    ],
)
def test_refusals(tmp_path: Path, change: object, message: str) -> None:
    frame = change(table())  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        load_dataset(csv(tmp_path, frame), "classification")


def test_regression_target_must_be_numeric(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="regression target 'label' must be numeric"):
        load_dataset(csv(tmp_path, table()), "regression")


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.csv", "no such file"), ("rows.xlsx", "unsupported file type")],
)
def test_file_problems(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "rows.xlsx").write_bytes(b"x")
    with pytest.raises(DataError, match=message):
        load_dataset(DatasetConfig(path=tmp_path / name, target="y"), "regression")


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
    assert data.source == f"sklearn:{name}"
