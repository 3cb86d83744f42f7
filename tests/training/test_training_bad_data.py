"""Bad data fails with one clear line and a non-zero exit, and the registry holds
nothing afterwards (no registered model, no version, no run)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer

from shiplane_tools import localstack
from shiplane_training.__main__ import main
from tests.training.trainkit import WriteConfig, base_config, versions_of

pytestmark = pytest.mark.mlflow


def frame() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True).frame.head(60).copy()
    return data.rename(columns={"target": "label"})


def no_target(path: Path) -> None:
    frame().drop(columns=["label"]).to_csv(path, index=False)


def text_feature(path: Path) -> None:
    data = frame()
    data["hospital"] = ["north", "south", "east"] * 20
    data.to_csv(path, index=False)


def empty_file(path: Path) -> None:
    path.write_bytes(b"")


def header_only(path: Path) -> None:
    frame().head(0).to_csv(path, index=False)


def nan_target(path: Path) -> None:
    data = frame()
    data.loc[[3, 7], "label"] = np.nan
    data.to_csv(path, index=False)


def parquet_nan_target(path: Path) -> None:
    data = frame()
    data.loc[5, "label"] = np.nan
    data.to_parquet(path)


def typo_in_numbers(path: Path) -> None:
    data = frame()
    data["mean radius"] = data["mean radius"].astype(object)
    data.loc[[4, 9], "mean radius"] = "?"
    data.to_csv(path, index=False)


def empty_category(path: Path) -> None:
    data = frame()
    data["hospital"] = None
    data.to_csv(path, index=False)


def text_target(path: Path) -> None:
    data = frame()
    data["label"] = data["label"].map({0: "low", 1: "high"})
    data.to_csv(path, index=False)


@dataclass(frozen=True)
class Case:
    filename: str
    make: Callable[[Path], None]
    expected: str
    dataset: dict[str, Any] = field(default_factory=dict)
    """Extra dataset keys of the config."""
    regression: bool = False


CASES: dict[str, Case] = {
    "missing-target": Case("rows.csv", no_target, "target column 'label' not found"),
    "text-not-declared": Case(
        "rows.csv",
        text_feature,
        "column 'hospital' holds text (first 'north' in row 1) but "
        "dataset.categorical does not list it",
        {"categorical": []},
    ),
    "strings-in-numbers": Case(
        "rows.csv",
        typo_in_numbers,
        "column 'mean radius' holds numbers but also 2 values that are not "
        "(first '?' in row 5)",
    ),
    "categorical-all-missing": Case(
        "rows.csv",
        empty_category,
        "categorical feature columns with no values: hospital",
        {"categorical": ["hospital"]},
    ),
    "regression-text-target": Case(
        "rows.csv",
        text_target,
        "regression target 'label' must be numeric (got object, e.g. 'low' in row 1)",
        regression=True,
    ),
    "empty-file": Case("rows.csv", empty_file, "the file is empty"),
    "header-only": Case("rows.csv", header_only, "no rows"),
    "nan-target": Case("rows.csv", nan_target, "has 2 missing (NaN) values"),
    "nan-target-parquet": Case("rows.parquet", parquet_nan_target, "1 missing (NaN)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data_exits_3_and_registers_nothing(
    case: str,
    tmp_path: Path,
    model_name: str,
    write_config: WriteConfig,
    mlflow_uri: str,
    client: MlflowClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = CASES[case]
    bad.make(tmp_path / bad.filename)  # beside the config, which names it relatively
    dataset = {"path": bad.filename, "target": "label", **bad.dataset}
    config = base_config(model_name, dataset=dataset)
    if bad.regression:
        config.update(task="regression", estimator={"name": "ridge"})
    code = main(["--config", str(write_config(config)), "--tracking-uri", mlflow_uri])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith("error: bad data: ") and bad.expected in err, err
    assert len(err.strip().splitlines()) == 1
    assert versions_of(client, model_name) == []
    assert client.get_experiment_by_name(model_name) is None


def test_unknown_dataset_registers_nothing(
    model_name: str,
    write_config: WriteConfig,
    mlflow_uri: str,
    client: MlflowClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = base_config(model_name, dataset={"builtin": "mnist"})
    code = main(["--config", str(write_config(config)), "--tracking-uri", mlflow_uri])
    assert code == 2
    assert "unknown dataset 'mnist' (known: breast_cancer, diabetes, iris, wine)" in (
        capsys.readouterr().err
    )
    assert versions_of(client, model_name) == []


def test_unreachable_mlflow_fails_fast_with_exit_4(
    model_name: str,
    write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = f"http://127.0.0.1:{localstack.free_port()}"
    config = write_config(base_config(model_name))
    started = time.monotonic()
    code = main(["--config", str(config), "--tracking-uri", closed])
    elapsed_s = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 4, err
    # One attempt, no retry loop (MLflow's default retries take minutes).
    assert elapsed_s < 30, f"took {elapsed_s:.1f}s to give up"
    assert err.startswith(f"error: MLflow unavailable: cannot reach MLflow at {closed}")
    assert "connection refused" in err
