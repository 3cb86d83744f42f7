"""The V1/V2 request parsers, in-process: clear errors for every bad input, and a
property test that no body makes them fail with anything but a ServingError."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiplane_serving.errors import (
    BadJSON,
    BatchTooLarge,
    FeatureCountError,
    FeatureTypeError,
    NonFiniteError,
    ServingError,
    UnknownOutput,
)
from shiplane_serving.protocol import InputSchema, parse_v1, parse_v2

NAMES = tuple(f"f{i}" for i in range(4))
STRICT = InputSchema(NAMES, allow_nan=False, max_rows=8, has_proba=True)
LENIENT = InputSchema(NAMES, allow_nan=True, max_rows=8, has_proba=False)


def v1(doc: Any, schema: InputSchema = STRICT) -> Any:
    return parse_v1(json.dumps(doc).encode(), schema, "predict")


def v2(doc: Any, schema: InputSchema = STRICT) -> Any:
    return parse_v2(json.dumps(doc).encode(), schema)


def test_v1_rows_become_one_float64_matrix() -> None:
    parsed = v1({"instances": [[1, 2, 3, 4], [5.5, 6, 7, 8]]})
    assert parsed.x.dtype == np.float64 and parsed.x.shape == (2, 4)
    assert parsed.outputs == ("predict",)


def test_v1_objects_are_ordered_by_feature_name() -> None:
    parsed = v1({"instances": [{"f3": 4, "f1": 2, "f0": 1, "f2": 3}]})
    assert parsed.x.tolist() == [[1, 2, 3, 4]]
    with pytest.raises(FeatureCountError, match="missing column \\['f3'\\]"):
        v1({"instances": [{"f0": 1, "f1": 2, "f2": 3}]})


def test_v2_flat_nested_and_columnar_agree() -> None:
    flat = v2(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 4],
                    "datatype": "FP32",
                    "data": [1, 2, 3, 4, 5, 6, 7, 8],
                }
            ]
        }
    )
    nested = v2(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [2, 4],
                    "datatype": "INT64",
                    "data": [[1, 2, 3, 4], [5, 6, 7, 8]],
                }
            ]
        }
    )
    columns = v2(
        {
            "inputs": [
                {"name": n, "shape": [2], "datatype": "FP64", "data": [i + 1, i + 5]}
                for i, n in enumerate(NAMES)
            ]
        }
    )
    assert flat.x.tolist() == nested.x.tolist() == columns.x.tolist()


@pytest.mark.parametrize(
    ("doc", "error", "words"),
    [
        (
            {"instances": [[1, 2, 3]]},
            FeatureCountError,
            "3 features; the model expects 4",
        ),
        (
            {"instances": [[1, 2, 3, 4], [1, 2]]},
            FeatureCountError,
            "instances[1] has 2",
        ),
        ({"instances": [[1, 2, 3, "x"]]}, FeatureTypeError, '[0][3] = "x"'),
        ({"instances": [[1, 2, 3, None]]}, FeatureTypeError, "null"),
        ({"instances": [[1, 2, 3, {"a": 1}]]}, FeatureTypeError, "number"),
        ({"instances": [1, 2, 3, 4]}, FeatureTypeError, "flat list"),
        ({"instances": [[1, 2, 3, 4]] * 9}, BatchTooLarge, "at most 8"),
        ({"instances": []}, FeatureTypeError, "non-empty"),
    ],
)
def test_v1_errors_say_what_is_wrong(doc: Any, error: type, words: str) -> None:
    with pytest.raises(error) as caught:
        v1(doc)
    assert words in caught.value.message


def test_non_finite_values() -> None:
    body = b'{"instances": [[1, 2, 3, 1e999]]}'
    with pytest.raises(NonFiniteError, match="'f3' is inf"):
        parse_v1(body, STRICT, "predict")
    with pytest.raises(NonFiniteError, match="infinity is not"):
        parse_v1(body, LENIENT, "predict")
    # null is a missing value for a model that takes NaN
    parsed = v1({"instances": [[1, None, 3, 4]]}, LENIENT)
    assert np.isnan(parsed.x[0, 1])


def test_v2_errors() -> None:
    with pytest.raises(FeatureCountError, match="needs 8"):
        v2(
            {
                "inputs": [
                    {"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [1]}
                ]
            }
        )
    with pytest.raises(FeatureTypeError, match="BYTES"):
        v2(
            {
                "inputs": [
                    {"name": "x", "shape": [1, 4], "datatype": "BYTES", "data": ["a"]}
                ]
            }
        )
    with pytest.raises(BatchTooLarge):
        v2({"inputs": [{"name": "x", "shape": [9, 4], "datatype": "FP64", "data": []}]})
    with pytest.raises(UnknownOutput, match="predict_proba"):
        v2(
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [1, 4],
                        "datatype": "FP64",
                        "data": [1, 2, 3, 4],
                    }
                ],
                "outputs": [{"name": "predict_proba"}],
            },
            LENIENT,
        )
    with pytest.raises(BadJSON):
        parse_v2(b"{", STRICT)


def test_v2_outputs_requested_by_name() -> None:
    tensor = {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}
    outputs = [{"name": "predict_proba"}, {"name": "predict"}]
    parsed = v2({"inputs": [tensor], "outputs": outputs})
    assert parsed.outputs == ("predict_proba", "predict")


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)
rows = st.lists(
    st.lists(st.floats(allow_nan=False) | st.integers(-5, 5) | st.none(), max_size=6),
    max_size=10,
)
tensor = st.fixed_dictionaries(
    {
        "name": st.text(max_size=3),
        "datatype": st.sampled_from(["FP64", "INT32", "BYTES", "x"]),
        "shape": st.lists(
            st.integers(-2, 12) | st.floats() | st.text(max_size=2), max_size=3
        ),
        "data": json_values,
    }
)
bodies = st.one_of(
    st.binary(max_size=80),
    json_values.map(_encode),
    st.fixed_dictionaries({"instances": rows | json_values}).map(_encode),
    st.fixed_dictionaries(
        {
            "inputs": st.lists(tensor, max_size=5),
            "outputs": st.lists(
                st.fixed_dictionaries({"name": st.text(max_size=14)}), max_size=2
            )
            | json_values,
        }
    ).map(_encode),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, schema=st.sampled_from([STRICT, LENIENT]))
def test_parsers_never_fail_with_anything_but_a_clear_error(
    body: bytes, schema: InputSchema
) -> None:
    for parse in (
        lambda b: parse_v1(b, schema, "predict"),
        lambda b: parse_v2(b, schema),
    ):
        try:
            parsed = parse(body)
        except ServingError as exc:
            assert 400 <= exc.status < 500 and exc.message
            continue
        x = parsed.x
        assert x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == 4
        assert 1 <= x.shape[0] <= schema.max_rows
        assert not np.isinf(x).any()
        assert schema.allow_nan or np.isfinite(x).all()
