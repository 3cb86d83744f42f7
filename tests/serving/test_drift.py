"""Streaming drift, in-process: PSI/KS math, low on reference-like data, high on
shifted data, bounded memory, a sliding window, and windows shared by workers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from shiplane_contracts.profile import build_profile, fingerprint
from shiplane_serving.drift import DriftConfig, DriftMonitor
from shiplane_serving.drift.stats import binned_ks, ks_critical, psi
from shiplane_serving.drift.window import WindowCounts
from shiplane_serving.types import Prediction


def test_psi_and_ks_known_values() -> None:
    e = np.array([0.5, 0.5])
    assert psi(e, e) == 0.0
    assert psi(np.array([0.7, 0.3]), e) == pytest.approx(
        0.2 * math.log(0.7 / 0.5) + (-0.2) * math.log(0.3 / 0.5)
    )
    assert binned_ks(np.array([1.0, 0.0]), e) == pytest.approx(0.5)
    # c(0.05) = 1.358 (the usual table value)
    assert ks_critical(100, 100, 0.05) == pytest.approx(
        1.358 * math.sqrt(0.02), rel=1e-3
    )


@pytest.fixture(scope="module")
def reference() -> tuple[np.ndarray, np.ndarray, object]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 5))
    y = (x[:, 0] > 0).astype(int)
    profile = build_profile(
        x, [f"f{i}" for i in range(5)], y, "classification", fingerprint(x, y)
    )
    return x, y, profile


def _feed(monitor: DriftMonitor, x: np.ndarray, y: np.ndarray, batch: int = 7) -> None:
    for start in range(0, len(x), batch):
        xs, ys = x[start : start + batch], y[start : start + batch]
        monitor.update(xs, Prediction(labels=ys, proba=None, class_index=ys))


def test_reference_like_data_stays_low_shifted_data_rises(reference) -> None:  # type: ignore[no-untyped-def]
    x, y, profile = reference
    rng = np.random.default_rng(1)
    live = rng.normal(size=(1000, 5))
    monitor = DriftMonitor(profile, DriftConfig(min_rows=200))
    monitor.set_classes(["0", "1"])
    _feed(monitor, live, (live[:, 0] > 0).astype(int))
    report = monitor.report()
    assert report.window_rows == 1000
    assert report.drifted_share <= 0.2
    assert max(f.psi for f in report.features) < 0.1
    assert report.prediction.psi < 0.1

    shifted = live.copy()
    shifted[:, :3] += 1.0  # three of five features move by one standard deviation
    drifting = DriftMonitor(profile, DriftConfig(min_rows=200))
    drifting.set_classes(["0", "1"])
    _feed(drifting, shifted, np.ones(1000, dtype=int))
    report = drifting.report()
    assert report.drifted_share == pytest.approx(0.6)
    assert [f.drifted for f in report.features] == [True, True, True, False, False]
    assert all(f.psi > 0.2 for f in report.features[:3])
    assert report.prediction.drifted


def test_below_min_rows_nothing_is_flagged(reference) -> None:  # type: ignore[no-untyped-def]
    _, _, profile = reference
    monitor = DriftMonitor(profile, DriftConfig(min_rows=500))
    monitor.set_classes(["0", "1"])
    x = np.full((100, 5), 9.0)
    _feed(monitor, x, np.ones(100, dtype=int))
    report = monitor.report()
    assert report.window_rows == 100 and report.drifted_share == 0.0
    assert report.features[0].psi > 1  # the statistic itself is still reported


def test_window_slides_and_memory_is_bounded() -> None:
    now = [1000.0]
    window = WindowCounts(3, window_s=60, subwindows=6, clock=lambda: now[0])
    size = window.ring.nbytes
    for _ in range(100):
        window.add(np.array([1, 0, 0]), 1)
        now[0] += 5  # ten seconds per sub-window, so two adds per slot
    assert window.ring.nbytes == size
    counts, rows = window.totals()
    # the window is the current (still empty) sub-window and the five before it
    assert rows == 10 and counts.tolist() == [10, 0, 0]
    now[0] += 120
    assert window.totals()[1] == 0  # everything aged out


def test_workers_share_one_window_through_files(tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    _, _, profile = reference
    a = DriftMonitor(profile, DriftConfig(), tmp_path)
    a.set_classes(["0", "1"])
    # A second "worker": same layout, its own file (named by pid, so fake one).
    b = DriftMonitor(profile, DriftConfig(), None)
    b.set_classes(["0", "1"])
    other = np.memmap(
        tmp_path / "drift_999999.counts",
        dtype=np.int64,
        mode="w+",
        shape=a.window.ring.shape,
    )
    b.window.ring = other
    other[:, 0] = -1
    x = np.zeros((10, 5))
    _feed(a, x, np.zeros(10, dtype=int))
    _feed(b, x, np.zeros(10, dtype=int))
    other.flush()
    assert a.report().window_rows == 20
    assert len(list(tmp_path.glob("drift_*.counts"))) == 2


def test_nan_inputs_are_not_binned(reference) -> None:  # type: ignore[no-untyped-def]
    _, _, profile = reference
    monitor = DriftMonitor(profile, DriftConfig(min_rows=1), allow_nan=True)
    monitor.set_classes(["0", "1"])
    x = np.zeros((4, 5))
    x[:, 2] = np.nan
    _feed(monitor, x, np.zeros(4, dtype=int))
    counts, rows = monitor.window.totals()
    assert rows == 4
    assert counts[-1] == 4  # the missing-value bin


# ---- categorical columns (a table model's strings and booleans) -----------------

COLORS = ["red", "green", "blue"]


def _table(n: int, seed: int, colors: list[str], p: list[float]) -> np.ndarray:
    """An object matrix as the typed parser makes it: size, color, flag."""
    rng = np.random.default_rng(seed)
    rows = np.empty((n, 3), dtype=object)
    rows[:, 0] = rng.normal(10, 3, n).tolist()
    rows[:, 1] = rng.choice(colors, n, p=p).tolist()
    rows[:, 2] = rng.choice([True, False], n).tolist()
    return rows


@pytest.fixture(scope="module")
def table_reference() -> object:
    from shiplane_contracts.profile import build_table_profile

    x = _table(3000, 0, COLORS, [0.5, 0.3, 0.2])
    y = np.asarray([int(c == "red") for c in x[:, 1]])
    columns = {"size": x[:, 0].tolist(), "color": x[:, 1].tolist(), "flag": x[:, 2]}
    kinds = {"size": "numeric", "color": "categorical", "flag": "categorical"}
    return build_table_profile(columns, kinds, y, "classification", "fp")  # type: ignore[arg-type]


def _feed_table(monitor: DriftMonitor, x: np.ndarray) -> None:
    y = np.asarray([int(c == "red") for c in x[:, 1]])
    for start in range(0, len(x), 16):
        ys = y[start : start + 16]
        monitor.update(
            x[start : start + 16], Prediction(labels=ys, proba=None, class_index=ys)
        )


def test_categorical_drift_is_low_on_reference_data(table_reference) -> None:  # type: ignore[no-untyped-def]
    assert table_reference.schema_version == 2
    monitor = DriftMonitor(table_reference, DriftConfig(min_rows=200))
    monitor.set_classes(["0", "1"])
    _feed_table(monitor, _table(1500, 1, COLORS, [0.5, 0.3, 0.2]))
    report = monitor.report()
    color = next(f for f in report.features if f.name == "color")
    assert color.ks is None and color.chi_square_p is not None
    assert color.psi < 0.05 and color.chi_square_p > 0.01
    assert not any(f.drifted for f in report.features)


def test_categorical_drift_is_high_on_shifted_and_unseen_categories(
    table_reference,  # type: ignore[no-untyped-def]
) -> None:
    monitor = DriftMonitor(table_reference, DriftConfig(min_rows=200))
    monitor.set_classes(["0", "1"])
    # Blue takes over and a colour training never saw appears.
    _feed_table(monitor, _table(1500, 2, [*COLORS, "purple"], [0.1, 0.1, 0.5, 0.3]))
    report = monitor.report()
    by_name = {f.name: f for f in report.features}
    assert by_name["color"].drifted
    assert by_name["color"].psi > 0.5
    assert by_name["color"].chi_square_p < 1e-6
    assert not by_name["size"].drifted and not by_name["flag"].drifted
    assert report.drifted_share == pytest.approx(1 / 3)


def test_missing_categories_are_not_counted_as_a_category(table_reference) -> None:  # type: ignore[no-untyped-def]
    monitor = DriftMonitor(table_reference, DriftConfig(min_rows=1))
    x = _table(400, 3, COLORS, [0.5, 0.3, 0.2])
    x[::2, 1] = None
    _feed_table(monitor, x)
    color = next(f for f in monitor.report().features if f.name == "color")
    assert color.psi < 0.1  # the other half still looks like the reference
