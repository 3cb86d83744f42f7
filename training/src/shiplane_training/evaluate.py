"""Held-out metrics and the diagnostic plot (confusion matrix or residuals).

The same :func:`score` evaluates the new model and the champion in the gate, so
both are measured by one rule on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")  # no display in a container or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from shiplane_training.config import Task  # noqa: E402

HIGHER_IS_BETTER: Final[dict[str, bool]] = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}


def score(
    model: Any, x: npt.NDArray[np.float64], y: npt.NDArray[Any], task: Task
) -> dict[str, float]:
    """Held-out metrics of ``model``: accuracy, f1, roc_auc (classification;
    macro-averaged and one-vs-rest for more than two classes) or rmse, mae, r2."""
    predictions = model.predict(x)
    if task == "regression":
        return {
            "rmse": float(root_mean_squared_error(y, predictions)),
            "mae": float(mean_absolute_error(y, predictions)),
            "r2": float(r2_score(y, predictions)),
        }
    classes = list(model.classes_)
    binary = len(classes) == 2
    proba = model.predict_proba(x)
    if binary:
        f1 = f1_score(y, predictions, pos_label=classes[1])
        roc_auc = roc_auc_score(y, proba[:, 1])
    else:
        f1 = f1_score(y, predictions, average="macro")
        roc_auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    return {
        "accuracy": float(accuracy_score(y, predictions)),
        "f1": float(f1),
        "roc_auc": float(roc_auc),
    }


def plot(
    model: Any,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[Any],
    task: Task,
    out_dir: Path,
) -> Path:
    """Save the held-out confusion matrix (classification) or residuals plot
    (regression) as a PNG in ``out_dir`` and return its path."""
    predictions = model.predict(x)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    try:
        if task == "classification":
            ConfusionMatrixDisplay.from_predictions(
                y, predictions, labels=model.classes_, ax=ax, colorbar=False
            )
            ax.set_title("Confusion matrix (held-out rows)")
            path = out_dir / "confusion_matrix.png"
        else:
            residuals = np.asarray(y, dtype=np.float64) - predictions
            ax.scatter(predictions, residuals, s=12, alpha=0.7)
            ax.axhline(0.0, color="grey", linewidth=1)
            ax.set_xlabel("predicted")
            ax.set_ylabel("actual - predicted")
            ax.set_title("Residuals (held-out rows)")
            path = out_dir / "residuals.png"
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
