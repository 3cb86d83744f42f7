"""Config validation: every mistake is one clear line naming the key, exit 2,
before any data is read or MLflow is contacted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shiplane_training.__main__ import main
from shiplane_training.config import load_config
from tests.conftest import TRAINING_CONFIGS as CONFIGS
from tests.training.trainkit import WriteConfig, base_config

# Nothing listens here: a config error must be reported before MLflow is tried.
NO_MLFLOW = "http://127.0.0.1:9"


def run_main(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--config", str(path), "--tracking-uri", NO_MLFLOW, "--quiet"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"seeed": 1}, "seeed: unknown key"),
        ({"estimator": {"name": "xgboost"}}, "unknown estimator 'xgboost'"),
        ({"estimator": {"name": "ridge"}}, "'ridge' is a regression estimator"),
        (
            {"estimator": {"name": "logistic_regression", "params": {"Cee": 1}}},
            "LogisticRegression has no parameter 'Cee'",
        ),
        (
            {"estimator": {"name": "logistic_regression", "params": {"C": -1}}},
            "estimator.params",
        ),
        ({"dataset": {"builtin": "titanic"}}, "unknown dataset 'titanic'"),
        ({"dataset": {"path": "data.csv"}}, "needs dataset.target"),
        ({"dataset": {"builtin": "diabetes"}}, "'diabetes' is a regression dataset"),
        ({"gate": {"metric": "rmse"}}, "gate.metric 'rmse' is not a classification"),
        ({"split": {"test_size": 1.5}}, "split.test_size"),
        ({"task": "clustering"}, "task:"),
        (
            {"search": {"param_grid": {"C": [0.1, 1]}, "bogus": 1}},
            "search.bogus: unknown key",
        ),
        (
            {"search": {"param_grid": {"C": list(range(1, 30))}}},
            "more than search.max_candidates",
        ),
        ({"search": {"param_grid": {"C": [1, -1]}}}, "search.param_grid.C"),
        (
            {"dataset": {"uri": "ftp://host/rows.csv", "target": "y"}},
            "dataset.uri: unsupported scheme 'ftp' in 'ftp://host/rows.csv' "
            "(supported: file:, s3:, gs:, runs:, mlflow-artifacts:)",
        ),
        (
            {"dataset": {"uri": "s3://bucket", "target": "y"}},
            "'s3://bucket' names no object: use s3://bucket/key",
        ),
        (
            {"dataset": {"path": "s3://bucket/rows.csv", "target": "y"}},
            "dataset.path: 's3://bucket/rows.csv' is a URI; dataset.path takes a "
            "local file, put URIs in dataset.uri",
        ),
        (
            {"dataset": {"builtin": "iris", "uri": "s3://b/k.csv"}},
            "give exactly one of dataset.builtin, dataset.path or dataset.uri "
            "(got builtin, uri)",
        ),
        (
            {"dataset": {"uri": "s3://b/k.csv"}},
            "dataset.uri needs dataset.target",
        ),
        (
            {
                "dataset": {
                    "path": "rows.csv",
                    "target": "y",
                    "categorical": ["city", "city"],
                }
            },
            "dataset.categorical: lists a column twice",
        ),
        (
            {"preprocessing": {"categorical": {"encoding": "target"}}},
            "preprocessing.categorical.encoding: Input should be 'one_hot' or "
            "'ordinal'",
        ),
        (
            {"preprocessing": {"categorical": {"max_categories": 1}}},
            "preprocessing.categorical.max_categories",
        ),
    ],
)
def test_invalid_config_exits_2_naming_the_problem(
    change: dict[str, Any],
    expected: str,
    write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run_main(write_config(base_config("cfg", **change)), capsys)
    assert code == 2, err
    assert err.startswith("error: invalid config: ")
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_missing_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_main(tmp_path / "nope.yaml", capsys)
    assert code == 2
    assert "cannot read config" in err


def test_yaml_syntax_error_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("model_name: x\ntask: [classification\nseed: 1\n")
    code, err = run_main(path, capsys)
    assert code == 2
    assert "is not valid YAML at line" in err
    assert len(err.strip().splitlines()) == 1


def test_no_tracking_uri_is_a_config_error(
    write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SHIPLANE_TRAINING_TRACKING_URI", raising=False)
    code = main(["--config", str(write_config(base_config("x")))])
    assert code == 2
    assert "MLFLOW_TRACKING_URI" in capsys.readouterr().err


def test_relative_dataset_path_is_relative_to_the_config(
    write_config: WriteConfig,
) -> None:
    config = base_config("x", dataset={"path": "data/rows.csv", "target": "y"})
    path = write_config(config)
    loaded = load_config(path, model_name="override")
    assert loaded.dataset.path == path.parent / "data" / "rows.csv"
    assert loaded.model_name == "override"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configs_validate(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(CONFIGS / name), "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("config OK: ")
