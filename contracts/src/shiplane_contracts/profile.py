"""The reference profile: the training-time baseline that serving's drift detector
compares live traffic to.

It is a shared, versioned contract. Training writes it next to the model (see
:mod:`shiplane_contracts.modelformat`); serving reads it. Both sides bin values with
:func:`bin_indices`, so a value always lands in the same bin on either side.

Numeric columns are cut into equal-frequency bins from the reference quantiles
(20 by default, so each bin holds about 5% of the reference rows): the usual
choice for the Population Stability Index (Siddiqi, *Credit Risk Scorecards*,
2006, uses deciles; finer bins resolve a KS-style statistic better at the same
cost). Categorical columns (class predictions) keep one bin per known category
plus one for values never seen in training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

PROFILE_SCHEMA_VERSION: Final = 1
DEFAULT_BINS: Final = 20

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
    """Distribution of one categorical column (e.g. predicted class labels)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["categorical"] = "categorical"
    name: str
    count: int = Field(ge=1)
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

    schema_version: Literal[1] = PROFILE_SCHEMA_VERSION
    task: Literal["classification", "regression"]
    n_rows: int = Field(ge=1)
    features: list[NumericProfile] = Field(min_length=1)
    prediction: ColumnProfile
    dataset_fingerprint: str = Field(description="sha256 of the reference data.")

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

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
        if version != PROFILE_SCHEMA_VERSION:
            raise ProfileError(
                f"reference profile {path} has schema_version {version!r}; this "
                f"Shiplane reads version {PROFILE_SCHEMA_VERSION}"
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


def categorical_profile(name: str, values: Sequence[object]) -> CategoricalProfile:
    """Profile one categorical column; categories are kept as strings."""
    labels = [str(v) for v in values]
    if not labels:
        raise ProfileError(f"column {name!r} is empty")
    categories, counts = np.unique(np.asarray(labels), return_counts=True)
    fractions = [float(c) / len(labels) for c in counts] + [0.0]
    return CategoricalProfile(
        name=name,
        count=len(labels),
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
    prediction: NumericProfile | CategoricalProfile
    if task == "classification":
        prediction = categorical_profile("prediction", list(predictions))
    else:
        prediction = numeric_profile(
            "prediction", np.asarray(predictions, dtype=np.float64), bins
        )
    return ReferenceProfile(
        task=task,
        n_rows=int(x.shape[0]),
        features=[
            numeric_profile(name, x[:, i], bins) for i, name in enumerate(feature_names)
        ],
        prediction=prediction,
        dataset_fingerprint=dataset_fingerprint,
    )
