"""The drift monitor: bins live rows and predictions with the reference profile's
rule, keeps them in a sliding window, and computes PSI, KS (numeric columns),
chi-square (categorical columns) and the drifted share of features on demand
(on each Prometheus scrape), never per request.

A numeric-only model's rows arrive as one float64 matrix and are binned in one
vectorised comparison. A table model's rows arrive as an object matrix: its
numeric columns are binned the same way, each categorical column by a dict
lookup of its category (unseen ones in the column's last bin)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shiplane_contracts.metrics import PREDICTION_FEATURE
from shiplane_contracts.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    category_label,
    is_missing,
)
from shiplane_serving.drift.stats import (
    binned_ks,
    chi_square_p,
    ks_critical,
    psi,
    shares,
)
from shiplane_serving.drift.window import WindowCounts
from shiplane_serving.types import Prediction


@dataclass(frozen=True)
class DriftConfig:
    """Window and thresholds (see ServingSettings for meanings and sources)."""

    window_s: float = 600.0
    subwindows: int = 10
    min_rows: int = 200
    psi_threshold: float = 0.2
    ks_alpha: float = 0.05


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column over the current window."""

    name: str
    psi: float
    ks: float | None
    ks_critical: float | None
    drifted: bool
    chi_square_p: float | None = None
    """p-value of the chi-square test (categorical columns only)."""


@dataclass(frozen=True)
class DriftReport:
    """Everything the drift gauges show."""

    window_rows: int
    features: list[FeatureDrift]
    prediction: FeatureDrift
    drifted_share: float


class DriftMonitor:
    """Incremental drift of a model's inputs and predictions vs its profile.

    Args:
        profile: the reference profile logged at training time.
        config: window and thresholds.
        directory: shared directory for multi-worker windows (None: in memory).
        allow_nan: whether inputs may hold NaN (missing values are not binned).
    """

    def __init__(
        self,
        profile: ReferenceProfile,
        config: DriftConfig,
        directory: Path | None = None,
        allow_nan: bool = True,
    ) -> None:
        self.profile = profile
        self.config = config
        features = profile.features
        bins = [f.bins for f in features]
        offsets = np.cumsum([0, *bins[:-1]]).astype(np.intp)
        self._offsets = offsets
        self._pred_offset = int(sum(bins))
        pred = profile.prediction
        self._n_bins = self._pred_offset + pred.bins
        numeric = [j for j, f in enumerate(features) if isinstance(f, NumericProfile)]
        self._numeric = np.asarray(numeric, dtype=np.intp)
        self._all_numeric = len(numeric) == len(features)
        self._numeric_offsets = offsets[self._numeric]
        # Per categorical column: its index, first bin and category -> bin.
        self._category_bins = [
            (j, int(offsets[j]), {c: i for i, c in enumerate(f.categories)})
            for j, f in enumerate(features)
            if isinstance(f, CategoricalProfile)
        ]
        numeric_profiles = [f for f in features if isinstance(f, NumericProfile)]
        width = max((len(f.edges) for f in numeric_profiles), default=0) or 1
        # Edges padded with +inf so one comparison bins every feature at once:
        # the count of edges <= v is searchsorted(edges, v, side="right"), the
        # profile's rule (shiplane_contracts.profile.bin_indices).
        self._edges = np.full((len(numeric), width), np.inf)
        for row, f in enumerate(numeric_profiles):
            self._edges[row, : len(f.edges)] = f.edges
        self._pred_edges: npt.NDArray[np.float64] | None = None
        self._categories: dict[str, int] = {}
        if isinstance(pred, NumericProfile):
            self._pred_edges = np.asarray(pred.edges, dtype=np.float64)
        else:
            self._categories = {c: i for i, c in enumerate(pred.categories)}
        self._class_bins: npt.NDArray[np.intp] | None = None
        self._has_nan_support = allow_nan
        self.window = WindowCounts(
            self._n_bins + 1, config.window_s, config.subwindows, directory
        )  # the extra last bin swallows missing (NaN) values

    def set_classes(self, classes: list[str]) -> None:
        """Map the model's class indices to the profile's prediction bins (a class
        the profile never saw goes to its last, "unseen" bin)."""
        unseen = len(self._categories)
        self._class_bins = self._pred_offset + np.asarray(
            [self._categories.get(c, unseen) for c in classes], dtype=np.intp
        )

    def update(self, x: npt.NDArray[Any], pred: Prediction) -> None:
        """Count one model call's rows (float64, or an object matrix of a table
        model) and predictions."""
        if self._all_numeric:
            idx = self._bin_numeric(x, self._has_nan_support)
        else:
            idx = self._bin_table(x)
        if pred.class_index is not None and self._class_bins is not None:
            pred_idx = self._class_bins[pred.class_index]
        elif self._pred_edges is not None:
            values = np.asarray(pred.labels, dtype=np.float64)
            pred_idx = self._pred_offset + np.searchsorted(
                self._pred_edges, values, side="right"
            )
        else:  # labels without indices: map one by one
            unseen = len(self._categories)
            pred_idx = self._pred_offset + np.asarray(
                [self._categories.get(str(v), unseen) for v in pred.labels.tolist()],
                dtype=np.intp,
            )
        flat = np.concatenate((idx.ravel(), pred_idx))
        counts = np.bincount(flat, minlength=self._n_bins + 1)
        self.window.add(counts, int(x.shape[0]))

    def _bin_numeric(
        self, x: npt.NDArray[np.float64], may_miss: bool
    ) -> npt.NDArray[np.intp]:
        """Flat bin of every cell of float64 numeric columns (NaN: the last bin)."""
        idx = (x[:, :, None] >= self._edges[None, :, :]).sum(axis=2)
        idx += self._numeric_offsets
        if may_miss:
            missing = np.isnan(x)
            if missing.any():
                idx[missing] = self._n_bins
        return np.asarray(idx, dtype=np.intp)

    def _bin_table(self, x: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        """Flat bin of every cell of a table model's rows."""
        parts = []
        if self._numeric.size:
            cells = x[:, self._numeric]
            numbers = np.asarray(
                [[np.nan if is_missing(v) else v for v in row] for row in cells],
                dtype=np.float64,
            ).reshape(cells.shape)
            parts.append(self._bin_numeric(numbers, may_miss=True).ravel())
        for j, first, categories in self._category_bins:
            unseen = len(categories)
            parts.append(
                np.asarray(
                    [
                        self._n_bins
                        if is_missing(v)
                        else first + categories.get(category_label(v), unseen)
                        for v in x[:, j]
                    ],
                    dtype=np.intp,
                )
            )
        return np.concatenate(parts)

    def report(self) -> DriftReport:
        """PSI and KS per feature, PSI of the prediction, and the drifted share."""
        counts, rows = self.window.totals()
        cfg = self.config
        enough = rows >= cfg.min_rows
        features: list[FeatureDrift] = []
        for j, f in enumerate(self.profile.features):
            start = int(self._offsets[j])
            live = counts[start : start + f.bins]
            a = shares(live)
            e = np.asarray(f.fractions)
            n = int(live.sum())
            p = psi(a, e) if n else 0.0
            if isinstance(f, CategoricalProfile):
                chi_p = chi_square_p(live, e * f.count) if n else 1.0
                drifted = (
                    enough and n > 0 and (p > cfg.psi_threshold or chi_p < cfg.ks_alpha)
                )
                features.append(FeatureDrift(f.name, p, None, None, drifted, chi_p))
                continue
            ks = binned_ks(a, e) if n else 0.0
            crit = ks_critical(n, f.count, cfg.ks_alpha)
            drifted = enough and n > 0 and (p > cfg.psi_threshold or ks > crit)
            features.append(FeatureDrift(f.name, p, ks, crit, drifted))
        pred_profile: NumericProfile | CategoricalProfile = self.profile.prediction
        live = counts[self._pred_offset : self._pred_offset + pred_profile.bins]
        n = int(live.sum())
        p = psi(shares(live), np.asarray(pred_profile.fractions)) if n else 0.0
        prediction = FeatureDrift(
            PREDICTION_FEATURE, p, None, None, enough and p > cfg.psi_threshold
        )
        share = sum(f.drifted for f in features) / len(features)
        return DriftReport(rows, features, prediction, share)
