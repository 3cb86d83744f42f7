"""Training refuses, before logging, a model serving's skops allowlist would
reject, and accepts every estimator it offers, behind either pipeline: the
numeric one and the column transformer with each categorical encoding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from shiplane_training.columns import FeatureColumns
from shiplane_training.config import parse_config
from shiplane_training.errors import ModelFormatError
from shiplane_training.pipeline import ESTIMATORS, build_pipeline
from shiplane_training.registry import assert_servable
from tests.training.trainkit import shop_frame


class Doubler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A custom step: a type no allowlist knows."""

    def fit(self, x: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, x: Any) -> Any:
        return np.asarray(x) * 2


def test_custom_type_is_refused() -> None:
    model = Pipeline([("double", Doubler())]).fit(np.ones((4, 2)))
    with pytest.raises(ModelFormatError, match="Doubler"):
        assert_servable(model)


def _config(name: str, encoding: str = "one_hot") -> Any:
    task, _ = ESTIMATORS[name]
    dataset = "breast_cancer" if task == "classification" else "diabetes"
    params: dict[str, Any] = (
        {"n_estimators": 3} if "forest" in name or name.startswith("gradient") else {}
    )
    if name.startswith("hist"):
        params = {"max_iter": 3}
    return parse_config(
        {
            "model_name": "x",
            "task": task,
            "dataset": {"builtin": dataset},
            "estimator": {"name": name, "params": params},
            "preprocessing": {"categorical": {"encoding": encoding}},
        }
    )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_offered_estimator_is_servable(name: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    task, _ = ESTIMATORS[name]
    y = np.arange(40) % 2 if task == "classification" else rng.normal(size=40)
    assert_servable(build_pipeline(_config(name)).fit(x, y))


@pytest.mark.parametrize("encoding", ["one_hot", "ordinal"])
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_estimator_behind_each_encoding_is_servable(
    name: str, encoding: str
) -> None:
    frame = shop_frame(60)
    x, y = frame.drop(columns=["label"]), frame["label"].to_numpy()
    columns = FeatureColumns(tuple(x.columns), ("city", "member"))
    pipeline = build_pipeline(_config(name, encoding), columns).fit(x, y)
    assert_servable(pipeline)  # OneHot/OrdinalEncoder, ColumnTransformer, imputer
