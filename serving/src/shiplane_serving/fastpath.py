"""A direct call path for the estimators Shiplane trains, without scikit-learn's
per-call input validation.

A one-row ``predict_proba`` of the reference pipeline (imputer, scaler,
GradientBoosting) spends most of its time validating input three times, once
per step; Shiplane has validated the input already (``protocol``). For pipelines
made only of the steps below, this module computes the same numbers with the
steps' own fitted attributes and the tree ensemble's own Cython routine:

- ``SimpleImputer`` without missing-indicator: NaN -> ``statistics_``
- ``StandardScaler``: ``(x - mean_) / scale_``, in the same order and dtype
- ``GradientBoostingClassifier`` / ``Regressor`` with a constant initial model:
  the initial raw prediction plus ``predict_stages`` over float32 input, then
  the loss's own link (``_loss.predict_proba``)

It is used only when it reproduces the estimator's own output exactly on probe
rows built from the reference profile (checked at load; otherwise the normal
``predict_proba``/``predict`` runs). scikit-learn is pinned in
serving/pyproject.toml, and the check catches any change of these internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from shiplane_contracts.profile import NumericProfile, ReferenceProfile

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float64]
Step = Callable[[FloatMatrix], FloatMatrix]


def _imputer_step(imputer: Any) -> Step | None:
    if getattr(imputer, "add_indicator", True) or not np.isnan(imputer.missing_values):
        return None
    fill = np.asarray(imputer.statistics_, dtype=np.float64)
    if np.isnan(fill).any():  # a column dropped at fit time changes the shape
        return None

    def impute(x: FloatMatrix) -> FloatMatrix:
        missing = np.isnan(x)
        if missing.any():
            x = np.where(missing, fill, x)
        return x

    return impute


def _scaler_step(scaler: Any) -> Step:
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None

    def standardize(x: FloatMatrix) -> FloatMatrix:
        x = np.array(x, dtype=np.float64, copy=True)
        if mean is not None:
            x -= mean
        if scale is not None:
            x /= scale
        return x

    return standardize


def _boosting_call(est: Any, classifier: bool) -> Callable[[FloatMatrix], Any] | None:
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble._gradient_boosting import predict_stages

    if not (
        est.init_ == "zero" or type(est.init_) in (DummyClassifier, DummyRegressor)
    ):
        return None
    probe = np.zeros((1, est.n_features_in_), dtype=np.float32)
    init = np.asarray(est._raw_predict_init(probe)[0], dtype=np.float64).copy()
    estimators, rate, loss = est.estimators_, est.learning_rate, est._loss

    def call(x: FloatMatrix) -> Any:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        raw = np.tile(init, (x32.shape[0], 1))
        predict_stages(estimators, x32, rate, raw)
        if raw.shape[1] == 1:
            raw = raw.ravel()
        return loss.predict_proba(raw) if classifier else raw

    return call


def compile_estimator(est: Any) -> Callable[[FloatMatrix], Any] | None:
    """The direct call for ``est`` (probabilities for a classifier, values for a
    regressor), or None when it has steps this module does not know."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [s for _, s in est.steps] if type(est) is Pipeline else [est]
    *transforms, final = steps
    prepared: list[Step] = []
    for step in transforms:
        if step is None or step == "passthrough":
            continue
        if type(step) is SimpleImputer:
            made = _imputer_step(step)
        elif type(step) is StandardScaler:
            made = _scaler_step(step)
        else:
            return None
        if made is None:
            return None
        prepared.append(made)
    if type(final) is GradientBoostingClassifier:
        model = _boosting_call(final, classifier=True)
    elif type(final) is GradientBoostingRegressor:
        model = _boosting_call(final, classifier=False)
    else:
        return None
    if model is None:
        return None

    def call(x: FloatMatrix) -> Any:
        for step in prepared:
            x = step(x)
        return model(x)

    return call


def probe_rows(profile: ReferenceProfile, allow_nan: bool) -> FloatMatrix:
    """Rows that reach every bin of every feature: min, max, mean, each edge."""
    columns = []
    for f in profile.features:
        if not isinstance(f, NumericProfile):  # the caller checks numeric_only
            raise ValueError(f"feature {f.name!r} is not numeric: no probe rows")
        values = [f.min, f.max, f.mean, *f.edges, *(e + 1e-9 for e in f.edges)]
        columns.append(values)
    width = max(len(c) for c in columns)
    rows = np.array([[c[i % len(c)] for c in columns] for i in range(width)])
    if allow_nan:
        with_nan = rows[: min(5, len(rows))].copy()
        with_nan[:, ::3] = np.nan
        rows = np.vstack([rows, with_nan])
    return rows


def verified(
    est: Any, profile: ReferenceProfile, allow_nan: bool, classifier: bool
) -> Callable[[FloatMatrix], Any] | None:
    """:func:`compile_estimator`, kept only if it matches ``est`` exactly on
    :func:`probe_rows`."""
    try:
        call = compile_estimator(est)
        if call is None:
            return None
        x = probe_rows(profile, allow_nan)
        want = est.predict_proba(x) if classifier else est.predict(x)
        got = call(x)
        if not np.array_equal(np.asarray(want), np.asarray(got)):
            log.warning("direct call path differs from the estimator; not used")
            return None
        return call
    except Exception as exc:  # any surprise: use the estimator's own methods
        log.warning("direct call path not available: %s", exc)
        return None
