"""The reference profile: the training-time baseline that serving's drift detector
compares live traffic to.

It is a shared, versioned contract. Training writes it next to the model (see
:mod:`shiplane_contracts.modelformat`); serving reads it. Both sides bin values with
:func:`bin_indices`, so a value always lands in the same bin on either side.

Numeric columns are cut into equal-frequency bins from the reference quantiles
(20 by default, so each bin holds about 5% of the reference rows): the usual
choice for the Population Stability Index (Siddiqi, *Credit Risk Scorecards*,
2006, uses deciles; finer bins resolve a KS-style statistic better at the same
cost). Categorical columns (string or boolean inputs, class predictions) keep
one bin per known category plus one for values never seen in training.

Schema version 2 added categorical input features; a profile with numeric inputs
only is still written as version 1, so older servers keep reading it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

PROFILE_SCHEMA_VERSION: Final = 2
#: Every version this code reads; 1 is 2 without categorical input features.
READABLE_VERSIONS: Final = (1, 2)
DEFAULT_BINS: Final = 20

ColumnKind = Literal["numeric", "categorical"]

FloatArray = npt.NDArray[np.float64]


class ProfileError(ValueError):
    """A reference profile is malformed or does not match the data."""


class NumericProfile(BaseModel):
    """Distribution of one numeric column in the reference data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["numeric"] = "numeric"
    name: str
    count: int = Field(ge=1, description="Non-missing reference values.")
    missing: int = Field(ge=0, description="Missing (NaN) reference values.")
    mean: float
    std: float
    min: float
    max: float
    edges: list[float] = Field(
        description="Inner bin edges, strictly increasing: k edges make k+1 bins, "
        "the outer two open-ended. A value v falls in bin searchsorted(edges, v, "
        "side='right')."
    )
    fractions: list[float] = Field(
        description="Share of the reference values in each bin (len(edges)+1, sum 1)."
    )

    @model_validator(mode="after")
    def _check_shape(self) -> NumericProfile:
        if len(self.fractions) != len(self.edges) + 1:
            raise ProfileError(
                f"feature {self.name!r}: {len(self.edges)} edges need "
                f"{len(self.edges) + 1} fractions, got {len(self.fractions)}"
            )
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ProfileError(f"feature {self.name!r}: edges must strictly increase")
        if abs(sum(self.fractions) - 1.0) > 1e-6:
            raise ProfileError(f"feature {self.name!r}: fractions must sum to 1")
        return self

    @property
    def bins(self) -> int:
        return len(self.fractions)


class CategoricalProfile(BaseModel):
    """Distribution of one categorical column (a string or boolean input, or the
    predicted class labels)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["categorical"] = "categorical"
    name: str
    count: int = Field(ge=1, description="Non-missing reference values.")
    missing: int = Field(0, ge=0, description="Missing (null) reference values.")
    categories: list[str] = Field(description="Known values, as strings, in order.")
    fractions: list[float] = Field(
        description="Share per category, then one last bin for unseen values "
        "(len(categories)+1, sum 1)."
    )

    @model_validator(mode="after")
    def _check_shape(self) -> CategoricalProfile:
        if len(self.fractions) != len(self.categories) + 1:
            raise ProfileError(
                f"column {self.name!r}: need {len(self.categories) + 1} fractions"
            )
        if len(set(self.categories)) != len(self.categories):
            raise ProfileError(f"column {self.name!r}: categories must be unique")
        return self

    @property
    def bins(self) -> int:
        return len(self.fractions)


ColumnProfile = Annotated[
    NumericProfile | CategoricalProfile, Field(discriminator="kind")
]


class ReferenceProfile(BaseModel):
    """Baseline of every model input feature, in model input order, and of the
    model's prediction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1, 2] = PROFILE_SCHEMA_VERSION
    task: Literal["classification", "regression"]
    n_rows: int = Field(ge=1)
    features: list[ColumnProfile] = Field(min_length=1)
    prediction: ColumnProfile
    dataset_fingerprint: str = Field(description="sha256 of the reference data.")

    @model_validator(mode="after")
    def _check_version(self) -> ReferenceProfile:
        if self.schema_version == 1 and not self.numeric_only:
            raise ProfileError(
                "schema_version 1 has numeric features only; categorical features "
                "need schema_version 2"
            )
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric_only(self) -> bool:
        return all(isinstance(f, NumericProfile) for f in self.features)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def save(self, path: Path) -> Path:
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> ReferenceProfile:
        """Read a profile file; raise :class:`ProfileError` with the reason if it
        is not a profile this version understands."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ProfileError(f"cannot read reference profile {path}: {exc}") from exc
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if version not in READABLE_VERSIONS:
            raise ProfileError(
                f"reference profile {path} has schema_version {version!r}; this "
                f"Shiplane reads versions {', '.join(map(str, READABLE_VERSIONS))}"
            )
        try:
            return cls.model_validate(raw)
        except ValueError as exc:
            raise ProfileError(f"invalid reference profile {path}: {exc}") from exc


def bin_indices(values: FloatArray, edges: FloatArray) -> npt.NDArray[np.intp]:
    """Bin index of each value for a numeric column: the one rule both training
    and serving use."""
    return np.searchsorted(edges, values, side="right")


def numeric_profile(
    name: str, values: FloatArray, bins: int = DEFAULT_BINS
) -> NumericProfile:
    """Profile one numeric column with (up to) ``bins`` equal-frequency bins.

    Ties can merge quantiles (a binary feature has one inner edge, not 19), so the
    edges are deduplicated and the fractions are counted, not assumed: every bin
    holds reference data, so PSI never divides by an empty reference bin.
    """
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise ProfileError(f"feature {name!r} has no non-missing values")
    # Edges are data values (no interpolation), so a bin between two edges always
    # holds its lower edge; an edge at the minimum would leave the bottom bin empty.
    quantiles = np.quantile(
        present, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf"
    )
    edges = np.unique(quantiles)
    edges = edges[edges > present.min()]
    counts = np.bincount(bin_indices(present, edges), minlength=edges.size + 1)
    return NumericProfile(
        name=name,
        count=int(present.size),
        missing=int(values.size - present.size),
        mean=float(present.mean()),
        std=float(present.std()),
        min=float(present.min()),
        max=float(present.max()),
        edges=[float(e) for e in edges],
        fractions=[float(c) for c in counts / present.size],
    )


def is_missing(value: object) -> bool:
    """None or a float NaN: what a table column holds where a value is missing."""
    return value is None or (isinstance(value, float) and value != value)


def category_label(value: object) -> str:
    """The category a value counts under, on both sides: its string (booleans
    are ``True``/``False``, whole floats of an integer column stay distinct)."""
    return str(value)


def categorical_profile(name: str, values: Sequence[object]) -> CategoricalProfile:
    """Profile one categorical column; categories are kept as strings and
    missing values (None, NaN) are counted apart."""
    labels = [category_label(v) for v in values if not is_missing(v)]
    if not labels:
        raise ProfileError(f"column {name!r} has no non-missing values")
    categories, counts = np.unique(np.asarray(labels), return_counts=True)
    fractions = [float(c) / len(labels) for c in counts] + [0.0]
    return CategoricalProfile(
        name=name,
        count=len(labels),
        missing=len(values) - len(labels),
        categories=[str(c) for c in categories],
        fractions=fractions,
    )


def fingerprint(x: FloatArray, y: npt.NDArray[np.generic]) -> str:
    """sha256 over the exact bytes of features and target, shape included."""
    digest = hashlib.sha256()
    for arr in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
        digest.update(str((arr.shape, arr.dtype.str)).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def table_fingerprint(
    columns: Mapping[str, Sequence[object]], y: npt.NDArray[np.generic]
) -> str:
    """sha256 over a table's column names, values and the target."""
    digest = hashlib.sha256()
    for name, values in columns.items():
        digest.update(name.encode())
        digest.update(json.dumps([str(v) for v in values]).encode())
    y = np.ascontiguousarray(y)
    digest.update(str((y.shape, y.dtype.str)).encode())
    digest.update(y.tobytes() if y.dtype != object else str(y.tolist()).encode())
    return digest.hexdigest()


def build_table_profile(
    columns: Mapping[str, Sequence[object]],
    kinds: Mapping[str, ColumnKind],
    predictions: npt.NDArray[np.generic],
    task: Literal["classification", "regression"],
    dataset_fingerprint: str,
    bins: int = DEFAULT_BINS,
) -> ReferenceProfile:
    """Profile a table's columns, in ``columns``' order, each as ``kinds`` says,
    and the model's ``predictions`` on it."""
    features: list[NumericProfile | CategoricalProfile] = []
    n_rows = 0
    for name, values in columns.items():
        n_rows = len(values)
        if kinds[name] == "categorical":
            features.append(categorical_profile(name, values))
        else:
            as_float = np.asarray(
                [np.nan if is_missing(v) else v for v in values], dtype=np.float64
            )
            features.append(numeric_profile(name, as_float, bins))
    if not features:
        raise ProfileError("a profile needs at least one column")
    numeric_only = all(isinstance(f, NumericProfile) for f in features)
    return ReferenceProfile(
        schema_version=1 if numeric_only else 2,
        task=task,
        n_rows=n_rows,
        features=features,
        prediction=_prediction_profile(predictions, task, bins),
        dataset_fingerprint=dataset_fingerprint,
    )


def _prediction_profile(
    predictions: npt.NDArray[np.generic],
    task: Literal["classification", "regression"],
    bins: int,
) -> NumericProfile | CategoricalProfile:
    if task == "classification":
        return categorical_profile("prediction", list(predictions))
    return numeric_profile("prediction", np.asarray(predictions, np.float64), bins)


def build_profile(
    x: FloatArray,
    feature_names: Sequence[str],
    predictions: npt.NDArray[np.generic],
    task: Literal["classification", "regression"],
    dataset_fingerprint: str,
    bins: int = DEFAULT_BINS,
) -> ReferenceProfile:
    """Profile every input column of ``x`` and the model's ``predictions`` on it."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(feature_names):
        raise ProfileError(
            f"x has shape {x.shape}, expected (rows, {len(feature_names)} features)"
        )
    return ReferenceProfile(
        schema_version=1,
        task=task,
        n_rows=int(x.shape[0]),
        features=[
            numeric_profile(name, x[:, i], bins) for i, name in enumerate(feature_names)
        ],
        prediction=_prediction_profile(predictions, task, bins),
        dataset_fingerprint=dataset_fingerprint,
    )
