"""Helpers for the training tests (importable as ``trainkit``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

WriteConfig = Callable[..., Path]


def base_config(model_name: str, **overrides: Any) -> dict[str, Any]:
    """A fast classification config (logistic regression on breast_cancer)."""
    config: dict[str, Any] = {
        "model_name": model_name,
        "task": "classification",
        "seed": 42,
        "dataset": {"builtin": "breast_cancer"},
        "estimator": {"name": "logistic_regression", "params": {"max_iter": 500}},
    }
    config.update(overrides)
    return config


def versions_of(client: MlflowClient, name: str) -> list[Any]:
    """Every registered version of ``name`` (empty if the model does not exist)."""
    return list(client.search_model_versions(f"name = '{name}'"))
