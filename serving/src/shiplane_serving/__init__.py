"""Shiplane's serving runtime: a KServe custom model server for scikit-learn models
from the MLflow registry, with per-version metrics, streaming drift, feedback and
opportunistic batching."""

__version__ = "0.1.0"
