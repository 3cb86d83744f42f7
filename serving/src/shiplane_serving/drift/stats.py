"""Drift statistics on binned distributions (the reference profile's bins).

PSI (Population Stability Index): sum over bins of (a - e) * ln(a / e), with live
share ``a`` and reference share ``e``; empty bins are floored at
:data:`PSI_EPSILON` so the logarithm stays finite. Usual reading (Siddiqi, *Credit
Risk Scorecards*, 2006): below 0.1 no significant change, 0.1-0.2 moderate, above
0.2 significant.

KS: the largest distance between the live and the reference cumulative
distribution, evaluated at the profile's bin edges (a binned two-sample
Kolmogorov-Smirnov statistic, which can only understate the exact one). Its
critical value at level alpha uses the asymptotic Kolmogorov distribution:
``c(alpha) * sqrt((n + m) / (n * m))`` with ``c(alpha) = sqrt(-ln(alpha / 2) / 2)``
(c(0.05) = 1.358), ``n`` live and ``m`` reference observations.

Chi-square (categorical columns): Pearson's test of homogeneity on the 2 x k
table of reference and live counts per category, the "unseen" bin included, so
it needs no smoothing where the reference has no mass; categories empty on both
sides are left out of the degrees of freedom. It answers the p-value: below
alpha, live and reference categories differ.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

PSI_EPSILON: Final = 1e-4

FloatArray = npt.NDArray[np.float64]


def shares(counts: npt.NDArray[np.int64]) -> FloatArray:
    """Counts to shares (all zeros stay zeros)."""
    total = counts.sum()
    if total <= 0:
        return np.zeros(counts.shape, dtype=np.float64)
    return np.asarray(counts, dtype=np.float64) / float(total)


def psi(actual: FloatArray, expected: FloatArray) -> float:
    """Population Stability Index of two share vectors over the same bins."""
    a = np.maximum(actual, PSI_EPSILON)
    e = np.maximum(expected, PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def binned_ks(actual: FloatArray, expected: FloatArray) -> float:
    """Largest distance between the two cumulative distributions at bin edges."""
    return float(np.max(np.abs(np.cumsum(actual) - np.cumsum(expected))))


def ks_critical(n: int, m: int, alpha: float) -> float:
    """Two-sample KS critical value at level ``alpha`` (asymptotic formula)."""
    if n <= 0 or m <= 0:
        return math.inf
    c_alpha = math.sqrt(-math.log(alpha / 2.0) / 2.0)
    return c_alpha * math.sqrt((n + m) / (n * m))


def chi_square_p(live: npt.NDArray[np.int64], reference: FloatArray) -> float:
    """p-value of Pearson's chi-square homogeneity test of live counts and
    reference counts over the same categories (1.0 when there is nothing to
    compare)."""
    table = np.vstack((np.asarray(reference, np.float64), live.astype(np.float64)))
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or (rows <= 0).any():
        return 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chi2.sf(statistic, table.shape[1] - 1))
