"""The reference profile of a training run: the drift baseline serving reads.

One function, :func:`reference_profile`, decides how each model input is
profiled, so the rule lives in one place: numeric columns as equal-frequency
bins, categorical ones as category frequencies (profile schema version 2; a
model with numeric inputs only still gets version 1, which older servers read).
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt
import pandas as pd

from shiplane_contracts.profile import (
    ColumnKind,
    ReferenceProfile,
    build_profile,
    build_table_profile,
)
from shiplane_training.columns import FeatureColumns
from shiplane_training.config import Task
from shiplane_training.data import Features


def reference_profile(
    x_train: Features,
    columns: FeatureColumns,
    predictions: npt.NDArray[Any],
    task: Task,
    train_fingerprint: str,
) -> ReferenceProfile:
    """The profile of the training rows and the model's predictions on them,
    one entry per model input in input order.

    A categorical column counts its values by
    :func:`shiplane_contracts.profile.category_label` (booleans as
    ``True``/``False``), missing values apart, as serving counts requests.
    """
    if not isinstance(x_train, pd.DataFrame):
        return build_profile(
            x_train, list(columns.names), predictions, task, train_fingerprint
        )
    chosen = set(columns.categorical)
    kinds: dict[str, ColumnKind] = {
        name: "categorical" if name in chosen else "numeric" for name in columns.names
    }
    values = {name: x_train[name].tolist() for name in columns.names}
    return build_table_profile(values, kinds, predictions, task, train_fingerprint)
