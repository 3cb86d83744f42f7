"""The direct call path gives exactly the estimator's own numbers, or is not
used at all."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from shiplane_contracts.profile import build_profile
from shiplane_serving.fastpath import compile_estimator, verified


def _pipeline(final: object, scaler: object | None = None) -> Pipeline:
    steps = [("impute", SimpleImputer(strategy="median"))]
    steps += [("scale", scaler or StandardScaler()), ("model", final)]
    return Pipeline(steps)


def test_training_pipeline_matches_exactly_with_missing_values() -> None:
    data = load_breast_cancer()
    x = data.data.copy()
    pipe = _pipeline(GradientBoostingClassifier(n_estimators=20, random_state=0))
    pipe.fit(x, data.target)
    names = [str(n) for n in data.feature_names]
    profile = build_profile(x, names, pipe.predict(x), "classification", "f")
    call = verified(pipe, profile, allow_nan=True, classifier=True)
    assert call is not None
    x[::7, ::5] = np.nan
    assert np.array_equal(call(x), pipe.predict_proba(x))


def test_regressor_matches_exactly() -> None:
    data = load_diabetes()
    pipe = _pipeline(GradientBoostingRegressor(n_estimators=20, random_state=0))
    pipe.fit(data.data, data.target)
    profile = build_profile(
        data.data, data.feature_names, pipe.predict(data.data), "regression", "f"
    )
    call = verified(pipe, profile, allow_nan=True, classifier=False)
    assert call is not None
    assert np.array_equal(call(data.data), pipe.predict(data.data))


def test_unknown_steps_use_the_estimators_own_methods() -> None:
    data = load_breast_cancer()
    forest = RandomForestClassifier(n_estimators=3).fit(data.data, data.target)
    assert compile_estimator(forest) is None
    other = _pipeline(GradientBoostingClassifier(n_estimators=3), MinMaxScaler())
    other.fit(data.data, data.target)
    assert compile_estimator(other) is None
