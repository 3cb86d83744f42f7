"""Models as a data scientist has them: a small table with a string column,
and the plain ``mlflow.sklearn.log_model`` call that registers a model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

COLORS = ["red", "green", "blue"]


def frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "weight": rng.normal(50, 10, n),
            "color": rng.choice(COLORS, n),
        }
    )
    y = ((frame["size"] > 10) ^ (frame["color"] == "blue")).astype(int).to_numpy()
    return frame, y


def log_model(model: Any, name: str, example: pd.DataFrame, uri: str, **kw: Any) -> str:
    """Log and register ``model`` the way a data scientist would; its version."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        mlflow.set_experiment(f"byo-{name}")
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=name,
                input_example=example.head(3),
                # Named requirements: MLflow would otherwise run `uv export`.
                pip_requirements=["scikit-learn", "skops"],
                **kw,
            )
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")
    return str(info.registered_model_version)


def table_pipeline(frame: pd.DataFrame, y: np.ndarray, unknown: str = "error") -> Any:
    """A ColumnTransformer that one-hot encodes the string column by name."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["size", "weight"]),
            ("cat", OneHotEncoder(handle_unknown=unknown), ["color"]),
        ]
    )
    return Pipeline([("columns", columns), ("clf", LogisticRegression())]).fit(frame, y)


def numeric_pipeline(frame: pd.DataFrame, y: np.ndarray) -> Any:
    """StandardScaler + LogisticRegression over the numeric columns."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(
        frame[["size", "weight"]], y
    )
