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
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

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
