"""The V1/V2 request parsers, in-process: clear errors for every bad input, and a
property test that no body makes them fail with anything but a ServingError."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from shiplane_serving.protocol import parse_v1, parse_v2
from shiplane_serving.protocol.common import to_frame
from shiplane_serving.types import Column, InputSchema

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


def parsed_or_clear_error(body: bytes, schema: InputSchema) -> Iterator[Any]:
    """What the V1 and V2 parsers make of ``body``: each parse that succeeds,
    after checking that each one that fails does so with a documented 4xx."""
    for parse in (
        lambda b: parse_v1(b, schema, "predict"),
        lambda b: parse_v2(b, schema),
    ):
        try:
            parsed = parse(body)
        except ServingError as exc:
            assert 400 <= exc.status < 500 and exc.message
            continue
        yield parsed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, schema=st.sampled_from([STRICT, LENIENT]))
def test_parsers_never_fail_with_anything_but_a_clear_error(
    body: bytes, schema: InputSchema
) -> None:
    for parsed in parsed_or_clear_error(body, schema):
        x = parsed.x
        assert x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == 4
        assert 1 <= x.shape[0] <= schema.max_rows
        assert not np.isinf(x).any()
        assert schema.allow_nan or np.isfinite(x).all()


# ---- the typed path (a table model: strings, booleans, whole numbers) -------------
COLUMNS = (
    Column("size", "number"),
    Column("color", "string"),
    Column("n", "integer"),
    Column("flag", "boolean"),
)
TYPED = [
    InputSchema(
        tuple(c.name for c in COLUMNS), nan, max_rows=8, has_proba=True, columns=COLUMNS
    )
    for nan in (False, True)
]
cell = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
)
name = st.sampled_from([c.name for c in COLUMNS] + ["other"])
typed_rows = st.lists(
    st.lists(cell, min_size=3, max_size=5)
    | st.dictionaries(name, cell, min_size=3, max_size=5),
    max_size=10,
)
typed_bodies = st.one_of(
    st.fixed_dictionaries({"instances": typed_rows}).map(_encode),
    st.fixed_dictionaries(
        {
            "dataframe_split": st.fixed_dictionaries(
                {"columns": st.lists(name, max_size=5), "data": typed_rows}
            )
        }
    ).map(_encode),
    st.fixed_dictionaries(
        {
            "inputs": st.lists(
                st.fixed_dictionaries(
                    {
                        "name": name,
                        "datatype": st.sampled_from(["FP64", "INT64", "BYTES", "BOOL"]),
                        "shape": st.just([2]),
                        "data": st.lists(cell, max_size=3),
                    }
                ),
                min_size=2,
                max_size=5,
            )
        }
    ).map(_encode),
)
KIND_TYPES = {"number": float, "string": str, "integer": int, "boolean": bool}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=typed_bodies, schema=st.sampled_from(TYPED))
def test_the_typed_parser_gives_typed_cells_or_a_clear_error(
    body: bytes, schema: InputSchema
) -> None:
    for parsed in parsed_or_clear_error(body, schema):
        x = parsed.x
        assert x.dtype == object and x.shape[1] == 4
        assert 1 <= x.shape[0] <= schema.max_rows
        for row in x:
            for value, column in zip(row, COLUMNS, strict=True):
                if value is None:
                    assert schema.allow_nan
                    continue
                assert type(value) is KIND_TYPES[column.kind], (column, value)
                if column.kind == "number":
                    assert value not in (float("inf"), float("-inf"))
                    assert schema.allow_nan or value == value
        frame = to_frame(x, COLUMNS)
        assert list(frame.columns) == [c.name for c in COLUMNS]
        assert len(frame) == x.shape[0]


def test_good_typed_rows_parse_in_every_shape() -> None:
    strict, lenient = TYPED
    row = {"size": 1.5, "color": "red", "n": 3.0, "flag": True}
    expected = [1.5, "red", 3, True]
    shapes = [
        {"instances": [row]},
        {"instances": [[1.5, "red", 3, True]]},
        {"dataframe_split": {"columns": list(row)[::-1], "data": [expected[::-1]]}},
        {"dataframe_records": [row]},
    ]
    for doc in shapes:
        x = parse_v1(json.dumps(doc).encode(), strict, "predict").x
        assert x.tolist() == [expected], doc
        assert [type(v) for v in x[0]] == [float, str, int, bool]
    v2 = {
        "inputs": [
            {"name": c.name, "shape": [1], "datatype": d, "data": [v]}
            for c, d, v in zip(
                COLUMNS, ["FP64", "BYTES", "INT64", "BOOL"], expected, strict=True
            )
        ]
    }
    assert parse_v2(json.dumps(v2).encode(), strict).x.tolist() == [expected]
    missing = {"instances": [row | {"color": None}]}
    with pytest.raises(FeatureTypeError, match="column 'color' is null"):
        parse_v1(json.dumps(missing).encode(), strict, "predict")
    assert parse_v1(json.dumps(missing).encode(), lenient, "predict").x[0, 1] is None
    with pytest.raises(FeatureTypeError, match="column 'n' must be a whole number"):
        parse_v1(
            json.dumps({"instances": [row | {"n": 2.5}]}).encode(), strict, "predict"
        )
