from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shiplane_contracts.profile import (
    DEFAULT_BINS,
    ProfileError,
    ReferenceProfile,
    bin_indices,
    build_profile,
    fingerprint,
    numeric_profile,
)


def test_continuous_feature_gets_equal_frequency_bins() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    prof = numeric_profile("x", values)
    assert prof.bins == DEFAULT_BINS
    assert np.allclose(prof.fractions, 1 / DEFAULT_BINS, atol=1e-3)
    assert prof.count == 10_000 and prof.missing == 0


def test_binary_feature_keeps_two_distinct_bins() -> None:
    values = np.array([0.0] * 70 + [1.0] * 30)
    prof = numeric_profile("flag", values)
    idx = bin_indices(values, np.asarray(prof.edges))
    assert len(np.unique(idx)) == 2
    assert prof.edges == [1.0]
    assert prof.fractions == pytest.approx([0.7, 0.3])


def test_constant_feature_is_one_bin() -> None:
    prof = numeric_profile("c", np.full(50, 3.0))
    assert prof.edges == [] and prof.fractions == [1.0]


def test_missing_values_are_counted_not_binned() -> None:
    prof = numeric_profile("m", np.array([1.0, np.nan, 2.0, 3.0]))
    assert prof.missing == 1 and prof.count == 3
    with pytest.raises(ProfileError, match="no non-missing"):
        numeric_profile("empty", np.array([np.nan, np.nan]))


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    )
)
def test_reference_data_reproduces_its_own_fractions(values: np.ndarray) -> None:
    prof = numeric_profile("x", values)
    counts = np.bincount(
        bin_indices(values, np.asarray(prof.edges)), minlength=prof.bins
    )
    assert np.allclose(counts / values.size, prof.fractions)
    assert all(f > 0 for f in prof.fractions), "every bin holds reference data"


def test_profile_round_trips_through_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    prof = build_profile(x, ["a", "b", "c"], y, "classification", fingerprint(x, y))
    loaded = ReferenceProfile.load(prof.save(tmp_path / "p.json"))
    assert loaded == prof
    assert loaded.feature_names == ["a", "b", "c"]
    assert loaded.prediction.kind == "categorical"


def test_regression_prediction_is_numeric() -> None:
    x = np.arange(40.0).reshape(20, 2)
    prof = build_profile(x, ["a", "b"], x[:, 0] * 2, "regression", "f")
    assert prof.prediction.kind == "numeric"


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(ProfileError, match="schema_version 99"):
        ReferenceProfile.load(path)


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ProfileError, match="expected"):
        build_profile(np.zeros((3, 2)), ["only_one"], np.zeros(3), "regression", "f")


def test_fingerprint_changes_with_data_and_shape() -> None:
    x = np.arange(6.0).reshape(3, 2)
    y = np.array([0, 1, 0])
    assert fingerprint(x, y) == fingerprint(x.copy(), y.copy())
    assert fingerprint(x, y) != fingerprint(x + 1e-9, y)
    assert fingerprint(x, y) != fingerprint(x.reshape(2, 3), y)


def test_a_table_profile_keeps_categories_missing_values_and_version_2(
    tmp_path: Path,
) -> None:
    from shiplane_contracts.profile import build_table_profile

    columns = {
        "size": [1.0, 2.0, None, 4.0],
        "color": ["red", None, "blue", "red"],
    }
    kinds = {"size": "numeric", "color": "categorical"}
    y = np.array([1, 0, 1, 1])
    prof = build_table_profile(columns, kinds, y, "classification", "fp")  # type: ignore[arg-type]
    assert prof.schema_version == 2 and not prof.numeric_only
    color = prof.features[1]
    assert color.kind == "categorical"
    assert color.categories == ["blue", "red"] and color.missing == 1
    assert color.fractions == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert prof.features[0].missing == 1
    again = ReferenceProfile.load(prof.save(tmp_path / "p.json"))
    assert again == prof


def test_numeric_tables_stay_version_1_and_version_1_refuses_categories() -> None:
    from shiplane_contracts.profile import build_table_profile

    prof = build_table_profile(
        {"a": [1.0, 2.0, 3.0]},
        {"a": "numeric"},
        np.array([0.1, 0.2, 0.3]),
        "regression",
        "fp",
    )
    assert prof.schema_version == 1
    raw = build_table_profile(
        {"c": ["x", "y", "x"]},
        {"c": "categorical"},
        np.array([1, 0, 1]),
        "classification",
        "fp",
    ).model_dump()
    raw["schema_version"] = 1
    with pytest.raises(ValueError, match="categorical features need schema_version 2"):
        ReferenceProfile.model_validate(raw)
